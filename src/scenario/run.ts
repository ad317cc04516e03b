/**
 * Sequential execution of a scenario under one era: the current thread runs
 * until it blocks or ends, then the lowest-numbered thread that can run takes
 * over (a uniprocessor that switches only on blocking). One final state, so
 * the verdict is Always or Never; the explorer adds Sometimes.
 *
 * The model's own accounting invariants are checked after every step; a
 * broken one is a tool bug, reported with the step that broke it.
 */

import { checkInvariants, type Violation } from '../core/invariants.js';
import type { State } from '../core/mm_types.js';
import { cloneState } from '../core/mm_types.js';
import type { Config, DecisionRecord, EraId, Policy } from '../core/points.js';
import { sequentialKernel } from '../core/points.js';
import type { Pos, Scenario, Stmt, Verdict } from './ast.js';
import type { StateDiff } from './diff.js';
import { diffStates } from './diff.js';
import { InputError } from './errors.js';
import type { Machine } from './machine.js';
import {
  asleepInKernel,
  canStep,
  conditionHolds,
  NONE_BLOCKED,
  newMachine,
  nextStmt,
  stepThread,
  teardown,
  withMember,
} from './machine.js';
import { stmtText } from './print.js';

export interface TraceStep {
  readonly index: number;
  readonly thread: string;
  readonly pid: number;
  readonly stmt: string;
  readonly pos: Pos;
  readonly note: string;
  readonly decisions: readonly DecisionRecord[];
  /** Present when the run was traced. */
  readonly changes?: StateDiff;
}

export type RunOutcome =
  | {
      readonly kind: 'done';
      readonly holds: boolean;
      readonly verdict: Verdict;
      readonly steps: readonly TraceStep[];
      readonly regs: ReadonlyMap<string, number>;
      /** With verdict Hang: where each thread left is stuck. */
      readonly hung?: readonly string[];
      /** The machine right before teardown (the state the condition was checked on). */
      readonly final: State;
    }
  | {
      readonly kind: 'tool-bug';
      readonly step: number;
      readonly violations: readonly Violation[];
      readonly steps: readonly TraceStep[];
    };

export interface RunOptions {
  /** A budget checked inside long steps (Machine.interrupt): the run throws StepInterrupted. */
  readonly interrupt?: () => string | null;
  /** Record what every step changed (costs a state clone per step). */
  readonly trace?: boolean;
  /** Record the decisions of every step (always on with `trace`). */
  readonly decisions?: boolean;
  readonly maxSteps?: number;
  readonly ptStrategy?: Config['ptStrategy'];
  /** Stop kernel paths at lock boundaries (the explorer's steps); off for the sequential run. */
  readonly lockBreaks?: boolean;
}

/** The kernel configuration a scenario runs with under `policy` (its `env` lines switch LRU batching on). */
export function configFor(sc: Scenario, policy: Policy, opts: RunOptions = {}): Config {
  return {
    policy,
    ptStrategy: opts.ptStrategy ?? policy.ptStrategy,
    lruBatching: sc.env.includes('lru_batches'),
    lockBreaks: opts.lockBreaks === true,
    ptWalkSteps: opts.lockBreaks === true && freesTablesWhileWalked(sc),
    reclaimRaces: opts.lockBreaks === true && sc.env.includes('reclaim'),
  };
}

/** Statements that may free a page table of an mm while another thread of it walks it. */
function freesTables(st: Stmt, fileMaps: ReadonlySet<string>): boolean {
  return (
    st.op === 'munmap' ||
    (st.op === 'madvise' &&
      (st.advice === 'dontneed' ||
        st.advice === 'cleanup_pgtable' ||
        st.advice === 'remove' ||
        // MADV_COLLAPSE of a file mapping retracts tables without the mmap lock.
        (st.advice === 'collapse' && fileMaps.has(st.ref.map))))
  );
}

/**
 * Whether page-table walkers must stop between reading a PMD entry and using
 * its table (Config.ptWalkSteps): only when a second walker exists (a
 * thread, or reclaim's rmap walk) while a statement frees tables. Elsewhere the stop could change no
 * outcome and would only multiply the states (ADR 0013).
 */
export function freesTablesWhileWalked(sc: Scenario): boolean {
  // Another walker: a second thread, or reclaim's rmap walk.
  if (sc.threads.length < 2 && !sc.env.includes('reclaim')) return false;
  const all = [...sc.setup, ...sc.threads.flatMap((t) => t.body)];
  const fileMaps = new Set(
    all.flatMap((st) => (st.op === 'mmap' && st.file !== null ? [st.name] : [])),
  );
  return all.some((st) => freesTables(st, fileMaps));
}

/**
 * No thread can step: 'finished' when every thread is done; the hung threads
 * (the design hangs) when some are asleep in the kernel; otherwise the
 * scenario's own waits deadlock: SC102.
 */
export function whenNoneCanStep(m: Machine, file: string): 'finished' | string[] {
  const stuck = m.threads.filter((t) => !t.done);
  if (stuck.length === 0) return 'finished';
  if (m.threads.some((_, j) => asleepInKernel(m, j)))
    return m.threads.flatMap((t, j) =>
      t.done
        ? []
        : [
            `${t.name} ${asleepInKernel(m, j) ? 'asleep in the kernel' : 'waits'} at '${stmtText(nextStmt(m, t)!)}'`,
          ],
    );
  const st = nextStmt(m, stuck[0]!)!;
  throw new InputError(
    'SC102',
    `deadlock: ${stuck.map((t) => `${t.name} waits at '${stmtText(nextStmt(m, t)!)}'`).join(', ')}`,
    file,
    st.pos,
  );
}

/** Which thread runs next: the current one if it can, else the first that can; -1 if none. */
function pickThread(m: Machine, current: number): number {
  if (current >= 0 && canStep(m, current)) return current;
  for (let i = 0; i < m.threads.length; i++) if (canStep(m, i)) return i;
  return -1;
}

/** Run a checked scenario to its end. Throws InputError for runtime input errors (SC101–SC103). */
export function runSequential(
  sc: Scenario,
  policy: Policy,
  opts: RunOptions = {},
): RunOutcome & { era: EraId } {
  const config = configFor(sc, policy, opts);
  const m = newMachine(sc);
  if (opts.interrupt) m.interrupt = opts.interrupt;
  const steps: TraceStep[] = [];
  const maxSteps = opts.maxSteps ?? 100_000;
  let current = 0;
  let hung: string[] | null = null;
  for (;;) {
    const i = pickThread(m, current);
    if (i < 0) {
      const end = whenNoneCanStep(m, sc.file);
      if (end === 'finished') break;
      hung = end;
      break;
    }
    if (steps.length >= maxSteps)
      throw new InputError('SC103', `more than ${maxSteps} steps`, sc.file, null);
    current = i;
    const t = m.threads[i]!;
    const st = nextStmt(m, t)!;
    const log: DecisionRecord[] = [];
    const k = sequentialKernel(config, opts.trace || opts.decisions ? log : undefined);
    k.cpu = t.cpu;
    const before = cloneState(m.s);
    const r = stepThread(m, i, k);
    if (r.kind === 'error') throw r.error;
    if (r.kind === 'blocked') {
      m.s = before; // the statement did not happen; it is retried once another thread has run
      m.blocked = withMember(m.blocked, i);
    } else {
      m.blocked = NONE_BLOCKED;
    }
    steps.push({
      index: steps.length,
      thread: t.name,
      pid: t.pid,
      stmt: stmtText(st),
      pos: st.pos,
      note: r.kind === 'blocked' ? `blocked: ${r.note}` : r.note,
      decisions: log,
      ...(opts.trace && r.kind === 'ok' ? { changes: diffStates(before, m.s) } : {}),
    });
    const v = checkInvariants(m.s);
    if (v.length > 0)
      return { kind: 'tool-bug', era: policy.id, step: steps.length - 1, violations: v, steps };
  }
  const holds = hung === null && conditionHolds(m);
  const final = cloneState(m.s);
  const before = opts.trace ? cloneState(m.s) : null;
  teardown(m);
  const v = checkInvariants(m.s);
  if (before) {
    steps.push({
      index: steps.length,
      thread: '-',
      pid: 0,
      stmt: 'teardown: every remaining process exits',
      pos: sc.conditionPos,
      note: '',
      decisions: [],
      changes: diffStates(before, m.s),
    });
  }
  if (v.length > 0)
    return { kind: 'tool-bug', era: policy.id, step: steps.length, violations: v, steps };
  return {
    kind: 'done',
    era: policy.id,
    holds,
    verdict: hung ? 'Hang' : holds ? 'Always' : 'Never',
    ...(hung ? { hung } : {}),
    steps,
    regs: m.regs,
    final,
  };
}
