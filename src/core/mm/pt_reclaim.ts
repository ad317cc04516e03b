/**
 * Reclaim of empty PTE tables on MADV_DONTNEED (mm/pt_reclaim.c, CONFIG_PT_RECLAIM,
 * Qi Zheng's "mm: pgtable: reclaim empty PTE page in madvise(MADV_DONTNEED)",
 * believed v6.14; read in torvalds/linux mm/pt_reclaim.c and zap_pte_range()).
 *
 * Only a zap that covers a whole PTE table (end - start >= PMD_SIZE) and left
 * every entry none may free it; munmap and exit free tables through
 * free_pgtables() instead.
 */

import type { Mm, State } from '../mm_types.js';
import { PMD_SIZE } from '../pgtable_types.js';
import { count_vm_event, PT_RECLAIM_PTE } from '../vmstat.js';
import { pmdClearAndFreePte } from './memory/pgtable.js';

/** struct zap_details, the fields the model uses. */
export interface ZapDetails {
  /** Zap private COW copies too (every zap the model performs does). */
  readonly even_cows: boolean;
  /** Try to free the PTE table once emptied (MADV_DONTNEED with PT_RECLAIM). */
  readonly reclaim_pt: boolean;
  /**
   * Model-only, true unless asked otherwise: the emptied table is freed
   * through tlb_remove_table() (RCU); false frees it at once (the unsafe
   * variant `pt-reclaim-norcu`).
   */
  readonly reclaim_pt_rcu?: boolean;
  /**
   * Model-only: the pte_refcount proposal (pte_ref.ts) is on, so the put of
   * the last entry a zap clears frees its PTE table, whatever part it zapped.
   */
  readonly pte_refcount?: boolean;
}

/** mm/pt_reclaim.c reclaim_pt_is_enabled() */
export function reclaim_pt_is_enabled(
  start: number,
  end: number,
  details: ZapDetails | null,
): boolean {
  return details?.reclaim_pt === true && end - start >= PMD_SIZE;
}

/**
 * mm/pt_reclaim.c try_get_and_clear_pmd() + free_pte() (and the slow path
 * try_to_free_pte(), which re-checks every entry is none; in one atomic step
 * both end the same way): clear the PMD entry and free the PTE table.
 */
export function free_pte(s: State, mm: Mm, addr: number, rcu = true): void {
  pmdClearAndFreePte(s, mm, addr, rcu);
  count_vm_event(s.vmstat, PT_RECLAIM_PTE);
}
