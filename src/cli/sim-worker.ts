/**
 * `cowherd sim` in a worker thread (runSimDetached() in sim-detached.ts): the
 * simulation runs synchronously here while the main thread stays free to
 * take SIGINT, which it passes on through a shared flag this side reads at
 * every step. Output goes back as messages, in order.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { reportFailure } from './failure.js';
import { cmdSim, type SimCliOptions } from './sim.js';

interface SimWorkerData {
  readonly argv: readonly string[];
  readonly paths: string[];
  readonly opts: SimCliOptions;
  readonly flag: SharedArrayBuffer;
}

const data = workerData as SimWorkerData;
const port = parentPort!;
const stop = new Int32Array(data.flag);
const io = {
  out: (text: string) => port.postMessage({ out: text }),
  err: (text: string) => port.postMessage({ err: text }),
};
let code: number;
try {
  code = cmdSim(
    io,
    data.paths,
    data.opts,
    () => Date.now(),
    () => Atomics.load(stop, 0) !== 0,
  );
} catch (e) {
  code = reportFailure(io, data.argv, e);
}
port.postMessage({ code });
