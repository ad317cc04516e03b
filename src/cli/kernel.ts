/**
 * `cowherd kernel [paths...] [--compare]`: run scenarios on the running
 * kernel through the probe and, with --compare, set each observed verdict
 * next to the model's verdict for the era of `uname -r`.
 */

import { release } from 'node:os';
import type { Policy } from '../core/points.js';
import { explore } from '../explore/explore.js';
import { eraOfRelease } from '../kernel/era.js';
import type { KernelOptions } from '../kernel/run.js';
import { consistent, runOnKernel } from '../kernel/run.js';
import { HostSettings, journalOwner, recoverJournal } from '../kernel/settings.js';
import { eraInfo } from '../policy/registry.js';
import type { KernelRow } from '../report/kernel.js';
import { kernelJson, kernelText } from '../report/kernel.js';
import { addressRegisters, compareWorkload } from '../report/kernel-sim.js';
import type { Scenario, Verdict } from '../scenario/ast.js';
import { parseWorkload } from '../scenario/parse.js';
import { hasLoops } from '../scenario/unroll.js';
import { predict } from '../sim/cost.js';
import { checkWorkload, simulate, WRITEBACK_END_PER_STEP } from '../sim/sim.js';
import type { Io } from './common.js';
import {
  EXIT_INPUT,
  EXIT_MISMATCH,
  EXIT_OK,
  EXIT_TOOL_BUG,
  loadScenarios,
  positiveInt,
} from './common.js';
import { chancePerStep, loadCalibration } from './sim.js';

export interface KernelCliOptions {
  readonly compare?: boolean;
  readonly json?: boolean;
  readonly runs?: string;
  readonly timeout?: string;
  /** commander's --no-pin */
  readonly pin?: boolean;
  readonly writebackEnd?: string;
}

export function cmdKernel(io: Io, paths: string[], o: KernelCliOptions): number {
  const runs = positiveInt(o.runs, '--runs');
  const timeoutMs = positiveInt(o.timeout, '--timeout') ?? 2000;
  chancePerStep(o.writebackEnd, '--writeback-end', WRITEBACK_END_PER_STEP);
  // Workloads (loops, thread arrays) as written: the probe runs their loops.
  const { scenarios, errors } = loadScenarios(paths, {
    parse: parseWorkload,
    check: checkWorkload,
  });
  // A bad file is reported and the others still run; the exit code says so at the end.
  for (const e of errors) io.err(`${e.format()}\n`);
  if (scenarios.length === 0 && errors.length) return EXIT_INPUT;
  const rel = release();
  const era = eraOfRelease(rel) ?? 'unknown';
  const policy = eraInfo(era)?.policy ?? null;
  const owner = journalOwner();
  if (owner !== null) {
    io.err(
      `another cowherd kernel run (pid ${owner}) is changing the kernel's settings; run one at a time\n`,
    );
    return EXIT_INPUT;
  }
  const recovered = recoverJournal();
  if (recovered) io.err(`settings left by an earlier run: ${recovered}\n`);
  const settings = new HostSettings();
  const rows: KernelRow[] = [];
  try {
    for (const sc of scenarios)
      rows.push(
        kernelRow(
          sc,
          // A workload runs once by default, as sim runs it; a scenario 100 times.
          {
            runs: runs ?? (hasLoops(sc) ? 1 : 100),
            timeoutMs,
            settings,
            cpu: o.pin === false ? -1 : 0,
          },
          o,
          policy,
        ),
      );
  } finally {
    const failed = settings.restore();
    if (failed.length) io.err(`could not restore: ${failed.join(', ')}\n`);
  }
  io.out(o.json ? kernelJson(rows, era, rel) : kernelText(rows, era, rel));
  if (rows.some((r) => r.observed === 'ERROR')) return EXIT_TOOL_BUG;
  if (errors.length) return EXIT_INPUT;
  if (rows.some((r) => r.agree === false)) return EXIT_MISMATCH;
  return EXIT_OK;
}

function agreement(
  model: KernelRow['model'],
  observed: Verdict | 'Unknown',
): Pick<KernelRow, 'agree' | 'partial'> {
  if (model === null) return { agree: null, partial: false };
  if (model === 'limit' || model === 'tool-bug') return { agree: false, partial: false };
  return consistent(model, observed);
}

/** One scenario on the kernel, and (with --compare) the model's verdict for the host era. */
function kernelRow(
  sc: Scenario,
  opts: KernelOptions,
  o: KernelCliOptions,
  policy: Policy | null,
): KernelRow {
  const r = runOnKernel(sc, opts);
  const base = {
    scenario: sc.name,
    file: sc.file,
    pos: 0,
    neg: 0,
    hang: 0,
    undetermined: 0,
    systemWide: [],
  };
  if (r.kind !== 'observed')
    return {
      ...base,
      observed: r.kind === 'skip' ? 'SKIP' : 'ERROR',
      model: null,
      agree: null,
      partial: false,
      reason: r.reason,
    };
  let model: KernelRow['model'] = null;
  let workload: KernelRow['workload'];
  if (o.compare && policy && hasLoops(sc)) {
    // A workload: one simulated execution, as `cowherd sim` runs it on one CPU (the probe pins to one).
    const writebackEnd = chancePerStep(o.writebackEnd, '--writeback-end', WRITEBACK_END_PER_STEP);
    const sim = simulate(sc, policy, { seed: 1, cpus: 1, env: { writebackEnd } });
    model =
      sim.kind === 'tool-bug'
        ? 'tool-bug'
        : sim.holds === null
          ? 'limit'
          : sim.holds
            ? 'Always'
            : 'Never';
    const cal = loadCalibration(undefined);
    if (r.last)
      workload = compareWorkload(
        sc.name,
        sim,
        r.last,
        cal ? predict(sim.work, cal) : null,
        addressRegisters(sc),
      );
  } else if (o.compare && policy) {
    const m = explore(sc, policy);
    model = m.kind === 'done' ? m.verdict : m.kind;
  }
  return {
    ...base,
    observed: r.verdict,
    pos: r.pos,
    neg: r.neg,
    hang: r.hang,
    undetermined: r.undetermined,
    systemWide: r.systemWide,
    model,
    ...agreement(model, r.verdict),
    ...(workload ? { workload, agree: agreement(model, r.verdict).agree && workload.agree } : {}),
    reason: '',
  };
}
