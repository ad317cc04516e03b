/**
 * Reclaim of anonymous folios (mm/vmscan.c folio_isolate_lru(),
 * shrink_folio_list(), reclaim_pages(), folio_putback_lru()): a reclaim scan
 * isolates a folio from the LRU (one reference, PG_lru cleared) and locks it;
 * then it either keeps it (unlock, put back) or swaps it out: into the swap
 * cache, unmapped everywhere (try_to_unmap()), and, if dirty, written to its
 * slot: pageout() only starts the write (PG_writeback), unlocks the folio and
 * leaves it in the swap cache and on the LRU; the write ends later
 * (folio_end_writeback(), an environment step), and only a later pass of
 * reclaim over the clean, unmapped folio frees it (__remove_mapping()),
 * without writing it again. Under the explorer the `env reclaim` actor runs a
 * scan between any two steps of the scenario's threads; MADV_PAGEOUT runs one
 * in the calling thread.
 */

import type { State } from '../mm_types.js';
import { flagsW, swapW } from '../mm_types.js';
import {
  PG_anon,
  PG_buddy,
  PG_dirty,
  PG_ksm,
  PG_locked,
  PG_lru,
  PG_swapcache,
  PG_tail,
  PG_writeback,
} from '../page-flags.js';
import type { Kernel } from '../points.js';
import { count_vm_event, PSWPOUT } from '../vmstat.js';
import { P_RECLAIM, workEnter, workLeave } from '../work.js';
import { folio_start_writeback, folio_trylock, folio_unlock } from './filemap.js';
import { pt_walker_enter, pt_walker_exit, ptBug, ptGen, ptLive } from './mmu_gather.js';
import { folio_get, folio_put } from './page_alloc.js';
import { ptWalkRules } from './pt_walk.js';
import { pte_put, pte_tryget } from './pte_ref.js';
import { anonMappingTables, try_to_unmap } from './rmap.js';
import { add_to_swap, delete_from_swap_cache } from './swap_state.js';
import { folio_swap_offset } from './swapfile.js';

/**
 * Folios a reclaim scan could isolate now: on the LRU, anonymous, small,
 * unlocked, not already isolated. One under writeback is left out: the scan
 * would only put it back (shrink_folio_list() marks it PG_reclaim and keeps it).
 */
export function reclaimCandidates(s: State): number[] {
  const out: number[] = [];
  const { flags } = s.mem;
  for (let pfn = 1; pfn < s.mem.end; pfn++) {
    const f = flags[pfn]!;
    if (f & (PG_buddy | PG_tail | PG_locked | PG_ksm | PG_writeback)) continue;
    if (s.mem.order[pfn]! > 0) continue; // THP swap-out is not modelled (docs/adr/0007)
    if ((f & PG_lru) !== 0 && (f & PG_anon) !== 0) out.push(pfn);
  }
  return out;
}

/** mm/vmscan.c folio_isolate_lru(): take the folio off the LRU with a reference. */
export function folio_isolate_lru(s: State, folio: number): boolean {
  if ((s.mem.flags[folio]! & PG_lru) === 0) return false;
  folio_get(s, folio);
  flagsW(s.mem)[folio] = s.mem.flags[folio]! & ~PG_lru;
  s.isolated.push(folio);
  return true;
}

/** mm/vmscan.c folio_putback_lru(): back on the LRU, dropping the isolation reference. */
export function folio_putback_lru(s: State, folio: number): void {
  const i = s.isolated.indexOf(folio);
  if (i < 0) throw new Error(`tool bug: folio ${folio} is not isolated`);
  s.isolated.splice(i, 1);
  // The last reference may be this one (the owner unmapped it meanwhile): folio_put() frees it.
  if (s.mem.refcount[folio]! > 1) flagsW(s.mem)[folio] = s.mem.flags[folio]! | PG_lru;
  folio_put(s, folio);
}

/** shrink_folio_list() start: isolate and lock one folio (both succeed for a candidate). */
export function reclaimTake(s: State, folio: number): void {
  if (!folio_isolate_lru(s, folio) || !folio_trylock(s, folio))
    throw new Error(`tool bug: folio ${folio} is not a reclaim candidate`);
}

/** shrink_folio_list() keeping a referenced folio: unlock it and put it back. */
export function reclaimRelease(s: State, folio: number): void {
  folio_unlock(s, folio);
  folio_putback_lru(s, folio);
}

/** What shrink_folio_list() did with a folio: swapped it out and freed it, or kept it (why). */
export interface ShrinkResult {
  readonly freed: boolean;
  /** Still isolated and locked by reclaim: added to the swap cache, to be unmapped next. */
  readonly held: boolean;
  readonly why: string;
}

const KEPT_PINNED: ShrinkResult = {
  freed: false,
  held: false,
  why: 'maybe pinned: kept out of the swap cache',
};
const ADDED: ShrinkResult = {
  freed: false,
  held: true,
  why: 'added to the swap cache (add_to_swap()); try_to_unmap() comes next',
};
const KEPT_MAPPED: ShrinkResult = {
  freed: false,
  held: false,
  why: 'still mapped: try_to_unmap() failed (an exclusive page that may be pinned)',
};
const KEPT_REFS: ShrinkResult = {
  freed: false,
  held: false,
  why: 'clean, but other references remain: stays in the swap cache',
};
const KEPT_WRITEBACK: ShrinkResult = {
  freed: false,
  held: false,
  why: 'under writeback: kept (PG_reclaim), freed by a later pass once written',
};
const WRITING: ShrinkResult = {
  freed: false,
  held: false,
  why: 'pageout() started the write to its swap slot (PG_writeback): unlocked, it stays in the swap cache until a later pass frees it',
};
const FREED: ShrinkResult = { freed: true, held: false, why: 'swapped out and freed' };
const WALKING: ShrinkResult = {
  freed: false,
  held: true,
  why: "try_to_unmap(): page_vma_mapped_walk() read the PMD entries of the folio's mappings; their PTE locks come next",
};

/**
 * The first half of try_to_unmap()'s rmap walk (ADR 0013): under the
 * anon_vma lock, without any mm's mmap lock, page_vma_mapped_walk() reads
 * the PMD entry of each mapping of `folio` and takes what the strategy has
 * walkers hold (pt_walk.ts). Whether it stopped (false: nothing to walk).
 */
function rmap_walk_begin(s: State, k: Kernel, folio: number): boolean {
  const found = anonMappingTables(s, folio);
  if (found.length === 0) return false;
  const rules = ptWalkRules(k.config);
  if (rules.rcuWalk) pt_walker_enter(s);
  if (rules.tryget) for (const x of found) pte_tryget(s, x.table);
  s.rmap_walk = {
    folio,
    tables: found.map((x) => ({ ...x, gen: ptGen(s, x.table) })),
    rcu: rules.rcuWalk,
    tryget: rules.tryget,
    rwsem: rules.rwsem,
  };
  return true;
}

/**
 * The second half: each PTE lock is taken in the table the walk read (PT001
 * if it was freed meanwhile; where the strategy rechecks, a table unlinked
 * meanwhile is skipped, and its mappings are gone with it), then what the
 * first half took is dropped. With `check` false the walk is abandoned
 * (the machine is torn down).
 */
export function rmap_walk_end(s: State, check: boolean): void {
  const w = s.rmap_walk;
  if (!w) return;
  s.rmap_walk = null;
  for (const x of w.tables) {
    const live = ptLive(s, x.table, x.gen);
    // An mm that died meanwhile (a fatal signal) would have waited for the
    // anon_vma lock in exit_mmap(): its tables are not the walk's concern.
    if (check && !live && s.mms[x.mm])
      ptBug(s, {
        code: 'PT001',
        detail: `reclaim's rmap walk (try_to_unmap) took the PTE lock of page table ${x.table}, freed after it read the PMD entry of mm ${x.mm} at 0x${x.address.toString(16)}`,
      });
    const mm = s.mms[x.mm];
    if (w.tryget && live && mm) pte_put(s, mm, x.address, x.table);
  }
  if (w.rcu) pt_walker_exit(s);
}

/**
 * mm/vmscan.c shrink_folio_list() for one isolated, locked anonymous folio,
 * references ignored (MADV_PAGEOUT's reclaim_pages(), or a scan that decided
 * to reclaim), in two steps as far as other CPUs can tell: a folio not yet in
 * the swap cache is added to it (the era may refuse a maybe-pinned folio) and
 * stays isolated and locked; GUP can still pin it before the next step, which
 * unmaps it and, if it is dirty, starts writing it out (pageout() →
 * swap_writepage(): pswpout, PG_writeback, the lock dropped) and keeps it; a
 * clean folio is freed when only the isolation and swap-cache references are
 * left. A folio under writeback is kept as it is. A folio that is kept is
 * unlocked and put back on the LRU.
 */
export function shrink_folio_list(
  s: State,
  k: Kernel,
  folio: number,
  /** A reclaim scan on another CPU (the explorer's actor): its rmap walk may stop (ADR 0013). */
  stepwise = false,
): ShrinkResult {
  let r: ShrinkResult;
  if (s.mem.flags[folio]! & PG_writeback) {
    r = KEPT_WRITEBACK;
  } else if ((s.mem.flags[folio]! & PG_swapcache) === 0) {
    r = k.policy.shrink_folio_list(s, k, folio) ? ADDED : KEPT_PINNED;
    if (r === ADDED) add_to_swap(s, folio);
  } else if (
    stepwise &&
    k.config.ptWalkSteps &&
    s.rmap_walk === null &&
    s.mem.mapcount[folio]! > 0 &&
    rmap_walk_begin(s, k, folio)
  ) {
    r = WALKING;
  } else {
    if (s.rmap_walk?.folio === folio) rmap_walk_end(s, true);
    const slot = folio_swap_offset(s, folio);
    r = FREED;
    if (s.mem.mapcount[folio]! > 0 && !try_to_unmap(s, folio, slot)) r = KEPT_MAPPED;
    else if (s.mem.flags[folio]! & PG_dirty) {
      // pageout() → swap_writepage(): the contents go to the slot as the write
      // starts (nothing writes to an unmapped folio before it ends).
      swapW(s).data[slot] = s.mem.content[folio]!;
      flagsW(s.mem)[folio] = s.mem.flags[folio]! & ~PG_dirty;
      folio_start_writeback(s, folio);
      count_vm_event(s.vmstat, PSWPOUT);
      r = WRITING;
    }
    // __remove_mapping(): the refcount freezes only at isolation + swap cache.
    else if (s.mem.refcount[folio] !== 2) r = KEPT_REFS;
  }
  k.decide(
    'shrink_folio_list',
    r.freed ? 'freed' : r.held ? 'add_to_swap' : r === WRITING ? 'pageout' : 'kept',
    r.why,
  );
  if (r.held) return r;
  if (!r.freed) {
    reclaimRelease(s, folio);
    return r;
  }
  delete_from_swap_cache(s, folio);
  folio_unlock(s, folio);
  s.isolated.splice(s.isolated.indexOf(folio), 1);
  folio_put(s, folio); // the isolation reference, the last one: the folio is freed
  return r;
}

/**
 * mm/vmscan.c reclaim_pages(): reclaim folios a caller isolated
 * (MADV_PAGEOUT), each if its lock can be taken (else it is put back).
 */
export function reclaim_pages(s: State, k: Kernel, folios: readonly number[]): void {
  for (const folio of folios) {
    // Each folio is a call of the reclaim path in the work account (its fixed cost is per folio).
    const prev = workEnter(s, P_RECLAIM);
    if (!folio_trylock(s, folio)) folio_putback_lru(s, folio);
    else if (shrink_folio_list(s, k, folio).held) shrink_folio_list(s, k, folio);
    workLeave(s, prev);
  }
}
