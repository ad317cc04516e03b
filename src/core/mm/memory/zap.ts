/**
 * Unmapping pages from page tables: mm/memory.c zap_pte_range(),
 * unmap_page_range(), zap_page_range_single(), unmap_vmas().
 *
 * A zapped present PTE drops its mapcount and, after the (modelled as
 * immediate) TLB flush, the reference it held. Page tables stay allocated,
 * except that a whole-table MADV_DONTNEED zap frees the emptied PTE table
 * where PT_RECLAIM is on (mm/pt_reclaim.c), and any MADV_DONTNEED zap that
 * empties a table frees it under the pte_refcount proposal (pte_ref.ts).
 */

import { toolBug } from '../../bug.js';
import type { Mm, State, Vma } from '../../mm_types.js';
import { add_mm_counter, MM_ANONPAGES, MM_SWAPENTS } from '../../mm_types.js';
import type { pte_t } from '../../pgtable_types.js';
import {
  is_swap_entry_pte,
  PGDIR_SIZE,
  PMD_SIZE,
  PUD_SIZE,
  pte_marker_uffd_wp,
  pte_present,
  pteBits,
  swp_offset,
} from '../../pgtable_types.js';
import { P_UNMAP, W_ATOMICS, W_TLB_FLUSH, workCharge, workEnter, workLeave } from '../../work.js';
import { __split_huge_pmd, zap_huge_pmd } from '../huge_memory.js';
import { folio_put, page_folio } from '../page_alloc.js';
import type { ZapDetails } from '../pt_reclaim.js';
import { free_pte, reclaim_pt_is_enabled } from '../pt_reclaim.js';
import { pte_put_after_zap } from '../pte_ref.js';
import { folio_remove_rmap_pte, folio_test_anon, mm_counter_file } from '../rmap.js';
import { free_swap_cache } from '../swap_state.js';
import { free_swap_and_cache } from '../swapfile.js';
import {
  pmd_index,
  pmd_present_table,
  pmdLeafBits,
  pmdTable,
  populatedPtes,
  pte_clear,
  pte_index,
  ptep_get,
  pteTable,
  pudTable,
} from './pgtable.js';
import { vm_normal_page } from './wp.js';

/**
 * mm/memory.c zap_pte_range(): clear the PTEs of [addr, end), which lie in
 * one PTE table, and free the table if the zap may reclaim it.
 */
function zap_pte_range(
  s: State,
  mm: Mm,
  addr: number,
  end: number,
  details: ZapDetails | null,
): void {
  const start = addr;
  let can_reclaim_pt = reclaim_pt_is_enabled(start, end, details);
  const t = pteTable(s, mm, addr);
  const first = pte_index(addr);
  // The entries in use: a none entry is skipped, as the kernel's loop skips it.
  const used = populatedPtes(s, t, first, first + (end - addr) / 4096);
  let cleared = used.length;
  const evenCows = details === null || details.even_cows;
  for (const i of used) {
    const pte = ptep_get(s, t, i);
    // should_zap_cows() / should_zap_folio(): a truncation or hole punch
    // (even_cows false) keeps a private mapping's anonymous copies and swap entries.
    if (!evenCows && (!pte_present(pte) || isAnonPte(s, pte))) {
      can_reclaim_pt = false;
      cleared--;
      continue;
    }
    if (!pte_present(pte)) {
      // zap_nonpresent_ptes(): a swap entry releases its slot (free_swap_and_cache());
      // PT_RECLAIM's any_skipped is set for every non-present entry.
      can_reclaim_pt = false;
      if (pte_marker_uffd_wp(pte)) {
        // An anonymous VMA always drops the marker (the model installs none elsewhere).
        pte_clear(s, t, i);
        continue;
      }
      if (!is_swap_entry_pte(pte))
        toolBug('zap of a migration entry: not modelled in this version');
      pte_clear(s, t, i);
      add_mm_counter(mm, MM_SWAPENTS, -1);
      free_swap_and_cache(s, swp_offset(pte));
      continue;
    }
    const page = vm_normal_page(pte);
    pte_clear(s, t, i);
    if (page === 0) continue; // the zero page: nothing to drop
    const folio = page_folio(s, page);
    if (folio_test_anon(s, folio)) add_mm_counter(mm, MM_ANONPAGES, -1);
    else {
      const c = mm_counter_file(s, folio);
      add_mm_counter(mm, c, -1);
    }
    folio_remove_rmap_pte(s, folio, page, mm.id);
    // __tlb_remove_folio_pages(), after the flush: free_pages_and_swap_cache().
    free_swap_cache(s, folio);
    folio_put(s, folio);
  }
  // pte_refcount: each entry cleared drops its reference (pte_put()).
  if (details?.pte_refcount) workCharge(s, W_ATOMICS, cleared);
  if (can_reclaim_pt) free_pte(s, mm, start, details?.reclaim_pt_rcu !== false);
  else if (details?.pte_refcount) pte_put_after_zap(s, mm, start);
}

/** Does a present PTE map an anonymous page (not the zero page, not page cache)? */
function isAnonPte(s: State, pte: pte_t): boolean {
  const page = vm_normal_page(pte);
  return page !== 0 && folio_test_anon(s, page_folio(s, page));
}

/** One VMA's part of a file range: [start, end) of `vma` in `mm` maps pages of it. */
export interface MappingRange {
  readonly mm: Mm;
  readonly vma: Vma;
  readonly start: number;
  readonly end: number;
}

/**
 * mm/memory.c unmap_mapping_range_tree(): the VMAs of every mm that map
 * pages [first, last) of file `inode` (the i_mmap side of the rmap), with
 * the part of each that maps them.
 */
export function mappingRanges(
  s: State,
  inode: number,
  first: number,
  last: number,
): MappingRange[] {
  const out: MappingRange[] = [];
  for (const mm of s.mms) {
    if (!mm) continue;
    for (const vma of mm.vmas) {
      if (vma.vm_file !== inode) continue;
      const vfirst = vma.vm_pgoff;
      const vlast = vma.vm_pgoff + (vma.vm_end - vma.vm_start) / 4096;
      const lo = Math.max(first, vfirst);
      const hi = Math.min(last, vlast);
      if (lo >= hi) continue;
      const start = vma.vm_start + (lo - vfirst) * 4096;
      out.push({ mm, vma, start, end: start + (hi - lo) * 4096 });
    }
  }
  return out;
}

/**
 * mm/memory.c unmap_mapping_range() → unmap_mapping_range_tree(): zap the
 * pages [first, last) of file `inode` in every VMA of every mm that maps
 * them (the i_mmap side of the rmap, without any mm's mmap lock), keeping
 * private anonymous copies (even_cows false). The page-table design then
 * frees what the zaps emptied as it frees after any zap (ADR 0013): the
 * refcount's last put, the rwsem's every level (assumed: its zaps take it
 * for write whoever calls them).
 */
export function unmap_mapping_range(
  s: State,
  inode: number,
  first: number,
  last: number,
  details: ZapDetails,
  freeEmpty: ((mm: Mm, start: number, end: number) => void) | null,
): void {
  for (const r of mappingRanges(s, inode, first, last)) {
    zap_page_range_single(s, r.mm, r.vma, r.start, r.end - r.start, details);
    freeEmpty?.(r.mm, r.start, r.end);
  }
}

/** mm/memory.c unmap_page_range(): zap [addr, end) of one VMA, table by table. */
export function unmap_page_range(
  s: State,
  mm: Mm,
  addr: number,
  end: number,
  details: ZapDetails | null,
): void {
  while (addr < end) {
    // zap_p4d_range()/zap_pud_range()/zap_pmd_range(): none entries are skipped whole.
    const pmdT = pmdTable(s, mm, addr);
    const span = pmdT !== 0 ? PMD_SIZE : pudTable(s, mm, addr) === 0 ? PGDIR_SIZE : PUD_SIZE;
    const next = Math.min(Math.floor(addr / span) * span + span, end);
    if (pmdT !== 0) {
      const index = pmd_index(addr);
      const pmd = ptep_get(s, pmdT, index);
      if (pmdLeafBits(pteBits(pmd))) {
        // zap_pmd_range(): a huge PMD is zapped whole if the range covers it, else split first.
        if (next - addr === PMD_SIZE) {
          zap_huge_pmd(s, mm, { table: pmdT, index, pmd });
          addr = next;
          continue;
        }
        __split_huge_pmd(s, mm, addr);
      }
      if (pmd_present_table(ptep_get(s, pmdT, index)) !== 0)
        zap_pte_range(s, mm, addr, next, details);
    }
    addr = next;
  }
}

/** mm/memory.c zap_page_range_single(): zap a range inside one VMA. */
export function zap_page_range_single(
  s: State,
  mm: Mm,
  vma: Vma,
  address: number,
  size: number,
  details: ZapDetails | null,
): void {
  const start = Math.max(vma.vm_start, address);
  const end = Math.min(vma.vm_end, address + size);
  const prev = workEnter(s, P_UNMAP);
  workCharge(s, W_TLB_FLUSH); // tlb_finish_mmu()
  if (start < end) unmap_page_range(s, mm, start, end, details);
  workLeave(s, prev);
}

/** mm/memory.c unmap_vmas(): zap whole VMAs on munmap and exit (even_cows, no table reclaim). */
export function unmap_vmas(s: State, mm: Mm, vmas: readonly Vma[]): void {
  const details: ZapDetails = { even_cows: true, reclaim_pt: false };
  for (const vma of vmas) unmap_page_range(s, mm, vma.vm_start, vma.vm_end, details);
}
