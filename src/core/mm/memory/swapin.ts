/**
 * mm/memory.c do_swap_page(): a fault on a swap PTE. The folio comes from the
 * swap cache or is read back from the swap device into it; the era decides
 * whether it is mapped writable (and exclusive) at once or read-only, in which
 * case a write continues in do_wp_page(). Soft-dirty and uffd-wp bits come
 * back from the swap PTE.
 */

import type { Mm, State, Vma } from '../../mm_types.js';
import { add_mm_counter, MM_ANONPAGES, MM_SWAPENTS } from '../../mm_types.js';
import {
  _PAGE_ACCESSED,
  mk_pte,
  pte_mkdirty,
  pte_mkwrite,
  type pte_t,
  pte_uffd_wp,
  pteCarriedBits,
  swp_offset,
} from '../../pgtable_types.js';
import type { Kernel } from '../../points.js';
import { folio_test_locked, folio_trylock, folio_unlock } from '../filemap.js';
import { folio_put } from '../page_alloc.js';
import {
  folio_add_new_anon_rmap,
  folio_dup_rmap_pte,
  folio_test_anon,
  SetPageAnonExclusive,
} from '../rmap.js';
import { swap_cache_get_folio, swapin_read } from '../swap_state.js';
import { swap_free } from '../swapfile.js';
import { VM_FAULT_RETRY, vmPageProtBits } from './fault.js';
import { set_pte_at } from './pgtable.js';
import type { PteSlot } from './wp.js';
import { do_wp_page } from './wp.js';

export function do_swap_page(
  s: State,
  k: Kernel,
  mm: Mm,
  vma: Vma,
  address: number,
  orig_pte: pte_t,
  write: boolean,
  slot: PteSlot,
  stepwise: boolean,
  breakCow = false,
): number {
  const entry = swp_offset(orig_pte);
  let folio = swap_cache_get_folio(s, entry);
  if (folio === 0) folio = swapin_read(s, k, entry);
  if (folio_test_locked(s, folio)) {
    // folio_lock_or_retry(): someone else (reclaim) holds the lock; sleep and fault again.
    folio_put(s, folio);
    if (k.waitFolioLock?.(s, folio)) {
      // Slept until the holder unlocked; the fault runs again on the same swap PTE.
      k.decide('do_swap_page', 'retry', `folio ${folio} was locked: slept, then faulted again`);
      return do_swap_page(s, k, mm, vma, address, orig_pte, write, slot, stepwise, breakCow);
    }
    k.decide('do_swap_page', 'retry', `folio ${folio} is locked: sleep in folio_lock_or_retry()`);
    return VM_FAULT_RETRY;
  }
  folio_trylock(s, folio); // free, as just checked: held across the decision
  swap_free(s, entry);
  add_mm_counter(mm, MM_ANONPAGES, 1);
  add_mm_counter(mm, MM_SWAPENTS, -1);
  const d = k.policy.do_swap_page(s, k, { vma, orig_pte, folio, slot: entry, write });
  k.decide('do_swap_page', d.writable ? 'map writable' : 'map read-only', d.why);
  let pte = mk_pte(folio, vmPageProtBits(s, vma) | _PAGE_ACCESSED | pteCarriedBits(orig_pte));
  // A swap PTE's uffd-wp bit keeps the page write-protected in every era.
  const writable = d.writable && !pte_uffd_wp(pte);
  if (writable) pte = pte_mkwrite(pte);
  if (writable && write) pte = pte_mkdirty(pte);
  if (!folio_test_anon(s, folio)) {
    folio_add_new_anon_rmap(s, folio, d.exclusive);
  } else {
    folio_dup_rmap_pte(s, folio, folio, mm.id);
    if (d.exclusive) SetPageAnonExclusive(s, folio);
  }
  set_pte_at(s, slot.table, slot.index, pte);
  folio_unlock(s, folio);
  // The reference the lookup (or the read) took is the new mapping's.
  // The proposal's FAULT_FLAG_BREAK_COW goes on to do_wp_page() as a write does.
  if ((write || breakCow) && !writable)
    return do_wp_page(s, k, mm, vma, address, pte, false, slot, stepwise, !write);
  return 0;
}
