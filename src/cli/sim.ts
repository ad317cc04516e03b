/**
 * `cowherd sim FILE… [--era ID|all] [--seed N] [--cpus N] [--json] [--csv DIR]`:
 * one execution of each workload under each era, with the kernel's counters.
 */

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SimRow } from '../report/sim.js';
import { simCsv, simJson, simText } from '../report/sim.js';
import { ENV_ACTORS, type EnvActor } from '../scenario/ast.js';
import { InputError } from '../scenario/errors.js';
import { parseWorkload } from '../scenario/parse.js';
import { type Calibration, predict } from '../sim/cost.js';
import {
  checkWorkload,
  ENV_RATE_DEFAULTS,
  type SimProgress,
  simulate,
  WRITEBACK_END_PER_STEP,
} from '../sim/sim.js';
import type { Io } from './common.js';
import {
  bundledCalibration,
  EXIT_BUDGET,
  EXIT_INPUT,
  EXIT_OK,
  EXIT_TOOL_BUG,
  loadScenarios,
  memoryBudget,
  selectEras,
} from './common.js';

export interface SimCliOptions {
  readonly era: string;
  readonly seed?: string;
  readonly cpus?: string;
  readonly json?: boolean;
  readonly csv?: string;
  readonly costs?: string;
  readonly writebackEnd?: string;
  readonly envRate?: readonly string[];
  readonly maxMemory?: string;
  readonly pt?: string;
}

/** The calibration file, checked for the fields the cost model reads; null with `none` or no default file. */
export function loadCalibration(path: string | undefined): Calibration | null {
  if (path === 'none') return null;
  const file = path ?? bundledCalibration();
  if (path === undefined && !existsSync(file)) return null;
  let cal: unknown;
  try {
    cal = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(
      'CLI002',
      `--costs: cannot read ${file}: ${(e as Error).message.split('\n')[0]}`,
      file,
      null,
    );
  }
  const c = cal as Partial<Calibration> | null;
  const band = (b: unknown) =>
    typeof b === 'object' &&
    b !== null &&
    ['median', 'lo', 'hi'].every((k) => typeof (b as Record<string, unknown>)[k] === 'number');
  const ok =
    c !== null &&
    typeof c === 'object' &&
    typeof c.ns === 'object' &&
    c.ns !== null &&
    Object.values(c.ns).every(band) &&
    typeof c.base === 'object' &&
    c.base !== null &&
    Object.values(c.base).every(
      (b) => band(b?.ns) && (b.per === 'calls' || b.per === 'pte_writes'),
    ) &&
    typeof c.machine === 'object';
  if (!ok)
    throw new InputError(
      'CLI002',
      `--costs: ${file} is not a calibration file (node bench/calibrate.mjs writes one)`,
      file,
      null,
    );
  return c as Calibration;
}

/** Exit code of a run interrupted by SIGINT (128 + 2), after printing what it counted. */
export const EXIT_INTERRUPTED = 130;

function wholeNumber(text: string | undefined, flag: string, dflt: number, min: number): number {
  if (text === undefined) return dflt;
  if (!/^\d+$/.test(text) || Number(text) < min || !Number.isSafeInteger(Number(text)))
    throw new InputError(
      'CLI001',
      `${flag} takes a whole number ≥ ${min}, not '${text}'`,
      flag,
      null,
    );
  return Number(text);
}

/** A chance per step: a decimal number from 0 to 1 (CLI001 otherwise). */
export function chancePerStep(text: string | undefined, flag: string, dflt: number): number {
  if (text === undefined) return dflt;
  const v = Number(text);
  if (!/^(0|1|0?\.\d+|1\.0*)$/.test(text) || !(v >= 0 && v <= 1))
    throw new InputError('CLI001', `${flag} takes a chance from 0 to 1, not '${text}'`, flag, null);
  return v;
}

/** `--env-rate ACTOR=P` options: the rates by actor (CLI001 on an unknown actor or a bad chance). */
export function envRates(list: readonly string[] | undefined): Record<EnvActor, number> {
  const out = { ...ENV_RATE_DEFAULTS };
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    const actor = item.slice(0, Math.max(eq, 0)) as EnvActor;
    if (eq < 0 || !ENV_ACTORS.includes(actor))
      throw new InputError(
        'CLI001',
        `--env-rate takes ACTOR=P with ACTOR one of ${ENV_ACTORS.join(', ')}, not '${item}'`,
        '--env-rate',
        null,
      );
    out[actor] = chancePerStep(item.slice(eq + 1), `--env-rate ${actor}`, 0);
  }
  return out;
}

/** `sim NAME ERA: steps done / total (percent), faults and their rate, ETA` for stderr. */
export function progressLine(name: string, g: SimProgress, secs: number): string {
  const pct = g.total > 0 ? Math.min(100, (100 * g.steps) / g.total) : 0;
  const rate = Math.round(g.pgfault / Math.max(secs, 1e-3));
  const eta =
    g.total > 0 && g.steps > 0
      ? Math.max(0, Math.round((secs * (g.total - g.steps)) / g.steps))
      : null;
  return `sim ${name} ${g.era}: ${g.steps}/${g.total} steps (${pct.toFixed(0)}%), ${g.pgfault} faults (${rate}/s)${eta === null ? '' : `, about ${eta} s left`}`;
}

/**
 * `cowherd sim`. A detached run (detached.ts) is stopped through
 * Io.interrupted, read at every step; otherwise SIGINT is listened for here,
 * which only works while the event loop can run (an in-process caller that
 * yields).
 */
export function cmdSim(io: Io, paths: string[], o: SimCliOptions, now: () => number): number {
  const seed = wholeNumber(o.seed, '--seed', 1, 0);
  const cpus = wholeNumber(o.cpus, '--cpus', 1, 1);
  const writebackEnd = chancePerStep(o.writebackEnd, '--writeback-end', WRITEBACK_END_PER_STEP);
  const actors = envRates(o.envRate);
  const memory = memoryBudget(o.maxMemory);
  const { policies } = selectEras(o.era, o.pt, false);
  const calibration = loadCalibration(o.costs);
  if (paths.length === 0)
    throw new InputError('CLI002', 'cowherd sim needs a workload file', 'sim', null);
  if (o.csv) {
    for (const f of ['counters.csv', 'phases.csv'])
      if (existsSync(join(o.csv, f)))
        throw new InputError(
          'CLI002',
          `${join(o.csv, f)} exists: sim does not overwrite files; remove it or name another --csv directory`,
          o.csv,
          null,
        );
  }
  const { scenarios, errors } = loadScenarios(paths, {
    parse: parseWorkload,
    check: checkWorkload,
  });
  for (const e of errors) io.err(`${e.format()}\n`);
  if (scenarios.length === 0) return EXIT_INPUT;
  let stop = 0;
  const onSigint = () => {
    stop = EXIT_INTERRUPTED;
  };
  if (!io.interrupted) process.on('SIGINT', onSigint);
  const stopped = () => {
    if (stop === 0) stop = io.interrupted?.() ?? 0;
    return stop !== 0;
  };
  // The memory is read every 64 calls (each step, and every 4,096 pages inside one).
  let calls = 0;
  const overBudget = () =>
    (++calls & 63) === 0 && memory.memory() > memory.maxBytes ? 'memory' : null;
  const rows: SimRow[] = [];
  try {
    for (const w of scenarios) {
      for (const p of policies) {
        const start = now();
        let shown = start;
        const result = simulate(w, p, {
          seed,
          cpus,
          env: { writebackEnd, actors },
          shouldStop: stopped,
          interrupt: overBudget,
          // Every step: a step may take a second (a write over 1 GiB); the clock limits the lines.
          tickEvery: 1,
          tick: (g) => {
            const t = now();
            if (t - shown < 2000) return;
            shown = t;
            io.err(`${progressLine(w.name, g, (t - start) / 1000)}\n`);
          },
        });
        rows.push({
          scenario: w.name,
          file: w.file,
          result,
          ...(calibration ? { prediction: predict(result.work, calibration) } : {}),
          ...(w.claims ? { claims: w.claims } : {}),
          ...(w.env.length > 0 ? { env: w.env } : {}),
        });
        if (stop) break;
      }
      if (stop) break;
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
  const info = { seed, cpus, writebackEnd, envRates: actors, calibration };
  io.out(o.json ? simJson(rows, info) : simText(rows, info));
  if (o.csv) {
    mkdirSync(o.csv, { recursive: true });
    const csv = simCsv(rows);
    writeFileSync(join(o.csv, 'counters.csv'), csv.counters, { flag: 'wx' });
    writeFileSync(join(o.csv, 'phases.csv'), csv.phases, { flag: 'wx' });
  }
  if (stop) return stop;
  if (rows.some((r) => r.result.stoppedBy === 'memory')) return EXIT_BUDGET;
  if (rows.some((r) => r.result.kind === 'tool-bug')) return EXIT_TOOL_BUG;
  return errors.length > 0 ? EXIT_INPUT : EXIT_OK;
}
