/**
 * Inodes and their page cache, the parts the model needs: fs/inode.c
 * new_inode(), igrab(), iput() (truncating the page cache on the last
 * reference, mm/truncate.c truncate_inode_pages()), and the page-cache lookup
 * of a fault (mm/filemap.c __filemap_get_folio(FGP_CREAT), mm/shmem.c
 * shmem_get_folio(SGP_CACHE)): a page not cached yet is allocated and filled
 * with zeros (the files are created by ftruncate() + fallocate()).
 */

import { alloc_pages, folio_put, page_folio } from '../mm/page_alloc.js';
import { folio_add_lru_vma } from '../mm/swap.js';
import type { Inode, State } from '../mm_types.js';
import { flagsW } from '../mm_types.js';
import { PG_shmem, PG_swapbacked, PG_uptodate } from '../page-flags.js';
import type { Kernel } from '../points.js';

/** fs/inode.c new_inode(): a file of `size` pages on `fs`, held once by its creator. */
export function new_inode(s: State, fs: Inode['fs'], size: number): number {
  const id = s.inodes.length;
  s.inodes[id] = { id, fs, size, pages: [], refs: 1, falloc: null };
  return id;
}

/** fs/inode.c igrab(): one more reference (a VMA mapping the file, a dup'd fd). */
export function igrab(s: State, inode: number): void {
  s.inodes[inode]!.refs += 1;
}

/** fs/inode.c iput(): drop a reference; the last one truncates the page cache. */
export function iput(s: State, inode: number): void {
  const f = s.inodes[inode]!;
  f.refs -= 1;
  if (f.refs > 0) return;
  // The page cache holds one reference per page, so a large folio's 512 (folio_ref_add()).
  for (const pfn of f.pages) if (pfn) folio_put(s, page_folio(s, pfn));
  s.inodes[inode] = null;
}

/**
 * The page-cache page at `pgoff`, read in (zero-filled) on first use. The
 * page cache holds one reference. shmem pages are swap-backed (PG_shmem).
 */
export function filemap_get_folio(s: State, k: Kernel, inode: number, pgoff: number): number {
  const f = s.inodes[inode]!;
  const have = f.pages[pgoff];
  if (have) return have;
  const folio = alloc_pages(s, 0);
  flagsW(s.mem)[folio] =
    s.mem.flags[folio]! | PG_uptodate | (f.fs === 'tmpfs' ? PG_shmem | PG_swapbacked : 0);
  folio_add_lru_vma(s, k, folio);
  f.pages[pgoff] = folio;
  return folio;
}
