/**
 * `cowherd check`: every scenario against every era, explored, as a matrix.
 * Rows stream as each scenario's eras finish; a signal (a detached run,
 * Io.interrupted) stops the pair being explored and prints the partial
 * matrix; `--checkpoint FILE` keeps the finished rows so that `--resume FILE`
 * goes on from there, even after a SIGKILL (checkpoint.ts).
 */

import { availableParallelism } from 'node:os';
import type { Policy } from '../core/points.js';
import { EraMemo } from '../explore/era-memo.js';
import type { ExploreOptions, ExploreProgress } from '../explore/explore.js';
import { explore } from '../explore/explore.js';
import { replayToken } from '../explore/replay.js';
import type { CheckRow, FindingTrace, MatrixScenario } from '../report/check.js';
import {
  checkJson,
  matrixHeader,
  matrixLayout,
  matrixRow,
  matrixSummary,
} from '../report/check.js';
import type { Scenario } from '../scenario/ast.js';
import { InputError } from '../scenario/errors.js';
import type { CheckPair } from './check-pool.js';
import { checkInPool } from './check-pool.js';
import type { CheckpointOptions } from './checkpoint.js';
import { checkpointPlan, checkRunKey, readCheckpoint, writeCheckpoint } from './checkpoint.js';
import type { Io } from './common.js';
import {
  EXIT_BUDGET,
  EXIT_INPUT,
  EXIT_MISMATCH,
  EXIT_OK,
  EXIT_TOOL_BUG,
  expectationFor,
  interruptedCode,
  itemProgress,
  loadScenarios,
  memoryBudget,
  positiveInt,
  selectEras,
} from './common.js';
import { toolBugReport } from './failure.js';

/** The options of `cowherd check` as commander passes them. */
export interface CheckCliOptions extends CheckpointOptions {
  era: string;
  json?: boolean;
  maxStates?: string;
  maxMemory?: string;
  compact?: boolean;
  pt?: string;
  jobs?: string;
}

function sortedByCode<T extends { readonly code: string }>(list: readonly T[]): T[] {
  return [...list].sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
}

/** What `check` explores with: the budgets, the signal flag, the progress line. */
export interface CheckBudget {
  readonly maxStates: number | undefined;
  readonly memory: ReturnType<typeof memoryBudget>;
}

function checkOptions(
  io: Io,
  budget: CheckBudget,
  progress?: (p: ExploreProgress) => void,
): ExploreOptions {
  return {
    ...(budget.maxStates ? { maxStates: budget.maxStates } : {}),
    ...budget.memory,
    ...(io.interrupted ? { interrupted: () => interruptedCode(io) !== 0 } : {}),
    ...(progress ? { progress, progressEvery: 1024 } : {}),
  };
}

/**
 * The explorations of one scenario under the eras of a run, each behaviour
 * once (explore/era-memo.ts): pass it to checkPair() for every era of `sc`.
 */
export function checkMemo(
  io: Io,
  sc: Scenario,
  budget: CheckBudget,
  progress?: (p: ExploreProgress) => void,
): EraMemo {
  return new EraMemo(sc, checkOptions(io, budget, progress));
}

/**
 * One scenario under one era: its row, or null when a signal stopped the
 * exploration. With `memo` (checkMemo() of the same scenario and budget), an
 * era whose decisions are those of an era explored before gets its result.
 */
export function checkPair(
  io: Io,
  sc: Scenario,
  p: Policy,
  budget: CheckBudget,
  progress?: (p: ExploreProgress) => void,
  memo?: EraMemo,
): CheckRow | null {
  const exp = expectationFor(sc, p.id);
  const base = {
    scenario: sc.name,
    file: sc.file,
    era: p.id,
    expected: exp?.verdict ?? null,
    provenance: exp?.provenance ?? null,
  };
  let r: ReturnType<typeof explore>;
  try {
    r = memo ? memo.explore(p) : explore(sc, p, checkOptions(io, budget, progress));
  } catch (e) {
    // One pair that cannot run, or a failure of cowherd's, is reported; the others still run.
    const input = e instanceof InputError;
    return {
      ...base,
      verdict: input ? 'error' : 'tool-bug',
      ok: false,
      detail: input ? e.format() : toolBugReport(['check', sc.file, '--era', p.id], e).trimEnd(),
    };
  }
  if (r.kind === 'tool-bug')
    return {
      ...base,
      verdict: 'tool-bug',
      ok: false,
      states: r.states,
      detail: r.violations.map((v) => `${v.code} ${v.detail}`).join('; '),
      replay: replayToken(
        sc,
        p.id,
        r.path.map((x) => x.move),
      ),
    };
  if (r.kind === 'limit') {
    if (r.limit === 'interrupted') return null;
    return {
      ...base,
      verdict: 'limit',
      ok: false,
      states: r.states,
      detail:
        r.limit === 'memory'
          ? `memory budget reached after ${r.states} states: no verdict (raise --max-memory)`
          : `state limit reached after ${r.states} states: no verdict (raise --max-states)`,
    };
  }
  const codes = [...new Set(r.findings.map((f) => f.code))].sort();
  const breaks = exp?.breaks ?? null;
  const ok =
    exp === null ||
    (exp.verdict === r.verdict && (breaks === null || breaks.join() === codes.join()));
  const traces: FindingTrace[] =
    breaks === null
      ? []
      : [...r.findings]
          .sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0))
          .map((f) => ({
            code: f.code,
            detail: f.detail,
            steps: f.path.map((x) => `${x.thread}: ${x.stmt} => ${x.note}`),
            replay: replayToken(
              sc,
              p.id,
              f.path.map((x) => x.move),
            ),
          }));
  return {
    ...base,
    verdict: r.verdict,
    ok,
    states: r.states,
    ...(codes.length ? { findings: codes } : {}),
    ...(breaks !== null ? { expectedBreaks: breaks } : {}),
    ...(traces.length ? { findingTraces: traces } : {}),
    ...(r.witness
      ? {
          witness: replayToken(
            sc,
            p.id,
            r.witness.map((x) => x.move),
          ),
        }
      : {}),
    ...(r.findings.length
      ? {
          findingPaths: sortedByCode(r.findings).map((f) => ({
            code: f.code,
            replay: replayToken(
              sc,
              p.id,
              f.path.map((x) => x.move),
            ),
          })),
        }
      : {}),
    ...(!ok && r.witness
      ? {
          replay: replayToken(
            sc,
            p.id,
            r.witness.map((x) => x.move),
          ),
        }
      : {}),
  };
}

export function cmdCheck(io: Io, paths: string[], opts: CheckCliOptions): number | Promise<number> {
  const maxStates = positiveInt(opts.maxStates, '--max-states');
  const memory = memoryBudget(opts.maxMemory);
  const jobs = checkJobs(io, opts.jobs);
  const { path: checkpointPath, everyMs: every } = checkpointPlan(opts);
  const { policies, skipped } = selectEras(opts.era, opts.pt);
  const { scenarios, errors } = loadScenarios(paths);
  // A bad file is reported and the others still run; the exit code says so at the end.
  for (const e of errors) io.err(`${e.format()}\n`);
  if (scenarios.length === 0 && errors.length) return EXIT_INPUT;
  const eras = policies.map((p) => p.id);
  const run = checkRunKey(scenarios, eras, maxStates ?? null);
  const restored = new Map<string, CheckRow>();
  if (opts.resume)
    for (const r of readCheckpoint(opts.resume, run)) restored.set(`${r.file}\0${r.era}`, r);
  const loop = checkLoop(io, opts, scenarios, policies, skipped, restored, errors.length, {
    path: checkpointPath,
    every,
    run,
  });
  const budget = { maxStates, memory };
  if (jobs === 1) {
    // The eras of one scenario come one after the other: one memo at a time.
    let memo: EraMemo | null = null;
    let memoOf = -1;
    let next = loop.next();
    while (!next.done) {
      const { scenario, policy } = next.value;
      const sc = scenarios[scenario]!;
      if (memo === null || memoOf !== scenario) {
        memo = checkMemo(io, sc, budget);
        memoOf = scenario;
      }
      next = loop.next(checkPair(io, sc, policies[policy]!, budget, undefined, memo));
    }
    return next.value;
  }
  const order: CheckPair[] = [];
  for (const [i, sc] of scenarios.entries())
    for (const [j, p] of policies.entries())
      if (!restored.has(`${sc.file}\0${p.id}`)) order.push({ scenario: i, policy: j });
  const argv = ['check', ...paths, '--era', opts.era, '--jobs', String(jobs)];
  return checkInPool(io, argv, loop, scenarios, eras, jobs, order, {
    maxStates,
    maxMemory: opts.maxMemory,
  });
}

/**
 * `--jobs`: a positive number, at most 64; by default, in a real process on
 * a machine of four CPUs or more, the CPUs (at most 8), else 1 (in-process:
 * a test, an embedding program). On two CPUs a second worker made the
 * library slower (docs/performance.md): each worker compiles the model
 * again, and the garbage collector already keeps the second CPU busy.
 */
function checkJobs(io: Io, text: string | undefined): number {
  const n = positiveInt(text, '--jobs');
  const cpus = availableParallelism();
  if (n === undefined) return io.parallel && cpus >= 4 ? Math.min(8, cpus) : 1;
  if (n > 64) throw new InputError('CLI001', '--jobs takes 1..64', '--jobs', null);
  return n;
}

/**
 * The matrix, pair by pair in order: yields each pair it needs a row for
 * (not restored from a checkpoint) and takes the row back (null: a signal
 * stopped its exploration); prints rows as scenarios finish; returns the
 * exit code. One loop for one job (rows made in this thread) and for a
 * pool (rows awaited).
 */
function* checkLoop(
  io: Io,
  opts: CheckCliOptions,
  scenarios: readonly Scenario[],
  policies: readonly Policy[],
  skipped: readonly string[],
  restored: ReadonlyMap<string, CheckRow>,
  errors: number,
  checkpoint: { path: string | null; every: number; run: ReturnType<typeof checkRunKey> },
): Generator<CheckPair, number, CheckRow | null> {
  const { path: checkpointPath, every, run } = checkpoint;
  // What the checkpoint keeps: the restored rows and every row since (so a
  // signal that comes before the run has gone past them loses none).
  const done = new Map(restored);
  const clock = () => performance.now();
  let saved = clock();
  const save = (force: boolean) => {
    if (checkpointPath === null || (!force && clock() - saved < every)) return;
    writeCheckpoint(checkpointPath, run, [...done.values()]);
    saved = clock();
  };
  // At once, so that a run killed at any moment after this can be resumed.
  save(true);

  const layout = matrixLayout(
    scenarios,
    policies.map((p) => p.id),
    {
      compact: opts.compact === true,
      colour: io.colour === true,
      ...(io.columns !== undefined ? { columns: io.columns } : {}),
    },
  );
  const text = opts.json !== true;
  if (text) io.out(matrixHeader(layout));
  const total = scenarios.length * policies.length;
  const progress = itemProgress(io, 'check', total - restored.size, clock);
  const rows: CheckRow[] = [];
  const shown: MatrixScenario[] = [];
  let stopped = 0;
  let ran = 0;
  for (const [i, sc] of scenarios.entries()) {
    const first = rows.length;
    for (const [j, p] of policies.entries()) {
      const key = `${sc.file}\0${p.id}`;
      const kept = restored.get(key);
      if (!kept) stopped = interruptedCode(io);
      if (stopped) break;
      const row = kept ?? (yield { scenario: i, policy: j });
      if (row === null) {
        stopped = interruptedCode(io) || 130;
        break;
      }
      rows.push(row);
      if (!kept) {
        done.set(key, row);
        progress.tick(++ran);
        save(every === 0);
      }
    }
    if (rows.length === 0 || rows[rows.length - 1]!.file !== sc.file) break;
    // The scenario's own rows: matrixRow() looks each era's cell up in them.
    if (text) io.out(matrixRow(layout, sc, rows.slice(first), shown[shown.length - 1] ?? null));
    shown.push(sc);
    if (stopped) break;
  }
  progress.end();
  save(true);
  const partial = stopped ? { done: rows.length, total, checkpoint: checkpointPath } : null;
  io.out(
    text ? matrixSummary(layout, shown.length, rows, skipped, partial) : checkJson(rows, partial),
  );
  if (stopped) return stopped;
  if (rows.some((r) => r.verdict === 'tool-bug')) return EXIT_TOOL_BUG;
  if (errors || rows.some((r) => r.verdict === 'error')) return EXIT_INPUT;
  if (rows.some((r) => !r.ok && r.verdict !== 'limit')) return EXIT_MISMATCH;
  return rows.some((r) => r.verdict === 'limit') ? EXIT_BUDGET : EXIT_OK;
}
