/**
 * Running a long command (`check`, `diff`, `explore`, `sim`) so that Ctrl-C
 * and SIGTERM work: a synchronous run never lets the event loop turn, so a
 * signal listener in the same thread would only fire after it. The command
 * runs in a worker thread instead (cli-worker.ts); this thread relays its
 * output and, on the first SIGINT or SIGTERM, sets the flag the worker reads
 * inside its steps (Io.interrupted). The command then prints what it has —
 * the partial matrix, the counters so far — and ends with 130 (SIGINT) or
 * 143 (SIGTERM). A second signal ends the worker at once.
 */

import { Worker } from 'node:worker_threads';
import type { Io } from './common.js';
import { distUrl, EXIT_TOOL_BUG } from './common.js';
import { toolBugReport } from './failure.js';

type Message = { out: string } | { err: string } | { code: number };

/** What a worker needs to rebuild the Io it writes through. */
export interface DetachedIo {
  readonly progress: boolean;
  readonly colour: boolean;
  readonly columns: number | null;
}

const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

export function runDetached(io: Io, argv: readonly string[]): Promise<number> {
  const flag = new SharedArrayBuffer(4);
  const data: DetachedIo = {
    progress: io.progress === true,
    colour: io.colour === true,
    columns: io.columns ?? null,
  };
  const worker = new Worker(distUrl('cli/cli-worker.js'), { workerData: { argv, flag, io: data } });
  let signalled: keyof typeof SIGNAL_EXIT | null = null;
  const onSignal = (sig: keyof typeof SIGNAL_EXIT) => {
    if (signalled !== null) {
      // The second signal: do not wait for the next check inside the step.
      void worker.terminate();
      return;
    }
    signalled = sig;
    Atomics.store(new Int32Array(flag), 0, SIGNAL_EXIT[sig]);
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
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
      process.removeListener('SIGINT', onInt);
      process.removeListener('SIGTERM', onTerm);
      resolve(code ?? (signalled !== null ? SIGNAL_EXIT[signalled] : EXIT_TOOL_BUG));
    });
  });
}
