// Killing a real `cowherd check` at random moments and resuming it: the
// helper behind check-resume.test.ts (a few seconds of work) and its full
// version in test/slow (every era).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface Ran {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly out: string;
  readonly err: string;
}

/**
 * Run bin/cowherd.js; with `killAfter`, send `signal` that many ms after the
 * start, or with `afterOutput` after its first output (by then the CLI listens
 * for signals: before, a signal may find Node's default action).
 */
export function runBin(
  args: readonly string[],
  killAfter?: number,
  signal: NodeJS.Signals = 'SIGKILL',
  afterOutput = false,
): Promise<Ran> {
  const child = spawn(process.execPath, ['bin/cowherd.js', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let timer: NodeJS.Timeout | null = null;
  const arm = () => {
    if (killAfter !== undefined && timer === null)
      timer = setTimeout(() => child.kill(signal), killAfter);
  };
  child.stdout.on('data', (d) => {
    out += d;
    arm();
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  if (!afterOutput) arm();
  return new Promise((resolve) =>
    child.on('close', (code, sig) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal: sig, out, err });
    }),
  );
}

/** A small generator of numbers in [0, 1) from a seed (mulberry32), for kill moments that replay. */
export function moments(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `cowherd ARGS` (check or explore) killed with SIGKILL after each delay in
 * turn, each time resumed from the checkpoint (or started afresh when the
 * kill came before the first one was written), then run to its end: what
 * the last run printed.
 */
export async function killedAndResumed(
  args: readonly string[],
  dir: string,
  delays: readonly number[],
  every = '0',
): Promise<{ last: Ran; kills: number }> {
  const cp = join(dir, 'run.checkpoint');
  const next = () => [
    ...args,
    ...(existsSync(cp) ? ['--resume', cp] : ['--checkpoint', cp]),
    '--checkpoint-every',
    every,
  ];
  let kills = 0;
  for (const d of delays) {
    const r = await runBin(next(), d);
    if (r.signal === 'SIGKILL') kills++;
  }
  return { last: await runBin(next()), kills };
}
