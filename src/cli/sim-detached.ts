/**
 * Running `cowherd sim` so that Ctrl-C works: a synchronous simulation never
 * lets the event loop run, so a SIGINT listener in the same thread would
 * only fire after the run. The simulation runs in a worker thread instead
 * (sim-worker.ts); this thread relays its output and, on SIGINT, sets the
 * flag the worker reads at every step, which then prints what it counted so
 * far and ends with exit 130.
 */

import { Worker } from 'node:worker_threads';
import type { Io } from './common.js';
import { EXIT_TOOL_BUG } from './common.js';
import { toolBugReport } from './failure.js';
import type { SimCliOptions } from './sim.js';

type Message = { out: string } | { err: string } | { code: number };

export function runSimDetached(
  io: Io,
  argv: readonly string[],
  paths: string[],
  opts: SimCliOptions,
): Promise<number> {
  const flag = new SharedArrayBuffer(4);
  const worker = new Worker(new URL('./sim-worker.js', import.meta.url), {
    workerData: { argv, paths, opts: { ...opts }, flag },
  });
  const onSigint = () => {
    Atomics.store(new Int32Array(flag), 0, 1);
  };
  process.on('SIGINT', onSigint);
  let code: number | null = null;
  return new Promise((resolve) => {
    worker.on('message', (m: Message) => {
      if ('out' in m) io.out(m.out);
      else if ('err' in m) io.err(m.err);
      else code = m.code;
    });
    worker.on('error', (e) => {
      io.err(toolBugReport(argv, e));
      code = EXIT_TOOL_BUG;
    });
    worker.on('exit', () => {
      process.removeListener('SIGINT', onSigint);
      resolve(code ?? EXIT_TOOL_BUG);
    });
  });
}
