/**
 * Reverse-map bookkeeping of mapped pages (mm/rmap.c, include/linux/rmap.h):
 * mapcounts, the anon tag and PG_anon_exclusive. The model keeps one mapcount
 * per page (the kernel's _mapcount + 1).
 */

import type { Mm, State, Vma } from '../mm_types.js';
import { MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES, MM_SWAPENTS } from '../mm_types.js';
import { PG_anon, PG_anon_exclusive, PG_dirty, PG_swapbacked } from '../page-flags.js';
import {
  _PAGE_PRESENT,
  _PAGE_PROTNONE,
  mk_pte,
  pte_dirty,
  pte_pfn,
  pte_present,
  pte_special,
  pte_swp_mkexclusive,
  type pte_t,
  pte_write,
  pte_wrprotect,
  pteBits,
  pteCarriedBits,
  swp_entry_to_pte,
} from '../pgtable_types.js';
import { folio_maybe_dma_pinned } from './gup.js';
import { forEachPte, mmTables, ptep_get, set_pte_at } from './memory/pgtable.js';
import { folio_put } from './page_alloc.js';
import { swap_duplicate } from './swapfile.js';

/**
 * mm/rmap.c folio_add_new_anon_rmap(): a freshly allocated small folio becomes
 * anonymous and mapped once; `exclusive` is RMAP_EXCLUSIVE (PG_anon_exclusive).
 */
export function folio_add_new_anon_rmap(s: State, folio: number, exclusive: boolean): void {
  const mem = s.mem;
  mem.flags[folio] = (mem.flags[folio]! | PG_anon | PG_swapbacked) & ~PG_anon_exclusive;
  if (exclusive) mem.flags[folio] = mem.flags[folio]! | PG_anon_exclusive;
  mem.mapcount[folio] = 1;
}

/** mm/rmap.c folio_remove_rmap_pte(): one PTE stops mapping `page`. */
export function folio_remove_rmap_pte(s: State, page: number): void {
  s.mem.mapcount[page] = s.mem.mapcount[page]! - 1;
}

/** include/linux/rmap.h folio_dup_file_rmap_pte() and the mapcount side of the anon variant. */
export function folio_dup_rmap_pte(s: State, page: number): void {
  s.mem.mapcount[page] = s.mem.mapcount[page]! + 1;
}

/** mm/rmap.c folio_add_file_rmap_pte(): a page-cache (shmem) page gets one more PTE mapping. */
export function folio_add_file_rmap_pte(s: State, page: number): void {
  s.mem.mapcount[page] = s.mem.mapcount[page]! + 1;
}

export function PageAnonExclusive(s: State, page: number): boolean {
  return (s.mem.flags[page]! & PG_anon_exclusive) !== 0;
}
export function SetPageAnonExclusive(s: State, page: number): void {
  s.mem.flags[page] = s.mem.flags[page]! | PG_anon_exclusive;
}
export function ClearPageAnonExclusive(s: State, page: number): void {
  s.mem.flags[page] = s.mem.flags[page]! & ~PG_anon_exclusive;
}

/** include/linux/mm.h mm_counter_file(): the RSS counter of a page-cache page. */
export function mm_counter_file(s: State, folio: number): number {
  return s.mem.flags[folio]! & PG_swapbacked ? MM_SHMEMPAGES : MM_FILEPAGES;
}

export function folio_test_anon(s: State, folio: number): boolean {
  return (s.mem.flags[folio]! & PG_anon) !== 0;
}

/**
 * folio_mapcount(): the mappings of a folio, each PTE and each PMD counting
 * one (folio_large_mapcount() for a large folio).
 */
export function folio_mapcount(s: State, folio: number): number {
  const order = s.mem.order[folio]!;
  if (order === 0) return s.mem.mapcount[folio]!;
  let n = s.mem.entire[folio]!;
  for (let i = 0; i < 2 ** order; i++) n += s.mem.mapcount[folio + i]!;
  return n;
}

/** page_mapcount(): the PTEs mapping this page plus the PMD mappings of its whole folio. */
export function page_mapcount(s: State, page: number, folio: number): number {
  return s.mem.mapcount[page]! + s.mem.entire[folio]!;
}

/**
 * mm/rmap.c folio_add_new_anon_rmap() for a PMD-mapped THP: the folio becomes
 * anonymous with an entire mapcount of 1; `exclusive` marks the head
 * PG_anon_exclusive (a PMD-mapped THP keeps the flag on the head).
 */
export function folio_add_new_anon_rmap_pmd(s: State, folio: number, exclusive: boolean): void {
  const mem = s.mem;
  mem.flags[folio] = (mem.flags[folio]! | PG_anon | PG_swapbacked) & ~PG_anon_exclusive;
  if (exclusive) mem.flags[folio] = mem.flags[folio]! | PG_anon_exclusive;
  mem.entire[folio] = 1;
}

/**
 * The mappings of `folio` in `mm`'s page tables (PTEs of its pages and PMDs
 * of the whole folio): with folio_mapcount(), whether every mapping is in
 * one mm (CONFIG_MM_ID's folio_mm_id() tracking, v6.15).
 */
export function folioMappingsInMm(s: State, mm: Mm, folio: number): number {
  const nr = 2 ** s.mem.order[folio]!;
  let n = 0;
  const t = mmTables(s, mm);
  for (const id of t.pte) {
    const tab = s.pt.tables[id]!;
    for (let i = 0; i < 512; i++) {
      const v = tab[2 * i]!;
      const b = tab[2 * i + 1]!;
      if (v >= folio && v < folio + nr && (b & (_PAGE_PRESENT | _PAGE_PROTNONE)) !== 0) n++;
    }
  }
  for (const h of t.huge) if (s.pt.tables[h.table]![2 * h.index] === folio) n++;
  return n;
}

/**
 * mm/rmap.c __anon_vma_prepare(): give the VMA an anon_vma before its first
 * anonymous page (replaces the VMA object in mm.vmas). Returns the new VMA.
 */
export function anon_vma_prepare(s: State, vmas: Vma[], vma: Vma): Vma {
  if (vma.anon_vma !== 0) return vma;
  const next: Vma = { ...vma, anon_vma: s.next_anon_vma++ };
  const i = vmas.indexOf(vma);
  if (i >= 0) vmas[i] = next;
  return next;
}

/**
 * The rmap walk of an anonymous folio (rmap_walk_anon()), simplified: every
 * present PTE of an anonymous VMA in any mm that maps `folio`. The model has
 * no anon_vma chains; scanning all anonymous VMAs finds the same PTEs.
 */
function forEachAnonMapping(
  s: State,
  folio: number,
  fn: (mm: Mm, t: number, i: number, pte: pte_t) => boolean | undefined,
): void {
  for (const mm of s.mms) {
    if (!mm) continue;
    for (const vma of mm.vmas) {
      if (vma.anon_vma === 0) continue;
      let stop = false;
      forEachPte(s, mm, vma.vm_start, vma.vm_end, (t, i) => {
        if (stop) return;
        const pte = ptep_get(s, t, i);
        if (pte_present(pte) && !pte_special(pte) && pte_pfn(pte) === folio)
          stop = fn(mm, t, i, pte) === false;
      });
      if (stop) return;
    }
  }
}

/** Write-protect every PTE mapping the folio (as mm/rmap.c folio_mkclean() does for file folios). */
export function folioWrprotectMappings(s: State, folio: number): void {
  forEachAnonMapping(s, folio, (_mm, t, i, pte) => {
    if (pte_write(pte)) set_pte_at(s, t, i, pte_wrprotect(pte));
    return true;
  });
}

/** Is some PTE mapping the folio writable? (Linus's rule (d).) */
export function folioMappedWritable(s: State, folio: number): boolean {
  let w = false;
  forEachAnonMapping(s, folio, (_mm, _t, _i, pte) => {
    if (pte_write(pte)) w = true;
    return !w;
  });
  return w;
}

/**
 * mm/rmap.c try_to_unmap() → try_to_unmap_one() for a small anonymous folio
 * in the swap cache: every PTE mapping it becomes a swap entry for its slot
 * (keeping soft-dirty and uffd-wp), a dirty PTE dirties the folio, and the
 * mapping's reference goes. A PG_anon_exclusive page keeps that fact in the
 * swap PTE (SWP_EXCLUSIVE) after page_try_share_anon_rmap() cleared it, which
 * fails, leaving the page mapped, when the folio may be pinned (v5.19+: the
 * only eras that set PG_anon_exclusive). Returns whether the folio is
 * unmapped everywhere.
 */
export function try_to_unmap(s: State, folio: number, slot: number): boolean {
  forEachAnonMapping(s, folio, (mm, t, i, pte) => {
    let exclusive = false;
    if (PageAnonExclusive(s, folio)) {
      if (folio_maybe_dma_pinned(s, folio)) return false;
      ClearPageAnonExclusive(s, folio);
      exclusive = true;
    }
    swap_duplicate(s, slot);
    let swp = mk_pte(slot, pteBits(swp_entry_to_pte(slot)) | pteCarriedBits(pte));
    if (exclusive) swp = pte_swp_mkexclusive(swp);
    if (pte_dirty(pte)) s.mem.flags[folio] = s.mem.flags[folio]! | PG_dirty;
    set_pte_at(s, t, i, swp);
    mm.rss[MM_ANONPAGES] = mm.rss[MM_ANONPAGES]! - 1;
    mm.rss[MM_SWAPENTS] = mm.rss[MM_SWAPENTS]! + 1;
    folio_remove_rmap_pte(s, folio);
    folio_put(s, folio);
    return true;
  });
  return s.mem.mapcount[folio] === 0;
}
