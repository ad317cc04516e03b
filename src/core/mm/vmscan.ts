/**
 * The part of reclaim that competes with the fault path for a folio
 * (mm/vmscan.c folio_isolate_lru(), shrink_folio_list(), folio_putback_lru()):
 * a reclaim scan isolates a folio from the LRU (one reference, PG_lru
 * cleared), locks it, finds it referenced and keeps it (unlock, put back).
 * Swapping the folio out comes with the swap model; here reclaim is the
 * environment's competing reference and folio-lock holder, run by the
 * explorer between any two steps of the scenario's threads.
 */

import type { State } from '../mm_types.js';
import { PG_anon, PG_buddy, PG_locked, PG_lru, PG_tail } from '../page-flags.js';
import { folio_trylock, folio_unlock } from './filemap.js';
import { folio_get, folio_put } from './page_alloc.js';

/** Folios a reclaim scan could isolate now: on the LRU, anonymous, unlocked, not already isolated. */
export function reclaimCandidates(s: State): number[] {
  const out: number[] = [];
  const { flags } = s.mem;
  for (let pfn = 1; pfn < s.mem.end; pfn++) {
    const f = flags[pfn]!;
    if (f & (PG_buddy | PG_tail | PG_locked)) continue;
    if ((f & PG_lru) !== 0 && (f & PG_anon) !== 0) out.push(pfn);
  }
  return out;
}

/** mm/vmscan.c folio_isolate_lru(): take the folio off the LRU with a reference. */
export function folio_isolate_lru(s: State, folio: number): boolean {
  if ((s.mem.flags[folio]! & PG_lru) === 0) return false;
  folio_get(s, folio);
  s.mem.flags[folio] = s.mem.flags[folio]! & ~PG_lru;
  s.isolated.push(folio);
  return true;
}

/** mm/vmscan.c folio_putback_lru(): back on the LRU, dropping the isolation reference. */
export function folio_putback_lru(s: State, folio: number): void {
  const i = s.isolated.indexOf(folio);
  if (i < 0) throw new Error(`tool bug: folio ${folio} is not isolated`);
  s.isolated.splice(i, 1);
  // The last reference may be this one (the owner unmapped it meanwhile): folio_put() frees it.
  if (s.mem.refcount[folio]! > 1) s.mem.flags[folio] = s.mem.flags[folio]! | PG_lru;
  folio_put(s, folio);
}

/** shrink_folio_list() start: isolate and lock one folio (both succeed for a candidate). */
export function reclaimTake(s: State, folio: number): void {
  if (!folio_isolate_lru(s, folio) || !folio_trylock(s, folio))
    throw new Error(`tool bug: folio ${folio} is not a reclaim candidate`);
}

/** shrink_folio_list() keeping a referenced folio: unlock it and put it back. */
export function reclaimRelease(s: State, folio: number): void {
  folio_unlock(s, folio);
  folio_putback_lru(s, folio);
}
