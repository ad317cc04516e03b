/**
 * Replay tokens: a path found by the explorer as a string one can paste into
 * `cowherd replay TOKEN`, which re-runs exactly that interleaving (with the
 * same kernel choices and actor steps) and prints what each step changed.
 *
 * Format: `FILE:ERA:HASH:MOVES` where HASH is 8 hex digits of the scenario
 * text's fingerprint (a token for an edited file is refused) and MOVES the
 * moves joined by `-` (moves.ts moveKey: `2`, `2/1.0`, `d0`, `r12`, `u12`).
 */

import { Fingerprint } from '../core/canon.js';
import { checkInvariants, type Violation } from '../core/invariants.js';
import { cloneState } from '../core/mm_types.js';
import type { DecisionRecord, Policy } from '../core/points.js';
import type { Pos, Scenario } from '../scenario/ast.js';
import type { StateDiff } from '../scenario/diff.js';
import { diffStates } from '../scenario/diff.js';
import { envStepKey, envSteps } from '../scenario/env.js';
import { InputError } from '../scenario/errors.js';
import type { Finding } from '../scenario/ghost.js';
import type { Machine } from '../scenario/machine.js';
import {
  canStep,
  conditionHolds,
  machineRefs,
  newMachine,
  nextStmt,
  teardown,
} from '../scenario/machine.js';
import { configFor } from '../scenario/run.js';
import type { StateSnap } from '../scenario/snapshot.js';
import { snapshotState } from '../scenario/snapshot.js';
import { machineFindings } from './expand.js';
import type { Choice, Move } from './moves.js';
import { applyMove, moveKey, parseMove } from './moves.js';

export interface ReplayToken {
  readonly file: string;
  readonly era: string;
  readonly hash: string;
  readonly moves: readonly Move[];
}

/** 8 hex digits identifying a scenario's text. */
export function scenarioHash(sc: Scenario): string {
  const h = new Fingerprint();
  for (let i = 0; i < sc.source.length; i++) h.word(sc.source.charCodeAt(i));
  return h.hex().slice(0, 8);
}

export function replayToken(sc: Scenario, era: string, moves: readonly Move[]): string {
  return `${sc.file}:${era}:${scenarioHash(sc)}:${runLengths(moves.map(moveKey))}`;
}

/** Moves joined by `-`, a run of N equal moves written once as `MOVExN` (N >= 3). */
function runLengths(keys: readonly string[]): string {
  const out: string[] = [];
  for (let i = 0; i < keys.length; ) {
    let j = i + 1;
    while (j < keys.length && keys[j] === keys[i]) j++;
    const n = j - i;
    if (n >= 3) out.push(`${keys[i]}x${n}`);
    else for (let k = 0; k < n; k++) out.push(keys[i]!);
    i = j;
  }
  return out.join('-');
}

/** Parse a token; an InputError RP001 when it is not one. */
export function parseReplayToken(text: string): ReplayToken {
  const bad = (why: string): never => {
    throw new InputError('RP001', `not a replay token (${why}): ${text}`, 'TOKEN', null);
  };
  const parts = text.split(':');
  if (parts.length < 4) bad('expected FILE:ERA:HASH:MOVES');
  const movesText = parts.pop()!;
  const hash = parts.pop()!;
  const era = parts.pop()!;
  const file = parts.join(':');
  if (!/^[0-9a-f]{8}$/.test(hash)) bad('HASH is 8 hex digits');
  const moves: Move[] = [];
  for (const m of movesText === '' ? [] : movesText.split('-')) {
    const g = /^(.+)x(\d+)$/.exec(m);
    const times = g ? Number(g[2]) : 1;
    if (times < 1 || times > 1_000_000) bad(`move '${m}' repeats ${times} times`);
    const mv = parseMove(g ? g[1]! : m) ?? bad(`move '${m}'`);
    for (let k = 0; k < times; k++) moves.push(mv);
  }
  return { file, era, hash, moves };
}

export interface ReplayStep {
  readonly index: number;
  readonly thread: string;
  readonly cpu: number;
  readonly pid: number;
  readonly stmt: string;
  readonly pos: Pos | null;
  readonly note: string;
  readonly choices: readonly Choice[];
  readonly decisions: readonly DecisionRecord[];
  readonly changes: StateDiff;
  /** Design invariants broken in the state after the step (ghost.ts). */
  readonly findings: readonly Finding[];
  /** After the step: every thread's program counter, CPU and status. */
  readonly threads: readonly ThreadView[];
  readonly regs: Readonly<Record<string, number>>;
  readonly events: readonly string[];
  /** The whole state after the step, for the viewer (replay's `snapshots` option). */
  readonly state?: StateSnap;
}

export interface ThreadView {
  readonly name: string;
  readonly pid: number;
  readonly pc: number;
  readonly cpu: number;
  readonly status: 'runnable' | 'asleep' | 'done';
}

export interface ReplayOutcome {
  readonly era: string;
  /** The threads before the first step. */
  readonly initial: readonly ThreadView[];
  /** The state before the first step (replay's `snapshots` option). */
  readonly initialState?: StateSnap;
  readonly steps: readonly ReplayStep[];
  /** finished: every thread ran to its end; stopped: the path ends earlier (a tool-bug path, a prefix). */
  readonly end: 'finished' | 'hung' | 'stopped';
  /** The condition on the final state (finished only). */
  readonly holds: boolean | null;
  readonly regs: ReadonlyMap<string, number>;
  /** Accounting violations after a step or at teardown: a tool bug. */
  readonly violations: readonly Violation[];
}

function threadViews(m: Machine): ThreadView[] {
  return m.threads.map((x, i) => ({
    name: x.name,
    pid: x.pid,
    pc: x.pc,
    cpu: x.cpu,
    status: x.done ? 'done' : m.blocked.has(i) ? 'asleep' : 'runnable',
  }));
}

/** Re-run `moves` on scenario `sc` under `policy`, tracing every step. Throws RP002 for a move that cannot be taken. */
export function replay(
  sc: Scenario,
  policy: Policy,
  moves: readonly Move[],
  opts: { readonly snapshots?: boolean } = {},
): ReplayOutcome {
  const config = configFor(sc, policy, { lockBreaks: true });
  const m = newMachine(sc);
  const initial = threadViews(m);
  const initialState = opts.snapshots ? snapshotState(m.s) : undefined;
  const steps: ReplayStep[] = [];
  let violations: Violation[] = [];
  for (const mv of moves) {
    const legal =
      mv.kind === 'thread'
        ? mv.index < m.threads.length && canStep(m, mv.index)
        : envSteps(m).some((e) => envStepKey(e) === envStepKey(mv.step));
    if (!legal)
      throw new InputError(
        'RP002',
        `step #${steps.length} ('${moveKey(mv)}') cannot be taken here: the token does not belong to this scenario and era`,
        sc.file,
        null,
      );
    const t = mv.kind === 'thread' ? m.threads[mv.index]! : null;
    const st = t ? nextStmt(m, t)! : null;
    const before = cloneState(m.s);
    const log: DecisionRecord[] = [];
    const r = applyMove(m, mv, config, { log, prior: before });
    steps.push({
      index: steps.length,
      thread: r.actor,
      cpu: r.cpu,
      pid: t ? t.pid : 0,
      stmt: r.what,
      pos: st ? st.pos : null,
      note: r.note,
      choices: r.choices,
      decisions: log,
      changes: diffStates(before, m.s),
      findings: machineFindings(m, config),
      threads: threadViews(m),
      regs: Object.fromEntries([...m.regs].sort(([a], [b]) => (a < b ? -1 : 1))),
      events: [...m.events].sort(),
      ...(opts.snapshots ? { state: snapshotState(m.s) } : {}),
    });
    violations = checkInvariants(m.s, machineRefs(m));
    if (violations.length > 0) break;
  }
  const finished = m.threads.every((t) => t.done);
  const stuck = !finished && m.threads.every((_t, i) => !canStep(m, i));
  const holds = finished && violations.length === 0 ? conditionHolds(m) : null;
  if (finished && violations.length === 0) {
    teardown(m);
    violations = checkInvariants(m.s);
  }
  return {
    era: policy.id,
    initial,
    ...(initialState ? { initialState } : {}),
    steps,
    end: finished ? 'finished' : stuck && m.blocked.size > 0 ? 'hung' : 'stopped',
    holds,
    regs: m.regs,
    violations,
  };
}

/**
 * The moves of the run `cowherd run` and `cowherd diff` make: the current
 * thread goes on while it can, else the first that can (its sleeping
 * attempts included, as replay() re-runs them), each kernel choice its
 * default. At most `maxSteps` moves.
 */
export function sequentialMoves(sc: Scenario, policy: Policy, maxSteps = 100_000): Move[] {
  const config = configFor(sc, policy, { lockBreaks: true });
  const m = newMachine(sc);
  const moves: Move[] = [];
  let current = 0;
  while (moves.length < maxSteps) {
    let i = current >= 0 && canStep(m, current) ? current : -1;
    for (let j = 0; i < 0 && j < m.threads.length; j++) if (canStep(m, j)) i = j;
    if (i < 0) break;
    current = i;
    const mv: Move = { kind: 'thread', index: i, picks: [] };
    applyMove(m, mv, config);
    moves.push(mv);
    if (checkInvariants(m.s, machineRefs(m)).length > 0) break;
  }
  return moves;
}
