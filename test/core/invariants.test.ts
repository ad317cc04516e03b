import { describe, expect, it } from 'vitest';
import { checkInvariants, INVARIANTS } from '../../src/core/invariants.js';
import { free_pages } from '../../src/core/mm/page_alloc.js';
import {
  add_mm_counter,
  flagsW,
  mapcountW,
  ptAllocTable,
  refcountW,
  swapW,
} from '../../src/core/mm_types.js';
import { PG_swapcache } from '../../src/core/page-flags.js';
import { PT_LEVEL_PTE } from '../../src/core/pgtable_types.js';
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

  it('detects a page table allocated but reachable from no mm (MM004)', () => {
    const { w } = setup();
    const id = ptAllocTable(w.s, PT_LEVEL_PTE);
    expect(checkInvariants(w.s)).toEqual([
      {
        code: 'MM004',
        detail: `page table ${id} (level ${PT_LEVEL_PTE}) allocated but unreachable`,
      },
    ]);
  });

  it('detects a swap cache that disagrees with PG_swapcache (MM007)', () => {
    const { w, pfn } = setup();
    flagsW(w.s.mem)[pfn]! |= PG_swapcache;
    expect(checkInvariants(w.s).map((v) => v.detail)).toEqual([
      `folio ${pfn} is PG_swapcache but caches no slot`,
    ]);
    // Two slots cached by one folio: the second is not the folio's own.
    const sw = swapW(w.s);
    for (let i = 0; i < 2; i++) {
      sw.map.push(0);
      sw.data.push(0);
      sw.cache.push(pfn);
    }
    const found = checkInvariants(w.s).filter((v) => v.code === 'MM007');
    expect(found.map((v) => v.detail)).toEqual([
      `swap slot 2: cached by folio ${pfn}, which is not a swap-cache folio of its own`,
    ]);
    // Another state whose folio at the same PFN caches no slot: the marks of
    // the check before must be gone.
    const other = setup();
    expect(other.pfn).toBe(pfn);
    flagsW(other.w.s.mem)[pfn]! |= PG_swapcache;
    expect(checkInvariants(other.w.s).map((v) => v.detail)).toEqual([
      `folio ${pfn} is PG_swapcache but caches no slot`,
    ]);
  });

  it('answers each state alone, whatever states were checked before it', () => {
    // A large state, then a small one, then the large one again: the
    // checker's scratch arrays must not carry counts from one to the next.
    const big = world();
    mapAnon(big, big.init, A, 600 * 4096);
    for (let i = 0; i < 600; i++) write(big, big.init, A + i * 4096, i);
    flagsW(big.s.mem)[3]! |= PG_swapcache;
    const small = setup();
    const bigFound = checkInvariants(big.s);
    expect(bigFound.map((v) => v.code)).toEqual(['MM007']);
    expect(checkInvariants(small.w.s)).toEqual([]);
    refcountW(small.w.s.mem)[small.pfn] = 3;
    expect(checkInvariants(small.w.s).map((v) => v.code)).toEqual(['MM001']);
    expect(checkInvariants(big.s)).toEqual(bigFound);
  });
});
