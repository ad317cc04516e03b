/**
 * Shared anonymous memory and memfds are shmem files (mm/shmem.c
 * shmem_zero_setup(), mm/memfd.c memfd_create()): their pages are page cache
 * of a tmpfs inode, never PageAnon, so they are shared by fork and never
 * copied on write in a shared mapping.
 */

import { new_inode } from '../fs/inode.js';
import type { State } from '../mm_types.js';

/** mm/shmem.c shmem_zero_setup(): the file behind one mmap(MAP_SHARED|MAP_ANONYMOUS). */
export function shmem_zero_setup(s: State, pages: number): number {
  return new_inode(s, 'tmpfs', pages);
}

/** mm/memfd.c memfd_create() followed by ftruncate() and fallocate() of `pages` pages. */
export function memfd_create(s: State, pages: number): number {
  return new_inode(s, 'tmpfs', pages);
}
