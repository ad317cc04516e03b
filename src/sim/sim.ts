/**
 * `cowherd sim`: one execution of a workload under one era (docs/sim.md).
 * Not exhaustive: a seeded scheduler picks which runnable thread takes the
 * next statement; loops run without being expanded (cursor.ts); no state is
 * copied per step and the invariants are checked once, after the teardown.
 * What it reports is what the kernel's own counters would say.
 */

import { checkInvariants, type Violation } from '../core/invariants.js';
import { cloneState } from '../core/mm_types.js';
import type { Config, Policy } from '../core/points.js';
import { sequentialKernel } from '../core/points.js';
import { PGFAULT, PGMAJFAULT, VM_EVENT_NAMES } from '../core/vmstat.js';
import { newWork, workTable, workTotals } from '../core/work.js';
import type { EnvActor, Scenario, Stmt } from '../scenario/ast.js';
import { checkScenario } from '../scenario/check.js';
import { NoGhost } from '../scenario/ghost.js';
import {
  canStep,
  conditionHolds,
  type Machine,
  NONE_BLOCKED,
  newMachine,
  nextStmt,
  StepInterrupted,
  stepThread,
  stmtAt,
  task,
  teardown,
  threadW,
  withMember,
} from '../scenario/machine.js';
import { stmtText } from '../scenario/print.js';
import { whenNoneCanStep } from '../scenario/run.js';
import {
  bounds,
  expandScenario,
  instantiate,
  threadArrays,
  threadInstances,
} from '../scenario/unroll.js';
import { LoopCursor } from './cursor.js';
import {
  ENV_RATE_DEFAULTS,
  type EnvRates,
  environment,
  finishReclaim,
  mayWake,
  WRITEBACK_END_PER_STEP,
} from './env.js';
import { Rng } from './rng.js';

export interface SimOptions {
  readonly seed: number;
  /** CPUs the threads are spread over as they start (thread n on CPU n mod cpus). */
  readonly cpus: number;
  /** Called every `tickEvery` steps (the CLI shows progress and may ask to stop). */
  readonly tick?: (p: SimProgress) => void;
  readonly tickEvery?: number;
  /** Checked every step: true ends the run early with what it counted so far. */
  readonly shouldStop?: () => boolean;
  /**
   * Read at every step and inside long steps (every 4,096 pages,
   * Machine.interrupt): a budget's name ('memory') ends the run with kind
   * 'stopped' and `stoppedBy`, the counters as far as they got.
   */
  readonly interrupt?: () => string | null;
  /** The environment's rates (default: WRITEBACK_END_PER_STEP, ENV_RATE_DEFAULTS, batching on). */
  readonly env?: {
    readonly writebackEnd?: number;
    /** The `env` actors' chances per step, by actor (env.ts). */
    readonly actors?: Partial<Record<EnvActor, number>>;
    readonly lruBatching?: boolean;
  };
}

export interface SimProgress {
  readonly era: string;
  readonly steps: number;
  readonly pgfault: number;
  /** The statements the workload will run, as far as its loop bounds tell (estimateSteps()). */
  readonly total: number;
}

/**
 * The statements a workload runs: each loop's body times its iterations,
 * each thread array's body times its instances. A loop whose bounds depend
 * on an outer loop's variable is counted with that variable at its first
 * value, so the figure is an estimate for such files (progress and ETA).
 */
export function estimateSteps(w: Scenario): number {
  const none = new Map<string, number>();
  const count = (body: readonly Stmt[], env: Map<string, number>): number => {
    let n = 0;
    for (const st of body) {
      if (st.op !== 'repeat') {
        n++;
        continue;
      }
      const [from, to] = bounds(w, st, env);
      if (to === from) continue;
      const inner = new Map(env);
      if (st.var !== null) inner.set(st.var, from);
      n += (to - from) * count(st.body, inner);
    }
    return n;
  };
  let total = count(w.setup, none);
  for (const t of w.threads) {
    const [from, to] = t.array ? bounds(w, t.array, none) : [0, 1];
    const env = new Map(none);
    if (t.array) env.set(t.array.var, from);
    total += (to - from) * count(t.body, env);
  }
  return total;
}

/** The counters at one `phase` statement. */
export interface PhaseSample {
  readonly phase: string;
  readonly thread: string;
  readonly step: number;
  readonly counters: Readonly<Record<string, number>>;
  /** Page tables of every live process, in kB (the sum of VmPTE). */
  readonly vmpte: number;
  /** The work account so far, summed over paths, by kind (work.ts). */
  readonly work: Readonly<Record<string, number>>;
}

/**
 * One thread's own figures, as the kernel keeps them per task: the faults it
 * took (task_struct min_flt and maj_flt, which mm_account_fault() counts;
 * here the pgfault and pgmajfault of its statements) and its process's
 * VmPTE when it ended (or at the end of the run).
 */
export interface TaskFigures {
  readonly name: string;
  readonly minflt: number;
  readonly majflt: number;
  readonly vmpteKb: number;
  /** Processes it forked (each leaves the probe's own pages write-protected on the real kernel). */
  readonly forks: number;
}

export interface SimResult {
  readonly era: string;
  /** done: every thread ended; hang: threads asleep in the kernel for good; stopped: asked to stop. */
  readonly kind: 'done' | 'hang' | 'stopped' | 'tool-bug';
  readonly steps: number;
  readonly counters: Readonly<Record<string, number>>;
  readonly phases: readonly PhaseSample[];
  /** The scenario's condition on the final state (null when the run did not finish). */
  readonly holds: boolean | null;
  readonly regs: Readonly<Record<string, number>>;
  readonly vmpte: { readonly peak: number; readonly final: number };
  /** The work account (work.ts): per kernel path, the work of each kind it did; the tool's own teardown excluded. */
  readonly work: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Per thread (array instances included), in the order of the declarations. */
  readonly tasks: readonly TaskFigures[];
  readonly hung?: readonly string[];
  readonly violations?: readonly Violation[];
  readonly note?: string;
  /** What stopped a run of kind 'stopped' early, when not shouldStop: a budget ('memory'). */
  readonly stoppedBy?: string;
}

export { ENV_RATE_DEFAULTS, WRITEBACK_END_PER_STEP } from './env.js';

/** Statements after which a thread may sleep in the kernel and its attempt be rolled back. */
const MAY_SLEEP = new Set<Stmt['op']>(['userfaultfd', 'pin', 'vmsplice']);

function usesAny(sc: Scenario, ops: ReadonlySet<Stmt['op']>): boolean {
  const walk = (body: readonly Stmt[]): boolean =>
    body.some((st) => ops.has(st.op) || (st.op === 'repeat' && walk(st.body)));
  return walk(sc.setup) || sc.threads.some((t) => walk(t.body));
}

/**
 * Static checks of a workload as written: its loops expanded with their
 * first and last iteration only (and its thread arrays whole), through the
 * same checker as any scenario.
 */
export function checkWorkload(w: Scenario): void {
  checkScenario(expandScenario(w, Number.MAX_SAFE_INTEGER, true));
}

function countersOf(m: Machine): Record<string, number> {
  const out: Record<string, number> = {};
  VM_EVENT_NAMES.forEach((n, i) => {
    out[n] = m.s.vmstat[i] ?? 0;
  });
  return out;
}

function vmpteKb(m: Machine): number {
  let bytes = 0;
  for (const mm of m.s.mms) if (mm) bytes += mm.pgtables_bytes;
  return bytes / 1024;
}

/** The machine `sim` runs: one declaration per thread (array instances included), programs made lazily. */
function simMachine(w: Scenario): Machine {
  const arrays = threadArrays(w);
  const none = new Map<string, number>();
  // The initial thread (never an array: SC007) also runs the setup.
  const decls = threadInstances(w).map((d) => ({
    ...d,
    body: d.decl === w.threads[0] ? [...w.setup, ...d.decl.body] : d.decl.body,
  }));
  const sc: Scenario = {
    ...w,
    setup: [],
    threads: decls.map((d) => ({ pos: d.decl.pos, name: d.name, body: [] })),
    condition: instantiate(w, w.condition, none, arrays),
  };
  const m = newMachine(sc);
  m.ghost = new NoGhost();
  m.lazy = decls.map((d) => new LoopCursor(w, d.body, d.env, arrays));
  threadW(m, 0).done = stmtAt(m, 0, 0) === undefined;
  return m;
}

/** Simulate workload `w` (as parseWorkload() reads it, checked) under `policy`. */
export function simulate(w: Scenario, policy: Policy, opts: SimOptions): SimResult {
  const config: Config = {
    policy,
    ptStrategy: policy.ptStrategy,
    // The kernel always batches fresh folios per CPU; a batch drains when full.
    lruBatching: opts.env?.lruBatching ?? true,
    lockBreaks: false,
    ptWalkSteps: false,
    reclaimRaces: false,
  };
  const m = simMachine(w);
  m.s.work = newWork();
  const rng = new Rng(opts.seed);
  const rates: EnvRates = {
    writebackEnd: opts.env?.writebackEnd ?? WRITEBACK_END_PER_STEP,
    actors: { ...ENV_RATE_DEFAULTS, ...opts.env?.actors },
  };
  const rollback = usesAny(w, MAY_SLEEP);
  const envKernel = sequentialKernel(config);
  // A fault that would sleep on a folio lock `env reclaim` holds waits for the scan to let go.
  const waitFolioLock = w.env.includes('reclaim')
    ? (_s: unknown, folio: number) => finishReclaim(m, rng, envKernel, folio)
    : undefined;
  const phases: PhaseSample[] = [];
  const tickEvery = opts.tickEvery ?? 4096;
  const total = opts.tick ? estimateSteps(w) : 0;
  let steps = 0;
  let peak = 0;
  let started = 1;
  const runnable: number[] = [];
  // Per thread (threads appear as they are forked): minflt, majflt, VmPTE kB, forks.
  const flt: number[][] = [];
  const fig = (i: number): number[] => (flt[i] ??= [0, 0, 0, 0]);
  const mmKb = (i: number): number => {
    const mm = m.s.mms[task(m, m.threads[i]!)?.mm ?? 0];
    return mm ? mm.pgtables_bytes / 1024 : -1;
  };
  const tasks = (): TaskFigures[] =>
    m.threads.map((t, i) => ({
      name: t.name,
      minflt: fig(i)[0]!,
      majflt: fig(i)[1]!,
      vmpteKb: fig(i)[2]!,
      forks: fig(i)[3]!,
    }));
  const result = (kind: SimResult['kind'], extra: Partial<SimResult> = {}): SimResult => ({
    era: policy.id,
    kind,
    steps,
    counters: countersOf(m),
    phases,
    holds: null,
    regs: Object.fromEntries([...m.regs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    vmpte: { peak, final: vmpteKb(m) },
    work: m.s.work ? workTable(m.s.work) : {},
    tasks: tasks(),
    ...extra,
  });
  if (opts.interrupt) m.interrupt = opts.interrupt;
  const budgetOut = (budget: string, inside: boolean) =>
    result('stopped', {
      stoppedBy: budget,
      note: `the ${budget} budget ran out ${inside ? 'inside a step (its counts are partial)' : `after ${steps} steps`}${budget === 'memory' ? ': raise --max-memory' : ''}`,
    });
  for (;;) {
    if (opts.shouldStop?.()) return result('stopped');
    const out = opts.interrupt?.();
    if (out) return budgetOut(out, false);
    runnable.length = 0;
    for (let i = 0; i < m.threads.length; i++) if (canStep(m, i)) runnable.push(i);
    if (runnable.length === 0 && m.blocked.size > 0 && mayWake(m, rates)) {
      // Every thread sleeps on what the environment holds: it acts alone.
      if (environment(m, rng, rates, envKernel)) m.blocked = NONE_BLOCKED;
      continue;
    }
    if (runnable.length === 0) {
      const end = whenNoneCanStep(m, w.file);
      if (end === 'finished') break;
      return result('hang', { hung: end });
    }
    const i = runnable.length === 1 ? runnable[0]! : runnable[rng.below(runnable.length)]!;
    const t = m.threads[i]!;
    const st = nextStmt(m, t)!;
    const k = sequentialKernel(config);
    k.cpu = t.cpu;
    if (waitFolioLock) k.waitFolioLock = waitFolioLock;
    const before = rollback ? cloneState(m.s) : null;
    const faults = m.s.vmstat[PGFAULT] ?? 0;
    const major = m.s.vmstat[PGMAJFAULT] ?? 0;
    if (st.op === 'exit') fig(i)[2] = mmKb(i);
    let r: ReturnType<typeof stepThread>;
    try {
      r = stepThread(m, i, k);
    } catch (e) {
      if (e instanceof StepInterrupted) return budgetOut(e.budget, true);
      throw e;
    }
    if (r.kind === 'error') throw r.error;
    if (r.kind === 'blocked') {
      if (!before)
        return result('tool-bug', {
          note: `${t.name} slept in the kernel at '${stmtText(st)}', in a workload without GUP references or userfaultfd, which sim does not copy its state for`,
        });
      m.s = before;
      m.blocked = withMember(m.blocked, i);
    } else {
      m.blocked = NONE_BLOCKED;
      // Faults are the task's own: minflt counts the minor ones (mm_account_fault()).
      const nMajor = (m.s.vmstat[PGMAJFAULT] ?? 0) - major;
      const f = fig(i);
      f[0]! += (m.s.vmstat[PGFAULT] ?? 0) - faults - nMajor;
      f[1]! += nMajor;
      const kb = mmKb(i);
      if (kb >= 0) f[2] = kb;
      if (st.op === 'fork') f[3]!++;
    }
    steps++;
    if (environment(m, rng, rates, envKernel)) m.blocked = NONE_BLOCKED;
    // Threads are spread over the CPUs as they start (the scheduler's fork balancing).
    for (; started < m.threads.length; started++)
      threadW(m, started).cpu = started % Math.max(1, opts.cpus);
    const pte = vmpteKb(m);
    if (pte > peak) peak = pte;
    if (st.op === 'phase' && r.kind === 'ok')
      phases.push({
        phase: st.name,
        thread: t.name,
        step: steps,
        counters: countersOf(m),
        vmpte: pte,
        work: m.s.work ? workTotals(m.s.work) : {},
      });
    if (opts.tick && steps % tickEvery === 0)
      opts.tick({ era: policy.id, steps, pgfault: m.s.vmstat[0] ?? 0, total });
  }
  const holds = conditionHolds(m);
  const counters = countersOf(m);
  const regs = result('done').regs;
  const final = vmpteKb(m);
  const work = m.s.work ? workTable(m.s.work) : {};
  const figures = tasks();
  teardown(m);
  const violations = checkInvariants(m.s);
  const out: SimResult = {
    era: policy.id,
    kind: violations.length > 0 ? 'tool-bug' : 'done',
    steps,
    counters,
    phases,
    holds,
    regs,
    vmpte: { peak, final },
    work,
    tasks: figures,
  };
  return violations.length > 0 ? { ...out, violations } : out;
}
