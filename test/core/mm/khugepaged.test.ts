import { describe, expect, it } from 'vitest';
import { task_mem } from '../../../src/core/fs/proc/task_mmu.js';
import { copy_process } from '../../../src/core/kernel/fork.js';
import {
  KHUGEPAGED_MAX_PTES_SHARED,
  khugepagedCandidates,
  khugepagedCollapse,
} from '../../../src/core/mm/khugepaged.js';
import { do_madvise, MADV_HUGEPAGE, MADV_PAGEOUT } from '../../../src/core/mm/madvise.js';
import { pmdLeaf } from '../../../src/core/mm/memory/pgtable.js';
import { eraWorld, expectSound, mapAnon, mmOfTask, read, write } from '../helpers.js';

const A = 0x40000000;
const THP = 2 * 1024 * 1024;
const PAGE = 4096;

type W = ReturnType<typeof eraWorld>;

/** A 2 MiB-aligned range with `pages` small pages written before MADV_HUGEPAGE. */
function ptemapped(w: W, pages: number, hugepage = true): void {
  mapAnon(w, w.init, A, THP);
  for (let i = 0; i < pages; i++)
    expect(write(w, w.init, A + i * PAGE, i + 1)).toMatchObject({ ok: true });
  if (hugepage) expect(do_madvise(w.s, w.k, mmOfTask(w, w.init), A, THP, MADV_HUGEPAGE)).toBe(0);
}

describe('khugepaged (mm/khugepaged.c)', () => {
  it('offers a PTE-mapped MADV_HUGEPAGE range and collapses it, keeping every value', () => {
    const w = eraWorld('v6.18');
    ptemapped(w, 3);
    const mm = mmOfTask(w, w.init);
    expect(khugepagedCandidates(w.s)).toEqual([{ mm: mm.id, haddr: A }]);
    expect(khugepagedCollapse(w.s, w.k, { mm: mm.id, haddr: A })).toMatch(/^collapsed/);
    expect(pmdLeaf(w.s, mm, A)).not.toBeNull();
    expect(task_mem(w.s, mm).AnonHugePages).toBe(2048);
    for (let i = 0; i < 3; i++)
      expect(read(w, w.init, A + i * PAGE)).toMatchObject({ value: i + 1 });
    expect(read(w, w.init, A + 100 * PAGE)).toMatchObject({ value: 0 });
    expect(khugepagedCandidates(w.s)).toEqual([]); // PMD-mapped now
    expectSound(w);
  });

  it('leaves alone VMAs without MADV_HUGEPAGE (THP mode madvise) and ranges with a swap entry', () => {
    const w = eraWorld('v6.18');
    ptemapped(w, 2, false);
    expect(khugepagedCandidates(w.s)).toEqual([]);
    const v = eraWorld('v6.18');
    ptemapped(v, 2);
    expect(do_madvise(v.s, v.k, mmOfTask(v, v.init), A, PAGE, MADV_PAGEOUT)).toBe(0);
    expect(khugepagedCandidates(v.s)).toEqual([]);
  });

  it('max_ptes_shared: skips a range with more than 256 pages mapped by a fork child too', () => {
    const w = eraWorld('v6.18');
    ptemapped(w, KHUGEPAGED_MAX_PTES_SHARED + 1);
    const child = copy_process(w.s, w.k, w.init, false);
    expect(khugepagedCandidates(w.s)).toEqual([]);
    // The child writes one page: 256 shared pages are within the limit again, in both mms.
    expect(write(w, child, A, 99)).toMatchObject({ ok: true });
    expect(khugepagedCandidates(w.s).length).toBe(2);
    expectSound(w);
  });
});
