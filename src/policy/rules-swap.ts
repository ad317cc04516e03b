/**
 * The swap rules eras are made of (research/kernel-eras.md §2.5, §2.6):
 * how do_swap_page() maps a swapped-in folio, and whether reclaim may put a
 * folio into the swap cache. Same conventions as rules.ts.
 */

import { folio_maybe_dma_pinned } from '../core/mm/gup.js';
import { folioMappedWritable, folioWrprotectMappings } from '../core/mm/rmap.js';
import { __swap_count, folio_free_swap } from '../core/mm/swapfile.js';
import type { State } from '../core/mm_types.js';
import { VM_WRITE, vma_soft_dirty_enabled } from '../core/mm_types.js';
import { PG_ksm, PG_swapcache } from '../core/page-flags.js';
import { pte_soft_dirty, pte_swp_exclusive, pte_uffd_wp } from '../core/pgtable_types.js';
import type { Kernel, SwapDecision, SwapFault } from '../core/points.js';

function test(s: State, folio: number, bit: number): boolean {
  return (s.mem.flags[folio]! & bit) !== 0;
}

/* ---------------- do_swap_page(): writable now, or read-only ---------------- */

const RO: SwapDecision = { writable: false, exclusive: false, why: 'read fault: map read-only' };
const A_REUSE: SwapDecision = {
  writable: true,
  exclusive: false,
  why: 'reuse_swap_page(): mapcount + swapcount == 1; the swap-cache copy is dropped',
};
const A_SHARED: SwapDecision = {
  writable: false,
  exclusive: false,
  why: 'reuse_swap_page(): mapcount + swapcount > 1: read-only, do_wp_page() follows',
};

/**
 * mm/memory.c do_swap_page() up to v5.17 [src 5.7, 5.9]: on a write fault,
 * reuse_swap_page() counts the folio's mappings plus the swap entries of its
 * slot (the faulting one included: here it was just released, so +1) and,
 * for a sole owner, drops the swap-cache copy and maps it writable. Other
 * references (GUP, pipes) are not counted.
 */
export function do_swap_page_reuse_swap_page(s: State, _k: Kernel, f: SwapFault): SwapDecision {
  if (!f.write) return RO;
  if (test(s, f.folio, PG_ksm)) return A_SHARED;
  const swapcount = test(s, f.folio, PG_swapcache) ? __swap_count(s, f.slot) + 1 : 0;
  if (s.mem.mapcount[f.folio]! + swapcount > 1) return A_SHARED;
  folio_free_swap(s, f.folio);
  return A_REUSE;
}

const D_REUSE: SwapDecision = {
  writable: true,
  exclusive: false,
  why: 'write fault and page_count() == 1 after should_try_to_free_swap()',
};
const D_SHARED: SwapDecision = {
  writable: false,
  exclusive: false,
  why: 'page_count() != 1 (swap cache or other references): read-only, do_wp_page() follows',
};

/**
 * mm/memory.c should_try_to_free_swap() (c145e0b47c77, v5.18): a write
 * fault on a non-KSM folio whose only references are the fault's and the
 * swap cache's frees the swap-cache copy (the swap device is never full and
 * nothing is mlocked in the model).
 */
function should_try_to_free_swap(s: State, f: SwapFault): boolean {
  return f.write && !test(s, f.folio, PG_ksm) && s.mem.refcount[f.folio] === 2;
}

/**
 * mm/memory.c do_swap_page() in v5.18 (c145e0b47c77 "mm: streamline COW
 * logic in do_swap_page()"): free the swap-cache copy where it can be, then
 * map writable only a write fault's sole reference. Also Linus's rule (a)
 * applied to swap-in (linus-rules).
 */
export function do_swap_page_page_count(s: State, _k: Kernel, f: SwapFault): SwapDecision {
  if (should_try_to_free_swap(s, f)) folio_free_swap(s, f.folio);
  if (!f.write) return RO;
  if (!test(s, f.folio, PG_ksm) && s.mem.refcount[f.folio] === 1) return D_REUSE;
  return D_SHARED;
}

const E_EXCL_RO: SwapDecision = {
  writable: false,
  exclusive: true,
  why: 'SWP_EXCLUSIVE (or the only reference): exclusive, read-only on a read fault',
};
const E_EXCL_RW: SwapDecision = {
  writable: true,
  exclusive: true,
  why: 'SWP_EXCLUSIVE (or the only reference): exclusive, writable on the write fault',
};
const E_SHARED: SwapDecision = {
  writable: false,
  exclusive: false,
  why: 'not exclusive (no SWP_EXCLUSIVE, other references): read-only',
};

/** The v5.19 test: the swap PTE said exclusive, or the folio has no other reference. */
function swapinExclusive(s: State, f: SwapFault): boolean {
  if (test(s, f.folio, PG_ksm)) return false;
  return pte_swp_exclusive(f.orig_pte) || s.mem.refcount[f.folio] === 1;
}

/**
 * mm/memory.c do_swap_page() from v5.19 (1493a1913e34 "mm/swap: remember
 * PG_anon_exclusive via a swp pte bit"): the folio is exclusive if the swap
 * PTE carried SWP_EXCLUSIVE (the model's swap device has no stable writes,
 * so the SWP_STABLE_WRITES writeback exception never applies) or it is the only
 * reference; an exclusive folio is mapped writable on a write fault.
 */
export function do_swap_page_exclusive(s: State, _k: Kernel, f: SwapFault): SwapDecision {
  if (should_try_to_free_swap(s, f)) folio_free_swap(s, f.folio);
  if (!swapinExclusive(s, f)) return E_SHARED;
  return f.write ? E_EXCL_RW : E_EXCL_RO;
}

const F_EXCL_RW: SwapDecision = {
  writable: true,
  exclusive: true,
  why: 'exclusive and VM_WRITE: mapped writable even on a read fault',
};

/**
 * mm/memory.c do_swap_page() in v6.18 [src]: Barry Song's "mm: swap: reuse
 * exclusive folio directly instead of wp page faults" (2024, after v6.2)
 * maps an exclusive folio writable on a read fault too, when the VMA is
 * writable and neither uffd-wp nor soft-dirty tracking wants the write
 * fault (pte_needs_soft_dirty_wp()).
 */
export function do_swap_page_map_writable(s: State, k: Kernel, f: SwapFault): SwapDecision {
  const d = do_swap_page_exclusive(s, k, f);
  if (!d.exclusive || d.writable || !(f.vma.vm_flags & VM_WRITE)) return d;
  if (pte_uffd_wp(f.orig_pte)) return d;
  if (vma_soft_dirty_enabled(f.vma) && !pte_soft_dirty(f.orig_pte)) return d;
  return F_EXCL_RW;
}

/* ---------------- shrink_folio_list(): may the folio enter the swap cache ---------------- */

/** Up to v5.10: any anonymous folio may be added to the swap cache. */
export function shrink_folio_list_always(): boolean {
  return true;
}

/** feb889fb40fa "mm: don't put pinned pages into the swap cache" (v5.11). */
export function shrink_folio_list_not_pinned(s: State, _k: Kernel, folio: number): boolean {
  return !folio_maybe_dma_pinned(s, folio);
}

/**
 * Linus's rule (d) (seed 001): never create a swap-cache page out of a
 * writable COW page. Reclaim write-protects it first, which rule (c) allows
 * only when the mapping holds the only reference besides reclaim's own;
 * otherwise the folio stays out of the swap cache.
 */
export function shrink_folio_list_linus(s: State, _k: Kernel, folio: number): boolean {
  if (!folioMappedWritable(s, folio)) return true;
  if (s.mem.refcount[folio]! - 1 !== 1) return false;
  folioWrprotectMappings(s, folio);
  return true;
}
