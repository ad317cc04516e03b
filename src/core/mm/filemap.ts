/**
 * The folio lock (include/linux/pagemap.h folio_trylock(), mm/filemap.c
 * folio_unlock()) and writeback (folio_start_writeback(),
 * folio_end_writeback()). In one atomic step nobody else can hold the lock
 * unless a modelled actor (reclaim, migration) took it; a trylock then fails.
 */

import type { State } from '../mm_types.js';
import { PG_locked, PG_writeback } from '../page-flags.js';
import { W_ATOMICS, W_LOCKS, W_PAGE_LINES, W_TRYLOCK_FAIL, workCharge } from '../work.js';

export function folio_test_locked(s: State, folio: number): boolean {
  return (s.mem.flags[folio]! & PG_locked) !== 0;
}

/** folio_trylock(): take the lock if it is free. */
export function folio_trylock(s: State, folio: number): boolean {
  workCharge(s, W_ATOMICS);
  workCharge(s, W_PAGE_LINES);
  if (folio_test_locked(s, folio)) {
    workCharge(s, W_TRYLOCK_FAIL);
    return false;
  }
  s.mem.flags[folio] = s.mem.flags[folio]! | PG_locked;
  workCharge(s, W_LOCKS);
  return true;
}

/** folio_unlock() */
export function folio_unlock(s: State, folio: number): void {
  s.mem.flags[folio] = s.mem.flags[folio]! & ~PG_locked;
  workCharge(s, W_ATOMICS);
}

/**
 * Who holds a folio's lock, for traces: the model's only other lock holder
 * is a reclaim scan (it isolated the folio from the LRU first).
 */
export function folioLockHolder(s: State, folio: number): string {
  if (!folio_test_locked(s, folio)) return 'nobody';
  return s.isolated.includes(folio)
    ? 'reclaim (shrink_folio_list() on another CPU, folio isolated from the LRU)'
    : 'another task';
}

/** folio_start_writeback(): the folio's contents are being written (to its swap slot). */
export function folio_start_writeback(s: State, folio: number): void {
  if ((s.mem.flags[folio]! & PG_writeback) === 0) {
    s.mem.nr_writeback++;
    s.mem.writeback.push(folio);
  }
  s.mem.flags[folio] = s.mem.flags[folio]! | PG_writeback;
}

/**
 * mm/filemap.c folio_end_writeback(): the device finished the write (an
 * interrupt, at any time after it started). PG_reclaim's rotation to the tail
 * of the inactive LRU is not modelled: the folio is on the LRU either way.
 */
export function folio_end_writeback(s: State, folio: number): void {
  if ((s.mem.flags[folio]! & PG_writeback) !== 0) {
    s.mem.nr_writeback--;
    s.mem.writeback.splice(s.mem.writeback.indexOf(folio), 1);
  }
  s.mem.flags[folio] = s.mem.flags[folio]! & ~PG_writeback;
}

/** Folios whose write has started and not ended, in PFN order. */
export function foliosUnderWriteback(s: State): number[] {
  return s.mem.writeback.slice().sort((a, b) => a - b);
}
