/**
 * The folio lock (include/linux/pagemap.h folio_trylock(), mm/filemap.c
 * folio_unlock()), writeback (folio_start_writeback(),
 * folio_end_writeback()), and fault-around's mapping of cached pages
 * (filemap_map_pages()). In one atomic step nobody else can hold the lock
 * unless a modelled actor (reclaim, migration) took it; a trylock then fails.
 */

import type { Mm, State, Vma } from '../mm_types.js';
import { add_mm_counter, flagsW } from '../mm_types.js';
import { PG_locked, PG_uptodate, PG_writeback } from '../page-flags.js';
import type { pte_t } from '../pgtable_types.js';
import { mk_pte, pte_mkdirty, pte_none, pte_write } from '../pgtable_types.js';
import { W_ATOMICS, W_LOCKS, W_PAGE_LINES, W_TRYLOCK_FAIL, workCharge } from '../work.js';
import { ptep_get, set_pte_at } from './memory/pgtable.js';
import { folio_get, page_folio } from './page_alloc.js';
import { folio_add_file_rmap_pte, mm_counter_file } from './rmap.js';

export function folio_test_locked(s: State, folio: number): boolean {
  return (s.mem.flags[folio]! & PG_locked) !== 0;
}

/** folio_trylock(): take the lock if it is free. */
export function folio_trylock(s: State, folio: number): boolean {
  workCharge(s, W_ATOMICS);
  workCharge(s, W_PAGE_LINES);
  if (folio_test_locked(s, folio)) {
    workCharge(s, W_TRYLOCK_FAIL);
    return false;
  }
  flagsW(s.mem)[folio] = s.mem.flags[folio]! | PG_locked;
  workCharge(s, W_LOCKS);
  return true;
}

/** folio_unlock() */
export function folio_unlock(s: State, folio: number): void {
  flagsW(s.mem)[folio] = s.mem.flags[folio]! & ~PG_locked;
  workCharge(s, W_ATOMICS);
}

/**
 * Who holds a folio's lock, for traces: the model's only other lock holder
 * is a reclaim scan (it isolated the folio from the LRU first).
 */
export function folioLockHolder(s: State, folio: number): string {
  if (!folio_test_locked(s, folio)) return 'nobody';
  return s.isolated.includes(folio)
    ? 'reclaim (shrink_folio_list() on another CPU, folio isolated from the LRU)'
    : 'another task';
}

/** folio_start_writeback(): the folio's contents are being written (to its swap slot). */
export function folio_start_writeback(s: State, folio: number): void {
  if ((s.mem.flags[folio]! & PG_writeback) === 0) {
    s.mem.nr_writeback++;
    s.mem.writeback.push(folio);
  }
  flagsW(s.mem)[folio] = s.mem.flags[folio]! | PG_writeback;
}

/**
 * mm/filemap.c folio_end_writeback(): the device finished the write (an
 * interrupt, at any time after it started). PG_reclaim's rotation to the tail
 * of the inactive LRU is not modelled: the folio is on the LRU either way.
 */
export function folio_end_writeback(s: State, folio: number): void {
  if ((s.mem.flags[folio]! & PG_writeback) !== 0) {
    s.mem.nr_writeback--;
    s.mem.writeback.splice(s.mem.writeback.indexOf(folio), 1);
  }
  flagsW(s.mem)[folio] = s.mem.flags[folio]! & ~PG_writeback;
}

/** Folios whose write has started and not ended, in PFN order. */
export function foliosUnderWriteback(s: State): number[] {
  return s.mem.writeback.slice().sort((a, b) => a - b);
}

/**
 * mm/filemap.c filemap_map_pages() for the PTE slots [from, to] of PTE table
 * `table` (the caller holds its lock), slot `from` mapping file page
 * `pgoff`: each page already in the page cache, up to date, not locked and
 * inside i_size is mapped where the slot is none, read-only unless `prot`
 * allows writing, not young (x86: arch_wants_old_prefaulted_pte() is false
 * and pte_sw_mkyoung() does nothing; the hardware sets the bit on access).
 * Slot `skip` (the faulting address) is left to the caller. Read in
 * torvalds/linux v6.18 mm/filemap.c next_uptodate_folio(),
 * filemap_map_folio_range(). The number of PTEs made.
 */
export function filemap_map_pages(
  s: State,
  mm: Mm,
  vma: Vma,
  table: number,
  from: number,
  to: number,
  pgoff: number,
  skip: number,
  prot: number,
): number {
  const f = s.inodes[vma.vm_file]!;
  let mapped = 0;
  for (let i = from; i <= to; i++) {
    const index = pgoff + (i - from);
    if (i === skip || index >= f.size) continue;
    const page = f.pages[index];
    if (!page) continue;
    const folio = page_folio(s, page);
    const flags = s.mem.flags[folio]!;
    if (!(flags & PG_uptodate) || flags & PG_locked) continue;
    if (!pte_none(ptep_get(s, table, i))) continue;
    folio_get(s, folio);
    let entry: pte_t = mk_pte(page, prot);
    if (pte_write(entry)) entry = pte_mkdirty(entry);
    folio_add_file_rmap_pte(s, folio, page, mm.id);
    const c = mm_counter_file(s, folio);
    add_mm_counter(mm, c, 1);
    set_pte_at(s, table, i, entry);
    mapped++;
  }
  return mapped;
}
