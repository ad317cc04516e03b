/**
 * The swap cache (mm/swap_state.c): folios that cache a swap slot, found by
 * the slot when a swap PTE faults (swap_cache_get_folio()), added on
 * swap-out (add_to_swap()) and on swap-in (read_swap_cache_async()), and
 * dropped when the slot is freed or the folio is reclaimed
 * (delete_from_swap_cache()). The swap cache holds one reference on each
 * folio it caches.
 */

import { toolBug } from '../bug.js';
import type { State } from '../mm_types.js';
import { contentW, flagsW, swapW } from '../mm_types.js';
import { PG_dirty, PG_locked, PG_swapbacked, PG_swapcache, PG_uptodate } from '../page-flags.js';
import type { Kernel } from '../points.js';
import { count_vm_event, PGMAJFAULT, PSWPIN } from '../vmstat.js';
import { alloc_pages, folio_get, folio_put } from './page_alloc.js';
import { folio_add_lru_vma } from './swap.js';
import { folio_alloc_swap, folio_free_swap, folio_swap_offset } from './swapfile.js';

/** Make `folio` cache `slot`: the swap cache's reference and PG_swapcache. */
function add_to_swap_cache(s: State, folio: number, slot: number): void {
  if (s.swap.cache[slot] !== 0) toolBug(`swap slot ${slot} is cached twice`);
  const sw = swapW(s);
  sw.cache[slot] = folio;
  sw.slot_of.set(folio, slot);
  flagsW(s.mem)[folio] = s.mem.flags[folio]! | PG_swapcache;
  folio_get(s, folio);
}

/**
 * mm/swap_state.c add_to_swap() (folio_alloc_swap() + add_to_swap_cache()):
 * give an anonymous folio a swap slot and put it in the swap cache, dirty
 * (it must be written out before it can be freed). Returns the slot.
 */
export function add_to_swap(s: State, folio: number): number {
  const slot = folio_alloc_swap(s);
  add_to_swap_cache(s, folio, slot);
  flagsW(s.mem)[folio] = s.mem.flags[folio]! | PG_dirty;
  return slot;
}

/** mm/swap_state.c delete_from_swap_cache(): drop the folio from the swap cache and its reference. */
export function delete_from_swap_cache(s: State, folio: number): void {
  const slot = folio_swap_offset(s, folio);
  if (slot === 0) toolBug(`folio ${folio} is not in the swap cache`);
  const sw = swapW(s);
  sw.cache[slot] = 0;
  sw.slot_of.delete(folio);
  flagsW(s.mem)[folio] = s.mem.flags[folio]! & ~PG_swapcache;
  if (sw.map[slot] === 0) {
    sw.data[slot] = 0;
    if (slot < sw.free_hint) sw.free_hint = slot;
  }
  folio_put(s, folio);
}

/** mm/swap_state.c swap_cache_get_folio(): the cached folio with a reference, or 0. */
export function swap_cache_get_folio(s: State, slot: number): number {
  const folio = s.swap.cache[slot] ?? 0;
  if (folio !== 0) folio_get(s, folio);
  return folio;
}

/**
 * mm/swap_state.c read_swap_cache_async() → swap_read_folio() for one slot
 * that is not cached (swapin_readahead() without the readahead): a new folio
 * read from the device, in the swap cache and in the LRU add batch, returned
 * with the caller's reference. Counts pswpin and, for the fault, pgmajfault.
 */
export function swapin_read(s: State, k: Kernel, slot: number): number {
  const folio = alloc_pages(s, 0);
  contentW(s.mem)[folio] = s.swap.data[slot]!;
  flagsW(s.mem)[folio] = s.mem.flags[folio]! | PG_swapbacked | PG_uptodate;
  add_to_swap_cache(s, folio, slot);
  folio_add_lru_vma(s, k, folio);
  count_vm_event(s.vmstat, PSWPIN);
  count_vm_event(s.vmstat, PGMAJFAULT);
  return folio;
}

/**
 * mm/swap_state.c free_swap_cache(): a folio whose last mapping was just
 * zapped (free_pages_and_swap_cache() after the TLB flush) leaves the swap
 * cache through folio_free_swap() if its lock is free (folio_trylock()):
 * not while its write to the slot is in flight, nor while a swap entry still
 * refers to the slot.
 */
export function free_swap_cache(s: State, folio: number): void {
  const f = s.mem.flags[folio]!;
  if ((f & PG_swapcache) === 0 || (f & PG_locked) !== 0 || s.mem.mapcount[folio]! > 0) return;
  flagsW(s.mem)[folio] = f | PG_locked;
  folio_free_swap(s, folio);
  flagsW(s.mem)[folio] = s.mem.flags[folio]! & ~PG_locked;
}

/**
 * What reclaim eventually does to swap-cache folios that are mapped nowhere,
 * referred to by no swap entry and held by nobody else (after a COW away
 * from them): they are clean cache and are freed. Run at teardown so that
 * MM006 reports real leaks only.
 */
export function reclaimOrphanedSwapCache(s: State): void {
  for (let slot = 1; slot < s.swap.cache.length; slot++) {
    const folio = s.swap.cache[slot]!;
    if (folio === 0 || s.swap.map[slot]! > 0 || s.mem.refcount[folio] !== 1) continue;
    if (s.mem.mapcount[folio]! > 0 || s.mem.flags[folio]! & PG_locked) continue;
    delete_from_swap_cache(s, folio);
  }
}
