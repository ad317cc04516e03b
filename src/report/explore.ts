/** Text and JSON for `cowherd explore`: statistics, verdict, and the witness as a replayable trace. */

import type { Policy } from '../core/points.js';
import type { ExploreResult, PathStep } from '../explore/explore.js';
import type { ReplayOutcome } from '../explore/replay.js';
import { replay, replayToken } from '../explore/replay.js';
import { BITSTATE_HASHES, type VisitedReport } from '../explore/visited.js';
import type { Scenario, Verdict } from '../scenario/ast.js';
import { GHOST_INVARIANTS } from '../scenario/ghost.js';
import { replayEnd, replayLines, traceDoc } from './replay.js';

/** Statistics the CLI measures around a run (not part of the deterministic output unless asked). */
export interface RunMeasure {
  readonly seconds: number;
  readonly heapMiB: number;
}

/** The interesting path of a result, if any: the witness, or the path to a tool bug. */
function pathOf(r: ExploreResult): readonly PathStep[] | null {
  return r.kind === 'done' ? r.witness : r.kind === 'tool-bug' ? r.path : null;
}

function replayed(
  sc: Scenario,
  policy: Policy,
  r: ExploreResult,
): { token: string; out: ReplayOutcome } | null {
  const path = pathOf(r);
  if (!path) return null;
  const moves = path.map((p) => p.move);
  return { token: replayToken(sc, r.era, moves), out: replay(sc, policy, moves) };
}

export function exploreText(
  sc: Scenario,
  policy: Policy,
  r: ExploreResult,
  expected: Verdict | null,
  opts: { full?: boolean; measure?: RunMeasure } = {},
): string {
  const lines = [`scenario ${sc.name} on ${r.era}: every interleaving (one statement = one step)`];
  if (sc.env.length) lines.push(`environment: ${sc.env.join(', ')}`);
  const m = opts.measure;
  lines.push(
    `states ${r.states}, transitions ${r.transitions}, depth ${r.depth}${m ? `, ${m.seconds.toFixed(2)} s, ${Math.round(r.states / Math.max(m.seconds, 1e-3))} states/s, heap ${m.heapMiB.toFixed(0)} MiB` : ''}`,
  );
  lines.push(...visitedLines(r.visited));
  if (r.symmetry) {
    const sym = r.symmetry;
    lines.push(
      !sym.applied
        ? `symmetry: not used: ${sym.blocked}`
        : sym.valuesBlocked === null
          ? 'symmetry: states that differ only in which free PFNs allocations took, or in which values no statement still to run stores, count once (final-state counts are per class)'
          : 'symmetry: states that differ only in which free PFNs allocations took count once (final-state counts are per class)',
    );
    if (sym.applied && sym.valuesBlocked !== null)
      lines.push(`symmetry over page contents: not used: ${sym.valuesBlocked}`);
    for (const group of sym.threads)
      lines.push(
        `symmetry over threads: ${group.join(', ')} run one program but for the numbers they store and the pages they own: their places count once`,
      );
  }
  const rep = replayed(sc, policy, r);
  const trace = () => {
    if (!rep) return;
    lines.push(...replayLines(sc, rep.out, opts.full ? Number.POSITIVE_INFINITY : 8));
    lines.push(replayEnd(sc, rep.out));
    lines.push(`replay: cowherd replay ${rep.token}`);
  };
  if (r.kind === 'tool-bug') {
    lines.push('TOOL BUG: the model broke its own accounting (please report):');
    for (const v of r.violations) lines.push(`  ${v.code} ${v.detail}`);
    lines.push('the path that broke it:');
    trace();
    return `${lines.join('\n')}\n`;
  }
  const f = r.finals;
  lines.push(
    `distinct final states: ${f.holds} where the condition holds, ${f.fails} where it does not, ${f.hangs} hung`,
  );
  if (r.kind === 'limit') {
    const why = {
      time: 'time limit reached: no verdict (raise --max-seconds)',
      memory: 'memory budget reached: no verdict (raise --max-memory)',
      states: 'state limit reached: no verdict (raise --max-states)',
      interrupted: 'interrupted by a signal: no verdict',
    };
    lines.push(why[r.limit]);
    return `${lines.join('\n')}\n`;
  }
  const mark = expected !== null && expected !== r.verdict ? ` (* expected ${expected})` : '';
  lines.push(`${sc.quantifier} (…): ${r.verdict}${mark}`);
  lines.push(...findingLines(sc, r));
  if (rep) {
    lines.push(
      sc.quantifier === 'exists'
        ? 'shortest interleaving where the condition holds:'
        : 'shortest interleaving where the condition fails:',
    );
    trace();
  }
  return `${lines.join('\n')}\n`;
}

/** KiB or MiB, as the sizes the CLI takes. */
function sizeText(bytes: number): string {
  return bytes < 2 ** 20
    ? `${(bytes / 2 ** 10).toFixed(0)} KiB`
    : `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

/** What the visited set was, and what it may have missed (bitstate). */
export function visitedLines(v: VisitedReport): string[] {
  if (v.mode === 'hash-compact')
    return [
      `visited set: hash-compact, 64-bit fingerprints in ${sizeText(v.bytes)}; chance that two states shared one: ${v.collision === 0 ? '0' : v.collision.toExponential(1)}`,
    ];
  const how =
    v.switchedAt === null
      ? 'bitstate'
      : `hash-compact for ${v.switchedAt} states, then (--memory) bitstate`;
  const coverage = v.coverage > 0.9999 ? 'over 99.99' : `${Math.floor(v.coverage * 1e4) / 100}`;
  return [
    `visited set: ${how}, ${BITSTATE_HASHES} bits per state in ${sizeText(v.bytes)} (hash factor ${Math.round(v.hashFactor)}); new states taken for visited ones: about ${v.missed.toPrecision(2)} (coverage estimate ${coverage}%)`,
    `warning: a bitstate search may miss states (and what follows them): the verdict and counts are over the states it covered`,
  ];
}

function sortedFindings(r: ExploreResult) {
  return [...r.findings].sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
}

/** The design invariants broken in some reachable state, each with its shortest path. */
function findingLines(sc: Scenario, r: ExploreResult): string[] {
  if (r.findings.length === 0)
    return [`design invariants (${Object.keys(GHOST_INVARIANTS).join(', ')}): hold in every state`];
  const out: string[] = [];
  for (const f of sortedFindings(r)) {
    out.push(
      `! ${f.code} ${GHOST_INVARIANTS[f.code]}: broken after ${f.path.length} step(s): ${f.detail}`,
    );
    out.push(
      `    replay: cowherd replay ${replayToken(
        sc,
        r.era,
        f.path.map((p) => p.move),
      )}`,
    );
  }
  return out;
}

export function exploreJson(
  sc: Scenario,
  policy: Policy,
  r: ExploreResult,
  expected: Verdict | null,
): string {
  const verdict = r.kind === 'done' ? r.verdict : r.kind;
  const rep = replayed(sc, policy, r);
  return `${JSON.stringify(
    {
      scenario: sc.name,
      file: sc.file,
      era: r.era,
      verdict,
      expected,
      states: r.states,
      transitions: r.transitions,
      depth: r.depth,
      visited: r.visited,
      ...(r.symmetry ? { symmetry: r.symmetry } : {}),
      finals: r.kind === 'tool-bug' ? null : r.finals,
      ...(r.kind === 'limit' ? { limit: r.limit } : {}),
      trace: rep ? traceDoc(sc, rep.out, rep.token) : null,
      replay: rep ? rep.token : null,
      findings: sortedFindings(r).map((f) => ({
        code: f.code,
        invariant: GHOST_INVARIANTS[f.code],
        detail: f.detail,
        steps: f.path.length,
        replay: replayToken(
          sc,
          r.era,
          f.path.map((p) => p.move),
        ),
      })),
      ...(r.kind === 'tool-bug' ? { violations: r.violations } : {}),
    },
    null,
    2,
  )}\n`;
}
