/**
 * Reverse-map bookkeeping of mapped pages (mm/rmap.c, include/linux/rmap.h):
 * mapcounts, the anon tag and PG_anon_exclusive. The model keeps one mapcount
 * per page (the kernel's _mapcount + 1).
 */

import type { State, Vma } from '../mm_types.js';
import { MM_FILEPAGES, MM_SHMEMPAGES } from '../mm_types.js';
import { PG_anon, PG_anon_exclusive, PG_swapbacked } from '../page-flags.js';

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

/** folio_mapcount() of a small folio. */
export function folio_mapcount(s: State, folio: number): number {
  return s.mem.mapcount[folio]!;
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
