/**
 * struct page / struct folio flags the model keeps (include/linux/page-flags.h).
 *
 * Per-page bits (PG_anon_exclusive) live on every page; folio-wide bits live on
 * the head page only, as in the kernel. PG_anon stands for the kernel's
 * PAGE_MAPPING_ANON tag in folio->mapping, PG_ksm for PAGE_MAPPING_KSM, and
 * PG_buddy for the "page is free in the buddy allocator" page type: the model
 * keeps them as bits so that all per-PFN state is in one typed array.
 */

export const PG_locked = 1 << 0;
export const PG_referenced = 1 << 1;
export const PG_uptodate = 1 << 2;
export const PG_dirty = 1 << 3;
export const PG_lru = 1 << 4;
export const PG_head = 1 << 5;
export const PG_active = 1 << 6;
export const PG_swapbacked = 1 << 7;
export const PG_swapcache = 1 << 8;
export const PG_writeback = 1 << 9;
export const PG_reserved = 1 << 10;
/** PAGE_MAPPING_ANON: folio_test_anon(). */
export const PG_anon = 1 << 11;
/** PAGE_MAPPING_KSM: folio_test_ksm(). */
export const PG_ksm = 1 << 12;
/** PG_anon_exclusive (aliases PG_mappedtodisk); per page; v5.19+ (6c287605fd56). */
export const PG_anon_exclusive = 1 << 13;
/** Page type "buddy": the page is free. A PTE that maps such a page is a use after free. */
export const PG_buddy = 1 << 14;
/** Tail page of a large folio (the kernel encodes this in compound_head). */
export const PG_tail = 1 << 15;
/** Page-cache page of a shmem file (shared anonymous memory). */
export const PG_shmem = 1 << 16;

const NAMES: readonly [number, string][] = [
  [PG_locked, 'locked'],
  [PG_referenced, 'referenced'],
  [PG_uptodate, 'uptodate'],
  [PG_dirty, 'dirty'],
  [PG_lru, 'lru'],
  [PG_head, 'head'],
  [PG_active, 'active'],
  [PG_swapbacked, 'swapbacked'],
  [PG_swapcache, 'swapcache'],
  [PG_writeback, 'writeback'],
  [PG_reserved, 'reserved'],
  [PG_anon, 'anon'],
  [PG_ksm, 'ksm'],
  [PG_anon_exclusive, 'anon_exclusive'],
  [PG_buddy, 'buddy'],
  [PG_tail, 'tail'],
  [PG_shmem, 'shmem'],
];

/** Flag names of a page, kernel spelling without the PG_ prefix, for traces. */
export function pageFlagNames(flags: number): string[] {
  const out: string[] = [];
  for (const [bit, name] of NAMES) if (flags & bit) out.push(name);
  return out;
}
