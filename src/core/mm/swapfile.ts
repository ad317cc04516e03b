/**
 * Swap slots and swap counts (mm/swapfile.c): allocating a slot for a folio
 * entering the swap cache, the count of swap PTEs referring to a slot
 * (swap_duplicate() at fork, swap_free() when a swap PTE goes away), and
 * freeing the swap cache's copy of a slot nobody refers to any more
 * (folio_free_swap(), called try_to_free_swap() before v6.2 folio names).
 *
 * The model keeps SWAP_HAS_CACHE apart from the count: State.swap.cache says
 * which folio caches a slot. A slot is free when its count is 0 and no folio
 * caches it.
 */

import { toolBug } from '../bug.js';
import type { State } from '../mm_types.js';
import { flagsW, folioLarge, swapW } from '../mm_types.js';
import { PG_dirty, PG_locked, PG_swapcache, PG_writeback } from '../page-flags.js';
import { W_PAGE_LINES, W_SUBPAGE_ITER, workCharge } from '../work.js';
import { delete_from_swap_cache } from './swap_state.js';

/** The slot a swap-cache folio caches (folio->swap), 0 if the folio is not in the swap cache. */
export function folio_swap_offset(s: State, folio: number): number {
  if ((s.mem.flags[folio]! & PG_swapcache) === 0) return 0;
  const slot = s.swap.slot_of.get(folio) ?? 0;
  if (slot <= 0) toolBug(`folio ${folio} is PG_swapcache but caches no slot`);
  return slot;
}

/** Is `slot` free (no swap entry refers to it and no folio caches it)? */
function slotFree(s: State, slot: number): boolean {
  return s.swap.map[slot] === 0 && s.swap.cache[slot] === 0;
}

/**
 * folio_alloc_swap() (get_swap_page() before v5.19): the lowest free slot,
 * deterministic. The count starts at 0; the caller makes the folio cache it.
 */
export function folio_alloc_swap(s: State): number {
  const sw = swapW(s);
  for (let slot = sw.free_hint; slot < sw.map.length; slot++)
    if (slotFree(s, slot)) {
      sw.free_hint = slot + 1;
      return slot;
    }
  sw.free_hint = sw.map.length + 1;
  sw.map.push(0);
  sw.data.push(0);
  sw.cache.push(0);
  return sw.map.length - 1;
}

/** swap_duplicate(): one more swap PTE refers to the slot (fork, try_to_unmap_one()). */
export function swap_duplicate(s: State, slot: number): void {
  if (slot <= 0 || slot >= s.swap.map.length || slotFree(s, slot))
    toolBug(`swap_duplicate() of free swap slot ${slot}`);
  swapW(s).map[slot] = s.swap.map[slot]! + 1;
}

/** swap_free(): a swap PTE referring to the slot is gone. */
export function swap_free(s: State, slot: number): void {
  const n = s.swap.map[slot] ?? 0;
  if (n <= 0) toolBug(`swap_free() of swap slot ${slot} with count ${n}`);
  const sw = swapW(s);
  sw.map[slot] = n - 1;
  if (n === 1 && sw.cache[slot] === 0) {
    sw.data[slot] = 0;
    if (slot < sw.free_hint) sw.free_hint = slot;
  }
}

/** __swap_count(): the swap PTEs referring to the slot. */
export function __swap_count(s: State, slot: number): number {
  return s.swap.map[slot] ?? 0;
}

/**
 * mm/swapfile.c folio_free_swap() / try_to_free_swap(): if the folio is in
 * the swap cache, not under writeback, and no swap PTE refers to its slot any
 * more, drop it from the swap cache (the slot is freed) and mark it dirty (its
 * only copy is in memory now). The caller holds the folio lock.
 */
export function folio_free_swap(s: State, folio: number): boolean {
  const f = s.mem.flags[folio]!;
  if ((f & PG_swapcache) === 0 || (f & PG_writeback) !== 0) return false;
  const slot = folio_swap_offset(s, folio);
  if (__swap_count(s, slot) > 0) return false;
  delete_from_swap_cache(s, folio);
  flagsW(s.mem)[folio] = s.mem.flags[folio]! | PG_dirty;
  return true;
}

/**
 * mm/swapfile.c free_swap_and_cache(): a swap PTE is zapped (munmap, exit,
 * MADV_DONTNEED). When that was the last reference and the cached folio is
 * mapped nowhere, __try_to_reclaim_swap() (TTRS_UNMAPPED) drops the folio
 * from the swap cache too, if it can take the folio lock.
 */
export function free_swap_and_cache(s: State, slot: number): void {
  swap_free(s, slot);
  const folio = s.swap.cache[slot]!;
  if (folio === 0 || __swap_count(s, slot) > 0) return;
  const f = s.mem.flags[folio]!;
  if ((f & PG_locked) !== 0 || s.mem.mapcount[folio]! > 0) return;
  flagsW(s.mem)[folio] = f | PG_locked;
  folio_free_swap(s, folio);
  flagsW(s.mem)[folio] = s.mem.flags[folio]! & ~PG_locked;
}

/**
 * mm/swapfile.c page_trans_huge_map_swapcount() (up to v5.17), what
 * reuse_swap_page() asks about a page of a THP: the largest mapcount of any
 * subpage (plus its swap count) plus the PMD mappings of the whole folio,
 * found by a loop over all the subpages' struct pages. (The kernel biases
 * every subpage's _mapcount by one while PageDoubleMap and subtracts it
 * again; the model's per-page mapcount has no bias.) THPs are never in the
 * swap cache in this model version, so the swap counts are 0. The result
 * is exact up to 2 for the subpage term.
 */
export function page_trans_huge_map_swapcount(s: State, folio: number): number {
  const nr = 2 ** s.mem.order[folio]!;
  workCharge(s, W_SUBPAGE_ITER, nr);
  workCharge(s, W_PAGE_LINES, nr);
  // The model keeps the answer instead of looping (LargeFolio.multi): the
  // largest page mapcount, exact up to 2, which is all reuse_swap_page()
  // compares (with 1).
  const f = folioLarge(s, folio);
  const max = f.multi > 0 ? 2 : f.mapcount > f.entire ? 1 : 0;
  return max + f.entire;
}
