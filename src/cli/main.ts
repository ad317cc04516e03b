/**
 * The `cowherd` command line: the only place that touches files, stdout and
 * exit codes. Exit 0: everything as expected; 1: a verdict differs from its
 * expectation; 2: an input error (scenario syntax, unknown era, bad
 * option); 3: a tool bug (the model broke its own accounting).
 */

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { ToolBug } from '../core/bug.js';
import type { Policy } from '../core/points.js';
import { explore } from '../explore/explore.js';
import { completeEraIds, ERAS, eraInfo } from '../policy/registry.js';
import type { CheckRow } from '../report/check.js';
import { checkJson, checkText } from '../report/check.js';
import type { DiffRow } from '../report/diff.js';
import { diffJson, diffText } from '../report/diff.js';
import { erasJson, erasText } from '../report/eras.js';
import { exploreJson, exploreText } from '../report/explore.js';
import { traceJson, traceText } from '../report/trace.js';
import type { Scenario } from '../scenario/ast.js';
import { checkScenario } from '../scenario/check.js';
import { InputError } from '../scenario/errors.js';
import { parseScenario } from '../scenario/parse.js';
import { runSequential } from '../scenario/run.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

const EXIT_OK = 0;
const EXIT_MISMATCH = 1;
const EXIT_INPUT = 2;
const EXIT_TOOL_BUG = 3;

/** The scenario library shipped with cowherd (…/scenarios next to src/ and dist/). */
export function bundledScenarios(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scenarios');
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
  for (const p of paths) walk(p);
  return out;
}

/** Parse and check every file; all input errors are collected before giving up. */
function loadScenarios(paths: readonly string[]): { scenarios: Scenario[]; errors: InputError[] } {
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
      const sc = parseScenario(readFileSync(f, 'utf8'), shown);
      checkScenario(sc);
      scenarios.push(sc);
    } catch (e) {
      if (e instanceof InputError) errors.push(e);
      else throw e;
    }
  }
  return { scenarios, errors };
}

/** The policies `--era` asks for: `all` is every complete era. */
function selectEras(era: string): { policies: Policy[]; skipped: string[] } {
  if (era === 'all') {
    const ids = completeEraIds();
    return {
      policies: ids.map((id) => eraInfo(id)!.policy!),
      skipped: ERAS.filter((e) => !ids.includes(e.id)).map((e) => e.id),
    };
  }
  const info = eraInfo(era);
  if (!info)
    throw new InputError('CLI001', `unknown era '${era}': cowherd eras lists them`, '--era', null);
  if (!info.policy?.complete)
    throw new InputError('CLI003', `era '${era}' is listed but not modelled yet`, '--era', null);
  return { policies: [info.policy], skipped: [] };
}

function expectationFor(sc: Scenario, era: string) {
  return sc.expect.find((e) => e.era === era) ?? sc.expect.find((e) => e.era === '*') ?? null;
}

function cmdCheck(io: Io, paths: string[], opts: { era: string; json?: boolean }): number {
  const { policies, skipped } = selectEras(opts.era);
  const { scenarios, errors } = loadScenarios(paths);
  if (errors.length) {
    for (const e of errors) io.err(`${e.format()}\n`);
    return EXIT_INPUT;
  }
  const rows: CheckRow[] = [];
  for (const sc of scenarios) {
    for (const p of policies) {
      const exp = expectationFor(sc, p.id);
      const base = {
        scenario: sc.name,
        file: sc.file,
        era: p.id,
        expected: exp?.verdict ?? null,
        provenance: exp?.provenance ?? null,
      };
      const r = runSequential(sc, p);
      if (r.kind === 'tool-bug') {
        rows.push({
          ...base,
          verdict: 'tool-bug',
          ok: false,
          detail: r.violations.map((v) => `${v.code} ${v.detail}`).join('; '),
        });
      } else {
        rows.push({ ...base, verdict: r.verdict, ok: exp === null || exp.verdict === r.verdict });
      }
    }
  }
  io.out(
    opts.json
      ? checkJson(rows)
      : checkText(
          rows,
          policies.map((p) => p.id),
          skipped,
        ),
  );
  if (rows.some((r) => r.verdict === 'tool-bug')) return EXIT_TOOL_BUG;
  return rows.every((r) => r.ok) ? EXIT_OK : EXIT_MISMATCH;
}

/** The first step where the two runs' decisions differ. */
function firstDivergence(
  a: ReturnType<typeof runSequential>,
  b: ReturnType<typeof runSequential>,
): DiffRow['divergence'] {
  const key = (ds: readonly { point: string; choice: string }[]) =>
    ds.map((d) => `${d.point}=${d.choice}`).join('|');
  for (let i = 0; i < Math.min(a.steps.length, b.steps.length); i++) {
    const sa = a.steps[i]!;
    const sb = b.steps[i]!;
    if (sa.thread !== sb.thread || sa.stmt !== sb.stmt || key(sa.decisions) !== key(sb.decisions)) {
      return {
        step: i,
        thread: sa.thread,
        stmt: sa.stmt,
        pos: sa.pos,
        a: sa.decisions,
        b: sb.decisions,
      };
    }
  }
  return null;
}

function cmdDiff(
  io: Io,
  eraA: string,
  eraB: string,
  paths: string[],
  opts: { json?: boolean },
): number {
  const [pa] = selectEras(eraA).policies;
  const [pb] = selectEras(eraB).policies;
  const { scenarios, errors } = loadScenarios(paths);
  if (errors.length) {
    for (const e of errors) io.err(`${e.format()}\n`);
    return EXIT_INPUT;
  }
  const rows: DiffRow[] = [];
  for (const sc of scenarios) {
    const ra = runSequential(sc, pa!, { decisions: true });
    const rb = runSequential(sc, pb!, { decisions: true });
    const va = ra.kind === 'done' ? ra.verdict : 'tool-bug';
    const vb = rb.kind === 'done' ? rb.verdict : 'tool-bug';
    if (va === vb) continue;
    rows.push({
      scenario: sc.name,
      file: sc.file,
      a: { era: pa!.id, verdict: va },
      b: { era: pb!.id, verdict: vb },
      divergence: firstDivergence(ra, rb),
    });
  }
  io.out(
    opts.json ? diffJson(rows, pa!.id, pb!.id) : diffText(rows, pa!.id, pb!.id, scenarios.length),
  );
  return rows.length === 0 ? EXIT_OK : EXIT_MISMATCH;
}

/** The one scenario and the one era that `run` and `explore` take; an exit code after input errors. */
function oneScenario(
  io: Io,
  cmd: string,
  file: string,
  era: string,
): { sc: Scenario; policy: Policy } | number {
  const { policies } = selectEras(era);
  if (policies.length !== 1)
    throw new InputError('CLI001', `${cmd} takes one era: --era ID`, '--era', null);
  const { scenarios, errors } = loadScenarios([file]);
  if (errors.length) {
    for (const e of errors) io.err(`${e.format()}\n`);
    return EXIT_INPUT;
  }
  const sc = scenarios[0];
  if (!sc) throw new InputError('CLI002', `no scenario in ${file}`, file, null);
  return { sc, policy: policies[0]! };
}

function cmdRun(
  io: Io,
  file: string,
  opts: { era: string; json?: boolean; full?: boolean },
): number {
  const one = oneScenario(io, 'run', file, opts.era);
  if (typeof one === 'number') return one;
  const { sc, policy } = one;
  const r = runSequential(sc, policy, { trace: true });
  io.out(opts.json ? traceJson(sc, r) : traceText(sc, r, opts.full ? Number.POSITIVE_INFINITY : 8));
  return r.kind === 'tool-bug' ? EXIT_TOOL_BUG : EXIT_OK;
}

function cmdExplore(
  io: Io,
  file: string,
  opts: { era: string; json?: boolean; maxStates?: string; dfs?: boolean },
): number {
  const maxStates = opts.maxStates === undefined ? undefined : Number(opts.maxStates);
  if (maxStates !== undefined && !(Number.isInteger(maxStates) && maxStates > 0))
    throw new InputError(
      'CLI001',
      '--max-states takes a positive whole number',
      '--max-states',
      null,
    );
  const one = oneScenario(io, 'explore', file, opts.era);
  if (typeof one === 'number') return one;
  const { sc, policy } = one;
  const r = explore(sc, policy, { ...(maxStates ? { maxStates } : {}), dfs: opts.dfs === true });
  const expected = expectationFor(sc, policy.id)?.verdict ?? null;
  io.out(opts.json ? exploreJson(sc, r, expected) : exploreText(sc, r, expected));
  if (r.kind === 'tool-bug') return EXIT_TOOL_BUG;
  return r.kind === 'done' && expected !== null && r.verdict !== expected ? EXIT_MISMATCH : EXIT_OK;
}

function program(io: Io, setCode: (c: number) => void): Command {
  const p = new Command('cowherd')
    .description('An executable, checkable model of Linux anonymous memory, era by era.')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  p.command('check')
    .description(
      'run scenarios against eras and print the verdict matrix (default: the bundled library, every modelled era)',
    )
    .argument('[paths...]', 'scenario files or directories of *.cow files')
    .addOption(new Option('--era <id>', 'era id, or all').default('all'))
    .option('--json', 'print {"results":[{scenario, era, verdict, expected, ok}]}')
    .action((paths: string[], o: { era: string; json?: boolean }) =>
      setCode(cmdCheck(io, paths, o)),
    );
  p.command('eras')
    .description('list every era and proposal with its kernels and whether it is modelled')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      io.out(o.json ? erasJson(ERAS) : erasText(ERAS));
      setCode(EXIT_OK);
    });
  p.command('diff')
    .description(
      'scenarios whose verdicts differ between two eras, with the first step where the runs diverge',
    )
    .argument('<eraA>', 'era id')
    .argument('<eraB>', 'era id')
    .argument('[paths...]', 'scenario files or directories (default: the bundled library)')
    .option('--json', 'print JSON')
    .action((a: string, b: string, paths: string[], o: { json?: boolean }) =>
      setCode(cmdDiff(io, a, b, paths, o)),
    );
  p.command('run')
    .description('run one scenario sequentially and print every step and what it changed')
    .argument('<file>', 'scenario file')
    .requiredOption('--era <id>', 'era id')
    .option('--json', 'print the trace as JSON')
    .option('--full', 'print every change (default: 8 per kind per step)')
    .action((file: string, o: { era: string; json?: boolean; full?: boolean }) =>
      setCode(cmdRun(io, file, o)),
    );
  p.command('explore')
    .description(
      'explore every interleaving of one scenario under one era: Never, Sometimes, Always or Hang',
    )
    .argument('<file>', 'scenario file')
    .requiredOption('--era <id>', 'era id')
    .option('--json', 'print the result as JSON')
    .option('--max-states <n>', 'stop after this many distinct states (default 1000000)')
    .option('--dfs', 'depth-first (default: breadth-first, shortest witness)')
    .action((file: string, o: { era: string; json?: boolean; maxStates?: string; dfs?: boolean }) =>
      setCode(cmdExplore(io, file, o)),
    );
  return p;
}

/** Run the CLI; returns the exit code. */
export function main(argv: readonly string[], io: Io): number {
  let code = EXIT_OK;
  try {
    program(io, (c) => {
      code = c;
    }).parse(argv as string[], { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT_OK : EXIT_INPUT;
    if (e instanceof InputError) {
      io.err(`${e.format()}\n`);
      return EXIT_INPUT;
    }
    if (e instanceof ToolBug) {
      io.err(
        `cowherd: tool bug (the model reached an impossible state; please report): ${e.message}\n`,
      );
      return EXIT_TOOL_BUG;
    }
    throw e;
  }
}
