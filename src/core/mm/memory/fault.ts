/**
 * Page-fault entry for one address: mm/memory.c handle_mm_fault(),
 * handle_pte_fault(), do_anonymous_page(), and do_fault() for the shmem pages
 * behind shared anonymous mappings (mm/shmem.c shmem_fault(), finish_fault()).
 */

import { toolBug } from '../../bug.js';
import { filemap_get_folio } from '../../fs/inode.js';
import type { Mm, State, Vma } from '../../mm_types.js';
import { MM_ANONPAGES, MM_SHMEMPAGES, VM_SHARED, VM_WRITE, ZERO_PFN } from '../../mm_types.js';
import {
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_PRESENT,
  _PAGE_RW,
  _PAGE_SPECIAL,
  mk_pte,
  pte_mkdirty,
  pte_mkwrite,
  pte_mkyoung,
  pte_none,
  pte_present,
  pte_write,
} from '../../pgtable_types.js';
import type { Kernel } from '../../points.js';
import { count_vm_event, PGFAULT } from '../../vmstat.js';
import { alloc_pages, folio_get } from '../page_alloc.js';
import { anon_vma_prepare, folio_add_file_rmap_pte, folio_add_new_anon_rmap } from '../rmap.js';
import { folio_add_lru_vma } from '../swap.js';
import { pte_index, pteAllocWalk, ptep_get, set_pte_at } from './pgtable.js';
import type { PteSlot } from './wp.js';
import { do_wp_page } from './wp.js';

/* include/linux/mm_types.h enum fault_flag (subset). */
export const FAULT_FLAG_WRITE = 1 << 0;
export const FAULT_FLAG_UNSHARE = 1 << 10;

/* include/linux/mm_types.h vm_fault_t (subset). */
export const VM_FAULT_OOM = 0x1;
export const VM_FAULT_SIGBUS = 0x2;
export const VM_FAULT_SIGSEGV = 0x40;

/** vma_is_anonymous(): private anonymous memory (no vm_ops); shared anonymous is shmem. */
export function vma_is_anonymous(vma: Vma): boolean {
  return vma.vm_file === 0;
}

/**
 * Protection bits a new PTE gets from vm_page_prot: private mappings are
 * always mapped read-only first (PAGE_COPY), shared ones writable if VM_WRITE.
 */
function vmPageProtBits(vma: Vma): number {
  return vma.vm_flags & VM_SHARED && vma.vm_flags & VM_WRITE
    ? _PAGE_PRESENT | _PAGE_RW
    : _PAGE_PRESENT;
}

/**
 * mm/memory.c do_anonymous_page(): first touch of a private anonymous page.
 * A read maps the shared zero page read-only; a write maps a new zeroed,
 * exclusive page, writable and dirty.
 */
export function do_anonymous_page(
  s: State,
  k: Kernel,
  mm: Mm,
  vma: Vma,
  write: boolean,
  slot: PteSlot,
): void {
  if (!write) {
    // mm_forbids_zeropage() is false on x86; the zero page is mapped special and read-only.
    set_pte_at(s, slot.table, slot.index, mk_pte(ZERO_PFN, vmPageProtBits(vma) | _PAGE_SPECIAL));
    return;
  }
  vma = anon_vma_prepare(s, mm.vmas, vma);
  const folio = alloc_pages(s, 0);
  let entry = mk_pte(folio, vmPageProtBits(vma));
  if (vma.vm_flags & VM_WRITE) entry = pte_mkwrite(pte_mkdirty(entry));
  mm.rss[MM_ANONPAGES] = mm.rss[MM_ANONPAGES]! + 1;
  folio_add_new_anon_rmap(s, folio, k.policy.folio_add_new_anon_rmap(s, k, folio).exclusive);
  folio_add_lru_vma(s, k, folio);
  set_pte_at(s, slot.table, slot.index, entry);
}

/**
 * mm/memory.c do_fault() → do_read_fault()/do_shared_fault() → finish_fault()
 * for a shared anonymous (shmem) mapping: look the page up in the shmem file,
 * allocating it on first touch, and map it.
 */
function doShmemFault(
  s: State,
  k: Kernel,
  mm: Mm,
  vma: Vma,
  address: number,
  write: boolean,
  slot: PteSlot,
): void {
  const pgoff = vma.vm_pgoff + (address - vma.vm_start) / 4096;
  const folio = filemap_get_folio(s, k, vma.vm_file, pgoff);
  folio_get(s, folio); // the mapping's reference (finish_fault consumes the lookup's)
  let entry = mk_pte(folio, vmPageProtBits(vma) | _PAGE_ACCESSED);
  if (write) entry = pte_mkdirty(pte_mkwrite(entry));
  else if (pte_write(entry))
    entry = mk_pte(folio, vmPageProtBits(vma) | _PAGE_ACCESSED | _PAGE_DIRTY);
  folio_add_file_rmap_pte(s, folio);
  mm.rss[MM_SHMEMPAGES] = mm.rss[MM_SHMEMPAGES]! + 1;
  set_pte_at(s, slot.table, slot.index, entry);
}

/**
 * mm/memory.c handle_mm_fault() → __handle_mm_fault() → handle_pte_fault().
 * The caller (the x86 fault handler) has checked the VMA permits the access.
 * Returns 0 or VM_FAULT_* error bits.
 */
export function handle_mm_fault(
  s: State,
  k: Kernel,
  mm: Mm,
  vma: Vma,
  address: number,
  flags: number,
): number {
  count_vm_event(s.vmstat, PGFAULT);
  const write = (flags & FAULT_FLAG_WRITE) !== 0;
  const unshare = (flags & FAULT_FLAG_UNSHARE) !== 0;
  const slot: PteSlot = { table: pteAllocWalk(s, mm, address), index: pte_index(address) };
  const orig_pte = ptep_get(s, slot.table, slot.index);
  if (pte_none(orig_pte)) {
    if (vma_is_anonymous(vma)) do_anonymous_page(s, k, mm, vma, write, slot);
    else doShmemFault(s, k, mm, vma, address, write, slot);
    return 0;
  }
  if (!pte_present(orig_pte)) {
    return toolBug('do_swap_page(): swap entries are not modelled in this version');
  }
  if (write || unshare) {
    if (!pte_write(orig_pte)) {
      do_wp_page(s, k, mm, vma, address, orig_pte, unshare, slot);
      return 0;
    }
    if (write) set_pte_at(s, slot.table, slot.index, pte_mkdirty(pte_mkyoung(orig_pte)));
    return 0;
  }
  set_pte_at(s, slot.table, slot.index, pte_mkyoung(orig_pte));
  return 0;
}
