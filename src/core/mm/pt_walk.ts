/**
 * What a page-table walk costs beyond mainline under the proposals of seed
 * 004 (ADR 0013), charged to the work account (work.ts) so that sim prices
 * it: "this approach basically adds two atomics on every PTE map" (Jason
 * Gunthorpe on pte_refcount) and "two atomic per page table walk operation"
 * (on his rwsem). Each is read as the thread states it:
 *
 * - pte-refcount: pte_tryget() and pte_put() around each walk that maps a
 *   PTE table (2 atomics), and one more each time an entry turns !pte_none()
 *   (its reference, pte_get()) or back (pte_put()): Documentation/vm/
 *   pte_ref.rst of the v3 series counts entries and visitors alike;
 * - pt-rwsem: down_read() and up_read() around each walk, down_write() and
 *   up_write() around each zap (2 atomics);
 * - none, pt-reclaim, madv-cleanup: nothing per walk (PT_RECLAIM's own work
 *   is its free, priced as pt_free).
 */

import type { State } from '../mm_types.js';
import type { Config } from '../points.js';
import { W_ATOMICS, workCharge } from '../work.js';

/** One walk (a fault, a GUP walk, a zap) of the page tables. */
export function ptWalkWork(s: State, config: Config): void {
  if (config.ptStrategy === 'pte-refcount' || config.ptStrategy === 'pt-rwsem')
    workCharge(s, W_ATOMICS, 2);
}

/** `n` entries of PTE tables turned from none to in use, or back: pte_refcount's pte_get()/pte_put(). */
export function pteEntryRefWork(s: State, config: Config, n: number): void {
  if (config.ptStrategy === 'pte-refcount' && n > 0) workCharge(s, W_ATOMICS, n);
}
