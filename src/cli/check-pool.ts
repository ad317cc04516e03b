/**
 * `cowherd check --jobs N`: N scenarios explored at a time, one per worker
 * thread (check-worker.ts). Each scenario/era pair is explored exactly as
 * with one job, so a row does not depend on N; the command takes the rows in
 * matrix order (row()), whatever order they finish in, and prints the same
 * bytes. A worker takes a scenario with the eras still to do, and the next
 * one as soon as it is free, so one slow scenario (a gigabyte mapping) does
 * not hold up the others; within its scenario it explores each behaviour
 * once (explore/era-memo.ts).
 */

import { Worker } from 'node:worker_threads';
import type { CheckRow } from '../report/check.js';
import type { Scenario } from '../scenario/ast.js';
import type { Io } from './common.js';
import { distUrl, interruptedCode } from './common.js';
import { reportFailure } from './failure.js';

/** One pair: indices into the scenarios and policies the pool was made with. */
export interface CheckPair {
  readonly scenario: number;
  readonly policy: number;
}

/**
 * What a worker is given at a time: one scenario under the eras still to do,
 * so that it explores each behaviour of the scenario once (era-memo.ts).
 */
export interface CheckJob {
  readonly scenario: number;
  readonly policies: readonly number[];
}

/** What each worker starts with. */
export interface CheckPoolData {
  readonly scenarios: readonly { readonly file: string; readonly source: string }[];
  readonly policies: readonly string[];
  readonly maxStates: number | null;
  readonly maxMemory: string | null;
  /** Int32 slot 0: the exit code a signal asks for, 0 while none did (Io.interrupted). */
  readonly stop: SharedArrayBuffer;
}

/** A worker's answer, one per pair: its row, or null when the stop flag ended its exploration. */
export interface CheckWorkerReply extends CheckPair {
  readonly row: CheckRow | null;
}

const key = (j: CheckPair) => `${j.scenario} ${j.policy}`;

interface Pending {
  resolve(row: CheckRow | null): void;
  reject(e: unknown): void;
}

export class CheckPool {
  private readonly workers: Worker[] = [];
  private readonly queue: CheckJob[];
  private readonly done = new Map<string, CheckRow | null>();
  private readonly waiting = new Map<string, Pending>();
  private readonly stopFlag: Int32Array;
  private failure: { error: unknown } | null = null;

  /** Start `jobs` workers on the pairs of `order`, a scenario's pairs at a time, in that order. */
  constructor(
    scenarios: readonly Scenario[],
    policies: readonly string[],
    budget: { maxStates: number | undefined; maxMemory: string | undefined },
    jobs: number,
    order: readonly CheckPair[],
  ) {
    const batches: CheckJob[] = [];
    for (const pair of order) {
      const last = batches[batches.length - 1];
      if (last?.scenario === pair.scenario) (last.policies as number[]).push(pair.policy);
      else batches.push({ scenario: pair.scenario, policies: [pair.policy] });
    }
    this.queue = batches.reverse();
    const stop = new SharedArrayBuffer(4);
    this.stopFlag = new Int32Array(stop);
    const data: CheckPoolData = {
      scenarios: scenarios.map((sc) => ({ file: sc.file, source: sc.source })),
      policies,
      maxStates: budget.maxStates ?? null,
      maxMemory: budget.maxMemory ?? null,
      stop,
    };
    for (let i = 0; i < Math.min(jobs, batches.length); i++) {
      const w = new Worker(distUrl('cli/check-worker.js'), { workerData: data });
      // A reply per pair; the worker is free once its job's last pair is in.
      let left = 0;
      const feed = () => {
        const job = this.queue.pop();
        if (!job) return;
        left = job.policies.length;
        w.postMessage(job);
      };
      w.on('message', (reply: CheckWorkerReply) => {
        this.settle(reply, reply.row);
        if (--left === 0) feed();
      });
      // A worker that dies (a failure of cowherd's outside any one pair's
      // exploration) fails every pair still to come.
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => {
        if (this.failure === null && this.waiting.size + this.queue.length > 0 && code !== 0)
          this.fail(new Error(`tool bug: a check worker exited with code ${code}`));
      });
      this.workers.push(w);
      feed();
    }
  }

  /** The row of one pair of the order, once explored; null when a stop ended it first. */
  row(job: CheckPair): Promise<CheckRow | null> {
    const k = key(job);
    if (this.done.has(k)) {
      const row = this.done.get(k)!;
      this.done.delete(k);
      return Promise.resolve(row);
    }
    if (this.failure !== null) return Promise.reject(this.failure.error);
    return new Promise((resolve, reject) => this.waiting.set(k, { resolve, reject }));
  }

  /** Ask the workers to end the pairs they explore and take no more (a signal came in). */
  stop(code: number): void {
    Atomics.store(this.stopFlag, 0, code);
    for (const j of this.queue.splice(0))
      for (const policy of j.policies) this.settle({ scenario: j.scenario, policy }, null);
  }

  /** End every worker. */
  async close(): Promise<void> {
    this.stop(130);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private settle(job: CheckPair, row: CheckRow | null): void {
    const k = key(job);
    const p = this.waiting.get(k);
    if (p) {
      this.waiting.delete(k);
      p.resolve(row);
    } else this.done.set(k, row);
  }

  private fail(error: unknown): void {
    if (this.failure !== null) return;
    this.failure = { error };
    for (const p of this.waiting.values()) p.reject(error);
    this.waiting.clear();
  }
}

/** Drive the matrix with rows from a pool of `jobs` workers; the same output as one job. */
export async function checkInPool(
  io: Io,
  argv: readonly string[],
  loop: Generator<CheckPair, number, CheckRow | null>,
  scenarios: readonly Scenario[],
  eras: readonly string[],
  jobs: number,
  order: readonly CheckPair[],
  budget: { maxStates: number | undefined; maxMemory: string | undefined },
): Promise<number> {
  const pool = new CheckPool(scenarios, eras, budget, jobs, order);
  // The command is asynchronous here: a signal's flag is read between the
  // pool's messages and passed on to the workers.
  const watch = setInterval(() => {
    const code = interruptedCode(io);
    if (code !== 0) pool.stop(code);
  }, 50);
  try {
    let next = loop.next();
    while (!next.done) next = loop.next(await pool.row(next.value));
    return next.value;
  } catch (e) {
    // An input error (a checkpoint that cannot be written) or a worker that died.
    return reportFailure(io, argv, e);
  } finally {
    clearInterval(watch);
    await pool.close();
  }
}
