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
 * The series predates 6.5's RCU walk (Policy.pte_map_rcu): on an era that
 * has it the model frees through tlb_remove_table() after a grace period,
 * as PT_RECLAIM does (assumed), so a walker's RCU read side and PMD recheck
 * cover it even without its reference (pte-refcount-notryget on v6.18).
 *
 * Modelled: the free by the last entry's put when a zap (MADV_DONTNEED)
 * clears it, whatever part of the table the zap covered, unless a visitor
 * still holds the table; the fault's pte_tryget()/pte_put() around
 * pte_offset_map_lock() (pgtable-generic.ts), whose put frees a table the
 * zap left empty. munmap and exit free through free_pgtables().
 */

import type { Mm, State } from '../mm_types.js';
import { PT_LEVEL_PTE } from '../pgtable_types.js';
import { freeTableIfEmpty, pmd_present_table, pmdSlot, ptep_get } from './memory/pgtable.js';

/**
 * pte_put() after a zap cleared entries of the PTE table covering `addr`:
 * once no entry is left and no visitor holds the table, the count is 0 and
 * the table is freed (free_user_pte()). Whether it was.
 */
export function pte_put_after_zap(s: State, mm: Mm, addr: number): boolean {
  const at = pmdSlot(s, mm, addr);
  const t = at ? pmd_present_table(ptep_get(s, at.table, at.index)) : 0;
  if (t !== 0 && (s.pt.visitors[t] ?? 0) > 0) return false;
  return freeTableIfEmpty(s, mm, addr, PT_LEVEL_PTE);
}

/**
 * pte_tryget(): a visitor's reference on PTE table `t` (the count is above 0
 * while the table is linked: its entries or another visitor hold it).
 */
export function pte_tryget(s: State, t: number): void {
  s.pt.visitors[t] = (s.pt.visitors[t] ?? 0) + 1;
}

/**
 * pte_put() by a visitor: the last reference of an empty table frees it,
 * if it is still the table the PMD entry at `addr` points to.
 */
export function pte_put(s: State, mm: Mm, addr: number, t: number): void {
  const n = Math.max(0, (s.pt.visitors[t] ?? 0) - 1);
  s.pt.visitors[t] = n;
  if (n > 0) return;
  const at = pmdSlot(s, mm, addr);
  if (at && pmd_present_table(ptep_get(s, at.table, at.index)) === t)
    freeTableIfEmpty(s, mm, addr, PT_LEVEL_PTE);
}
