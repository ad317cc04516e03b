/** What every cowherd command shares: output, exit codes, loading scenarios, choosing eras. */

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import type { Policy } from '../core/points.js';
import { PT_STRATEGIES, ptStrategyInfo, splitPolicyId } from '../policy/pt-strategies.js';
import { completeEraIds, ERAS, lookupPolicy } from '../policy/registry.js';
import type { Expectation, Scenario } from '../scenario/ast.js';
import { checkScenario } from '../scenario/check.js';
import { InputError } from '../scenario/errors.js';
import { parseScenario } from '../scenario/parse.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** The real process (bin/cowherd.js): long runs may go to a worker thread so that signals reach the CLI. */
  readonly detach?: boolean;
  /**
   * The run may start worker threads of its own (the real process's
   * command thread, cli-worker.ts): `check --jobs` defaults to the CPUs then.
   */
  readonly parallel?: boolean;
  /** stderr is a terminal: long runs of check and diff show their progress there. */
  readonly progress?: boolean;
  /** stdout is a terminal that takes colour (and NO_COLOR is not set). */
  readonly colour?: boolean;
  /** The width of stdout when it is a terminal: a matrix wider than this is printed compact. */
  readonly columns?: number;
  /**
   * A signal asked the run to stop (a detached run, detached.ts): 0 while
   * not, else the exit code it asks for (130 SIGINT, 143 SIGTERM). Long
   * commands read it inside their steps and print what they have.
   */
  readonly interrupted?: () => number;
}

/**
 * What a real process's stdout takes: colour only on a terminal whose TERM is
 * not 'dumb' and when NO_COLOR is unset or empty (no-color.org); the width
 * only on a terminal. bin/cowherd.js passes this into its Io.
 */
export function terminalIo(
  stdout: { readonly isTTY?: boolean; readonly columns?: number },
  env: Readonly<Record<string, string | undefined>>,
): { colour: boolean; columns?: number } {
  const tty = stdout.isTTY === true;
  return {
    colour: tty && !env.NO_COLOR && env.TERM !== 'dumb',
    ...(tty && stdout.columns ? { columns: stdout.columns } : {}),
  };
}

/**
 * A file of the compiled tree (dist/REL), also when this module runs from
 * src/ under the tests: where worker threads and the viewer's bundle live.
 */
export function distUrl(rel: string): URL {
  const here = import.meta.url;
  return here.endsWith('.ts') ? new URL(`../../dist/${rel}`, here) : new URL(`../${rel}`, here);
}

/** The exit code a signal asks for, or 0 (Io.interrupted). */
export function interruptedCode(io: Io): number {
  return io.interrupted?.() ?? 0;
}

/**
 * A progress line on stderr for a run over many items (`check`, `diff`):
 * done / total, the rate and what is left, at most once a second and only
 * after the first second, only on a terminal (Io.progress).
 */
export function itemProgress(io: Io, what: string, total: number, clock: () => number) {
  const t0 = clock();
  let last = t0;
  let shown = false;
  return {
    tick(done: number): void {
      const now = clock();
      if (!io.progress || now - t0 < 1000 || now - last < 1000) return;
      last = now;
      shown = true;
      const secs = (now - t0) / 1000;
      const left = done > 0 ? Math.round((secs * (total - done)) / done) : null;
      io.err(
        `${what}: ${done}/${total} (${(done / secs).toFixed(1)}/s)${left === null ? '' : `, about ${left} s left`}\r`,
      );
    },
    /** Clear the line, so that the result starts on a clean one. */
    end(): void {
      if (shown) io.err(`${' '.repeat(72)}\r`);
    },
  };
}

export const EXIT_OK = 0;
export const EXIT_MISMATCH = 1;
export const EXIT_INPUT = 2;
export const EXIT_TOOL_BUG = 3;
/** A budget (states, time, memory) ran out before a verdict. */
export const EXIT_BUDGET = 4;

/** The scenario library shipped with cowherd (…/scenarios next to src/ and dist/). */
export function bundledScenarios(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scenarios');
}

/** The calibration `cowherd sim` prices work with unless told otherwise (bench/calibrate.mjs writes it). */
export function bundledCalibration(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'calibration.json');
}

/** Scenario files named by `paths` (directories are searched for *.cow), sorted. */
function scenarioFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p);
    } catch {
      throw new InputError('CLI002', `no such file or directory: ${p}`, p, null);
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) {
        const q = join(p, name);
        if (statSync(q).isDirectory() || name.endsWith('.cow')) walk(q);
      }
    } else {
      out.push(p);
    }
  };
  for (const p of paths) {
    const before = out.length;
    walk(p);
    if (out.length === before)
      throw new InputError('CLI002', `no scenario files (*.cow) in ${p}`, p, null);
  }
  return out;
}

/**
 * Parse and check every file; all input errors are collected before giving
 * up. `asWritten` keeps loops and thread arrays (for sim, checked through a
 * sampled expansion); otherwise they are expanded.
 */
export function loadScenarios(
  paths: readonly string[],
  asWritten?: { parse: typeof parseScenario; check: (sc: Scenario) => void },
): {
  scenarios: Scenario[];
  errors: InputError[];
} {
  const scenarios: Scenario[] = [];
  const errors: InputError[] = [];
  let files: string[];
  try {
    files = scenarioFiles(paths.length ? paths : [bundledScenarios()]);
  } catch (e) {
    if (e instanceof InputError) return { scenarios, errors: [e] };
    throw e;
  }
  for (const f of files) {
    const shown = relative(process.cwd(), f) || f;
    try {
      const text = readFileSync(f, 'utf8');
      const sc = (asWritten?.parse ?? parseScenario)(text, shown);
      (asWritten?.check ?? checkScenario)(sc);
      scenarios.push(sc);
    } catch (e) {
      if (e instanceof InputError) errors.push(e);
      else throw e;
    }
  }
  return { scenarios, errors };
}

/** The policy an ERA or ERA/STRATEGY id names (ADR 0013), or the input error why none. */
function policyFor(id: string, flag: string): Policy {
  const r = lookupPolicy(id);
  if ('policy' in r) return r.policy;
  switch (r.error) {
    case 'era':
      throw new InputError(
        'CLI001',
        `unknown era '${r.name}': cowherd eras lists them (a list is written v5.9,v6.18)`,
        flag,
        null,
      );
    case 'era-unmodelled':
      throw new InputError('CLI003', `era '${r.name}' is listed but not modelled yet`, flag, null);
    case 'pt':
      throw new InputError(
        'CLI001',
        `unknown page-table strategy '${r.name}': cowherd eras lists them (${PT_STRATEGIES.map((x) => x.id).join(', ')})`,
        flag,
        null,
      );
    case 'pt-unmodelled':
      throw new InputError(
        'CLI003',
        `page-table strategy '${r.name}' is listed but not modelled yet`,
        flag,
        null,
      );
  }
}

/**
 * The policies `--era` asks for (`all` is every complete era; an id may be
 * ERA/STRATEGY), each taken with every strategy `--pt` names (`all`: every
 * modelled one) when it is given. `skipped`: what `all` left out because it
 * is not modelled yet.
 */
export function selectEras(
  era: string,
  pt?: string,
  /** Whether `--pt all` takes the unsafe variants too (sim prices designs only). */
  unsafe = true,
): { policies: Policy[]; skipped: string[] } {
  const eras: Policy[] = [];
  const skipped: string[] = [];
  for (const id of era.split(',').map((x) => x.trim())) {
    if (id === 'all') {
      const ids = completeEraIds();
      for (const c of ids) eras.push(policyFor(c, '--era'));
      for (const e of ERAS) if (!ids.includes(e.id)) skipped.push(e.id);
      continue;
    }
    eras.push(policyFor(id, '--era'));
  }
  let policies = eras;
  if (pt !== undefined) {
    if (eras.some((p) => p.id.includes('/')))
      throw new InputError(
        'CLI001',
        '--pt takes eras without a strategy (write v6.18 --pt S, or v6.18/S without --pt)',
        '--pt',
        null,
      );
    const strategies: string[] = [];
    for (const id of pt.split(',').map((x) => x.trim())) {
      if (id !== 'all') strategies.push(id);
      else
        for (const x of PT_STRATEGIES)
          if (x.unsafe && !unsafe) continue;
          else if (x.modelled) strategies.push(x.id);
          else skipped.push(x.id);
    }
    policies = eras.flatMap((p) => strategies.map((x) => policyFor(`${p.id}/${x}`, '--pt')));
  }
  // Each policy once, in the order first named.
  const seen = new Set<string>();
  return {
    policies: policies.filter((p) => !seen.has(p.id) && seen.add(p.id)),
    skipped: [...new Set(skipped)],
  };
}

/** The one era a command takes (`run`, `explore`, each side of `diff`): CLI001 for `all` or a list. */
export function oneEra(era: string, what: string, pt?: string): Policy {
  if (pt !== undefined && (pt.includes(',') || pt === 'all'))
    throw new InputError(
      'CLI001',
      `${what} takes one page-table strategy, not '${pt}'`,
      '--pt',
      null,
    );
  const { policies } = selectEras(era, pt);
  if (policies.length !== 1 || era.includes(',') || era === 'all')
    throw new InputError('CLI001', `${what} takes one era, not '${era}'`, '--era', null);
  return policies[0]!;
}

/**
 * The expectation of `id` (ERA or ERA/STRATEGY, ADR 0013): its own row, then
 * the row of every era with that strategy (`*` slash STRATEGY); an unsafe
 * variant then takes its design's expectation (it differs only where a
 * walker races, which a scenario says with a row of its own); a strategy
 * that is the era's default also takes the era's row and `*`; any other
 * strategy has none.
 */
export function expectationFor(sc: Scenario, id: string): Expectation | null {
  const row = (name: string) => sc.expect.find((e) => e.era === name);
  const { era, pt } = splitPolicyId(id);
  if (pt === null) return row(era) ?? row('*') ?? null;
  const own = row(id) ?? row(`*/${pt}`);
  if (own) return own;
  const unsafe = ptStrategyInfo(pt)?.unsafe;
  if (unsafe) return expectationFor(sc, `${era}/${unsafe.design}`);
  const r = lookupPolicy(era);
  return 'policy' in r && r.policy.ptStrategy === pt ? (row(era) ?? row('*') ?? null) : null;
}

/** The one scenario and the one era that `run` and `explore` take; an exit code after input errors. */
export function oneScenario(
  io: Io,
  cmd: string,
  file: string,
  era: string,
  pt?: string,
): { sc: Scenario; policy: Policy } | number {
  const policy = oneEra(era, `${cmd} --era`, pt);
  const files = scenarioFiles([file]);
  if (files.length !== 1)
    throw new InputError(
      'CLI002',
      `${cmd} takes one scenario file; ${file} holds ${files.length} (check takes a directory)`,
      file,
      null,
    );
  const { scenarios, errors } = loadScenarios([file]);
  if (errors.length) {
    for (const e of errors) io.err(`${e.format()}\n`);
    return EXIT_INPUT;
  }
  const sc = scenarios[0];
  if (!sc) throw new InputError('CLI002', `no scenario in ${file}`, file, null);
  return { sc, policy };
}

/** A `--flag N` value: undefined when absent, a CLI001 error unless a positive whole number. */
export function positiveInt(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!(Number.isInteger(n) && n > 0))
    throw new InputError('CLI001', `${flag} takes a positive whole number`, flag, null);
  return n;
}

/**
 * The memory budget of explore, check and run, MiB: `--max-memory`, by
 * default 85 % of the V8 heap limit, measured as the heap in use plus the
 * typed arrays (the memmap and page tables), so that a run ends with its
 * statistics instead of dying in the allocator.
 */
export function memoryBudget(text: string | undefined): { maxBytes: number; memory: () => number } {
  const mib = positiveInt(text, '--max-memory');
  const limit = mib !== undefined ? mib * 2 ** 20 : 0.85 * getHeapStatistics().heap_size_limit;
  return {
    maxBytes: limit,
    // V8's own figures for this thread: process.memoryUsage() also reads the
    // resident set from the system, about ten times the cost, and a search
    // asks every 16 states.
    memory: () => {
      const h = getHeapStatistics();
      return h.used_heap_size + h.external_memory;
    },
  };
}
