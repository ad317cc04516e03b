/**
 * The explorations `cowherd view` runs off its HTTP thread (view.ts): the
 * matrix, one cell after another, and a cell asked for from the page, with
 * its progress. A job is cancelled by ending its worker.
 */

import { parentPort, workerData } from 'node:worker_threads';
import type { ExploreProgress } from '../explore/explore.js';
import { lookupPolicy } from '../policy/registry.js';
import type { CheckRow } from '../report/check.js';
import { checkMemo, checkPair } from './check.js';
import { loadScenarios, memoryBudget } from './common.js';

/** What a worker is asked to do: the cells of these files × these eras, in that order. */
export interface ViewJob {
  readonly files: readonly string[];
  readonly eras: readonly string[];
  /** Post the explorer's progress (states so far) for a single cell. */
  readonly progress: boolean;
}

export type ViewWorkerMessage =
  | { readonly kind: 'cell'; readonly row: CheckRow }
  | { readonly kind: 'progress'; readonly states: number }
  | { readonly kind: 'done' };

const job = workerData as ViewJob;
const port = parentPort!;
const io = { out: () => {}, err: () => {} };
const { scenarios } = loadScenarios(job.files);
const budget = { maxStates: undefined, memory: memoryBudget(undefined) };
const progress = job.progress
  ? (p: ExploreProgress) => port.postMessage({ kind: 'progress', states: p.states })
  : undefined;
for (const sc of scenarios) {
  // Each behaviour of the scenario explored once (explore/era-memo.ts).
  const memo = checkMemo(io, sc, budget, progress);
  for (const era of job.eras) {
    const found = lookupPolicy(era);
    if (!('policy' in found)) continue;
    const row = checkPair(io, sc, found.policy, budget, progress, memo);
    if (row) port.postMessage({ kind: 'cell', row } satisfies ViewWorkerMessage);
  }
}
port.postMessage({ kind: 'done' } satisfies ViewWorkerMessage);
