/**
 * Write (and unshare) faults on present, read-only PTEs: mm/memory.c
 * do_wp_page(), wp_page_reuse(), wp_page_copy(), wp_page_shared().
 *
 * A sequential run takes a write fault in one atomic step. Under the
 * explorer (FAULT_FLAG_STEPWISE) a copy stops where the kernel drops the PTE
 * lock to allocate (do_wp_page() → wp_page_copy()), and continues in a later
 * step: allocate, copy the contents as they are then, retake the lock and
 * recheck pte_same() — another thread may have changed the PTE meanwhile, in
 * which case the copy is thrown away and the access faults again.
 */

import { handle_userfault, userfaultfd_pte_wp } from '../../fs/userfaultfd.js';
import type { State, Vma } from '../../mm_types.js';
import {
  add_mm_counter,
  contentW,
  MM_ANONPAGES,
  VM_MAYSHARE,
  VM_SHARED,
  VM_WRITE,
} from '../../mm_types.js';
import { PG_ksm } from '../../page-flags.js';
import type { pte_t } from '../../pgtable_types.js';
import {
  _PAGE_ACCESSED,
  _PAGE_RW,
  _PAGE_SOFT_DIRTY,
  _PAGE_UFFD_WP,
  mk_pte,
  pte_mkdirty,
  pte_mkwrite,
  pte_mkyoung,
  pte_pfn,
  pte_special,
  pte_uffd_wp,
  pteBits,
} from '../../pgtable_types.js';
import type { Kernel, WpCopyPending, WpFault } from '../../points.js';
import {
  ANON_WP_COPY_COUNT,
  ANON_WP_REUSE,
  COW_KSM,
  count_vm_event,
  PGREUSE,
  vmEventIndex,
} from '../../vmstat.js';
import { W_PAGES_COPIED, W_PAGES_ZEROED, W_TLB_FLUSH, workCharge } from '../../work.js';
import { alloc_pages, folio_get, folio_put, page_folio } from '../page_alloc.js';
import {
  anon_vma_prepare,
  folio_add_new_anon_rmap,
  folio_remove_rmap_pte,
  folio_test_anon,
  mm_counter_file,
  PageAnonExclusive,
} from '../rmap.js';
import { folio_add_lru_vma } from '../swap.js';
import { vma_lookup } from '../vma.js';
import { VM_FAULT_RETRY, VM_FAULT_STEPPED, vmPageProtBits } from './fault.js';
import { pte_index, ptep_get, pteTable, set_pte_at } from './pgtable.js';

const COPY_EARLY = vmEventIndex('anon_wp_copy_count_early')!;
const COPY_LOCK = vmEventIndex('anon_wp_copy_lock')!;

/** include/linux/mm.h maybe_mkwrite(): writable only if the VMA allows writing. */
export function maybe_mkwrite(pte: pte_t, vma: Vma): pte_t {
  return vma.vm_flags & VM_WRITE ? pte_mkwrite(pte) : pte;
}

/** mm/memory.c vm_normal_page(): the refcounted page a PTE maps, 0 for special PFNs (zero page). */
export function vm_normal_page(pte: pte_t): number {
  return pte_special(pte) ? 0 : pte_pfn(pte);
}

/**
 * Where a PTE lives, as the fault path passes it around (vmf->pte): the PTE
 * table id and the index in it.
 */
export interface PteSlot {
  readonly table: number;
  readonly index: number;
}

/** mm/memory.c wp_page_reuse(): make the existing page writable in place. */
export function wp_page_reuse(s: State, vmf: WpFault, slot: PteSlot): void {
  const entry = maybe_mkwrite(pte_mkdirty(pte_mkyoung(vmf.orig_pte)), vmf.vma);
  set_pte_at(s, slot.table, slot.index, entry);
  count_vm_event(s.vmstat, PGREUSE);
}

/**
 * mm/memory.c wp_page_copy(): map a new exclusive anonymous copy of the page
 * (a zeroed page when the old one is the zero page). The caller holds a
 * reference on the old folio, which this drops.
 */
export function wp_page_copy(s: State, k: Kernel, vmf: WpFault, slot: PteSlot): void {
  const vma = anon_vma_prepare(s, vmf.mm, vmf.vma);
  const old = vmf.folio;
  const nw = alloc_pages(s, 0);
  if (old !== 0) contentW(s.mem)[nw] = s.mem.content[vmf.page]!;
  // copy_user_highpage(), or a zeroed page for the zero page; then
  // ptep_clear_flush() flushes the old translation.
  workCharge(s, old !== 0 ? W_PAGES_COPIED : W_PAGES_ZEROED);
  workCharge(s, W_TLB_FLUSH);
  if (old !== 0) {
    if (!folio_test_anon(s, old)) {
      const c = mm_counter_file(s, old);
      add_mm_counter(vmf.mm, c, -1);
      add_mm_counter(vmf.mm, MM_ANONPAGES, 1);
    }
  } else {
    add_mm_counter(vmf.mm, MM_ANONPAGES, 1);
  }
  // vma->vm_page_prot: PAGE_COPY, or PAGE_NONE where a FOLL_FORCE write reached a PROT_NONE VMA.
  let entry = mk_pte(nw, (vmPageProtBits(s, vma) & ~_PAGE_RW) | _PAGE_ACCESSED);
  if (vmf.unshare) {
    entry = mk_pte(
      nw,
      pteBits(entry) | (pteBits(vmf.orig_pte) & (_PAGE_SOFT_DIRTY | _PAGE_UFFD_WP)),
    );
  } else if (vmf.breakCow && pte_uffd_wp(vmf.orig_pte)) {
    // The proposal's wp_page_copy(): the copy of a uffd-wp page stays protected.
    entry = mk_pte(nw, pteBits(pte_mkdirty(entry)) | _PAGE_UFFD_WP);
  } else {
    entry = maybe_mkwrite(pte_mkdirty(entry), vma);
  }
  // A copy is always exclusive where the era knows the flag (RMAP_EXCLUSIVE).
  folio_add_new_anon_rmap(s, nw, k.policy.folio_add_new_anon_rmap(s, k, nw).exclusive);
  folio_add_lru_vma(s, k, nw);
  set_pte_at(s, slot.table, slot.index, entry);
  if (old !== 0) {
    folio_remove_rmap_pte(s, old, vmf.page, vmf.mm.id);
    folio_put(s, old); // the reference the old PTE held
    folio_put(s, old); // the reference do_wp_page() took for the copy
  }
}

/**
 * mm/memory.c do_wp_page(): a write (or FAULT_FLAG_UNSHARE) fault on a
 * present PTE that is not writable. The era decides reuse or copy.
 */
export function do_wp_page(
  s: State,
  k: Kernel,
  mm: WpFault['mm'],
  vma: Vma,
  address: number,
  orig_pte: pte_t,
  unshare: boolean,
  slot: PteSlot,
  stepwise = false,
  breakCow = false,
): number {
  // A write to a uffd-wp protected page goes to the userfaultfd handler first
  // (FAULT_FLAG_BREAK_COW alone is no write to it).
  if (
    !unshare &&
    !breakCow &&
    userfaultfd_pte_wp(vma, orig_pte) &&
    handle_userfault(s, k, mm, address)
  ) {
    k.decide('do_wp_page', 'handle_userfault', 'uffd-wp: the handler must resolve the fault');
    return VM_FAULT_RETRY;
  }
  const page = vm_normal_page(orig_pte);
  const folio = page === 0 ? 0 : page_folio(s, page);
  const full: WpFault = { mm, vma, address, orig_pte, page, folio, unshare, breakCow };
  const vmf = full;
  if (vmf.vma.vm_flags & (VM_SHARED | VM_MAYSHARE)) {
    // wp_page_shared(): shmem has no page_mkwrite; the page is reused as is.
    k.decide('do_wp_page', 'reuse', 'shared mapping (wp_page_shared)');
    wp_page_reuse(s, full, slot);
    return 0;
  }
  // A page of a large anonymous folio, not exclusive: the era may decide it apart.
  const large =
    folio !== 0 &&
    s.mem.order[folio]! > 0 &&
    folio_test_anon(s, folio) &&
    !PageAnonExclusive(s, page)
      ? k.policy.wp_can_reuse_large_anon_folio
      : null;
  const d = large ? large(s, k, full) : k.policy.do_wp_page(s, k, full);
  k.decide(unshare ? 'do_wp_page(FAULT_FLAG_UNSHARE)' : 'do_wp_page', d.action, d.why);
  if (d.action === 'wait') return VM_FAULT_RETRY;
  const anon = folio !== 0 && folio_test_anon(s, folio);
  if (d.action === 'reuse') {
    if (anon) count_vm_event(s.vmstat, ANON_WP_REUSE);
    if (vmf.unshare) return 0;
    wp_page_reuse(s, full, slot);
    return 0;
  }
  if (anon) {
    count_vm_event(s.vmstat, ANON_WP_COPY_COUNT);
    if (d.reason === 'early') count_vm_event(s.vmstat, COPY_EARLY);
    if (d.reason === 'lock') count_vm_event(s.vmstat, COPY_LOCK);
  }
  if (folio !== 0) folio_get(s, folio);
  if (folio !== 0 && (s.mem.flags[folio]! & PG_ksm) !== 0) count_vm_event(s.vmstat, COW_KSM);
  if (stepwise) {
    // pte_unmap_unlock(): the rest of wp_page_copy() runs without the PTE lock.
    k.pending = { kind: 'wp_page_copy', mm: mm.id, address, orig_pte, page, folio, unshare };
    return VM_FAULT_STEPPED;
  }
  wp_page_copy(s, k, full, slot);
  return 0;
}

/**
 * The rest of wp_page_copy() after the PTE lock was dropped: retake it
 * (pte_offset_map_lock(); the table may be gone) and install the copy if the
 * PTE is still the one the fault saw (pte_same()); otherwise drop the copy
 * and the reference on the old folio. Returns whether the copy was mapped.
 */
export function wp_page_copy_resume(s: State, k: Kernel, p: WpCopyPending): boolean {
  const mm = s.mms[p.mm];
  const vma = mm ? vma_lookup(mm, p.address) : null;
  const table = mm ? pteTable(s, mm, p.address) : 0;
  const slot: PteSlot = { table, index: pte_index(p.address) };
  if (!mm || !vma || table === 0 || ptep_get(s, table, slot.index) !== p.orig_pte) {
    k.decide('wp_page_copy', 'abort', 'pte_same() failed: the PTE changed while unlocked');
    wp_page_copy_abort(s, p);
    return false;
  }
  k.decide('wp_page_copy', 'map', 'pte_same(): the PTE is unchanged');
  const vmf: WpFault = {
    mm,
    vma,
    address: p.address,
    orig_pte: p.orig_pte,
    page: p.page,
    folio: p.folio,
    unshare: p.unshare,
  };
  wp_page_copy(s, k, vmf, slot);
  return true;
}

/** A stopped wp_page_copy() that will not continue (pte_same() failed, the task died): drop its reference. */
export function wp_page_copy_abort(s: State, p: WpCopyPending): void {
  if (p.folio !== 0) folio_put(s, p.folio);
}
