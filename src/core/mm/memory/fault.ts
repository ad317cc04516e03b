/**
 * Page-fault entry for one address: mm/memory.c handle_mm_fault(),
 * handle_pte_fault(), do_anonymous_page(), and do_fault() for the shmem pages
 * behind shared anonymous mappings (mm/shmem.c shmem_fault(), finish_fault()).
 */

import { toolBug } from '../../bug.js';
import { filemap_get_folio } from '../../fs/inode.js';
import { handle_userfault, userfaultfd_pte_wp } from '../../fs/userfaultfd.js';
import type { Mm, State, Vma } from '../../mm_types.js';
import {
  add_mm_counter,
  contentW,
  MM_ANONPAGES,
  VM_EXEC,
  VM_READ,
  VM_SHARED,
  VM_UFFD_WP,
  VM_WRITE,
  vma_soft_dirty_enabled,
  ZERO_PFN,
} from '../../mm_types.js';
import {
  _PAGE_ACCESSED,
  _PAGE_PRESENT,
  _PAGE_PROTNONE,
  _PAGE_RW,
  _PAGE_SPECIAL,
  _PAGE_UFFD_WP,
  HPAGE_PMD_ORDER,
  is_swap_entry_pte,
  mk_pte,
  pmd_trans_huge,
  pte_marker_uffd_wp,
  pte_mkdirty,
  pte_mkwrite,
  pte_mkyoung,
  pte_none,
  pte_present,
  pte_val,
  pte_write,
  pte_wrprotect,
  pteBits,
} from '../../pgtable_types.js';
import type { Kernel, PteMapPending } from '../../points.js';
import { count_vm_event, PGFAULT } from '../../vmstat.js';
import {
  P_DO_ANONYMOUS_PAGE,
  P_DO_FAULT,
  P_DO_HUGE_PMD_ANONYMOUS_PAGE,
  P_DO_HUGE_PMD_WP_PAGE,
  P_DO_SWAP_PAGE,
  P_DO_WP_PAGE,
  P_HANDLE_MM_FAULT,
  W_LOCKS,
  W_PAGES_COPIED,
  W_PAGES_ZEROED,
  workCharge,
  workEnter,
  workLeave,
} from '../../work.js';
import { filemap_map_pages } from '../filemap.js';
import {
  do_huge_pmd_anonymous_page,
  do_huge_pmd_wp_page,
  do_set_pmd,
  thp_vma_allowable,
  VM_FAULT_FALLBACK,
} from '../huge_memory.js';
import { ptBug } from '../mmu_gather.js';
import { alloc_pages, folio_get, page_folio } from '../page_alloc.js';
import {
  pte_offset_map_begin,
  pte_offset_map_end,
  pte_offset_map_lock_resume,
} from '../pgtable-generic.js';
import { pteEntryRefWork, ptWalkWork } from '../pt_walk.js';
import {
  anon_vma_prepare,
  folio_add_file_rmap_pte,
  folio_add_new_anon_rmap,
  mm_counter_file,
} from '../rmap.js';
import { shmem_falloc_wait } from '../shmem.js';
import { folio_add_lru_vma } from '../swap.js';
import { vma_lookup } from '../vma.js';
import type { PmdSlot } from './pgtable.js';
import {
  pmd_index,
  pmd_present_table,
  pmdAllocWalk,
  pte_index,
  pteAllocAt,
  ptep_get,
  set_pte_at,
} from './pgtable.js';
import { do_swap_page } from './swapin.js';
import type { PteSlot } from './wp.js';
import { do_wp_page } from './wp.js';

/* include/linux/mm_types.h enum fault_flag (subset). */
export const FAULT_FLAG_WRITE = 1 << 0;
export const FAULT_FLAG_UNSHARE = 1 << 10;
/** Peter Xu's proposal (0x400 there): break COW as a write would, without being a write. */
export const FAULT_FLAG_BREAK_COW = 1 << 11;
/**
 * Model-only: the caller can continue the fault in a later step where the
 * kernel drops a lock (the user-access path under the explorer). GUP's
 * faults stay atomic.
 */
export const FAULT_FLAG_STEPWISE = 1 << 30;

/* include/linux/mm_types.h vm_fault_t (subset). */
export const VM_FAULT_OOM = 0x1;
export const VM_FAULT_SIGBUS = 0x2;
export const VM_FAULT_SIGSEGV = 0x40;
/** The fault slept and must be retried (here: the faulting thread blocks until another one runs). */
export const VM_FAULT_RETRY = 0x400;
/** Model-only: the fault stopped at a lock boundary; k.pending says where it continues. */
export const VM_FAULT_STEPPED = 0x40000000;

/** vma_is_anonymous(): private anonymous memory (no vm_ops); shared anonymous is shmem. */
export function vma_is_anonymous(vma: Vma): boolean {
  return vma.vm_file === 0;
}

/** include/linux/mm.h vma_is_accessible(): may user space touch the VMA at all? */
export function vma_is_accessible(vma: Vma): boolean {
  return (vma.vm_flags & (VM_READ | VM_WRITE | VM_EXEC)) !== 0;
}

/**
 * Protection bits a new PTE gets from vm_page_prot: private mappings are
 * always mapped read-only first (PAGE_COPY), shared ones writable if
 * VM_WRITE, unless the file wants to be notified of the first write.
 */
export function vmPageProtBits(s: State, vma: Vma): number {
  // PAGE_NONE for a PROT_NONE VMA: present to the kernel, absent to the MMU.
  if (!vma_is_accessible(vma)) return _PAGE_PROTNONE;
  const rw = vma.vm_flags & VM_SHARED && vma.vm_flags & VM_WRITE && !vma_wants_writenotify(s, vma);
  return rw ? _PAGE_PRESENT | _PAGE_RW : _PAGE_PRESENT;
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
  uffd_wp = false,
): void {
  // vmf_orig_pte_uffd_wp(): a uffd-wp marker was here; the new PTE keeps the
  // protection (pte_mkuffd_wp(), which write-protects on x86).
  const wp = (pte: number) =>
    uffd_wp ? pte_wrprotect(mk_pte(pte_val(pte), pteBits(pte) | _PAGE_UFFD_WP)) : pte;
  if (!write) {
    // mm_forbids_zeropage() is false on x86; the zero page is mapped special and read-only.
    set_pte_at(
      s,
      slot.table,
      slot.index,
      wp(mk_pte(ZERO_PFN, vmPageProtBits(s, vma) | _PAGE_SPECIAL)),
    );
    return;
  }
  vma = anon_vma_prepare(s, mm, vma);
  const folio = alloc_pages(s, 0);
  workCharge(s, W_PAGES_ZEROED); // alloc_anon_folio(): a zeroed page
  let entry = mk_pte(folio, vmPageProtBits(s, vma));
  if (vma.vm_flags & VM_WRITE) entry = pte_mkwrite(pte_mkdirty(entry));
  add_mm_counter(mm, MM_ANONPAGES, 1);
  folio_add_new_anon_rmap(s, folio, k.policy.folio_add_new_anon_rmap(s, k, folio).exclusive);
  folio_add_lru_vma(s, k, folio);
  set_pte_at(s, slot.table, slot.index, wp(entry));
}

/**
 * mm/mmap.c vma_wants_writenotify(): a shared writable mapping starts
 * read-only so that the first write is noticed when the file wants it (ext4
 * has ->page_mkwrite and dirty accounting; tmpfs does not), when soft-dirty
 * tracking is on (vma_soft_dirty_enabled()), or when it is registered for
 * uffd-wp.
 */
export function vma_wants_writenotify(s: State, vma: Vma): boolean {
  if (!(vma.vm_flags & VM_SHARED) || !(vma.vm_flags & VM_WRITE)) return false;
  if (vma.vm_file !== 0 && s.inodes[vma.vm_file]?.fs === 'ext4') return true;
  return vma_soft_dirty_enabled(vma) || (vma.vm_flags & VM_UFFD_WP) !== 0;
}

/**
 * mm/memory.c do_fault() for a file mapping (a memfd, a tmpfile, shared
 * anonymous memory): do_read_fault() maps the page-cache page (read-only in
 * a private mapping), do_cow_fault() gives a private mapping's write an
 * anonymous copy, do_shared_fault() maps the page-cache page writable.
 */
function do_fault(
  s: State,
  k: Kernel,
  mm: Mm,
  vma: Vma,
  address: number,
  write: boolean,
  slot: PteSlot,
): void {
  const pgoff = vma.vm_pgoff + (address - vma.vm_start) / 4096;
  const page = filemap_get_folio(s, k, vma.vm_file, pgoff);
  if (write && !(vma.vm_flags & VM_SHARED)) {
    // do_cow_fault(): the private write never maps the page-cache page.
    vma = anon_vma_prepare(s, mm, vma);
    const folio = alloc_pages(s, 0);
    contentW(s.mem)[folio] = s.mem.content[page]!;
    workCharge(s, W_PAGES_COPIED);
    let entry = mk_pte(folio, vmPageProtBits(s, vma) | _PAGE_ACCESSED);
    if (vma.vm_flags & VM_WRITE) entry = pte_mkwrite(pte_mkdirty(entry));
    folio_add_new_anon_rmap(s, folio, k.policy.folio_add_new_anon_rmap(s, k, folio).exclusive);
    folio_add_lru_vma(s, k, folio);
    add_mm_counter(mm, MM_ANONPAGES, 1);
    set_pte_at(s, slot.table, slot.index, entry);
    return;
  }
  if (!write) do_fault_around(s, k, mm, vma, address, slot);
  const folio = page_folio(s, page);
  folio_get(s, folio); // the mapping's reference (finish_fault() consumes the lookup's)
  let entry = mk_pte(page, vmPageProtBits(s, vma) | _PAGE_ACCESSED);
  if (write) entry = pte_mkdirty(pte_mkwrite(entry));
  else if (pte_write(entry)) entry = pte_mkdirty(entry);
  folio_add_file_rmap_pte(s, folio, page, mm.id);
  const c = mm_counter_file(s, folio);
  add_mm_counter(mm, c, 1);
  set_pte_at(s, slot.table, slot.index, entry);
}

/** The PMD-sized page-cache folio holding the file page `address` maps, or 0. */
function filemapThpAt(s: State, vma: Vma, address: number): number {
  const page = s.inodes[vma.vm_file]?.pages[vma.vm_pgoff + (address - vma.vm_start) / 4096] ?? 0;
  if (page === 0) return 0;
  const folio = page_folio(s, page);
  return s.mem.order[folio] === HPAGE_PMD_ORDER ? folio : 0;
}

/** fault_around_bytes' default, 64 KiB (mm/memory.c), in pages. */
export const FAULT_AROUND_PAGES = 16;

/**
 * mm/memory.c do_read_fault() → do_fault_around(): before a read fault maps
 * its own page, ->map_pages() (filemap_map_pages() for shmem and regular
 * files alike) maps the pages already cached around it, in the
 * FAULT_AROUND_PAGES-aligned window that holds the address, clamped to the
 * VMA and the PTE table. Not in a VMA registered with userfaultfd-wp
 * (uffd_disable_fault_around()). Read in torvalds/linux v6.18; every era
 * modelled has it (since v3.15, with the same window).
 */
function do_fault_around(
  s: State,
  k: Kernel,
  mm: Mm,
  vma: Vma,
  address: number,
  slot: PteSlot,
): void {
  if (vma.vm_flags & VM_UFFD_WP) return;
  const pte_off = slot.index;
  const vma_off = (address - vma.vm_start) / 4096;
  const from = Math.max(
    pte_off - (pte_off % FAULT_AROUND_PAGES),
    pte_off - Math.min(pte_off, vma_off),
  );
  const to =
    Math.min(
      from + FAULT_AROUND_PAGES,
      512,
      pte_off + (vma.vm_end - vma.vm_start) / 4096 - vma_off,
    ) - 1;
  const pgoff = vma.vm_pgoff + vma_off - (pte_off - from);
  const n = filemap_map_pages(
    s,
    mm,
    vma,
    slot.table,
    from,
    to,
    pgoff,
    pte_off,
    vmPageProtBits(s, vma),
  );
  pteEntryRefWork(s, k.config, n);
}

/**
 * The fault's second step after pte_offset_map_begin(): take the PTE lock
 * (pgtable-generic.ts) and, if the entry is still none (vmf_pte_changed()
 * says no one else mapped it meanwhile), map the page as
 * do_anonymous_page() or do_fault() do. Whether it mapped; if not, the
 * access retries as after the kernel's `goto release`.
 */
export function do_pte_missing_resume(s: State, k: Kernel, p: PteMapPending): boolean {
  const mm = s.mms[p.mm] ?? null;
  const table = pte_offset_map_lock_resume(s, k, p);
  let mapped = false;
  if (mm && table !== 0) {
    const vma = vma_lookup(mm, p.address);
    if (!vma) toolBug('a fault stopped in pte_offset_map_lock() lost its VMA');
    const slot: PteSlot = { table, index: pte_index(p.address) };
    if (pte_none(ptep_get(s, table, slot.index))) {
      if (pmd_present_table(ptep_get(s, p.pmd_table, p.pmd_index)) !== table) {
        k.decide('pte_offset_map_lock', 'map', 'no PMD recheck: maps into the table it read');
        ptBug(s, {
          code: 'PT002',
          detail: `the fault at 0x${p.address.toString(16)} installed a PTE into page table ${table}, unlinked after it read the PMD entry`,
        });
      }
      pteEntryRefWork(s, k.config, 1);
      if (vma_is_anonymous(vma)) do_anonymous_page(s, k, mm, vma, p.write, slot);
      else do_fault(s, k, mm, vma, p.address, p.write, slot);
      mapped = true;
    }
  }
  pte_offset_map_end(s, mm, p);
  return mapped;
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
  const prev = workEnter(s, P_HANDLE_MM_FAULT);
  ptWalkWork(s, k.config);
  const ret = __handle_mm_fault(s, k, mm, vma, address, flags);
  workLeave(s, prev);
  return ret;
}

/** The fault proper; each branch charges its work to the handler it calls (work.ts). */
function __handle_mm_fault(
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
  // The proposal's FAULT_FLAG_BREAK_COW: COW is broken as for a write (`cow` in __handle_mm_fault()).
  const breakCow = (flags & FAULT_FLAG_BREAK_COW) !== 0;
  const cow = write || breakCow;
  // __handle_mm_fault(): a THP-eligible empty PMD, or a huge PMD, is handled at the PMD level.
  const pmdT = pmdAllocWalk(s, mm, address);
  const pmd = ptep_get(s, pmdT, pmd_index(address));
  if (pmd === 0 && vma_is_anonymous(vma) && thp_vma_allowable(vma, address)) {
    const pmdAt: PmdSlot = { table: pmdT, index: pmd_index(address) };
    workEnter(s, P_DO_HUGE_PMD_ANONYMOUS_PAGE);
    workCharge(s, W_LOCKS); // the PMD lock
    return do_huge_pmd_anonymous_page(s, k, mm, vma, pmdAt, write);
  }
  if (pmd_trans_huge(pmd)) {
    const pmdAt: PmdSlot = { table: pmdT, index: pmd_index(address) };
    workEnter(s, P_DO_HUGE_PMD_WP_PAGE);
    workCharge(s, W_LOCKS); // the PMD lock
    if ((cow || unshare) && !pte_write(pmd)) {
      // wp_huge_pmd(): a uffd-wp protected THP goes to the handler first.
      if (write && userfaultfd_pte_wp(vma, pmd) && handle_userfault(s, k, mm, address)) {
        k.decide(
          'do_huge_pmd_wp_page',
          'handle_userfault',
          'uffd-wp: the handler must resolve the fault',
        );
        return VM_FAULT_RETRY;
      }
      const ret = do_huge_pmd_wp_page(
        s,
        k,
        mm,
        vma,
        address,
        { ...pmdAt, pmd },
        unshare,
        breakCow && !write,
      );
      if (ret !== VM_FAULT_FALLBACK) return ret;
    } else {
      set_pte_at(
        s,
        pmdAt.table,
        pmdAt.index,
        write ? pte_mkdirty(pte_mkyoung(pmd)) : pte_mkyoung(pmd),
      );
      return 0;
    }
  }
  if (ptep_get(s, pmdT, pmd_index(address)) === 0 && !vma_is_anonymous(vma)) {
    // finish_fault() (or fault-around's filemap_map_pmd()) of an empty PMD: a
    // page-cache THP is mapped whole (do_set_pmd()); a private write copies by PTE.
    const folio = filemapThpAt(s, vma, address);
    const pmdAt: PmdSlot = { table: pmdT, index: pmd_index(address) };
    const cow = write && !(vma.vm_flags & VM_SHARED);
    if (folio !== 0 && !cow && !shmem_falloc_wait(s, vma, address, write)) {
      if (do_set_pmd(s, mm, vma, address, pmdAt, folio, write)) return 0;
    }
  }
  const slot: PteSlot = { table: pteAllocAt(s, mm, pmdT, address), index: pte_index(address) };
  const orig_pte = ptep_get(s, slot.table, slot.index);
  if (pte_none(orig_pte) && !vma_is_anonymous(vma) && shmem_falloc_wait(s, vma, address, write)) {
    k.decide(
      'shmem_fault',
      'wait',
      'a hole punch in progress covers the page (shmem_falloc_wait())',
    );
    return VM_FAULT_RETRY;
  }
  if (pte_none(orig_pte) && flags & FAULT_FLAG_STEPWISE && k.config.ptWalkSteps) {
    // do_pte_missing(): the page is allocated, then pte_offset_map_lock() reads the PMD entry.
    const index = pmd_index(address);
    k.pending = pte_offset_map_begin(s, k, mm, address, write, pmdT, index, slot.table);
    return VM_FAULT_STEPPED;
  }
  if (pte_none(orig_pte)) {
    workEnter(s, vma_is_anonymous(vma) ? P_DO_ANONYMOUS_PAGE : P_DO_FAULT);
    workCharge(s, W_LOCKS); // the PTE lock
    pteEntryRefWork(s, k.config, 1); // the new entry's reference (pte_refcount)
    if (vma_is_anonymous(vma)) do_anonymous_page(s, k, mm, vma, write, slot);
    else do_fault(s, k, mm, vma, address, write, slot);
    return 0;
  }
  if (!pte_present(orig_pte)) {
    workEnter(s, P_DO_SWAP_PAGE);
    workCharge(s, W_LOCKS); // the PTE lock
    if (pte_marker_uffd_wp(orig_pte)) {
      // handle_pte_marker() → pte_marker_handle_uffd_wp(): a leftover marker of an
      // unregistered VMA is cleared; otherwise the fault is a missing-page fault
      // that keeps the protection (do_pte_missing() with the marker as orig_pte).
      if (!(vma.vm_flags & VM_UFFD_WP)) {
        set_pte_at(s, slot.table, slot.index, 0);
        return 0;
      }
      do_anonymous_page(s, k, mm, vma, write, slot, true);
      return 0;
    }
    if (!is_swap_entry_pte(orig_pte))
      return toolBug('migration entries are not modelled in this version');
    const stepwise = (flags & FAULT_FLAG_STEPWISE) !== 0;
    return do_swap_page(s, k, mm, vma, address, orig_pte, write, slot, stepwise, breakCow);
  }
  if (cow || unshare) {
    if (!pte_write(orig_pte)) {
      workEnter(s, P_DO_WP_PAGE);
      workCharge(s, W_LOCKS); // the PTE lock
      const stepwise = (flags & FAULT_FLAG_STEPWISE) !== 0;
      return do_wp_page(
        s,
        k,
        mm,
        vma,
        address,
        orig_pte,
        unshare,
        slot,
        stepwise,
        !write && breakCow,
      );
    }
    workCharge(s, W_LOCKS); // the PTE lock
    if (cow) set_pte_at(s, slot.table, slot.index, pte_mkdirty(pte_mkyoung(orig_pte)));
    return 0;
  }
  workCharge(s, W_LOCKS); // the PTE lock
  set_pte_at(s, slot.table, slot.index, pte_mkyoung(orig_pte));
  return 0;
}
