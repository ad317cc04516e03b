/**
 * pte_offset_map_lock() as a two-step walk (mm/pgtable-generic.c
 * __pte_offset_map() and __pte_offset_map_lock(); read in torvalds/linux
 * v6.18 and in Hugh Dickins's "mm: allow pte_offset_map[_lock]() to fail",
 * v6.5): the fault reads the PMD entry, then takes the PTE lock of the
 * table it names, and under the rules of the page-table strategy
 * (pt_walk.ts) rechecks the entry. Between the two steps another thread may
 * zap the range and free the table (ADR 0013).
 *
 * What a walker may hold across the boundary, per strategy:
 * - rcu_read_lock() (6.5+): a table unlinked meanwhile is not freed before
 *   the walker is done (mmu_gather.ts);
 * - a pte_tryget() reference (pte_refcount): the last put frees, so the
 *   zap leaves the table to the walker;
 * - the page-table rwsem for read (pt-rwsem): the zap waits (machine.ts);
 * - only the mmap lock for read (none, madv-cleanup): nothing frees a PTE
 *   table without it for writing.
 *
 * Deviation, on purpose: the kernel reads the PMD entry again inside
 * pte_offset_map_lock() right before the lock; the model reads it once, at
 * the end of the first step. The window between the two steps contains the
 * kernel's, and nothing in the fault's own path between them touches the
 * page tables, so the same interleavings reach the same outcomes.
 */

import type { Mm, State } from '../mm_types.js';
import type { Kernel, PteMapPending } from '../points.js';
import { pmd_present_table, ptep_get } from './memory/pgtable.js';
import { pt_walker_enter, pt_walker_exit, ptBug, ptGen, ptLive } from './mmu_gather.js';
import { ptWalkRules } from './pt_walk.js';
import { pte_put, pte_tryget } from './pte_ref.js';

/**
 * The first step: the PMD entry at (`pmdTable`, `pmdIndex`) names PTE table
 * `table`; take what the strategy has walkers hold and stop.
 */
export function pte_offset_map_begin(
  s: State,
  k: Kernel,
  mm: Mm,
  address: number,
  write: boolean,
  pmdTable: number,
  pmdIndex: number,
  table: number,
): PteMapPending {
  const rules = ptWalkRules(k.config);
  if (rules.rcuWalk) pt_walker_enter(s);
  if (rules.tryget) pte_tryget(s, table);
  return {
    kind: 'pte_map',
    mm: mm.id,
    address,
    write,
    pmd_table: pmdTable,
    pmd_index: pmdIndex,
    pmd_gen: ptGen(s, pmdTable),
    table,
    gen: ptGen(s, table),
    rcu: rules.rcuWalk,
    tryget: rules.tryget,
    rwsem: rules.rwsem,
  };
}

/**
 * The second step: spin_lock() on the table's PTE lock and, where the
 * strategy rechecks, pmd_same() against the entry now. Returns the table to
 * map into, or 0 when the walk must start over (the fault returns and the
 * access retries). A lock taken in a freed table is PT001; mapping into a
 * table no longer linked is left to the caller's install (PT002 when the
 * table is freed with the entry).
 */
export function pte_offset_map_lock_resume(s: State, k: Kernel, p: PteMapPending): number {
  const rules = ptWalkRules(k.config);
  const who = `the fault at 0x${p.address.toString(16)}`;
  let table = p.table;
  if (!ptLive(s, p.table, p.gen)) {
    ptBug(s, {
      code: 'PT001',
      detail: `${who} took the PTE lock of page table ${p.table}, freed after it read the PMD entry`,
    });
    table = 0;
  } else if (!ptLive(s, p.pmd_table, p.pmd_gen)) {
    ptBug(s, {
      code: 'PT001',
      detail: `${who} rechecked a PMD entry in page table ${p.pmd_table}, freed after it read it`,
    });
    table = 0;
  } else if (rules.pmdRecheck) {
    const now = pmd_present_table(ptep_get(s, p.pmd_table, p.pmd_index));
    if (now !== p.table) {
      k.decide('pte_offset_map_lock', 'retry', 'the PMD entry changed: the PTE table was freed');
      table = 0;
    }
  }
  return table;
}

/** The end of the walk: drop what the first step took (pte_unmap_unlock(), rcu_read_unlock(), pte_put()). */
export function pte_offset_map_end(s: State, mm: Mm | null, p: PteMapPending): void {
  if (p.tryget && mm) pte_put(s, mm, p.address, p.table);
  else if (p.tryget && ptLive(s, p.table, p.gen))
    s.pt.visitors[p.table] = Math.max(0, (s.pt.visitors[p.table] ?? 0) - 1);
  if (p.rcu) pt_walker_exit(s);
}
