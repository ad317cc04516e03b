/**
 * madvise(): mm/madvise.c madvise_dontneed_single_vma(), madvise_pageout()
 * and the VMA flag updates of MADV_DONTFORK / MADV_DOFORK
 * (madvise_update_vma()).
 */

import { EACCES, EINVAL, ENOMEM, EOPNOTSUPP } from '../errno.js';
import type { Mm, State, Vma } from '../mm_types.js';
import {
  folioLarge,
  VM_DONTCOPY,
  VM_HUGEPAGE,
  VM_HUGETLB,
  VM_LOCKED,
  VM_MAYWRITE,
  VM_MERGEABLE,
  VM_NOHUGEPAGE,
  VM_PFNMAP,
  VM_SHARED,
} from '../mm_types.js';
import { PG_ksm } from '../page-flags.js';
import { PAGE_SIZE, PMD_SIZE, PT_LEVEL_PTE, pte_pfn, pte_present } from '../pgtable_types.js';
import type { Kernel, PtDesign } from '../points.js';
import { __split_huge_pmd, is_huge_zero_pmd, split_folio } from './huge_memory.js';
import { madvise_collapse } from './khugepaged.js';
import { ksmMergeableVma, MADV_MERGEABLE, MADV_UNMERGEABLE, unmerge_ksm_pages } from './ksm.js';
import {
  forEachHugePmd,
  forEachPte,
  freeTableIfEmpty,
  ptep_get,
  pteTable,
} from './memory/pgtable.js';
import { vm_normal_page } from './memory/wp.js';
import { zap_page_range_single } from './memory/zap.js';
import { page_folio } from './page_alloc.js';
import { free_empty_pgtables_locked } from './pt_rwsem.js';
import { ptWalkRules, ptWalkWork } from './pt_walk.js';
import { folio_entire_mapcount, folio_test_anon } from './rmap.js';
import { shmem_punch_hole } from './shmem.js';
import { lru_add_drain } from './swap.js';
import { split_vma, vmaMergeAll, vmaReplace } from './vma.js';
import { folio_isolate_lru, reclaim_pages } from './vmscan.js';

/* include/uapi/asm-generic/mman-common.h */
export const MADV_DONTNEED = 4;
export const MADV_DONTFORK = 10;
export const MADV_DOFORK = 11;
export const MADV_HUGEPAGE = 14;
export const MADV_NOHUGEPAGE = 15;
export const MADV_PAGEOUT = 21;
export const MADV_COLLAPSE = 25;
/**
 * MADV_CLEANUP_PGTABLE: David Hildenbrand's proposal (seed 004), never
 * merged and never numbered; a model-only value.
 */
export const MADV_CLEANUP_PGTABLE = 1000;
/** include/uapi/asm-generic/mman-common.h MADV_REMOVE: punch a hole in the backing file. */
export const MADV_REMOVE = 9;

/** The VMAs covering [start, end), and whether a hole was found (-ENOMEM). */
function vmasIn(mm: Mm, start: number, end: number): { vmas: Vma[]; hole: boolean } {
  const vmas = mm.vmas.filter((v) => v.vm_start < end && start < v.vm_end);
  let expect = start;
  let hole = false;
  for (const v of vmas) {
    if (v.vm_start > expect) hole = true;
    expect = v.vm_end;
  }
  return { vmas, hole: hole || expect < end };
}

/**
 * mm/madvise.c madvise_walk_vmas(): apply `visit` to the part of each VMA
 * inside [start, end). The first error ends the walk (with `keepGoing`, every
 * VMA is visited and the last error returned); a hole in the range gives
 * -ENOMEM once the VMAs are done.
 */
function madvise_walk_vmas(
  mm: Mm,
  start: number,
  end: number,
  visit: (vma: Vma, start: number, end: number) => number,
  keepGoing = false,
): number {
  const { vmas, hole } = vmasIn(mm, start, end);
  let ret = 0;
  for (const vma of vmas) {
    const r = visit(vma, Math.max(start, vma.vm_start), Math.min(end, vma.vm_end));
    if (r < 0 && !keepGoing) return r;
    if (r < 0) ret = r;
  }
  return ret < 0 ? ret : hole ? -ENOMEM : 0;
}

/** What MADV_DONTNEED's zap does with the tables it empties, per page-table strategy (ADR 0013). */
const PT_AFTER_ZAP: Record<PtDesign, { choice: string; reason: string }> = {
  none: { choice: 'keep page tables', reason: 'empty PTE tables stay until munmap' },
  'madv-cleanup': {
    choice: 'keep page tables',
    reason: 'empty tables stay until MADV_CLEANUP_PGTABLE or munmap',
  },
  'pt-reclaim': {
    choice: 'reclaim_pt',
    reason: 'PT_RECLAIM: whole emptied PTE tables are freed',
  },
  'pte-refcount': {
    choice: 'pte_put',
    reason: 'pte_refcount: the put of the last entry frees its PTE table',
  },
  'pt-rwsem': {
    choice: 'free empty tables',
    reason: 'page-table rwsem held for write: empty tables of every level are freed',
  },
};

/**
 * mm/madvise.c madvise_dontneed_single_vma(): zap the range, with
 * zap_details { .reclaim_pt = true, .even_cows = true } where PT_RECLAIM is on.
 */
function madvise_dontneed_single_vma(
  s: State,
  k: Kernel,
  mm: Mm,
  vma: Vma,
  start: number,
  end: number,
): number {
  if (vma.vm_flags & (VM_LOCKED | VM_PFNMAP | VM_HUGETLB)) return -EINVAL;
  const rules = ptWalkRules(k.config);
  const pt = rules.design;
  const reclaim_pt = pt === 'pt-reclaim';
  k.decide('madvise_dontneed_single_vma', PT_AFTER_ZAP[pt].choice, PT_AFTER_ZAP[pt].reason);
  ptWalkWork(s, k.config);
  zap_page_range_single(s, mm, vma, start, end - start, {
    even_cows: true,
    reclaim_pt,
    reclaim_pt_rcu: rules.deferredFree,
    pte_refcount: rules.pteRefcount,
  });
  if (pt === 'pt-rwsem') free_empty_pgtables_locked(s, mm, start, end);
  return 0;
}

/**
 * mm/madvise.c madvise_pageout() → madvise_cold_or_pageout_pte_range() →
 * reclaim_pages() (since v5.4, 1a4e58cce84e): drain this CPU's LRU batch,
 * isolate every anonymous folio of the range that only this process maps
 * (page_mapcount() == 1; the zero page and folios not on the LRU are
 * skipped), and reclaim them now, ignoring references. File pages are not
 * paged out by the model (can_do_pageout() concerns only files).
 */
function madvise_pageout(
  s: State,
  k: Kernel,
  mm: Mm,
  vma: Vma,
  start: number,
  end: number,
): number {
  if (vma.vm_flags & (VM_LOCKED | VM_PFNMAP | VM_HUGETLB)) return -EINVAL; // can_madv_lru_vma()
  if (vma.vm_file !== 0) return 0;
  lru_add_drain(s, k);
  // A THP mapped only by this PMD is split to PTEs (then its folio, below): the
  // model has no THP swap-out, so it goes out page by page, as after
  // add_to_swap() failed for the whole folio.
  forEachHugePmd(s, mm, start, end, (leaf, addr) => {
    const folio = pte_pfn(leaf.pmd);
    if (
      is_huge_zero_pmd(s, leaf.pmd) ||
      folio_entire_mapcount(s, folio) !== 1 ||
      s.mem.refcount[folio] !== 1
    )
      return;
    __split_huge_pmd(s, mm, addr);
  });
  const isolated: number[] = [];
  forEachPte(s, mm, start, end, (t, i) => {
    const pte = ptep_get(s, t, i);
    if (!pte_present(pte)) return;
    const page = vm_normal_page(pte);
    if (page === 0) return;
    let folio = page_folio(s, page);
    if (!folio_test_anon(s, folio) || s.mem.flags[folio]! & PG_ksm) return; // KSM pages stay
    // madvise_cold_or_pageout_pte_range(): a large folio only this mm maps
    // (folio_maybe_mapped_shared() is false) is split first.
    if (s.mem.order[folio]! > 0) {
      if (folioLarge(s, folio).shared || !split_folio(s, folio)) return;
      folio = page;
    }
    if (s.mem.mapcount[page] !== 1) return;
    if (folio_isolate_lru(s, folio)) isolated.push(folio);
  });
  reclaim_pages(s, k, isolated);
  return 0;
}

/**
 * Advice that only sets or clears VMA flags (mm/madvise.c madvise_vma_behavior()):
 * MADV_DONTFORK/DOFORK (VM_DONTCOPY), MADV_HUGEPAGE/NOHUGEPAGE
 * (hugepage_madvise(): each clears the other).
 */
const VMA_FLAG_ADVICE: ReadonlyMap<number, { set: number; clear: number }> = new Map([
  [MADV_DONTFORK, { set: VM_DONTCOPY, clear: 0 }],
  [MADV_DOFORK, { set: 0, clear: VM_DONTCOPY }],
  [MADV_HUGEPAGE, { set: VM_HUGEPAGE, clear: VM_NOHUGEPAGE }],
  [MADV_NOHUGEPAGE, { set: VM_NOHUGEPAGE, clear: VM_HUGEPAGE }],
]);

/**
 * mm/ksm.c ksm_madvise(): MADV_MERGEABLE sets VM_MERGEABLE on the private
 * anonymous VMAs of the range (others are left alone); MADV_UNMERGEABLE
 * first breaks every KSM page of the range out (unmerge_ksm_pages() →
 * break_ksm()), then clears the flag.
 */
function ksm_madvise(
  s: State,
  k: Kernel,
  mm: Mm,
  start: number,
  end: number,
  advice: number,
): number {
  split_vma(s, mm, start);
  split_vma(s, mm, end);
  const { vmas, hole } = vmasIn(mm, start, end);
  for (const vma of vmas) {
    if (!ksmMergeableVma(vma)) continue;
    if (advice === MADV_MERGEABLE) {
      vmaReplace(mm, vma, { ...vma, vm_flags: vma.vm_flags | VM_MERGEABLE });
      continue;
    }
    if (!(vma.vm_flags & VM_MERGEABLE)) continue;
    unmerge_ksm_pages(s, k, mm, vma.vm_start, vma.vm_end);
    const now = mm.vmas.find((x) => x.vm_start === vma.vm_start)!;
    vmaReplace(mm, now, { ...now, vm_flags: now.vm_flags & ~VM_MERGEABLE });
  }
  vmaMergeAll(s, mm);
  return hole ? -ENOMEM : 0;
}

/**
 * MADV_CLEANUP_PGTABLE, as proposed in seed 004 ("have a
 * madvise(MADV_CLEANUP_PGTABLE) mechanism that will get called by user space
 * explicitly once it's reasonable"): a proposal without code. Assumed here:
 * it takes the mmap lock for writing and the VMA's rmap lock (the anon_vma
 * or i_mmap lock), as khugepaged's retract_page_tables() must to remove a
 * table; it frees PTE tables only ("PTEs are the biggest memory consumer"),
 * and only those with no entry whose 2 MiB lies inside the range and inside
 * this one VMA ("reclaiming page tables crossing VMAs is problematic").
 * -EINVAL where the strategy is not madv-cleanup: the kernel does not know
 * the advice.
 */
function madvise_cleanup_pgtable(s: State, mm: Mm, vma: Vma, start: number, end: number): number {
  const lo = Math.max(start, vma.vm_start);
  const hi = Math.min(end, vma.vm_end);
  for (let a = Math.ceil(lo / PMD_SIZE) * PMD_SIZE; a + PMD_SIZE <= hi; a += PMD_SIZE)
    if (pteTable(s, mm, a) !== 0) freeTableIfEmpty(s, mm, a, PT_LEVEL_PTE);
  return 0;
}

/**
 * mm/madvise.c madvise_remove() (6.18): -EINVAL for a locked VMA or one with
 * no file, -EACCES unless shared and writable (vma_is_shared_maywrite());
 * then, the mmap lock dropped, vfs_fallocate(FALLOC_FL_PUNCH_HOLE |
 * FALLOC_FL_KEEP_SIZE) of the file range behind [start, end). Only shmem
 * files (tmpfs, memfd) punch holes in the model; others -EOPNOTSUPP.
 */
function madvise_remove(
  s: State,
  k: Kernel,
  vma: Vma,
  start: number,
  end: number,
  stepwise: boolean,
): number {
  if (vma.vm_flags & VM_LOCKED) return -EINVAL;
  if (vma.vm_file === 0) return -EINVAL;
  if ((vma.vm_flags & (VM_SHARED | VM_MAYWRITE)) !== (VM_SHARED | VM_MAYWRITE)) return -EACCES;
  if (s.inodes[vma.vm_file]?.fs !== 'tmpfs') return -EOPNOTSUPP;
  const first = vma.vm_pgoff + (start - vma.vm_start) / PAGE_SIZE;
  shmem_punch_hole(s, k, vma.vm_file, first, first + (end - start) / PAGE_SIZE, stepwise);
  return 0;
}

/** The madvise() system call for the advice values the model knows. */
export function do_madvise(
  s: State,
  k: Kernel,
  mm: Mm,
  start: number,
  len: number,
  advice: number,
  /**
   * The caller (a scenario thread) takes a stop at a lock boundary (ADR
   * 0013): a hole punch inside one VMA may stop in its rmap walk (k.pending).
   */
  stepwise = false,
): number {
  if (start % PAGE_SIZE !== 0) return -EINVAL;
  const end = start + Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
  if (end < start) return -EINVAL;
  if (end === start) return 0;
  if (advice === MADV_DONTNEED)
    return madvise_walk_vmas(mm, start, end, (vma, a, b) =>
      madvise_dontneed_single_vma(s, k, mm, vma, a, b),
    );
  if (advice === MADV_CLEANUP_PGTABLE) {
    const known = ptWalkRules(k.config).design === 'madv-cleanup';
    k.decide(
      'madvise_cleanup_pgtable',
      known ? 'free empty PTE tables' : '-EINVAL',
      known
        ? 'MADV_CLEANUP_PGTABLE: the empty PTE tables inside one VMA are freed'
        : 'this page-table strategy has no MADV_CLEANUP_PGTABLE',
    );
    if (!known) return -EINVAL;
    return madvise_walk_vmas(mm, start, end, (vma, a, b) =>
      madvise_cleanup_pgtable(s, mm, vma, a, b),
    );
  }
  if (advice === MADV_REMOVE) {
    const one = stepwise && mm.vmas.some((v) => v.vm_start <= start && end <= v.vm_end);
    return madvise_walk_vmas(mm, start, end, (vma, a, b) => madvise_remove(s, k, vma, a, b, one));
  }
  if (advice === MADV_PAGEOUT)
    return madvise_walk_vmas(mm, start, end, (vma, a, b) => madvise_pageout(s, k, mm, vma, a, b));
  if (advice === MADV_COLLAPSE) {
    if (!k.policy.madv_collapse) return -EINVAL;
    // madvise_collapse() tries every range and reports the last failure.
    return madvise_walk_vmas(
      mm,
      start,
      end,
      (vma, a, b) => madvise_collapse(s, k, mm, vma, a, b),
      true,
    );
  }
  if (advice === MADV_MERGEABLE || advice === MADV_UNMERGEABLE) {
    return ksm_madvise(s, k, mm, start, end, advice);
  }
  const flagAdvice = VMA_FLAG_ADVICE.get(advice);
  if (flagAdvice) {
    // madvise_update_vma(): split at the range's ends, set or clear the flag.
    split_vma(s, mm, start);
    split_vma(s, mm, end);
    const { vmas, hole } = vmasIn(mm, start, end);
    for (const vma of vmas) {
      const vm_flags = (vma.vm_flags | flagAdvice.set) & ~flagAdvice.clear;
      vmaReplace(mm, vma, { ...vma, vm_flags });
    }
    vmaMergeAll(s, mm);
    return hole ? -ENOMEM : 0;
  }
  return -EINVAL;
}
