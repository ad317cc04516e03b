/**
 * Reverse-map bookkeeping of mapped pages (mm/rmap.c, include/linux/rmap.h):
 * mapcounts, the anon tag and PG_anon_exclusive. The model keeps one mapcount
 * per page (the kernel's _mapcount + 1).
 */

import type { LargeFolio, Mm, State, Vma } from '../mm_types.js';
import {
  add_mm_counter,
  flagsW,
  folioLarge,
  MM_ANONPAGES,
  MM_FILEPAGES,
  MM_SHMEMPAGES,
  MM_SWAPENTS,
  mapcountW,
} from '../mm_types.js';
import { PG_anon, PG_anon_exclusive, PG_dirty, PG_swapbacked } from '../page-flags.js';
import {
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
import { W_ATOMICS, W_PAGE_LINES, W_SUBPAGE_ITER, workCharge } from '../work.js';
import { folio_maybe_dma_pinned } from './gup.js';
import { forEachPte, ptep_get, set_pte_at } from './memory/pgtable.js';
import { folio_put } from './page_alloc.js';
import { swap_duplicate } from './swapfile.js';

/**
 * mm/rmap.c folio_add_new_anon_rmap(): a freshly allocated small folio becomes
 * anonymous and mapped once; `exclusive` is RMAP_EXCLUSIVE (PG_anon_exclusive).
 */
export function folio_add_new_anon_rmap(s: State, folio: number, exclusive: boolean): void {
  const mem = s.mem;
  flagsW(mem)[folio] = (mem.flags[folio]! | PG_anon | PG_swapbacked) & ~PG_anon_exclusive;
  if (exclusive) flagsW(mem)[folio] = mem.flags[folio]! | PG_anon_exclusive;
  mapcountW(mem)[folio] = 1;
  workCharge(s, W_PAGE_LINES);
}

/** include/linux/mm.h folio_entire_mapcount(): PMD mappings of the whole folio (0 for a small one). */
export function folio_entire_mapcount(s: State, folio: number): number {
  return s.mem.order[folio] === 0 ? 0 : folioLarge(s, folio).entire;
}

/**
 * include/linux/rmap.h folio_add_return_large_mapcount() with CONFIG_MM_ID
 * (v6.15, 6af8cb80d3a9): `diff` more mappings of a large folio by `mm`. The
 * two _mm_id slots remember up to two mms and their mappings; a third mm,
 * or a first mm that finds mappings already there, sets the "maybe mapped
 * shared" bit. Returns the new mapcount.
 */
export function folio_add_return_large_mapcount(
  s: State,
  folio: number,
  diff: number,
  mm: number,
): number {
  return largeAdd(folioLarge(s, folio), diff, mm);
}

function largeAdd(f: LargeFolio, diff: number, mm: number): number {
  f.mapcount += diff;
  if (f.mm_id[0] === mm) f.mm_id_mapcount[0] += diff;
  else if (f.mm_id[1] === mm) f.mm_id_mapcount[1] += diff;
  else if (f.mm_id[0] === 0) {
    f.mm_id[0] = mm;
    f.mm_id_mapcount[0] = diff;
    if (f.mapcount !== diff) f.shared = true; // other mappings were already there
  } else if (f.mm_id[1] === 0) {
    f.mm_id[1] = mm;
    f.mm_id_mapcount[1] = diff;
    f.shared = true; // slot 0 has mappings too
  } else f.shared = true;
  return f.mapcount;
}

/**
 * include/linux/rmap.h folio_sub_return_large_mapcount() with CONFIG_MM_ID:
 * `diff` fewer mappings by `mm`. A slot whose count would go below zero is
 * freed (mappings added while no slot was free); the bit clears when one
 * slot holds every mapping left, or none are left. Returns the new mapcount.
 */
export function folio_sub_return_large_mapcount(
  s: State,
  folio: number,
  diff: number,
  mm: number,
): number {
  return largeSub(folioLarge(s, folio), diff, mm);
}

function largeSub(f: LargeFolio, diff: number, mm: number): number {
  f.mapcount -= diff;
  for (const slot of [0, 1] as const) {
    if (f.mm_id[slot] !== mm) continue;
    f.mm_id_mapcount[slot] -= diff;
    if (f.mm_id_mapcount[slot] > 0) return f.mapcount;
    f.mm_id_mapcount[slot] = 0;
    f.mm_id[slot] = 0;
    break;
  }
  if (f.mm_id_mapcount[0] === f.mapcount || f.mm_id_mapcount[1] === f.mapcount) f.shared = false;
  return f.mapcount;
}

/** LargeFolio.multi across one page's mapcount change from `old` to `now`. */
function countMulti(f: LargeFolio, old: number, now: number): void {
  if (old < 2 && now >= 2) f.multi++;
  else if (old >= 2 && now < 2) f.multi--;
}

/**
 * The page's own mapcount, and, for a page of a large folio, the folio's
 * large mapcount (one more atomic on the head's line).
 */
function pageMapcountAdd(s: State, folio: number, page: number, diff: number, mm: number): void {
  const old = s.mem.mapcount[page]!;
  mapcountW(s.mem)[page] = old + diff;
  workCharge(s, W_ATOMICS);
  workCharge(s, W_PAGE_LINES);
  if (s.mem.order[folio] === 0) return;
  workCharge(s, W_ATOMICS);
  workCharge(s, W_PAGE_LINES);
  const f = folioLarge(s, folio);
  countMulti(f, old, old + diff);
  if (diff > 0) largeAdd(f, diff, mm);
  else largeSub(f, -diff, mm);
}

/** mm/rmap.c folio_remove_rmap_pte(): one PTE of `mm` stops mapping `page` of `folio`. */
export function folio_remove_rmap_pte(s: State, folio: number, page: number, mm: number): void {
  pageMapcountAdd(s, folio, page, -1, mm);
}

/** include/linux/rmap.h folio_dup_file_rmap_pte() and the mapcount side of the anon variant: a PTE of `mm` (the child at fork). */
export function folio_dup_rmap_pte(s: State, folio: number, page: number, mm: number): void {
  pageMapcountAdd(s, folio, page, 1, mm);
}

/** mm/rmap.c folio_add_file_rmap_pte(): a page-cache (shmem) page gets one more PTE mapping in `mm`. */
export function folio_add_file_rmap_pte(s: State, folio: number, page: number, mm: number): void {
  pageMapcountAdd(s, folio, page, 1, mm);
}

/**
 * mm/rmap.c folio_add_anon_rmap_ptes() for `nr` consecutive pages of a large
 * folio, as __split_huge_pmd_locked() maps them: one large-mapcount update
 * for all of them.
 */
export function folio_add_anon_rmap_ptes(
  s: State,
  folio: number,
  first: number,
  nr: number,
  mm: number,
): void {
  const f = folioLarge(s, folio);
  for (let i = 0; i < nr; i++) {
    const old = s.mem.mapcount[first + i]!;
    mapcountW(s.mem)[first + i] = old + 1;
    countMulti(f, old, old + 1);
  }
  workCharge(s, W_SUBPAGE_ITER, nr);
  workCharge(s, W_ATOMICS, nr + 1);
  workCharge(s, W_PAGE_LINES, nr + 1);
  folio_add_return_large_mapcount(s, folio, nr, mm);
}

/** The PMD-level rmap of a THP: folio_add_anon_rmap_pmd() / folio_dup_anon_rmap_pmd() (diff 1), folio_remove_rmap_pmd() (-1). */
export function folioEntireMapcountAdd(s: State, folio: number, diff: number, mm: number): void {
  const f = folioLarge(s, folio);
  f.entire += diff;
  workCharge(s, W_ATOMICS, 2);
  workCharge(s, W_PAGE_LINES);
  if (diff > 0) folio_add_return_large_mapcount(s, folio, diff, mm);
  else folio_sub_return_large_mapcount(s, folio, -diff, mm);
}

export function PageAnonExclusive(s: State, page: number): boolean {
  return (s.mem.flags[page]! & PG_anon_exclusive) !== 0;
}
export function SetPageAnonExclusive(s: State, page: number): void {
  flagsW(s.mem)[page] = s.mem.flags[page]! | PG_anon_exclusive;
}
export function ClearPageAnonExclusive(s: State, page: number): void {
  flagsW(s.mem)[page] = s.mem.flags[page]! & ~PG_anon_exclusive;
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
  return s.mem.order[folio] === 0 ? s.mem.mapcount[folio]! : folioLarge(s, folio).mapcount;
}

/** page_mapcount(): the PTEs mapping this page plus the PMD mappings of its whole folio. */
export function page_mapcount(s: State, page: number, folio: number): number {
  return s.mem.mapcount[page]! + folio_entire_mapcount(s, folio);
}

/**
 * mm/rmap.c folio_add_new_anon_rmap() for a PMD-mapped THP: the folio becomes
 * anonymous, mapped once by a PMD of `mm` (folio_set_large_mapcount());
 * `exclusive` marks the head PG_anon_exclusive (a PMD-mapped THP keeps the
 * flag on the head).
 */
export function folio_add_new_anon_rmap_pmd(
  s: State,
  folio: number,
  exclusive: boolean,
  mm: number,
): void {
  const mem = s.mem;
  flagsW(mem)[folio] = (mem.flags[folio]! | PG_anon | PG_swapbacked) & ~PG_anon_exclusive;
  if (exclusive) flagsW(mem)[folio] = mem.flags[folio]! | PG_anon_exclusive;
  const f = folioLarge(s, folio);
  f.entire = 1;
  f.mapcount = 1;
  f.mm_id = [mm, 0];
  f.mm_id_mapcount = [1, 0];
  f.shared = false;
}

/**
 * mm/rmap.c __anon_vma_prepare(): give the VMA an anon_vma before its first
 * anonymous page (replaces the VMA object in mm.vmas). Returns the new VMA.
 */
export function anon_vma_prepare(s: State, mm: Mm, vma: Vma): Vma {
  if (vma.anon_vma !== 0) return vma;
  const next: Vma = { ...vma, anon_vma: s.next_anon_vma++ };
  const i = mm.vmas.indexOf(vma);
  if (i >= 0) mm.vmas = mm.vmas.with(i, next); // a new list: copies of the state share the old one
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
  fn: (mm: Mm, t: number, i: number, pte: pte_t, addr: number) => boolean | undefined,
): void {
  for (const mm of s.mms) {
    if (!mm) continue;
    for (const vma of mm.vmas) {
      if (vma.anon_vma === 0) continue;
      let stop = false;
      // Only the entries whose first word is the folio's PFN reach the callback.
      forEachPte(
        s,
        mm,
        vma.vm_start,
        vma.vm_end,
        (t, i, addr) => {
          if (stop) return;
          const pte = ptep_get(s, t, i);
          if (pte_present(pte) && !pte_special(pte) && pte_pfn(pte) === folio)
            stop = fn(mm, t, i, pte, addr) === false;
        },
        folio,
      );
      if (stop) return;
    }
  }
}

/** The PTE tables through which the rmap walk reaches `folio`: each mapping's mm, address and table. */
export function anonMappingTables(
  s: State,
  folio: number,
): { mm: number; address: number; table: number }[] {
  const out: { mm: number; address: number; table: number }[] = [];
  forEachAnonMapping(s, folio, (mm, t, _i, _pte, addr) => {
    out.push({ mm: mm.id, address: addr, table: t });
    return true;
  });
  return out;
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
 * only eras that set PG_anon_exclusive). The walk stops once the folio is
 * mapped nowhere (mm/rmap.c try_to_unmap(): rmap_walk_control .done is
 * page_mapcount_is_zero() or page_not_mapped() in v5.x, folio_not_mapped() in
 * v6.18). Returns whether the folio is unmapped everywhere.
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
    if (pte_dirty(pte)) flagsW(s.mem)[folio] = s.mem.flags[folio]! | PG_dirty;
    set_pte_at(s, t, i, swp);
    add_mm_counter(mm, MM_ANONPAGES, -1);
    add_mm_counter(mm, MM_SWAPENTS, 1);
    folio_remove_rmap_pte(s, folio, folio, mm.id);
    folio_put(s, folio);
    // The walk is done once the folio is mapped nowhere (rwc.done = folio_not_mapped).
    return s.mem.mapcount[folio] !== 0;
  });
  return s.mem.mapcount[folio] === 0;
}
