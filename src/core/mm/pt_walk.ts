/**
 * What a page-table walk costs beyond mainline under the proposals of seed
 * 004 (ADR 0013), charged to the work account (work.ts) so that sim prices
 * it: "this approach basically adds two atomics on every PTE map" (Jason
 * Gunthorpe on pte_refcount) and "two atomic per page table walk operation"
 * (on his rwsem). Each is read as the thread states it:
 *
 * - pte-refcount: pte_tryget() and pte_put() around each walk that maps a
 *   PTE table (2 atomics): a fault, a zap, each page GUP's slow path looks
 *   up (GUP-fast takes no reference); and one more each time an entry
 *   turns !pte_none() (its reference, pte_get()) or back (pte_put()):
 *   Documentation/vm/pte_ref.rst of the v3 series counts entries and
 *   visitors alike;
 * - pt-rwsem: down_read() and up_read() around each walk (the fault, each
 *   page of GUP's slow path; GUP-fast stays lockless), down_write() and
 *   up_write() around each zap (2 atomics);
 * - none, pt-reclaim, madv-cleanup: nothing per walk (PT_RECLAIM's own work
 *   is its free, priced as pt_free).
 */

import type { Mm, State } from '../mm_types.js';
import { ptEmpty } from '../mm_types.js';
import { PMD_SIZE, PT_LEVEL_PTE } from '../pgtable_types.js';
import type { Config, PtDesign, PtStrategy } from '../points.js';
import { W_ATOMICS, workCharge } from '../work.js';
import { free_empty_pgtables_locked } from './pt_rwsem.js';
import { pte_put_after_zap } from './pte_ref.js';

/**
 * What keeps a walker that read a PMD entry from using a freed PTE table,
 * per strategy (ADR 0013): the rules a fault stopped at pte_offset_map_lock()
 * (pgtable-generic.ts), GUP-fast (gup.ts) and reclaim's rmap walk
 * (vmscan.ts) follow. An unsafe variant is its design with one of them off.
 */
export interface PtWalkRules {
  /** The design; a variant is priced and frees as its design does. */
  readonly design: PtDesign;
  /**
   * pte_offset_map_lock() compares the PMD entry with the value it read once
   * it holds the PTE lock, and starts over when it changed (Hugh Dickins,
   * "mm: allow pte_offset_map[_lock]() to fail", v6.5; what PT_RECLAIM rests on).
   */
  readonly pmdRecheck: boolean;
  /** The walk holds rcu_read_lock() from reading the PMD entry to taking the PTE lock (__pte_offset_map(), v6.5+). */
  readonly rcuWalk: boolean;
  /** The design's own frees go through tlb_remove_table() (RCU), not at once. */
  readonly deferredFree: boolean;
  /** Walkers (the fault, the rmap walk) hold pte_tryget() on the PTE table around pte_offset_map_lock() (pte_refcount). */
  readonly tryget: boolean;
  /**
   * Walkers hold the page-table rwsem for read across their walk, and its
   * zaps free the emptied tables of every level under it for write (pt-rwsem).
   */
  readonly rwsem: boolean;
  /**
   * Each PTE table counts its entries and visitors, and the last put frees
   * it (pte_refcount): an entry turned in use or none costs an atomic.
   */
  readonly pteRefcount: boolean;
  /** Each walk costs two atomics (pte_refcount's tryget and put, pt-rwsem's down_read and up_read). */
  readonly walkAtomics: boolean;
}

// The designs' answers are read field by field (a kernel path asks the one
// question it needs), so that EraMemo (explore/era-memo.ts) can tell two
// strategies that answer it the same way: a fault under none and under
// pt-reclaim reads walkAtomics and pteRefcount, which both answer no.
const SAFE = {
  pmdRecheck: false,
  rcuWalk: false,
  deferredFree: true,
  tryget: false,
  rwsem: false,
  pteRefcount: false,
  walkAtomics: false,
};
const PT_RECLAIM = { ...SAFE, design: 'pt-reclaim', pmdRecheck: true, rcuWalk: true } as const;
const PTE_REFCOUNT = {
  ...SAFE,
  design: 'pte-refcount',
  tryget: true,
  pteRefcount: true,
  walkAtomics: true,
} as const;

export const PT_WALK_RULES: Readonly<Record<PtStrategy, PtWalkRules>> = {
  // Nothing frees a PTE table without the mmap lock for writing, which a fault's read lock excludes.
  none: { ...SAFE, design: 'none' },
  'madv-cleanup': { ...SAFE, design: 'madv-cleanup' },
  'pt-rwsem': { ...SAFE, design: 'pt-rwsem', rwsem: true, walkAtomics: true },
  'pte-refcount': PTE_REFCOUNT,
  'pt-reclaim': PT_RECLAIM,
  'pt-reclaim-norecheck': { ...PT_RECLAIM, pmdRecheck: false },
  'pt-reclaim-norcu': { ...PT_RECLAIM, deferredFree: false },
  'pte-refcount-notryget': { ...PTE_REFCOUNT, tryget: false },
};

/**
 * The same on a kernel whose walkers map PTE tables under RCU and recheck
 * the PMD entry (Policy.pte_map_rcu, v6.5+), whatever the strategy frees:
 * an unsafe variant still goes without what it is named after
 * (`pt-reclaim-norecheck` without the recheck).
 */
export const PT_WALK_RULES_RCU: Readonly<Record<PtStrategy, PtWalkRules>> = Object.fromEntries(
  Object.entries(PT_WALK_RULES).map(([id, r]) => [
    id,
    { ...r, rcuWalk: true, pmdRecheck: id !== 'pt-reclaim-norecheck' },
  ]),
) as Record<PtStrategy, PtWalkRules>;

/** The walk rules of page-table strategy `strategy` on a kernel with or without the RCU walk (Policy.pte_map_rcu). */
export function ptWalkRulesOf(pteMapRcu: boolean, strategy: PtStrategy): PtWalkRules {
  return (pteMapRcu ? PT_WALK_RULES_RCU : PT_WALK_RULES)[strategy];
}

/** The walk rules of the configuration's strategy on its era's kernel (Config.ptWalk when it gives them). */
export function ptWalkRules(config: Config): PtWalkRules {
  return config.ptWalk ?? ptWalkRulesOf(config.policy.pte_map_rcu, config.ptStrategy);
}

/** One walk (a fault, a GUP walk, a zap) of the page tables. */
export function ptWalkWork(s: State, config: Config): void {
  if (ptWalkRules(config).walkAtomics) workCharge(s, W_ATOMICS, 2);
}

/** `n` entries of PTE tables turned from none to in use, or back: pte_refcount's pte_get()/pte_put(). */
export function pteEntryRefWork(s: State, config: Config, n: number): void {
  if (n > 0 && ptWalkRules(config).pteRefcount) workCharge(s, W_ATOMICS, n);
}

/**
 * After [start, end) of `mm` was unmapped (munmap, the destination and the
 * source of mremap, mmap(MAP_FIXED) over a mapping), free what
 * free_pgtables() left to a neighbouring VMA as the design does (ADR 0013):
 * pte_refcount's last put frees each emptied PTE table, the rwsem design
 * every emptied table of the range at every level.
 */
export function ptFreeAfterUnmap(
  s: State,
  config: Config,
  mm: Mm,
  start: number,
  end: number,
): void {
  const rules = ptWalkRules(config);
  if (rules.pteRefcount)
    for (let a = Math.floor(start / PMD_SIZE) * PMD_SIZE; a < end; a += PMD_SIZE)
      pte_put_after_zap(s, mm, a);
  else if (rules.rwsem) free_empty_pgtables_locked(s, mm, start, end);
}

/**
 * The free a design promises, checked once every thread is done (PT003):
 * under pte_refcount a PTE table whose count is 0 — no entry, no visitor —
 * has been freed by its last put. The first linked one that has not, or
 * null. The other designs promise nothing a state can show: PT_RECLAIM's
 * free may fail its trylock, the rwsem design frees inside the zap itself.
 */
export function ptPromiseBroken(s: State, config: Config): string | null {
  if (!ptWalkRules(config).pteRefcount) return null;
  for (let id = 1; id < s.pt.tables.length; id++) {
    const tab = s.pt.tables[id];
    if (!tab || s.pt.level[id] !== PT_LEVEL_PTE || s.pt.deferred.includes(id)) continue;
    if ((s.pt.visitors[id] ?? 0) === 0 && ptEmpty(tab))
      return `PTE table ${id} has no entry and no visitor, and is still linked: its last pte_put() did not free it`;
  }
  return null;
}
