import { describe, expect, it } from 'vitest';
import { checkInvariants, INVARIANTS } from '../../src/core/invariants.js';
import { free_pages } from '../../src/core/mm/page_alloc.js';
import { add_mm_counter, mapcountW, refcountW } from '../../src/core/mm_types.js';
import { mapAnon, mmOfTask, world, write } from './helpers.js';

const A = 0x10000000;

function setup() {
  const w = world();
  mapAnon(w, w.init, A, 4096);
  const r = write(w, w.init, A, 1);
  if (!r.ok) throw new Error('write failed');
  return { w, pfn: r.pfn };
}

describe('invariant checker', () => {
  it('names every invariant with a code', () => {
    expect(Object.keys(INVARIANTS)).toEqual([
      'MM001',
      'MM002',
      'MM003',
      'MM004',
      'MM005',
      'MM006',
      'MM007',
    ]);
  });

  it('detects a refcount that does not match the holders (MM001)', () => {
    const { w, pfn } = setup();
    refcountW(w.s.mem)[pfn] = 2;
    expect(checkInvariants(w.s).map((v) => v.code)).toEqual(['MM001']);
  });

  it('detects a wrong mapcount (MM002) and RSS (MM005)', () => {
    const { w, pfn } = setup();
    mapcountW(w.s.mem)[pfn] = 0;
    expect(checkInvariants(w.s).map((v) => v.code)).toContain('MM002');
    add_mm_counter(mmOfTask(w, w.init), 1, 5);
    expect(checkInvariants(w.s).map((v) => v.code)).toContain('MM005');
  });

  it('detects a PTE left pointing at a freed page (MM003)', () => {
    const { w, pfn } = setup();
    free_pages(w.s, pfn);
    expect(checkInvariants(w.s).map((v) => v.code)).toContain('MM003');
  });

  it('detects wrong page-table accounting (MM004)', () => {
    const { w } = setup();
    mmOfTask(w, w.init).pgtables_bytes += 4096;
    expect(checkInvariants(w.s).map((v) => v.code)).toEqual(['MM004']);
  });
});
