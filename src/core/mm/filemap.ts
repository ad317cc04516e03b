/**
 * The folio lock (include/linux/pagemap.h folio_trylock(), mm/filemap.c
 * folio_unlock()). In one atomic step nobody else can hold it unless a
 * modelled actor (reclaim, migration) took it; a trylock then fails.
 */

import type { State } from '../mm_types.js';
import { PG_locked } from '../page-flags.js';

export function folio_test_locked(s: State, folio: number): boolean {
  return (s.mem.flags[folio]! & PG_locked) !== 0;
}

/** folio_trylock(): take the lock if it is free. */
export function folio_trylock(s: State, folio: number): boolean {
  if (folio_test_locked(s, folio)) return false;
  s.mem.flags[folio] = s.mem.flags[folio]! | PG_locked;
  return true;
}

/** folio_unlock() */
export function folio_unlock(s: State, folio: number): void {
  s.mem.flags[folio] = s.mem.flags[folio]! & ~PG_locked;
}
