/**
 * The deferred free of page tables (mm/mmu_gather.c tlb_remove_table(),
 * tlb_remove_table_rcu(); CONFIG_MMU_GATHER_RCU_TABLE_FREE, which x86 has
 * selected since v5.x) and the lockless walkers it protects: a table
 * unlinked from its mm is freed only after a grace period, so that a walker
 * that read its address before the unlink, inside rcu_read_lock() (6.5+'s
 * __pte_offset_map()) or with interrupts off (GUP-fast), can still read it.
 * Read in torvalds/linux v6.18 mm/mmu_gather.c and mm/pt_reclaim.c, whose
 * comment names the rule: users of pte_offset_map_lock() expect the PTE page
 * to stay valid under RCU, so PTE pages must be freed by RCU.
 *
 * The model's grace period ends as soon as no such walker is left
 * (`State.pt.readers` is 0): walkers that start after the unlink cannot
 * reach the table, so freeing it at the earliest legal moment shows every
 * behaviour a later moment would (ADR 0013).
 */

import type { PtBug, State } from '../mm_types.js';
import { ptEmpty, ptFreeTable, ptWritable } from '../mm_types.js';

/** A walker enters rcu_read_lock() or local_irq_save() with a table's address in hand. */
export function pt_walker_enter(s: State): void {
  s.pt.readers += 1;
}

/** It leaves: the last one out ends the grace period, and the deferred tables are freed. */
export function pt_walker_exit(s: State): void {
  s.pt.readers -= 1;
  if (s.pt.readers < 0) s.pt.readers = 0;
  if (s.pt.readers === 0) tlb_remove_table_rcu(s);
}

/**
 * tlb_remove_table(): free table `id`, already unlinked, once no lockless
 * walker can be inside it (at once when none is).
 */
export function tlb_remove_table(s: State, id: number): void {
  if (s.pt.readers > 0) s.pt.deferred.push(id);
  else freeUnlinkedTable(s, id);
}

/**
 * A table whose entries the caller has already taken over (khugepaged's
 * collapse: each page's reference went to the THP): cleared, then freed as
 * tlb_remove_table() frees.
 */
export function tlb_remove_table_taken(s: State, id: number): void {
  ptWritable(s, id).fill(0); // dense: every entry none; sparse: no entry
  tlb_remove_table(s, id);
}

/** tlb_remove_table_rcu(): the grace period is over; free every deferred table. */
export function tlb_remove_table_rcu(s: State): void {
  const ids = s.pt.deferred;
  if (ids.length === 0) return;
  s.pt.deferred = [];
  for (const id of ids) freeUnlinkedTable(s, id);
}

/**
 * Free an unlinked table at once, as a design without the deferral does (the
 * unsafe variant `pt-reclaim-norcu`).
 */
export function freeUnlinkedTable(s: State, id: number): void {
  const tab = s.pt.tables[id];
  if (tab && !ptEmpty(tab))
    ptBug(s, {
      code: 'PT002',
      detail: `page table ${id} freed with entries in use: a PTE was installed after it was unlinked (its page leaks)`,
    });
  ptFreeTable(s, id);
}

/** Record a broken page-table invariant where it happened (once per detail). */
export function ptBug(s: State, bug: PtBug): void {
  if (!s.pt.bugs.some((b) => b.code === bug.code && b.detail === bug.detail)) s.pt.bugs.push(bug);
}

/** Is table `id` as the walker last saw it (not freed, perhaps reused, since it read `gen`)? */
export function ptLive(s: State, id: number, gen: number): boolean {
  return s.pt.tables[id] != null && (s.pt.gen[id] ?? 0) === gen;
}

/** The generation a walker records with a table id it read. */
export function ptGen(s: State, id: number): number {
  return s.pt.gen[id] ?? 0;
}
