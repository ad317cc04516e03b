/**
 * The viewer's data (view-types.ts) from cowherd's results: a scenario, a
 * replayed path with the state after every step, two eras' runs side by
 * side. Deterministic: the same inputs give the same JSON, byte for byte.
 */

import type { ReplayOutcome } from '../explore/replay.js';
import type { Scenario } from '../scenario/ast.js';
import type { PtTableSnap, StateSnap } from '../scenario/snapshot.js';
import { replayEnd } from './replay.js';
import { changeLines } from './trace.js';
import type { ViewDiff, ViewScenario, ViewStateRef, ViewStep, ViewTrace } from './view-types.js';

export function viewScenario(sc: Scenario): ViewScenario {
  return {
    name: sc.name,
    file: sc.file,
    doc: sc.doc,
    source: sc.source,
    quantifier: sc.quantifier,
    expectations: sc.expect.map((e) => ({
      era: e.era,
      verdict: e.verdict,
      provenance: e.provenance ?? '',
      breaks: e.breaks,
    })),
  };
}

/** Changes listed per kind per step (the text trace's default is 8; the rest are counted). */
const CHANGE_LINES = 256;

/** Entries per chunk of a pooled table (PooledTable). */
const TABLE_CHUNK = 32;

/** Parts of states, each stored once (ViewStateRef). */
class Pool {
  readonly items: unknown[] = [];
  private readonly index = new Map<string, number>();
  add(x: unknown): number {
    const key = JSON.stringify(x);
    let i = this.index.get(key);
    if (i === undefined) {
      i = this.items.length;
      this.items.push(x);
      this.index.set(key, i);
    }
    return i;
  }
  /** A table with its children replaced by their pool indices (PooledTable), so that a step shares every table it did not change. */
  private table(t: PtTableSnap): number {
    const entries = t.entries.map((e) => {
      if (!e.child) return e;
      const { child, ...rest } = e;
      return { ...rest, childRef: this.table(child) };
    });
    // Entries in chunks, so that a step that changes one PTE of a full table stores one chunk anew.
    const chunks: number[] = [];
    for (let i = 0; i < entries.length; i += TABLE_CHUNK)
      chunks.push(this.add(entries.slice(i, i + TABLE_CHUNK)));
    return this.add({ ...t, entries: chunks });
  }
  state(s: StateSnap): ViewStateRef {
    return {
      mms: s.mms.map((x) => this.add({ ...x, pgd: x.pgd ? this.table(x.pgd) : null })),
      folios: s.folios.map((x) => this.add(x)),
      ...(s.omittedFolios ? { omittedFolios: s.omittedFolios } : {}),
      swap: this.add(s.swap),
      pipes: this.add(s.pipes),
      gup: this.add(s.gup),
      files: this.add(s.files),
    };
  }
}

/** A replayed path (replay() with snapshots, or without: then no states) as the viewer shows it. */
export function viewTrace(sc: Scenario, r: ReplayOutcome, token: string | null): ViewTrace {
  const pool = new Pool();
  const states: ViewStateRef[] = [];
  if (r.initialState) {
    states.push(pool.state(r.initialState));
    for (const st of r.steps) if (st.state) states.push(pool.state(st.state));
  }
  let broken = new Set<string>();
  const steps: ViewStep[] = r.steps.map((st) => {
    const now = new Set(st.findings.map((f) => `${f.code} ${f.detail}`));
    const findings = st.findings.map((f) => ({
      code: f.code,
      detail: f.detail,
      fresh: !broken.has(`${f.code} ${f.detail}`),
    }));
    broken = now;
    return {
      index: st.index,
      actor: st.thread,
      pid: st.pid,
      cpu: st.cpu,
      stmt: st.stmt,
      pos: st.pos ? { line: st.pos.line, col: st.pos.col } : null,
      note: st.note,
      choices: st.choices.map((c) => ({ what: c.what, options: c.options, pick: c.pick })),
      decisions: st.decisions.map((d) => ({ point: d.point, choice: d.choice, why: d.why })),
      findings,
      threads: st.threads,
      regs: st.regs,
      events: st.events,
      changed: {
        ptes: st.changes.ptes.map((p) => ({ mm: p.mm, addr: p.addr })),
        pfns: st.changes.folios.map((f) => f.pfn),
        lines: changeLines(st.changes, CHANGE_LINES),
      },
    };
  });
  return {
    format: 'cowherd-view-trace',
    version: 1,
    scenario: sc.name,
    file: sc.file,
    era: r.era,
    replay: token,
    quantifier: sc.quantifier,
    ending: replayEnd(sc, r),
    steps,
    states,
    pool: pool.items,
  };
}

const stepKey = (s: ViewStep) => `${s.actor}\n${s.stmt}`;
const decisionKey = (s: ViewStep) => s.decisions.map((d) => `${d.point}=${d.choice}`).join('|');

/**
 * The two runs' steps side by side: a longest common subsequence of
 * (thread, statement), so that a step one era takes and the other does not
 * (a fault that stops at a lock and continues) stands alone on its row and
 * the rest stay level. Runs longer than 2,000 steps are set side by side by
 * index.
 */
export function alignSteps(
  a: readonly ViewStep[],
  b: readonly ViewStep[],
): { a: number | null; b: number | null }[] {
  const n = a.length;
  const m = b.length;
  if (n > 2000 || m > 2000)
    return Array.from({ length: Math.max(n, m) }, (_, i) => ({
      a: i < n ? i : null,
      b: i < m ? i : null,
    }));
  const ka = a.map(stepKey);
  const kb = b.map(stepKey);
  // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
  const w = m + 1;
  const lcs = new Uint16Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i * w + j] =
        ka[i] === kb[j]
          ? lcs[(i + 1) * w + j + 1]! + 1
          : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!);
  const rows: { a: number | null; b: number | null }[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && ka[i] === kb[j]) rows.push({ a: i++, b: j++ });
    else if (j >= m || (i < n && lcs[(i + 1) * w + j]! >= lcs[i * w + j + 1]!))
      rows.push({ a: i++, b: null });
    else rows.push({ a: null, b: j++ });
  }
  return rows;
}

export function viewDiff(
  a: ViewTrace,
  b: ViewTrace,
  verdicts: { readonly a: string | null; readonly b: string | null },
): ViewDiff {
  const rows = alignSteps(a.steps, b.steps);
  const at = rows.findIndex(
    (r) =>
      r.a === null || r.b === null || decisionKey(a.steps[r.a]!) !== decisionKey(b.steps[r.b]!),
  );
  return { file: a.file, a, b, verdicts, rows, divergence: at < 0 ? null : at };
}
