/**
 * A long command in a worker thread (runDetached() in detached.ts): it runs
 * synchronously here while the main thread stays free to take signals, which
 * it passes on through a shared flag (Io.interrupted reads it). Output goes
 * back as messages, in order.
 */

import { parentPort, workerData } from 'node:worker_threads';
import type { DetachedIo } from './detached.js';
import { reportFailure } from './failure.js';
import { main } from './main.js';

interface CliWorkerData {
  readonly argv: readonly string[];
  readonly flag: SharedArrayBuffer;
  readonly io: DetachedIo;
}

const data = workerData as CliWorkerData;
const port = parentPort!;
const signal = new Int32Array(data.flag);
const io = {
  out: (text: string) => port.postMessage({ out: text }),
  err: (text: string) => port.postMessage({ err: text }),
  progress: data.io.progress,
  colour: data.io.colour,
  ...(data.io.columns !== null ? { columns: data.io.columns } : {}),
  interrupted: () => Atomics.load(signal, 0),
  parallel: true,
};
let code: number;
try {
  const c = main(data.argv, io);
  code = typeof c === 'number' ? c : await c;
} catch (e) {
  code = reportFailure(io, data.argv, e);
}
port.postMessage({ code });
