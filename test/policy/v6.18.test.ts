import { describe, expect, it } from 'vitest';
import { copy_process } from '../../src/core/kernel/fork.js';
import { GUP_PIN_COUNTING_BIAS } from '../../src/core/mm/gup.js';
import { pte_index, ptep_get, pteTable, set_pte_at } from '../../src/core/mm/memory/pgtable.js';
import { flagsW, MMF_HAS_PINNED, refcountW } from '../../src/core/mm_types.js';
import { PG_locked } from '../../src/core/page-flags.js';
import { pte_wrprotect } from '../../src/core/pgtable_types.js';
import { ANON_WP_COPY_COUNT, vmEventIndex } from '../../src/core/vmstat.js';
import { completeEraIds, ERAS, eraInfo } from '../../src/policy/registry.js';
import { expectSound, mapAnon, mmOfTask, read, world, write } from '../core/helpers.js';

const A = 0x10000000;

function sharedPage() {
  const w = world();
  mapAnon(w, w.init, A, 4096);
  const r = write(w, w.init, A, 1);
  if (!r.ok) throw new Error('write');
  const child = copy_process(w.s, w.k, w.init, false);
  return { w, child, pfn: r.pfn };
}

describe('v6.18 decision points', () => {
  it('do_wp_page copies a shared page and says why', () => {
    const { w } = sharedPage();
    write(w, w.init, A, 2);
    expect(w.log.at(-1)).toEqual({
      point: 'do_wp_page',
      choice: 'copy',
      why: 'refcount > 1 + swapcache after lru_add_drain()',
    });
    expect(w.s.vmstat[ANON_WP_COPY_COUNT]).toBe(1);
    expect(w.s.vmstat[vmEventIndex('anon_wp_copy_count_early')!]).toBe(1);
  });

  it('do_wp_page copies when another holder has the folio locked (trylock), counted as anon_wp_copy_lock', () => {
    const { w, child, pfn } = sharedPage();
    write(w, child, A, 3); // the child copies; the parent is the sole mapper again
    flagsW(w.s.mem)[pfn] = w.s.mem.flags[pfn]! | PG_locked; // e.g. reclaim holds the lock
    write(w, w.init, A, 2);
    expect(w.log.at(-1)).toMatchObject({
      point: 'do_wp_page',
      choice: 'copy',
      why: 'trylock failed: the page is locked by another holder',
    });
    expect(w.s.vmstat[vmEventIndex('anon_wp_copy_lock')!]).toBe(1);
  });

  it('do_wp_page reuses an exclusive page without looking at the refcount', () => {
    const w = world();
    mapAnon(w, w.init, A, 4096);
    const r = write(w, w.init, A, 1);
    if (!r.ok) throw new Error('write');
    // A read-only PTE on an exclusive page, with extra references (as GUP would hold).
    const mm = mmOfTask(w, w.init);
    const t = pteTable(w.s, mm, A);
    set_pte_at(w.s, t, pte_index(A), pte_wrprotect(ptep_get(w.s, t, pte_index(A))));
    refcountW(w.s.mem)[r.pfn]! += 2;
    expect(write(w, w.init, A, 2)).toMatchObject({ ok: true, pfn: r.pfn, faults: 1 });
    expect(w.log.at(-1)).toEqual({
      point: 'do_wp_page',
      choice: 'reuse',
      why: 'PageAnonExclusive',
    });
  });

  it('copy_present_pte copies a maybe-pinned exclusive page for the child (MMF_HAS_PINNED)', () => {
    const w = world();
    mapAnon(w, w.init, A, 4096);
    const r = write(w, w.init, A, 5);
    if (!r.ok) throw new Error('write');
    const mm = mmOfTask(w, w.init);
    mm.flags |= MMF_HAS_PINNED;
    refcountW(w.s.mem)[r.pfn]! += GUP_PIN_COUNTING_BIAS; // what pin_user_pages() adds
    const child = copy_process(w.s, w.k, w.init, false);
    expect(w.log.at(-1)).toMatchObject({ point: 'copy_present_pte', choice: 'copy' });
    const c = read(w, child, A);
    expect(c.ok && c.pfn !== r.pfn && c.value === 5).toBe(true);
    // The parent's PTE stays writable and exclusive: the pin stays coherent.
    expect(write(w, w.init, A, 6)).toMatchObject({ ok: true, pfn: r.pfn, faults: 0 });
    refcountW(w.s.mem)[r.pfn]! -= GUP_PIN_COUNTING_BIAS;
    expectSound(w);
  });
});

describe('era registry', () => {
  it('lists every era id of DESIGN.md, all modelled', () => {
    expect(ERAS.map((e) => e.id)).toEqual([
      'v5.7',
      'v5.8',
      'v5.9',
      'v5.18',
      'v5.19',
      'v6.2',
      'v6.18',
      'foll-break-cow',
      'full-accuracy',
      'linus-rules',
      'wait-for-gup',
    ]);
    expect(completeEraIds()).toHaveLength(11);
    for (const e of ERAS) if (e.policy) expect(e.policy.id).toBe(e.id);
    expect(eraInfo('v6.18')?.policy?.ptStrategy).toBe('pt-reclaim');
    expect(eraInfo('v6.2')?.policy?.ptStrategy).toBe('none');
    expect(eraInfo('linus-rules')?.policy?.GUP_PIN_COUNTING_BIAS).toBe(1);
  });
});
