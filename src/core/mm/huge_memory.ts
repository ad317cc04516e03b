/**
 * PMD-mapped anonymous transparent huge pages (mm/huge_memory.c): the first
 * fault of a THP-eligible range maps a whole order-9 folio with one PMD
 * (do_huge_pmd_anonymous_page()), a write fault on a read-only THP reuses,
 * splits or copies it as the era decides (do_huge_pmd_wp_page()), fork shares
 * it or splits it (copy_huge_pmd()), and partial operations split the PMD into
 * a PTE table (__split_huge_pmd_locked()).
 *
 * Each THP mapping keeps a PTE table deposited for its split
 * (pgtable_trans_huge_deposit()), counted in VmPTE (mm_inc_nr_ptes()); the
 * model counts it and allocates the table when it is withdrawn.
 *
 * A read fault maps the huge zero folio instead (use_zero_page = 1, the
 * kernel's default): one read-only PMD, a deposited table, no rss and no
 * mapcount, as the small zero page. Not modelled in this version: THP
 * swap-out, khugepaged, mremap of a THP, and the deferred split of partially
 * mapped THPs (split_huge_page()).
 */

import type { Mm, State, Vma } from '../mm_types.js';
import {
  add_mm_counter,
  contentW,
  flagsW,
  folioLarge,
  is_cow_mapping,
  MM_ANONPAGES,
  orderW,
  ptAllocTable,
  refcountW,
  VM_HUGEPAGE,
  VM_NOHUGEPAGE,
  VM_SHARED,
  VM_UFFD_WP,
  ZERO_PFN,
} from '../mm_types.js';
import {
  PG_anon,
  PG_anon_exclusive,
  PG_dirty,
  PG_lru,
  PG_reserved,
  PG_swapbacked,
} from '../page-flags.js';
import {
  _PAGE_ACCESSED,
  _PAGE_PSE,
  _PAGE_RW,
  _PAGE_SPECIAL,
  HPAGE_PMD_NR,
  HPAGE_PMD_ORDER,
  HPAGE_PMD_SIZE,
  mk_pte,
  PT_LEVEL_PTE,
  pte_clear_uffd_wp,
  pte_mkdirty,
  pte_mkold,
  pte_mkyoung,
  pte_pfn,
  type pte_t,
  pte_uffd_wp,
  pte_write,
  pte_wrprotect,
  pteBits,
} from '../pgtable_types.js';
import type { Kernel } from '../points.js';
import { count_vm_event, vmEventIndex } from '../vmstat.js';
import {
  W_PAGE_LINES,
  W_PAGES_COPIED,
  W_PAGES_ZEROED,
  W_PT_ALLOC,
  W_SUBPAGE_ITER,
  W_TLB_FLUSH,
  workCharge,
} from '../work.js';
import { vmPageProtBits } from './memory/fault.js';
import type { PmdSlot } from './memory/pgtable.js';
import {
  forEachHugePmd,
  mm_dec_nr_ptes,
  mm_inc_nr_ptes,
  pmd_populate,
  pmdAllocWalk,
  pmdLeaf,
  pte_clear,
  set_pte_at,
} from './memory/pgtable.js';
import { maybe_mkwrite } from './memory/wp.js';
import { alloc_pages, folio_get, folio_put, free_pages } from './page_alloc.js';
import {
  anon_vma_prepare,
  folio_add_anon_rmap_ptes,
  folio_add_new_anon_rmap_pmd,
  folio_mapcount,
  folio_test_anon,
  folioEntireMapcountAdd,
  mm_counter_file,
  PageAnonExclusive,
  SetPageAnonExclusive,
} from './rmap.js';
import { folio_add_lru_vma } from './swap.js';

/** include/linux/mm_types.h vm_fault_t VM_FAULT_FALLBACK: handle it at the PTE level. */
export const VM_FAULT_FALLBACK = 0x800;

const THP_FAULT_ALLOC = vmEventIndex('thp_fault_alloc')!;
const THP_SPLIT_PMD = vmEventIndex('thp_split_pmd')!;

/** Is `pfn` a page of the huge zero folio? */
export function isHugeZeroPfn(s: State, pfn: number): boolean {
  return s.huge_zero !== 0 && pfn >= s.huge_zero && pfn < s.huge_zero + HPAGE_PMD_NR;
}

/** include/linux/huge_mm.h is_huge_zero_pmd() */
export function is_huge_zero_pmd(s: State, pmd: pte_t): boolean {
  return s.huge_zero !== 0 && pte_pfn(pmd) === s.huge_zero;
}

/**
 * mm/huge_memory.c mm_get_huge_zero_folio(): the huge zero folio, allocated
 * zeroed on first use and kept (reserved, as the small zero page).
 */
function mm_get_huge_zero_folio(s: State): number {
  if (s.huge_zero === 0) {
    const folio = alloc_pages(s, HPAGE_PMD_ORDER);
    workCharge(s, W_PAGES_ZEROED, HPAGE_PMD_NR);
    flagsW(s.mem)[folio] = s.mem.flags[folio]! | PG_reserved;
    s.huge_zero = folio;
  }
  return s.huge_zero;
}

/** The PMD-aligned start of the THP range containing `addr` (haddr). */
export function hpageAlign(addr: number): number {
  return Math.floor(addr / HPAGE_PMD_SIZE) * HPAGE_PMD_SIZE;
}

/**
 * include/linux/huge_mm.h thp_vma_allowable_order() for a PMD-sized THP, with
 * transparent_hugepage/enabled = madvise (the setting of the machines cowherd
 * runs on): a private anonymous VMA with MADV_HUGEPAGE and without
 * MADV_NOHUGEPAGE, covering the whole aligned 2 MiB around `addr`
 * (thp_vma_suitable_order()).
 */
export function thp_vma_allowable(vma: Vma, addr: number): boolean {
  if (vma.vm_file !== 0 || vma.vm_flags & VM_SHARED) return false;
  if (!(vma.vm_flags & VM_HUGEPAGE) || vma.vm_flags & VM_NOHUGEPAGE) return false;
  const haddr = hpageAlign(addr);
  return haddr >= vma.vm_start && haddr + HPAGE_PMD_SIZE <= vma.vm_end;
}

/** The PMD entry for a THP mapped in `vma`: writable and dirty where the VMA allows writing. */
function mk_huge_pmd(s: State, vma: Vma, folio: number): pte_t {
  const entry = mk_pte(folio, vmPageProtBits(s, vma) | _PAGE_PSE | _PAGE_ACCESSED);
  return maybe_mkwrite(pte_mkdirty(entry), vma);
}

/** A fresh anonymous THP mapped by the PMD at `at` (the tail of __do_huge_pmd_anonymous_page()). */
function mapNewThp(s: State, k: Kernel, mm: Mm, vma: Vma, at: PmdSlot, folio: number): void {
  const exclusive = k.policy.folio_add_new_anon_rmap(s, k, folio).exclusive;
  folio_add_new_anon_rmap_pmd(s, folio, exclusive, mm.id);
  folio_add_lru_vma(s, k, folio);
  set_pte_at(s, at.table, at.index, mk_huge_pmd(s, vma, folio));
  count_vm_event(s.vmstat, THP_FAULT_ALLOC);
}

/**
 * collapse_huge_page()'s end: map a collapsed THP (its deposited table is
 * the old PTE table, already counted in VmPTE).
 */
export function mapCollapsedThp(
  s: State,
  k: Kernel,
  mm: Mm,
  vma: Vma,
  at: PmdSlot,
  folio: number,
): void {
  folio_add_new_anon_rmap_pmd(s, folio, true, mm.id); // RMAP_EXCLUSIVE where the era has the flag
  if (!k.policy.folio_add_new_anon_rmap(s, k, folio).exclusive)
    flagsW(s.mem)[folio] = s.mem.flags[folio]! & ~PG_anon_exclusive;
  folio_add_lru_vma(s, k, folio);
  set_pte_at(s, at.table, at.index, mk_huge_pmd(s, vma, folio));
}

/**
 * mm/huge_memory.c do_huge_pmd_anonymous_page(): the first fault in an empty
 * PMD of a THP-eligible range: a read maps the huge zero folio, a write
 * allocates a THP and maps it whole, writable and dirty if the VMA allows
 * writing.
 */
export function do_huge_pmd_anonymous_page(
  s: State,
  k: Kernel,
  mm: Mm,
  vma: Vma,
  at: PmdSlot,
  write: boolean,
): number {
  if (!write) {
    // set_huge_zero_folio(): read-only, special, with a deposited table.
    const zero = mm_get_huge_zero_folio(s);
    mm_inc_nr_ptes(s, mm);
    const bits = (vmPageProtBits(s, vma) & ~_PAGE_RW) | _PAGE_PSE | _PAGE_SPECIAL | _PAGE_ACCESSED;
    set_pte_at(s, at.table, at.index, mk_pte(zero, bits));
    return 0;
  }
  vma = anon_vma_prepare(s, mm, vma);
  const folio = alloc_pages(s, HPAGE_PMD_ORDER);
  workCharge(s, W_PAGES_ZEROED, HPAGE_PMD_NR); // clear_huge_page()
  mm_inc_nr_ptes(s, mm); // pgtable_trans_huge_deposit()
  add_mm_counter(mm, MM_ANONPAGES, HPAGE_PMD_NR);
  mapNewThp(s, k, mm, vma, at, folio);
  return 0;
}

/**
 * mm/huge_memory.c do_huge_pmd_wp_page(): a write or unshare fault on a
 * read-only PMD-mapped THP. The era reuses it, splits the PMD (the caller then
 * handles the fault at the PTE level: VM_FAULT_FALLBACK) or copies 2 MiB.
 */
export function do_huge_pmd_wp_page(
  s: State,
  k: Kernel,
  mm: Mm,
  vma: Vma,
  address: number,
  at: PmdSlot & { pmd: pte_t },
  unshare: boolean,
  breakCow = false,
): number {
  const folio = pte_pfn(at.pmd);
  if (!is_huge_zero_pmd(s, at.pmd) && !folio_test_anon(s, folio)) {
    // wp_huge_pmd() of a page-cache THP: no ->huge_fault for shmem, so the PMD
    // is split (unmapped) and the fault goes on at the PTE level.
    k.decide('do_huge_pmd_wp_page', 'split', 'a page-cache THP: wp_huge_pmd() splits the PMD');
    __split_huge_pmd(s, mm, address);
    return VM_FAULT_FALLBACK;
  }
  if (is_huge_zero_pmd(s, at.pmd)) {
    if (!k.policy.huge_zero_wp_alloc) {
      k.decide('do_huge_pmd_wp_page', 'split', 'huge zero page: split into zero-page PTEs');
      __split_huge_pmd(s, mm, address);
      return VM_FAULT_FALLBACK;
    }
    // A zeroed THP replaces the huge zero PMD; its deposited table stays.
    k.decide('do_huge_pmd_wp_page', 'alloc', 'huge zero page: a new THP (do_huge_zero_wp_pmd)');
    add_mm_counter(mm, MM_ANONPAGES, HPAGE_PMD_NR);
    mapNewThp(s, k, mm, anon_vma_prepare(s, mm, vma), at, alloc_pages(s, HPAGE_PMD_ORDER));
    return 0;
  }
  const d = k.policy.do_huge_pmd_wp_page(s, k, {
    mm,
    vma,
    address,
    orig_pmd: at.pmd,
    folio,
    unshare,
    breakCow,
  });
  k.decide(
    unshare ? 'do_huge_pmd_wp_page(FAULT_FLAG_UNSHARE)' : 'do_huge_pmd_wp_page',
    d.action,
    d.why,
  );
  if (d.action === 'reuse') {
    if (unshare) return 0;
    const entry = pte_mkdirty(pte_mkyoung(at.pmd));
    // The proposal's reuse of a uffd-wp THP for FAULT_FLAG_BREAK_COW keeps it protected.
    const keep = breakCow && pte_uffd_wp(at.pmd);
    set_pte_at(s, at.table, at.index, keep ? entry : maybe_mkwrite(entry, vma));
    return 0;
  }
  if (d.action === 'split') {
    __split_huge_pmd(s, mm, address);
    return VM_FAULT_FALLBACK;
  }
  // Before v5.8: a new THP with a copy of all 512 pages replaces the shared one.
  const nw = alloc_pages(s, HPAGE_PMD_ORDER);
  for (let i = 0; i < HPAGE_PMD_NR; i++) contentW(s.mem)[nw + i] = s.mem.content[folio + i]!;
  workCharge(s, W_PAGES_COPIED, HPAGE_PMD_NR); // copy_user_huge_page()
  workCharge(s, W_TLB_FLUSH); // pmdp_huge_clear_flush()
  mapNewThp(s, k, mm, anon_vma_prepare(s, mm, vma), at, nw);
  folioEntireMapcountAdd(s, folio, -1, mm.id); // page_remove_rmap(compound)
  folio_put(s, folio);
  return 0;
}

/**
 * mm/huge_memory.c __split_huge_pmd() → __split_huge_pmd_locked() for an
 * anonymous THP: the deposited PTE table is withdrawn and filled with 512
 * PTEs carrying the PMD's bits, each page gets a mapcount and a reference
 * instead of the folio's entire mapping, and from v5.19 PG_anon_exclusive of
 * the head is copied to every page. The folio itself stays whole.
 */
export function __split_huge_pmd(s: State, mm: Mm, address: number): void {
  const leaf = pmdLeaf(s, mm, address);
  if (!leaf) return;
  const folio = pte_pfn(leaf.pmd);
  if (!is_huge_zero_pmd(s, leaf.pmd) && !folio_test_anon(s, folio)) {
    // __split_huge_pmd_locked() of a file PMD only unmaps it: the pages refault by PTE.
    workCharge(s, W_TLB_FLUSH); // pmdp_huge_clear_flush()
    zap_huge_pmd(s, mm, leaf);
    count_vm_event(s.vmstat, THP_SPLIT_PMD);
    return;
  }
  const bits = pteBits(leaf.pmd) & ~_PAGE_PSE;
  const table = ptAllocTable(s, PT_LEVEL_PTE); // pgtable_trans_huge_withdraw()
  workCharge(s, W_TLB_FLUSH); // pmdp_invalidate()
  workCharge(s, W_PT_ALLOC, -1); // withdrawn, not allocated: charged when deposited
  if (is_huge_zero_pmd(s, leaf.pmd)) {
    // __split_huge_zero_page_pmd(): every PTE maps the small zero page.
    for (let i = 0; i < HPAGE_PMD_NR; i++) set_pte_at(s, table, i, mk_pte(ZERO_PFN, bits));
    pmd_populate(s, leaf, table);
    count_vm_event(s.vmstat, THP_SPLIT_PMD);
    return;
  }
  const exclusive = PageAnonExclusive(s, folio);
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    set_pte_at(s, table, i, mk_pte(folio + i, bits));
    if (exclusive) SetPageAnonExclusive(s, folio + i);
  }
  // folio_add_anon_rmap_ptes() for the 512 PTEs, then the PMD's mapping goes.
  folio_add_anon_rmap_ptes(s, folio, folio, HPAGE_PMD_NR, mm.id);
  refcountW(s.mem)[folio] = s.mem.refcount[folio]! + HPAGE_PMD_NR - 1;
  folioEntireMapcountAdd(s, folio, -1, mm.id);
  pmd_populate(s, leaf, table);
  count_vm_event(s.vmstat, THP_SPLIT_PMD);
}

/**
 * mm/huge_memory.c zap_huge_pmd(): unmap a whole THP mapping, free the
 * deposited table (zap_deposited_table()) and drop the mapping's reference.
 */
export function zap_huge_pmd(s: State, mm: Mm, at: PmdSlot & { pmd: pte_t }): void {
  const folio = pte_pfn(at.pmd);
  pte_clear(s, at.table, at.index);
  if (!is_huge_zero_pmd(s, at.pmd) && !folio_test_anon(s, folio)) {
    // A page-cache THP: no deposited table on x86 (arch_needs_pgtable_deposit()).
    const c = mm_counter_file(s, folio);
    add_mm_counter(mm, c, -HPAGE_PMD_NR);
    folioEntireMapcountAdd(s, folio, -1, mm.id); // folio_remove_rmap_pmd()
    folio_put(s, folio);
    return;
  }
  mm_dec_nr_ptes(s, mm);
  if (is_huge_zero_pmd(s, at.pmd)) return;
  add_mm_counter(mm, MM_ANONPAGES, -HPAGE_PMD_NR);
  folioEntireMapcountAdd(s, folio, -1, mm.id); // folio_remove_rmap_pmd()
  folio_put(s, folio);
}

/**
 * mm/huge_memory.c copy_huge_pmd() at fork: share the THP read-only with the
 * child (a PMD and a deposited table each), unless the era copies a page that
 * may be pinned (the fork decision of copy_present_pte(), asked for the
 * head): then the parent's PMD is split and the caller copies the range
 * PTE by PTE (-EAGAIN). Returns 0 when the PMD was shared.
 */
export function copy_huge_pmd(
  s: State,
  k: Kernel,
  dst_mm: Mm,
  dst: Vma,
  src_mm: Mm,
  src: Vma,
  address: number,
): number {
  const leaf = pmdLeaf(s, src_mm, address)!;
  const folio = pte_pfn(leaf.pmd);
  // A page-cache THP is not copied: the child refaults it (copy_huge_pmd(), !vma_is_anonymous()).
  if (!is_huge_zero_pmd(s, leaf.pmd) && !folio_test_anon(s, folio)) return 0;
  if (is_huge_zero_pmd(s, leaf.pmd)) {
    // The child maps the huge zero folio too (mm_get_huge_zero_folio()).
    mm_inc_nr_ptes(s, dst_mm);
    const dstPmd = pmdAllocWalk(s, dst_mm, address);
    let pmd = pte_mkold(leaf.pmd);
    if (!(dst.vm_flags & VM_UFFD_WP)) pmd = pte_clear_uffd_wp(pmd);
    set_pte_at(s, dstPmd, Math.floor(address / HPAGE_PMD_SIZE) % 512, pmd);
    return 0;
  }
  folio_get(s, folio);
  const d = k.policy.copy_present_pte(s, k, {
    src_mm,
    src_vma: src,
    dst_mm,
    address: hpageAlign(address),
    pte: leaf.pmd,
    page: folio,
    folio,
  });
  if (d.action === 'copy') {
    k.decide('copy_huge_pmd', 'split', d.why);
    folio_put(s, folio);
    __split_huge_pmd(s, src_mm, address);
    return -11; // -EAGAIN
  }
  k.decide('copy_huge_pmd', 'share', d.why);
  folioEntireMapcountAdd(s, folio, 1, dst_mm.id); // folio_dup_anon_rmap_pmd()
  add_mm_counter(dst_mm, MM_ANONPAGES, HPAGE_PMD_NR);
  mm_inc_nr_ptes(s, dst_mm);
  let pmd = leaf.pmd;
  if (is_cow_mapping(src.vm_flags) && pte_write(pmd)) {
    pmd = pte_wrprotect(pmd);
    set_pte_at(s, leaf.table, leaf.index, pmd);
  }
  pmd = pte_mkold(pmd);
  if (!(dst.vm_flags & VM_UFFD_WP)) pmd = pte_clear_uffd_wp(pmd);
  const dstPmd = pmdAllocWalk(s, dst_mm, address);
  set_pte_at(s, dstPmd, Math.floor(address / HPAGE_PMD_SIZE) % 512, pmd);
  return 0;
}

/**
 * mm/memory.c do_set_pmd(): map the page-cache THP `folio` by the empty PMD
 * at `at` of a fault at `address`, if the VMA allows THPs there
 * (vma_thp_disabled(), thp_vma_suitable_order()): the whole folio, writable
 * only for a write fault where the VMA allows it (a shared writable VMA's
 * vm_page_prot is writable already), one reference, 512 pages of
 * RssShmem/RssFile, no deposited table on x86. Whether it mapped (else
 * VM_FAULT_FALLBACK: the caller maps by PTE). Read in torvalds/linux v6.18.
 */
export function do_set_pmd(
  s: State,
  mm: Mm,
  vma: Vma,
  address: number,
  at: PmdSlot,
  folio: number,
  write: boolean,
): boolean {
  if (vma.vm_flags & VM_NOHUGEPAGE || s.mem.order[folio] !== HPAGE_PMD_ORDER) return false;
  const haddr = hpageAlign(address);
  if (haddr < vma.vm_start || haddr + HPAGE_PMD_SIZE > vma.vm_end) return false;
  // thp_vma_suitable_order(): the folio's first page sits at haddr.
  if ((vma.vm_start / 4096 - vma.vm_pgoff) % HPAGE_PMD_NR !== 0) return false;
  folio_get(s, folio);
  folioEntireMapcountAdd(s, folio, 1, mm.id); // folio_add_file_rmap_pmd()
  const c = mm_counter_file(s, folio);
  add_mm_counter(mm, c, HPAGE_PMD_NR);
  let entry = mk_pte(folio, vmPageProtBits(s, vma) | _PAGE_PSE | _PAGE_ACCESSED);
  if (write) entry = maybe_mkwrite(pte_mkdirty(entry), vma);
  set_pte_at(s, at.table, at.index, entry);
  return true;
}

/** The bytes of `mm` mapped by anonymous PMD-mapped THPs (smaps AnonHugePages, in bytes). */
export function anonHugeBytes(s: State, mm: Mm): number {
  let n = 0;
  for (const vma of mm.vmas) {
    if (vma.vm_file !== 0) continue;
    forEachHugePmd(s, mm, hpageAlign(vma.vm_start), vma.vm_end, (leaf) => {
      if (!is_huge_zero_pmd(s, leaf.pmd)) n += HPAGE_PMD_SIZE;
    });
  }
  return n;
}

const THP_SPLIT_PAGE = vmEventIndex('thp_split_page')!;

/**
 * mm/huge_memory.c split_folio() (split_huge_page_to_list_to_order() to
 * order 0) of a PTE-mapped anonymous THP: every page becomes a small folio
 * keeping its contents, mapcount, PG_anon_exclusive and the folio's LRU and
 * anon state; each holds the references of its PTEs, and pages no PTE maps
 * are freed. Refused (false) while a PMD still maps the folio (the caller
 * splits that first) or while it has references besides its mappings (GUP,
 * pins, pipes: can_split_folio()).
 */
export function split_folio(s: State, folio: number): boolean {
  const mem = s.mem;
  if (mem.order[folio]! === 0) return true;
  const large = folioLarge(s, folio);
  if (large.entire !== 0 || large.pincount !== 0) return false;
  if (mem.refcount[folio] !== folio_mapcount(s, folio)) return false;
  const nr = 2 ** mem.order[folio]!;
  const keep = mem.flags[folio]! & (PG_anon | PG_swapbacked | PG_lru | PG_dirty);
  for (let i = 0; i < nr; i++) {
    const page = folio + i;
    flagsW(mem)[page] = keep | (mem.flags[page]! & PG_anon_exclusive);
    orderW(mem)[page] = 0;
    refcountW(mem)[page] = mem.mapcount[page]!;
  }
  mem.large.delete(folio); // every page is a small folio now
  workCharge(s, W_SUBPAGE_ITER, nr);
  workCharge(s, W_PAGE_LINES, nr);
  for (let i = 0; i < nr; i++) {
    const page = folio + i;
    if (mem.refcount[page] === 0) {
      flagsW(mem)[page] =
        mem.flags[page]! & ~(PG_lru | PG_anon | PG_swapbacked | PG_anon_exclusive);
      free_pages(s, page);
    }
  }
  count_vm_event(s.vmstat, THP_SPLIT_PAGE);
  return true;
}
