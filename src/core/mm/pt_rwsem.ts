/**
 * The page-table rwsem proposal (seed 004): Jason Gunthorpe's reply of
 * 10 Nov 2021 in the "Free user PTE page table pages" thread — "break up the
 * mmap lock and introduce a specific rwsem for the page table itself, in
 * addition to the PTL … two atomic per page table walk operation … would
 * allow freeing all the page table levels, not just PTEs". A proposal
 * without code; what the model assumes, since the mail does not say:
 *
 * - every page-table walker but GUP-fast (the fault, GUP, the rmap walkers
 *   under their anon_vma or i_mmap lock) takes the rwsem for read around its
 *   walk; GUP-fast stays lockless with interrupts off, as today;
 * - a zap (MADV_DONTNEED, munmap, a hole punch's unmap_mapping_range() in
 *   each mm it reaches) takes it for write, and before dropping it frees
 *   every table of the zapped range left with no entry, at every level
 *   (PTE, then PMD, then PUD), whichever VMAs the table spans: with the
 *   rwsem held for write no walker can be inside it (exit frees everything
 *   through free_pgtables() anyway);
 * - reclaim's try_to_unmap() is a walker (read), not a zap: it frees nothing.
 *
 * The rwsem's own ordering against the inode and rmap locks (David
 * Hildenbrand's objection in the same thread) is not modelled.
 */

import type { Mm, State } from '../mm_types.js';
import { PMD_SIZE, PT_LEVEL_PMD, PT_LEVEL_PTE, PT_LEVEL_PUD, PUD_SIZE } from '../pgtable_types.js';
import { freeTableIfEmpty } from './memory/pgtable.js';

/**
 * With the rwsem held for write after zapping [start, end): free the tables
 * of every level covering part of the range that no longer map anything.
 * The number freed.
 */
export function free_empty_pgtables_locked(s: State, mm: Mm, start: number, end: number): number {
  let freed = 0;
  const levels: readonly [number, number][] = [
    [PT_LEVEL_PTE, PMD_SIZE],
    [PT_LEVEL_PMD, PUD_SIZE],
    [PT_LEVEL_PUD, PUD_SIZE * 512],
  ];
  for (const [level, span] of levels)
    for (let a = Math.floor(start / span) * span; a < end; a += span)
      if (freeTableIfEmpty(s, mm, a, level)) freed++;
  return freed;
}
