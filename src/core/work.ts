/**
 * The work account: what each kernel path did, in the units a cost model
 * prices (docs/sim.md, "Work account"). Not a kernel structure: the kernel's
 * own counters are in vmstat.ts; this counts the work behind them, such as
 * the struct-page cache lines and atomic read-modify-writes of a COW fault,
 * or the 512 subpages page_trans_huge_map_swapcount() walks.
 *
 * The account is optional (`State.work` is null unless a simulation asks for
 * it), so that the explorer's states do not carry it. Work is charged to the
 * path the state is in (`State.workBase`), which the entry points of the
 * kernel paths set (workEnter()) and restore (workLeave()); the helpers that
 * every path uses (folio_get(), set_pte_at(), the rmap updates) charge
 * whatever path called them.
 */

import type { State } from './mm_types.js';

/** Kernel paths the work is charged to, named after their entry points. */
export const WORK_PATHS = [
  'other',
  /** Every fault: the walk, the tables it allocates, spurious (accessed or dirty bit) faults. */
  'handle_mm_fault',
  'do_anonymous_page',
  'do_fault',
  'do_wp_page',
  'do_swap_page',
  'do_huge_pmd_anonymous_page',
  'do_huge_pmd_wp_page',
  'copy_page_range',
  'unmap',
  'madvise',
  'reclaim',
  'ksm',
  'khugepaged',
  'gup',
] as const;

export type WorkPath = (typeof WORK_PATHS)[number];

/** Kinds of work, each a unit a cost model can price. */
export const WORK_KINDS = [
  /** Entries into the path (faults handled, forks, unmaps). */
  'calls',
  /** struct page / struct folio cache lines touched (a read or a write). */
  'page_lines',
  /** Atomic read-modify-writes on refcounts, mapcounts and page flags. */
  'atomics',
  /** Locks taken (PTE lock, folio lock, large-mapcount lock); a failed trylock counts in trylock_fail. */
  'locks',
  'trylock_fail',
  /** TLB flushes (a page, a range or a whole mm each count one). */
  'tlb_flush',
  /** Iterations of per-subpage loops (page_trans_huge_map_swapcount(), splitting a PMD). */
  'subpage_iter',
  /** Page-table entries written (set_pte_at(), pte_clear()). */
  'pte_writes',
  /** 4 KiB pages copied (copy_user_highpage()) and zeroed (clear_user_highpage()). */
  'pages_copied',
  'pages_zeroed',
  /** Pages allocated and freed (buddy allocator calls, per base page). */
  'pages_alloc',
  'pages_free',
  /** Page-table pages allocated and freed. */
  'pt_alloc',
  'pt_free',
] as const;

export type WorkKind = (typeof WORK_KINDS)[number];

export const NR_WORK_KINDS = WORK_KINDS.length;

const PATH_INDEX: ReadonlyMap<string, number> = new Map(WORK_PATHS.map((p, i) => [p, i]));
const KIND_INDEX: ReadonlyMap<string, number> = new Map(WORK_KINDS.map((k, i) => [k, i]));

function index(map: ReadonlyMap<string, number>, name: string): number {
  const i = map.get(name);
  if (i === undefined) throw new Error(`tool bug: unknown work name ${name}`);
  return i;
}

/** Index of a path, for workEnter(). */
export function workPath(name: WorkPath): number {
  return index(PATH_INDEX, name);
}

/** Index of a kind, for workCharge(). */
export function workKind(name: WorkKind): number {
  return index(KIND_INDEX, name);
}

export const P_OTHER = workPath('other');
export const P_HANDLE_MM_FAULT = workPath('handle_mm_fault');
export const P_DO_ANONYMOUS_PAGE = workPath('do_anonymous_page');
export const P_DO_FAULT = workPath('do_fault');
export const P_DO_WP_PAGE = workPath('do_wp_page');
export const P_DO_SWAP_PAGE = workPath('do_swap_page');
export const P_DO_HUGE_PMD_ANONYMOUS_PAGE = workPath('do_huge_pmd_anonymous_page');
export const P_DO_HUGE_PMD_WP_PAGE = workPath('do_huge_pmd_wp_page');
export const P_COPY_PAGE_RANGE = workPath('copy_page_range');
export const P_UNMAP = workPath('unmap');
export const P_MADVISE = workPath('madvise');
export const P_RECLAIM = workPath('reclaim');
export const P_KSM = workPath('ksm');
export const P_KHUGEPAGED = workPath('khugepaged');
export const P_GUP = workPath('gup');

export const W_CALLS = workKind('calls');
export const W_PAGE_LINES = workKind('page_lines');
export const W_ATOMICS = workKind('atomics');
export const W_LOCKS = workKind('locks');
export const W_TRYLOCK_FAIL = workKind('trylock_fail');
export const W_TLB_FLUSH = workKind('tlb_flush');
export const W_SUBPAGE_ITER = workKind('subpage_iter');
export const W_PTE_WRITES = workKind('pte_writes');
export const W_PAGES_COPIED = workKind('pages_copied');
export const W_PAGES_ZEROED = workKind('pages_zeroed');
export const W_PAGES_ALLOC = workKind('pages_alloc');
export const W_PAGES_FREE = workKind('pages_free');
export const W_PT_ALLOC = workKind('pt_alloc');
export const W_PT_FREE = workKind('pt_free');

/** A zeroed account: one row of kinds per path. */
export function newWork(): Float64Array {
  return new Float64Array(WORK_PATHS.length * NR_WORK_KINDS);
}

/** Charge `n` units of `kind` to the path the state is in (nothing when the state keeps no account). */
export function workCharge(s: State, kind: number, n = 1): void {
  const w = s.work;
  if (w !== null) w[s.workBase + kind] = w[s.workBase + kind]! + n;
}

/** Enter a path (one call of it); returns what workLeave() restores. */
export function workEnter(s: State, path: number): number {
  const prev = s.workBase;
  s.workBase = path * NR_WORK_KINDS;
  workCharge(s, W_CALLS);
  return prev;
}

/** Charge what follows to `path` without counting a call (a later step of a call already counted); returns what workLeave() restores. */
export function workResume(s: State, path: number): number {
  const prev = s.workBase;
  s.workBase = path * NR_WORK_KINDS;
  return prev;
}

export function workLeave(s: State, prev: number): void {
  s.workBase = prev;
}

/** The account summed over paths: the total of each kind, every kind listed. */
export function workTotals(w: Float64Array): Record<string, number> {
  const out: Record<string, number> = {};
  WORK_KINDS.forEach((k, ki) => {
    let v = 0;
    for (let pi = 0; pi < WORK_PATHS.length; pi++) v += w[pi * NR_WORK_KINDS + ki]!;
    out[k] = v;
  });
  return out;
}

/** The account as nested records, rows and columns with any work only. */
export function workTable(w: Float64Array): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  WORK_PATHS.forEach((p, pi) => {
    const row: Record<string, number> = {};
    WORK_KINDS.forEach((k, ki) => {
      const v = w[pi * NR_WORK_KINDS + ki]!;
      if (v !== 0) row[k] = v;
    });
    if (Object.keys(row).length > 0) out[p] = row;
  });
  return out;
}
