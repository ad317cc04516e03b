/**
 * Shared anonymous memory and memfds are shmem files (mm/shmem.c
 * shmem_zero_setup(), mm/memfd.c memfd_create()): their pages are page cache
 * of a tmpfs inode, never PageAnon, so they are shared by fork and never
 * copied on write in a shared mapping.
 */

import { new_inode } from '../fs/inode.js';
import type { Mm, State } from '../mm_types.js';
import type { Kernel } from '../points.js';
import { unmap_mapping_range } from './memory/zap.js';
import { folio_put } from './page_alloc.js';
import { free_empty_pgtables_locked } from './pt_rwsem.js';
import { ptWalkRules } from './pt_walk.js';

/** mm/shmem.c shmem_zero_setup(): the file behind one mmap(MAP_SHARED|MAP_ANONYMOUS). */
export function shmem_zero_setup(s: State, pages: number): number {
  return new_inode(s, 'tmpfs', pages);
}

/** mm/memfd.c memfd_create() followed by ftruncate() and fallocate() of `pages` pages. */
export function memfd_create(s: State, pages: number): number {
  return new_inode(s, 'tmpfs', pages);
}

/**
 * mm/shmem.c shmem_fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) of
 * pages [first, last): unmap_mapping_range() zaps them from every mapping
 * (private anonymous copies stay), then shmem_truncate_range() drops them
 * from the page cache. Read in torvalds/linux v6.18 mm/shmem.c.
 */
export function shmem_punch_hole(
  s: State,
  k: Kernel,
  inode: number,
  first: number,
  last: number,
): void {
  const design = ptWalkRules(k.config).design;
  unmap_mapping_range(
    s,
    inode,
    first,
    last,
    { even_cows: false, reclaim_pt: false, pte_refcount: design === 'pte-refcount' },
    design === 'pt-rwsem'
      ? (mm: Mm, a: number, b: number) => free_empty_pgtables_locked(s, mm, a, b)
      : null,
  );
  const f = s.inodes[inode]!;
  for (let pgoff = first; pgoff < Math.min(last, f.pages.length); pgoff++) {
    const pfn = f.pages[pgoff];
    if (!pfn) continue;
    f.pages[pgoff] = 0;
    folio_put(s, pfn); // the page cache's reference
  }
}
