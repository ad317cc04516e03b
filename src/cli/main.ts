/**
 * The `cowherd` command line: the only place that touches files, stdout and
 * exit codes. Exit 0: everything as expected; 1: a verdict differs from its
 * expectation; 2: an input error (scenario syntax, unknown era, bad
 * option); 3: a tool bug (the model broke its own accounting).
 */

import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import type { Policy } from '../core/points.js';
import { explore } from '../explore/explore.js';
import { PT_STRATEGIES } from '../policy/pt-strategies.js';
import { ERAS } from '../policy/registry.js';
import type { DiffRow } from '../report/diff.js';
import { diffJson, diffText } from '../report/diff.js';
import { erasJson, erasText } from '../report/eras.js';
import { traceJson, traceText } from '../report/trace.js';
import type { Scenario } from '../scenario/ast.js';
import { StepInterrupted } from '../scenario/machine.js';
import { runSequential } from '../scenario/run.js';
import type { CheckCliOptions } from './check.js';
import { cmdCheck } from './check.js';
import type { Io } from './common.js';
import {
  EXIT_BUDGET,
  EXIT_INPUT,
  EXIT_MISMATCH,
  EXIT_OK,
  EXIT_TOOL_BUG,
  interruptedCode,
  itemProgress,
  loadScenarios,
  memoryBudget,
  oneEra,
  oneScenario,
  positiveInt,
} from './common.js';
import { runDetached } from './detached.js';
import type { ExploreCliOptions } from './explore.js';
import { cmdExplore, cmdReplay } from './explore.js';
import { reportFailure } from './failure.js';
import type { KernelCliOptions } from './kernel.js';
import { cmdKernel } from './kernel.js';
import type { ReportCliOptions } from './report.js';
import { cmdReport } from './report.js';
import type { SimCliOptions } from './sim.js';
import { cmdSim } from './sim.js';
import type { ViewCliOptions } from './view.js';
import { cmdView } from './view.js';

export type { Io } from './common.js';
export { bundledScenarios, terminalIo } from './common.js';

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
  opts: {
    json?: boolean;
    sequential?: boolean;
    maxStates?: string;
    maxMemory?: string;
    pt?: string;
  },
): number {
  const pa = oneEra(eraA, 'diff: each side', opts.pt);
  const pb = oneEra(eraB, 'diff: each side', opts.pt);
  const maxStates = positiveInt(opts.maxStates, '--max-states');
  const memory = memoryBudget(opts.maxMemory);
  const { scenarios, errors } = loadScenarios(paths);
  for (const e of errors) io.err(`${e.format()}\n`);
  if (scenarios.length === 0 && errors.length) return EXIT_INPUT;
  const rows: DiffRow[] = [];
  // The verdicts `check` gives (every interleaving), or with --sequential the one run's.
  const verdict = (sc: Scenario, p: Policy, seq: ReturnType<typeof runSequential>) => {
    if (opts.sequential) return seq.kind === 'done' ? seq.verdict : 'tool-bug';
    const r = explore(sc, p, {
      ...(maxStates ? { maxStates } : {}),
      ...memory,
      ...(io.interrupted ? { interrupted: () => interruptedCode(io) !== 0 } : {}),
    });
    return r.kind === 'done' ? r.verdict : r.kind;
  };
  const progress = itemProgress(io, 'diff', scenarios.length, () => performance.now());
  let done = 0;
  for (const sc of scenarios) {
    progress.tick(done);
    const ra = runSequential(sc, pa, { decisions: true });
    const rb = runSequential(sc, pb, { decisions: true });
    const va = verdict(sc, pa, ra);
    const vb = verdict(sc, pb, rb);
    if (interruptedCode(io)) break;
    done++;
    if (va === vb) continue;
    rows.push({
      scenario: sc.name,
      file: sc.file,
      a: { era: pa.id, verdict: va },
      b: { era: pb.id, verdict: vb },
      divergence: firstDivergence(ra, rb),
    });
  }
  progress.end();
  const stopped = interruptedCode(io);
  io.out(
    opts.json
      ? diffJson(rows, pa.id, pb.id)
      : diffText(rows, pa.id, pb.id, done) +
          (stopped
            ? `interrupted after ${done} of ${scenarios.length} scenario(s): the others were not compared\n`
            : ''),
  );
  if (stopped) return stopped;
  if (errors.length) return EXIT_INPUT;
  return rows.length === 0 ? EXIT_OK : EXIT_MISMATCH;
}

function cmdRun(
  io: Io,
  file: string,
  opts: { era: string; json?: boolean; full?: boolean; maxMemory?: string; pt?: string },
): number {
  const one = oneScenario(io, 'run', file, opts.era, opts.pt);
  if (typeof one === 'number') return one;
  const { sc, policy } = one;
  const memory = memoryBudget(opts.maxMemory);
  let r: ReturnType<typeof runSequential>;
  try {
    r = runSequential(sc, policy, {
      trace: true,
      interrupt: () => (memory.memory() > memory.maxBytes ? 'memory' : null),
    });
  } catch (e) {
    if (!(e instanceof StepInterrupted)) throw e;
    io.err(
      `cowherd run: the ${e.budget} budget ran out inside a step of ${sc.file}: no result (raise --max-memory)\n`,
    );
    return EXIT_BUDGET;
  }
  io.out(opts.json ? traceJson(sc, r) : traceText(sc, r, opts.full ? Number.POSITIVE_INFINITY : 8));
  return r.kind === 'tool-bug' ? EXIT_TOOL_BUG : EXIT_OK;
}

function program(
  io: Io,
  argv: readonly string[],
  setCode: (c: number | Promise<number>) => void,
): Command {
  const p = new Command('cowherd')
    .description('An executable, checkable model of Linux anonymous memory, era by era.')
    .exitOverride()
    .version(version(), '-V, --version', 'print the version of cowherd')
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  p.command('check')
    .description(
      'run scenarios against eras and print the verdict matrix (default: the bundled library, every modelled era)',
    )
    .argument('[paths...]', 'scenario files or directories of *.cow files')
    .addOption(new Option('--era <id>', 'era id, or all').default('all'))
    .option(
      '--pt <strategy>',
      "page-table strategy, a list or all: each era is taken with each (ERA/STRATEGY; default: the era's own; cowherd eras lists them)",
    )
    .option('--json', 'print {"results":[{scenario, era, verdict, expected, ok}]}')
    .option(
      '--jobs <n>',
      'scenarios explored at once, each in a worker thread (default: the CPUs, at most 8, from four CPUs on; else 1); the output is the same whatever N',
    )
    .option('--max-states <n>', 'state budget per scenario and era (default 1000000)')
    .option(
      '--max-memory <mib>',
      'memory budget per scenario and era, MiB (default: 85% of the V8 heap limit)',
    )
    .option(
      '--compact',
      'one letter per verdict and short era ids (the default on a terminal too narrow for the matrix)',
    )
    .option(
      '--checkpoint <file>',
      'keep the finished rows in FILE (a new file), so that --resume FILE can go on after a kill',
    )
    .option(
      '--checkpoint-every <secs>',
      'seconds between checkpoints (default 10; 0: after every scenario/era pair)',
    )
    .option(
      '--resume <file>',
      'go on from the checkpoint FILE of the same run (same files, eras, --max-states): the output is that of a run never stopped; FILE keeps being updated',
    )
    .action((paths: string[], o: CheckCliOptions) =>
      setCode(io.detach ? runDetached(io, argv) : cmdCheck(io, paths, o)),
    );
  p.command('eras')
    .description('list every era and proposal with its kernels and whether it is modelled')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      io.out(o.json ? erasJson(ERAS, PT_STRATEGIES) : erasText(ERAS, PT_STRATEGIES));
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
    .option(
      '--pt <strategy>',
      "page-table strategy (default: the era's own; --era ERA/STRATEGY says the same; cowherd eras lists them)",
    )
    .option('--sequential', "compare the sequential runs' verdicts only (quick; misses races)")
    .option('--max-states <n>', 'state budget per scenario and era (default 1000000)')
    .option('--max-memory <mib>', 'memory budget, MiB (default: 85% of the V8 heap limit)')
    .action(
      (
        a: string,
        b: string,
        paths: string[],
        o: { json?: boolean; sequential?: boolean; maxStates?: string; maxMemory?: string },
      ) => setCode(io.detach ? runDetached(io, argv) : cmdDiff(io, a, b, paths, o)),
    );
  p.command('run')
    .description('run one scenario sequentially and print every step and what it changed')
    .argument('<file>', 'scenario file')
    .requiredOption('--era <id>', 'era id')
    .option(
      '--pt <strategy>',
      "page-table strategy (default: the era's own; --era ERA/STRATEGY says the same; cowherd eras lists them)",
    )
    .option('--json', 'print the trace as JSON')
    .option('--full', 'print every change (default: 8 per kind per step)')
    .option(
      '--max-memory <mib>',
      'stop once the heap and typed arrays pass this many MiB (default: 85% of the V8 heap limit)',
    )
    .action(
      (file: string, o: { era: string; json?: boolean; full?: boolean; maxMemory?: string }) =>
        setCode(cmdRun(io, file, o)),
    );
  p.command('explore')
    .description(
      'explore every interleaving of one scenario under one era: Never, Sometimes, Always or Hang',
    )
    .argument('<file>', 'scenario file')
    .requiredOption('--era <id>', 'era id')
    .option(
      '--pt <strategy>',
      "page-table strategy (default: the era's own; --era ERA/STRATEGY says the same; cowherd eras lists them)",
    )
    .option('--json', 'print the result as JSON')
    .option('--max-states <n>', 'stop after this many distinct states (default 1000000)')
    .option('--dfs', 'depth-first (default: breadth-first, shortest witness)')
    .option('--full', 'print every change of the witness (default: 8 per kind per step)')
    .option('--no-por', 'switch partial-order reduction off (same verdicts, more states)')
    .option(
      '--symmetry',
      "count states that differ only in which free PFNs allocations took, in values no statement still to run stores, or in which of the threads that run one program (but for the numbers they store and the pages they own) is where, once, and with the partial-order reduction take one thread's access to pages no other thread touches alone (same verdicts and kinds of final states, fewer states; not used where the scenario uses a PFN number other than to compare it, or runs KSM; values and threads are left alone where it computes with values)",
    )
    .option('--workers <n>', 'worker threads (breadth-first; the same result as one thread)')
    .option('--max-seconds <n>', 'stop after this many seconds with a "limit" result')
    .option(
      '--max-memory <mib>',
      'stop with a "limit" result once the heap and typed arrays pass this many MiB (default: 85% of the V8 heap limit)',
    )
    .option(
      '--bitstate <mib>',
      'keep visited states as 3 bits each in an array of MIB (1..512, a power of two), as SPIN -DBITSTATE: far less memory, some states may be missed (the coverage estimate is printed)',
    )
    .option(
      '--memory <mib>',
      'cap the visited set at MIB: exact 64-bit fingerprints while they fit, then a bitstate array of MIB (with a warning)',
    )
    .option(
      '--checkpoint <file>',
      'keep the search in FILE (a new file) between two states, so that --resume FILE can go on after a kill (one thread)',
    )
    .option(
      '--checkpoint-every <secs>',
      'seconds between checkpoints (default 10; 0: before every state is expanded)',
    )
    .option(
      '--resume <file>',
      'go on from the checkpoint FILE of the same exploration (same file, era, --dfs, --no-por, --symmetry, --max-states): the output is that of a run never stopped; FILE keeps being updated',
    )
    .action((file: string, o: ExploreCliOptions) =>
      setCode(io.detach ? runDetached(io, argv) : cmdExplore(io, file, o)),
    );
  p.command('replay')
    .description('re-run exactly the interleaving a replay token names, printing every step')
    .argument('<token>', 'a token printed by cowherd explore (FILE:ERA:HASH:MOVES)')
    .option('--json', 'print the trace as JSON (docs/trace-format.md)')
    .option('--full', 'print every change (default: 8 per kind per step)')
    .action((token: string, o: { json?: boolean; full?: boolean }) =>
      setCode(cmdReplay(io, token, o)),
    );
  p.command('sim')
    .description(
      "simulate workloads once per era at full scale (loops run, not expanded) and print the kernel's counters",
    )
    .argument('<paths...>', 'workload files or directories of *.cow files')
    .addOption(new Option('--era <id>', 'era id, or all').default('all'))
    .option(
      '--pt <strategy>',
      "page-table strategy, a list or all: each era is taken with each (ERA/STRATEGY; default: the era's own; all: the designs, not their unsafe variants, which cost what their design costs; cowherd eras lists them)",
    )
    .option('--seed <n>', 'seed of the scheduler (default 1); the same seed gives the same output')
    .option('--cpus <n>', 'CPUs the threads are spread over as they start (default 1)')
    .option(
      '--writeback-end <p>',
      "chance per step that the swap device ends the writes in flight (default 0.7, this machine's swap device; docs/sim.md)",
    )
    .option(
      '--env-rate <actor=p>',
      'chance per step that an `env` actor of the file acts: lru_batches, reclaim, ksmd or khugepaged (default 0.1 each; repeat the option for several)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option(
      '--max-memory <mib>',
      'stop a run, with its counters so far and exit 4, once the heap and typed arrays pass this many MiB (default: 85% of the V8 heap limit)',
    )
    .option('--json', 'print {"seed", "cpus", "results":[{scenario, era, counters, phases, ...}]}')
    .option(
      '--csv <dir>',
      'also write counters.csv and phases.csv into this directory (never overwrites)',
    )
    .option(
      '--costs <file>',
      'calibration to predict time with (default: bench/calibration.json, from node bench/calibrate.mjs); none: no prediction',
    )
    .action((paths: string[], o: SimCliOptions) =>
      setCode(io.detach ? runDetached(io, argv) : cmdSim(io, paths, o, () => Date.now())),
    );
  p.command('view')
    .description(
      'serve the viewer on this machine: the verdict matrix, scenarios, traces with the state at every step, era diffs and simulations (default: the bundled library)',
    )
    .argument(
      '[paths...]',
      'scenario files or directories, trace files (explore --json, replay --json), sim results (sim --json)',
    )
    .addOption(
      new Option('--era <id>', 'era id, a list, or all: the matrix columns').default('all'),
    )
    .option('--pt <strategy>', 'page-table strategy, a list or all: each era is taken with each')
    .option('--port <n>', 'TCP port (default: a free one, printed)')
    .option(
      '--host <addr>',
      'loopback address to serve on (default 127.0.0.1; nothing else is taken)',
    )
    .action((paths: string[], o: ViewCliOptions) => setCode(cmdView(io, paths, o)));
  p.command('report')
    .description(
      'write the viewer as a static site (or single HTML files) that opens from the file system with no server and no network',
    )
    .argument(
      '[paths...]',
      'scenario files or directories, trace files (explore --json, replay --json), sim results (sim --json)',
    )
    .option('--html <dir>', 'the directory to write (new, empty, or an earlier report)')
    .option(
      '--single-file',
      'one self-contained HTML file per trace (the witness of each scenario and era, each broken invariant, each trace given)',
    )
    .addOption(new Option('--era <id>', 'era id, a list, or all').default('all'))
    .option('--pt <strategy>', 'page-table strategy, a list or all: each era is taken with each')
    .option(
      '--diff <a,b>',
      'also write the era diff of A and B for each scenario whose verdicts differ (repeat for several pairs)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .action((paths: string[], o: ReportCliOptions) =>
      setCode(io.detach ? runDetached(io, argv) : cmdReport(io, paths, o)),
    );
  p.command('kernel')
    .description(
      'run scenarios on the running Linux kernel through the C probe: Never, Sometimes or Always with counts (default: the bundled library)',
    )
    .argument('[paths...]', 'scenario files or directories of *.cow files')
    .option(
      '--compare',
      "set each observed verdict next to the model's for the era of uname -r; exit 1 on a disagreement",
    )
    .option('--runs <n>', 'runs per scenario (default 100; 1 for a workload, a file with loops)')
    .option(
      '--writeback-end <p>',
      "with --compare, a workload's sim: chance per step that swap writes end (default 0.7)",
    )
    .option('--timeout <ms>', 'deadline of one run; a run past it hangs (default 2000)')
    .option(
      '--no-pin',
      "let the scenario's processes start on any CPU (default: all on CPU 0, as a litmus harness pins; sched_setaffinity in a scenario still moves its thread)",
    )
    .option('--json', 'print {"results":[{scenario, observed, model, agree, ...}]}')
    .action((paths: string[], o: KernelCliOptions) => setCode(cmdKernel(io, paths, o)));
  return p;
}

/** Run the CLI; returns the exit code. */
/** cowherd's version, from its package.json (two levels up from src/cli and dist/cli alike). */
function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    return String(pkg.version);
  } catch {
    return 'unknown';
  }
}

/**
 * Run the CLI. Every command but a detached `sim` finishes here and returns
 * its exit code; `sim` with `io.detach` (the real process, bin/cowherd.js)
 * runs in a worker thread so that Ctrl-C reaches it, and returns a promise.
 */
export function main(argv: readonly string[], io: Io): number | Promise<number> {
  let code: number | Promise<number> = EXIT_OK;
  try {
    program(io, argv, (c) => {
      code = c;
    }).parse(argv as string[], { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT_OK : EXIT_INPUT;
    return reportFailure(io, argv, e);
  }
}

export { toolBugReport } from './failure.js';
