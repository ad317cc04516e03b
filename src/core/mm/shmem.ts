/**
 * The shmem file behind a shared anonymous mapping (mm/shmem.c
 * shmem_zero_setup(), shmem_get_folio(), and the page-cache release when the
 * last mapping goes away). Pages of the file are not PageAnon: shared
 * anonymous memory never copies on write, and fork shares it by design.
 */

import type { State } from '../mm_types.js';
import { PG_shmem, PG_swapbacked, PG_uptodate } from '../page-flags.js';
import type { Kernel } from '../points.js';
import { alloc_pages, folio_put } from './page_alloc.js';
import { folio_add_lru_vma } from './swap.js';

/** mm/shmem.c shmem_zero_setup(): a new, empty shmem file for one mmap(MAP_SHARED|MAP_ANONYMOUS). */
export function shmem_zero_setup(s: State): number {
  const id = s.shmem.length;
  s.shmem[id] = { id, pages: [], refs: 1 };
  return id;
}

/**
 * mm/shmem.c shmem_get_folio() (SGP_CACHE): the page at `pgoff`, allocated
 * zeroed on first touch. The page cache holds one reference.
 */
export function shmem_get_folio(s: State, k: Kernel, file: number, pgoff: number): number {
  const f = s.shmem[file]!;
  const have = f.pages[pgoff];
  if (have) return have;
  const folio = alloc_pages(s, 0);
  s.mem.flags[folio] = s.mem.flags[folio]! | PG_shmem | PG_swapbacked | PG_uptodate;
  folio_add_lru_vma(s, k, folio);
  f.pages[pgoff] = folio;
  return folio;
}

/** A mapping of the file is duplicated (fork, VMA split). */
export function shmemGet(s: State, file: number): void {
  s.shmem[file]!.refs += 1;
}

/** A mapping of the file goes away; the last one truncates the file and frees its pages. */
export function shmemPut(s: State, file: number): void {
  const f = s.shmem[file]!;
  f.refs -= 1;
  if (f.refs > 0) return;
  for (const pfn of f.pages) if (pfn) folio_put(s, pfn);
  s.shmem[file] = null;
}
