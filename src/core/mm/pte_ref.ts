/**
 * The pte_refcount proposal (seed 004): Qi Zheng, "[PATCH v3 00/15] Free
 * user PTE page table pages", Nov 2021; the design as its patch 14/15
 * documents it (Documentation/vm/pte_ref.rst, Message-Id
 * 20211110105428.32458-15-zhengqi.arch@bytedance.com, read in the stored
 * mail). Never merged; modelled as that document states it:
 *
 * - every !pte_none() entry (a mapped page, a swap or migration entry) holds
 *   a reference on its PTE table, and so does every visitor (a page-table
 *   walker takes one with pte_tryget() before pte_offset_map_lock() and
 *   drops it with pte_put() after);
 * - the put that takes the count to 0 frees the table; a walker that finds
 *   the count at 0 (pte_get_unless_zero() fails) treats the PMD as none;
 * - GUP-fast takes no reference: it runs with interrupts off, and the free
 *   waits for the TLB-flush IPI that CPU cannot take until it is done.
 *
 * What the model has of it so far: the free by the last entry's put when a
 * zap (MADV_DONTNEED, munmap, exit) clears it, whatever part of the table
 * the zap covered. The visitors' references and the two atomics around
 * every PTE map come with the walkers' lock-boundary steps (issue 17).
 */

import type { Mm, State } from '../mm_types.js';
import { PT_LEVEL_PTE } from '../pgtable_types.js';
import { freeTableIfEmpty } from './memory/pgtable.js';

/**
 * pte_put() after a zap cleared entries of the PTE table covering `addr`:
 * once no entry is left (and no visitor holds one, which the model's atomic
 * steps cannot show yet), the count is 0 and the table is freed
 * (free_user_pte()). Whether it was.
 */
export function pte_put_after_zap(s: State, mm: Mm, addr: number): boolean {
  return freeTableIfEmpty(s, mm, addr, PT_LEVEL_PTE);
}
