/**
 * The data the viewer shows (`cowherd view`, `cowherd report --html`): the
 * only thing the web layer knows of cowherd. Plain JSON, built by view.ts
 * from the explorer's results and replays; the web imports these types and
 * view-keys.ts, nothing else.
 */

import type { MmSnap, PtEntrySnap, PtTableSnap, StateSnap } from '../scenario/snapshot.js';

export type {
  FolioSnap,
  MmSnap,
  PtEntrySnap,
  PtTableSnap,
  StateSnap,
  VmaSnap,
} from '../scenario/snapshot.js';

/** A verdict as the matrix shows it. */
export type ViewVerdict =
  | 'Never'
  | 'Sometimes'
  | 'Always'
  | 'Hang'
  | 'tool-bug'
  | 'limit'
  | 'error'
  | 'cancelled';

export interface ViewScenarioInfo {
  readonly name: string;
  /** The file as given (the key of every other record). */
  readonly file: string;
  /** Its folder relative to the common folder of all files ('' when the same). */
  readonly dir: string;
  readonly doc: string;
}

/** One scenario under one era (× page-table strategy): what `cowherd check` prints, and more. */
export interface ViewCell {
  readonly file: string;
  readonly era: string;
  readonly verdict: ViewVerdict;
  readonly expected: string | null;
  readonly provenance: string | null;
  readonly ok: boolean;
  readonly states?: number;
  readonly findings?: readonly string[];
  readonly expectedBreaks?: readonly string[];
  /** A replay token of the shortest witness (exists: where the condition holds; forall: where it fails). */
  readonly witness?: string;
  /** The shortest path to each broken design invariant. */
  readonly findingPaths?: readonly { readonly code: string; readonly replay: string }[];
  readonly detail?: string;
}

export interface ViewTraceInfo {
  readonly id: string;
  readonly title: string;
  readonly replay: string | null;
}

export interface ViewSimInfo {
  readonly id: string;
  readonly title: string;
}

/** The home page: the matrix, the traces and the simulations given. */
export interface ViewIndex {
  readonly format: 'cowherd-view';
  readonly version: 1;
  /** Served by `cowherd view` (witnesses can be explored on demand) or a static report. */
  readonly live: boolean;
  readonly eras: readonly string[];
  readonly scenarios: readonly ViewScenarioInfo[];
  readonly cells: readonly ViewCell[];
  /** Cells done and to do (the server fills the matrix while the page shows it). */
  readonly done: number;
  readonly total: number;
  readonly traces: readonly ViewTraceInfo[];
  readonly sims: readonly ViewSimInfo[];
  /** Modelled eras outside the matrix that a page can ask the server to explore (live only). */
  readonly otherEras: readonly string[];
  /** Era pairs a static report has diffs for (every pair when live). */
  readonly diffs: readonly (readonly [string, string])[] | null;
}

export interface ViewExpectation {
  readonly era: string;
  readonly verdict: string;
  readonly provenance: string;
  readonly breaks: readonly string[] | null;
}

export interface ViewScenario {
  readonly name: string;
  readonly file: string;
  readonly doc: string;
  readonly source: string;
  readonly quantifier: string;
  readonly expectations: readonly ViewExpectation[];
}

export interface ViewDecision {
  readonly point: string;
  readonly choice: string;
  readonly why: string;
}

export interface ViewStep {
  readonly index: number;
  /** The thread, or the environment actor (pid 0). */
  readonly actor: string;
  readonly pid: number;
  readonly cpu: number;
  readonly stmt: string;
  readonly pos: { readonly line: number; readonly col: number } | null;
  readonly note: string;
  readonly choices: readonly {
    readonly what: string;
    readonly options: readonly string[];
    readonly pick: number;
  }[];
  readonly decisions: readonly ViewDecision[];
  /** Design invariants broken after the step; `fresh` marks those this step broke. */
  readonly findings: readonly {
    readonly code: string;
    readonly detail: string;
    readonly fresh: boolean;
  }[];
  readonly threads: readonly {
    readonly name: string;
    readonly pid: number;
    readonly pc: number;
    readonly cpu: number;
    readonly status: string;
  }[];
  readonly regs: Readonly<Record<string, number>>;
  readonly events: readonly string[];
  /** What the step changed, as in the text trace. */
  readonly changed: {
    readonly ptes: readonly { readonly mm: number; readonly addr: number }[];
    readonly pfns: readonly number[];
    readonly lines: readonly string[];
  };
}

/**
 * The parts of a state, interned: a state names its parts by index into
 * ViewTrace.pool, so that a long trace whose steps change one folio each
 * stores each version of each part once.
 */
export interface ViewStateRef {
  /** Each mm with `pgd` the pool index of its PooledTable (or null). */
  readonly mms: readonly number[];
  readonly folios: readonly number[];
  readonly omittedFolios?: number;
  readonly swap: number;
  readonly pipes: number;
  readonly gup: number;
  readonly files: number;
}

export interface ViewTrace {
  readonly format: 'cowherd-view-trace';
  readonly version: 1;
  readonly scenario: string;
  readonly file: string;
  readonly era: string;
  readonly replay: string | null;
  readonly quantifier: string;
  /** How the path ends, in one line. */
  readonly ending: string;
  readonly steps: readonly ViewStep[];
  /** states[0] before the first step, states[i + 1] after step i; empty when not known. */
  readonly states: readonly ViewStateRef[];
  readonly pool: readonly unknown[];
}

/** One scenario under two eras, their sequential runs side by side. */
export interface ViewDiff {
  readonly file: string;
  readonly a: ViewTrace;
  readonly b: ViewTrace;
  readonly verdicts: { readonly a: string | null; readonly b: string | null };
  /** Step indices side by side (view.ts alignSteps()); null where one run has no such step. */
  readonly rows: readonly { readonly a: number | null; readonly b: number | null }[];
  /** The first row where the runs part: a step one run takes alone, or different decisions; null when none. */
  readonly divergence: number | null;
}

/** An entry of a pooled table: its child table a pool index (`childRef`) instead of the table. */
export type PooledEntry = Omit<PtEntrySnap, 'child'> & { readonly childRef?: number };

/** A page table in the pool: its entries as pool indices of chunks (arrays of PooledEntry). */
export interface PooledTable extends Omit<PtTableSnap, 'entries'> {
  readonly entries: readonly number[];
}

function resolveTable(pool: readonly unknown[], i: number): PtTableSnap {
  const t = pool[i] as PooledTable;
  return {
    ...t,
    entries: t.entries
      .flatMap((c) => pool[c] as PooledEntry[])
      .map((e) => {
        if (e.childRef === undefined) return e;
        const { childRef, ...rest } = e;
        return { ...rest, child: resolveTable(pool, childRef) };
      }),
  };
}

/** Resolve a state of a trace into its parts. */
export function resolveState(t: ViewTrace, i: number): StateSnap | null {
  const r = t.states[i];
  if (!r) return null;
  const p = t.pool;
  return {
    mms: r.mms.map((x) => {
      const m = p[x] as Omit<MmSnap, 'pgd'> & { readonly pgd: number | null };
      return { ...m, pgd: m.pgd === null ? null : resolveTable(p, m.pgd) };
    }),
    ...(r.omittedFolios ? { omittedFolios: r.omittedFolios } : {}),
    folios: r.folios.map((x) => p[x]) as StateSnap['folios'],
    swap: p[r.swap] as StateSnap['swap'],
    pipes: p[r.pipes] as StateSnap['pipes'],
    gup: p[r.gup] as StateSnap['gup'],
    files: p[r.files] as StateSnap['files'],
  };
}
