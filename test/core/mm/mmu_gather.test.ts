import { describe, expect, it } from 'vitest';
import { do_madvise, MADV_DONTNEED } from '../../../src/core/mm/madvise.js';
import { pteTable } from '../../../src/core/mm/memory/pgtable.js';
import { pt_walker_enter, pt_walker_exit, ptGen, ptLive } from '../../../src/core/mm/mmu_gather.js';
import { ptSet } from '../../../src/core/mm_types.js';
import { ARENA, ARENA_LEN, expectSound, ptArena } from '../helpers.js';

const A = ARENA;
const MB2 = ARENA_LEN;

describe('tlb_remove_table(): the free of an unlinked table waits for lockless walkers', () => {
  it('is deferred while a walker is inside, and done when the last one leaves', () => {
    const { w, mm, table } = ptArena('pt-reclaim');
    const gen = ptGen(w.s, table);
    pt_walker_enter(w.s);
    expect(do_madvise(w.s, w.k, mm, A, MB2, MADV_DONTNEED)).toBe(0);
    expect(pteTable(w.s, mm, A)).toBe(0); // unlinked at once (VmPTE drops then)
    expect(w.s.pt.deferred).toEqual([table]);
    expect(ptLive(w.s, table, gen)).toBe(true);
    expectSound(w); // MM004 exempts a table waiting for its grace period
    pt_walker_exit(w.s);
    expect(w.s.pt.deferred).toEqual([]);
    expect(ptLive(w.s, table, gen)).toBe(false);
    expectSound(w);
  });

  it('pt-reclaim-norcu frees at once, walker or not', () => {
    const { w, mm, table } = ptArena('pt-reclaim-norcu');
    const gen = ptGen(w.s, table);
    pt_walker_enter(w.s);
    do_madvise(w.s, w.k, mm, A, MB2, MADV_DONTNEED);
    expect(ptLive(w.s, table, gen)).toBe(false);
    pt_walker_exit(w.s);
  });

  it('a table freed with an entry in use is PT002', () => {
    const { w, mm, table } = ptArena('pt-reclaim');
    pt_walker_enter(w.s);
    do_madvise(w.s, w.k, mm, A, MB2, MADV_DONTNEED);
    ptSet(w.s, table, 3, 2, 1); // a PTE installed after the unlink
    pt_walker_exit(w.s);
    expect(w.s.pt.bugs.map((b) => b.code)).toEqual(['PT002']);
  });
});
