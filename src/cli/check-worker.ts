/**
 * One worker thread of `cowherd check --jobs N` (check-pool.ts): it parses
 * the scenarios it is asked about from the text the command loaded (never
 * from the file again, which may have changed), explores one scenario under
 * the eras of a message exactly as a run with one job does (checkPair(),
 * each behaviour once), and posts each pair's row back. A stop flag the pool
 * sets when a signal comes in ends the pair being explored (Io.interrupted).
 */

import { parentPort, workerData } from 'node:worker_threads';
import { policyById } from '../policy/registry.js';
import type { Scenario } from '../scenario/ast.js';
import { checkScenario } from '../scenario/check.js';
import { parseScenario } from '../scenario/parse.js';
import { checkMemo, checkPair } from './check.js';
import type { CheckJob, CheckPoolData, CheckWorkerReply } from './check-pool.js';
import type { Io } from './common.js';
import { memoryBudget } from './common.js';

const data = workerData as CheckPoolData;
const port = parentPort!;
const stop = new Int32Array(data.stop);
const io: Io = {
  out: () => {},
  err: () => {},
  interrupted: () => Atomics.load(stop, 0),
};
const policies = data.policies.map(policyById);
const budget = {
  maxStates: data.maxStates ?? undefined,
  memory: memoryBudget(data.maxMemory ?? undefined),
};
const parsed = new Map<number, Scenario>();

function scenario(i: number): Scenario {
  let sc = parsed.get(i);
  if (!sc) {
    const { source, file } = data.scenarios[i]!;
    sc = parseScenario(source, file);
    checkScenario(sc);
    parsed.set(i, sc);
  }
  return sc;
}

port.on('message', (job: CheckJob) => {
  const sc = scenario(job.scenario);
  const memo = checkMemo(io, sc, budget);
  for (const policy of job.policies) {
    const row = checkPair(io, sc, policies[policy]!, budget, undefined, memo);
    port.postMessage({ scenario: job.scenario, policy, row } satisfies CheckWorkerReply);
  }
});
