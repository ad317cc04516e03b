/** `cowherd explore` and `cowherd replay`. */

import { readFileSync } from 'node:fs';
import type { ExploreProgress } from '../explore/explore.js';
import { explore } from '../explore/explore.js';
import { exploreParallel } from '../explore/parallel.js';
import { parseReplayToken, replay, scenarioHash } from '../explore/replay.js';
import { BITSTATE_MAX_BYTES, type VisitedOptions } from '../explore/visited.js';
import { exploreJson, exploreText } from '../report/explore.js';
import { replayEnd, replayLines, traceDoc } from '../report/replay.js';
import { checkScenario } from '../scenario/check.js';
import { InputError } from '../scenario/errors.js';
import { parseScenario } from '../scenario/parse.js';
import type { CheckpointOptions } from './checkpoint.js';
import {
  checkpointPlan,
  exploreRunKey,
  readExploreCheckpoint,
  writeExploreCheckpoint,
} from './checkpoint.js';
import type { Io } from './common.js';
import {
  EXIT_BUDGET,
  EXIT_MISMATCH,
  EXIT_OK,
  EXIT_TOOL_BUG,
  expectationFor,
  interruptedCode,
  memoryBudget,
  oneScenario,
  positiveInt,
  selectEras,
} from './common.js';

/** Progress lines on stderr once a run has taken about a second (never with --json). */
function progressReporter(io: Io, quiet: boolean) {
  const t0 = performance.now();
  let last = t0;
  return {
    tick(p: { states: number; transitions: number; queue: number; depth: number }) {
      const now = performance.now();
      if (quiet || now - t0 < 1000 || now - last < 1000) return;
      last = now;
      const rate = Math.round(p.states / ((now - t0) / 1000));
      io.err(
        `explore: ${p.states} states, ${p.transitions} transitions, queue ${p.queue}, depth ${p.depth}, ${rate} states/s\n`,
      );
    },
    done(states: number) {
      const s = (performance.now() - t0) / 1000;
      if (quiet || s < 1) return;
      const heap = process.memoryUsage().heapUsed / 2 ** 20;
      io.err(
        `explore: ${states} states in ${s.toFixed(1)} s (${Math.round(states / s)} states/s), heap ${heap.toFixed(0)} MiB\n`,
      );
    },
  };
}

/** The options of `cowherd explore` as commander passes them. */
export interface ExploreCliOptions extends CheckpointOptions {
  era: string;
  json?: boolean;
  maxStates?: string;
  dfs?: boolean;
  full?: boolean;
  por?: boolean;
  workers?: string;
  maxSeconds?: string;
  maxMemory?: string;
  bitstate?: string;
  memory?: string;
  symmetry?: boolean;
  pt?: string;
}

/** The visited set --bitstate or --memory ask for (sizes in MiB, powers of two). */
function visitedOptions(opts: ExploreCliOptions): VisitedOptions | undefined {
  const pow2 = (text: string | undefined, flag: string, max: number): number | undefined => {
    const mib = positiveInt(text, flag);
    if (mib === undefined) return undefined;
    if (mib > max || (mib & (mib - 1)) !== 0)
      throw new InputError(
        'CLI001',
        `${flag} takes a power of two from 1 to ${max} (MiB)`,
        flag,
        null,
      );
    return mib * 2 ** 20;
  };
  const bitstateBytes = pow2(opts.bitstate, '--bitstate', BITSTATE_MAX_BYTES / 2 ** 20);
  const capBytes = pow2(opts.memory, '--memory', BITSTATE_MAX_BYTES / 2 ** 20);
  if (bitstateBytes !== undefined && capBytes !== undefined)
    throw new InputError('CLI001', 'take --bitstate or --memory, not both', '--memory', null);
  const flag = bitstateBytes !== undefined ? '--bitstate' : '--memory';
  if ((bitstateBytes ?? capBytes) === undefined) return undefined;
  if ((positiveInt(opts.workers, '--workers') ?? 1) > 1)
    throw new InputError('CLI001', `${flag} takes one thread (drop --workers)`, flag, null);
  if (opts.checkpoint || opts.resume)
    throw new InputError(
      'CLI001',
      `${flag} cannot be checkpointed (a checkpoint keeps every fingerprint): drop --checkpoint or --resume`,
      flag,
      null,
    );
  return bitstateBytes !== undefined ? { bitstateBytes } : { capBytes: capBytes! };
}

export function cmdExplore(io: Io, file: string, opts: ExploreCliOptions): number {
  const maxStates = positiveInt(opts.maxStates, '--max-states');
  const workers = positiveInt(opts.workers, '--workers') ?? 1;
  const maxSeconds = positiveInt(opts.maxSeconds, '--max-seconds');
  const memory = memoryBudget(opts.maxMemory);
  const visited = visitedOptions(opts);
  if (workers > 64) throw new InputError('CLI001', '--workers takes 1..64', '--workers', null);
  if (workers > 1 && opts.dfs)
    throw new InputError(
      'CLI001',
      '--workers needs breadth-first search (drop --dfs)',
      '--workers',
      null,
    );
  const plan = checkpointPlan(opts);
  if (workers > 1 && plan.path !== null)
    throw new InputError(
      'CLI001',
      '--checkpoint and --resume take one thread (drop --workers)',
      '--workers',
      null,
    );
  const one = oneScenario(io, 'explore', file, opts.era, opts.pt);
  if (typeof one === 'number') return one;
  const { sc, policy } = one;
  const run = exploreRunKey(sc, policy.id, {
    por: opts.por !== false,
    dfs: opts.dfs === true,
    maxStates: maxStates ?? null,
    symmetry: opts.symmetry === true,
  });
  const resume = opts.resume ? readExploreCheckpoint(opts.resume, run) : undefined;
  let saved = performance.now();
  const checkpoint =
    plan.path === null
      ? undefined
      : {
          due: () => performance.now() - saved >= plan.everyMs,
          save: (snap: Parameters<typeof writeExploreCheckpoint>[2]) => {
            writeExploreCheckpoint(plan.path!, run, snap);
            saved = performance.now();
          },
        };
  const progress = progressReporter(io, opts.json === true);
  const eopts = {
    ...(maxStates ? { maxStates } : {}),
    dfs: opts.dfs === true,
    por: opts.por !== false,
    ...(opts.symmetry ? { symmetry: true } : {}),
    progress: (p: ExploreProgress) => progress.tick(p),
    ...(maxSeconds ? { maxMillis: maxSeconds * 1000, clock: () => performance.now() } : {}),
    ...memory,
    ...(visited ? { visited } : {}),
    ...(io.interrupted ? { interrupted: () => interruptedCode(io) !== 0 } : {}),
    ...(resume ? { resume } : {}),
    ...(checkpoint ? { checkpoint } : {}),
  };
  const r =
    workers > 1 ? exploreParallel(sc, policy, { ...eopts, workers }) : explore(sc, policy, eopts);
  progress.done(r.states);
  const expected = expectationFor(sc, policy.id)?.verdict ?? null;
  io.out(
    opts.json
      ? exploreJson(sc, policy, r, expected)
      : exploreText(sc, policy, r, expected, { full: opts.full === true }),
  );
  if (r.kind === 'tool-bug') return EXIT_TOOL_BUG;
  if (r.kind === 'limit')
    return r.limit === 'interrupted' ? interruptedCode(io) || 130 : EXIT_BUDGET;
  return r.kind === 'done' && expected !== null && r.verdict !== expected ? EXIT_MISMATCH : EXIT_OK;
}

export function cmdReplay(
  io: Io,
  tokenText: string,
  opts: { json?: boolean; full?: boolean },
): number {
  const token = parseReplayToken(tokenText);
  const policy = selectEras(token.era).policies[0]!;
  let src: string;
  try {
    src = readFileSync(token.file, 'utf8');
  } catch {
    throw new InputError('CLI002', `cannot read ${token.file}`, token.file, null);
  }
  const sc = parseScenario(src, token.file);
  checkScenario(sc);
  if (scenarioHash(sc) !== token.hash)
    throw new InputError(
      'RP002',
      `${token.file} changed since the token was made (hash ${scenarioHash(sc)}, token ${token.hash})`,
      token.file,
      null,
    );
  const out = replay(sc, policy, token.moves);
  if (opts.json) {
    io.out(`${JSON.stringify(traceDoc(sc, out, tokenText), null, 2)}\n`);
  } else {
    const lines = [`scenario ${sc.name} on ${policy.id}: replay of ${token.moves.length} step(s)`];
    if (sc.env.length) lines.push(`environment: ${sc.env.join(', ')}`);
    lines.push(...replayLines(sc, out, opts.full ? Number.POSITIVE_INFINITY : 8));
    lines.push(replayEnd(sc, out));
    io.out(`${lines.join('\n')}\n`);
  }
  return out.violations.length > 0 ? EXIT_TOOL_BUG : EXIT_OK;
}
