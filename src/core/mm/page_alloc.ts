/**
 * Page allocation and freeing (mm/page_alloc.c, include/linux/mm.h folio_get/put).
 *
 * PFNs are handed out deterministically: the most recently freed order-0 PFN
 * first, else the next never-used one. A large folio takes a naturally aligned
 * block of never-used PFNs. Freed pages carry PG_buddy so that a PTE left
 * pointing at one is detectable as a use after free.
 */

import { toolBug } from '../bug.js';
import type { MemMap, State } from '../mm_types.js';
import {
  contentW,
  flagsW,
  mapcountW,
  newLargeFolio,
  OWN_MEMMAP,
  orderW,
  refcountW,
  ZERO_PFN,
} from '../mm_types.js';
import {
  PG_anon,
  PG_anon_exclusive,
  PG_buddy,
  PG_head,
  PG_lru,
  PG_reserved,
  PG_swapbacked,
  PG_tail,
} from '../page-flags.js';
import { W_ATOMICS, W_PAGE_LINES, W_PAGES_ALLOC, W_PAGES_FREE, workCharge } from '../work.js';

/**
 * Make room for PFNs below `need`. Small memmaps double; from 2^20 PFNs on
 * they grow by a quarter, so that a simulation of tens of millions of pages
 * carries little unused capacity (docs/sim.md, "Memory"). Each array is
 * replaced before the next is allocated, so the old one can be collected.
 */
function grow(mem: MemMap, need: number): void {
  let cap = mem.flags.length;
  if (need <= cap) return;
  // A PTE holds a 32-bit PFN and page_folio() masks PFNs as 32-bit integers: 8 TiB of memory.
  if (need >= 2 ** 31)
    toolBug(`the model's memory map is full (${need} PFNs; the limit is 2^31, 8 TiB)`);
  while (cap < need) cap = cap < 1 << 20 ? cap * 2 : Math.ceil((cap * 1.25) / 4096) * 4096;
  mem.flags = regrow(mem.flags, new Uint32Array(cap));
  mem.refcount = regrow(mem.refcount, new Int32Array(cap));
  mem.mapcount = regrow(mem.mapcount, new Int32Array(cap));
  mem.content = regrow(mem.content, new Uint32Array(cap));
  mem.order = regrow(mem.order, new Uint8Array(cap));
  mem.own = OWN_MEMMAP; // every array is new, this memmap's alone
  mem.flagsFrom = mem.refcountFrom = mem.mapcountFrom = mem.contentFrom = mem.orderFrom = null;
  mem.flagsD = mem.refcountD = mem.mapcountD = mem.contentD = mem.orderD = null;
}

function regrow<T extends Uint32Array | Int32Array | Uint8Array>(
  old: ArrayLike<number>,
  next: T,
): T {
  next.set(old);
  return next;
}

/** Reserve capacity for `n` more PFNs up front (the simulator's bulk allocations). */
export function reservePfns(s: State, n: number): void {
  grow(s.mem, s.mem.end + n);
}

/**
 * alloc_pages(): a folio of 2^order pages with refcount 1, contents zero.
 * Returns the head PFN.
 */
export function alloc_pages(s: State, order: number): number {
  const mem = s.mem;
  let pfn: number;
  if (order === 0 && mem.free !== 0) {
    pfn = mem.free;
    mem.free = mem.mapcount[pfn]!;
    mem.nr_free--;
  } else {
    const nr = 2 ** order;
    pfn = Math.ceil(mem.end / nr) * nr;
    grow(mem, pfn + nr);
    // PFNs skipped to align a large folio become free order-0 pages.
    for (let gap = pfn - 1; gap >= mem.end; gap--) {
      flagsW(mem)[gap] = PG_buddy;
      pushFree(mem, gap);
    }
    mem.end = pfn + nr;
  }
  const nr = 2 ** order;
  for (let i = 0; i < nr; i++) {
    flagsW(mem)[pfn + i] = i === 0 ? (order > 0 ? PG_head : 0) : PG_tail;
    refcountW(mem)[pfn + i] = 0;
    mapcountW(mem)[pfn + i] = 0;
    contentW(mem)[pfn + i] = 0;
    orderW(mem)[pfn + i] = 0;
  }
  refcountW(mem)[pfn] = 1;
  orderW(mem)[pfn] = order;
  if (order > 0) mem.large.set(pfn, newLargeFolio()); // prep_compound_head()
  workCharge(s, W_PAGES_ALLOC, nr);
  workCharge(s, W_PAGE_LINES, nr);
  return pfn;
}

/** __free_pages(): return a folio's pages to the allocator. */
export function free_pages(s: State, pfn: number): void {
  const mem = s.mem;
  if (pfn === ZERO_PFN || (mem.flags[pfn]! & PG_reserved) !== 0)
    toolBug(`freeing reserved page ${pfn}`);
  const nr = 2 ** mem.order[pfn]!;
  for (let i = 0; i < nr; i++) {
    flagsW(mem)[pfn + i] = PG_buddy;
    refcountW(mem)[pfn + i] = 0;
    orderW(mem)[pfn + i] = 0;
    contentW(mem)[pfn + i] = 0;
  }
  mem.large.delete(pfn);
  workCharge(s, W_PAGES_FREE, nr);
  workCharge(s, W_PAGE_LINES, nr);
  // Large blocks go back page by page, last page first, so that reuse order is stable.
  for (let i = nr - 1; i >= 0; i--) pushFree(mem, pfn + i);
}

/** Put a free page on top of the free stack (its mapcount slot links to the one below). */
function pushFree(mem: MemMap, pfn: number): void {
  mapcountW(mem)[pfn] = mem.free;
  mem.free = pfn;
  mem.nr_free++;
}

/** folio_nr_pages() */
export function folio_nr_pages(s: State, head: number): number {
  return 2 ** s.mem.order[head]!;
}

/** page_folio(): the head PFN of the folio containing `pfn`. */
export function page_folio(s: State, pfn: number): number {
  const mem = s.mem;
  if ((mem.flags[pfn]! & PG_tail) === 0) return pfn;
  // Tails follow a naturally aligned head: walk down to it (PFNs are below 2^31).
  for (let order = 1; order <= 18; order++) {
    const head = pfn & ~((1 << order) - 1);
    if ((mem.flags[head]! & PG_head) !== 0 && mem.order[head]! >= order) return head;
  }
  return toolBug(`tail page ${pfn} without a head`);
}

/** folio_ref_count() */
export function folio_ref_count(s: State, folio: number): number {
  return s.mem.refcount[folio]!;
}

/** folio_get() */
export function folio_get(s: State, folio: number): void {
  refcountW(s.mem)[folio]! += 1;
  workCharge(s, W_ATOMICS);
  workCharge(s, W_PAGE_LINES);
}

/** folio_ref_add() */
export function folio_ref_add(s: State, folio: number, nr: number): void {
  refcountW(s.mem)[folio]! += nr;
  workCharge(s, W_ATOMICS);
  workCharge(s, W_PAGE_LINES);
}

/**
 * folio_put(): drop a reference; the last one frees the folio (taking it off
 * the LRU and clearing the anon mapping, as __folio_put does).
 */
export function folio_put(s: State, folio: number): void {
  if (folio === ZERO_PFN) return;
  const mem = s.mem;
  const ref = mem.refcount[folio]! - 1;
  if (ref < 0) toolBug(`folio ${folio} refcount underflow`);
  workCharge(s, W_ATOMICS);
  workCharge(s, W_PAGE_LINES);
  refcountW(mem)[folio] = ref;
  if (ref === 0) {
    flagsW(mem)[folio] =
      mem.flags[folio]! & ~(PG_lru | PG_anon | PG_swapbacked | PG_anon_exclusive);
    free_pages(s, folio);
  }
}

/** Is `pfn` a page currently in use (allocated and not freed)? */
export function pfnInUse(s: State, pfn: number): boolean {
  return pfn > 0 && pfn < s.mem.end && (s.mem.flags[pfn]! & PG_buddy) === 0;
}
