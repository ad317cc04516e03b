/**
 * The explorer on worker threads: a level-synchronous breadth-first search.
 * The main thread keeps the visited set, the edges and every count (search.ts)
 * and merges the workers' answers in the order the sequential search would
 * visit the states, so the result — verdict, counts, witness, findings — is
 * the sequential one, byte for byte, whatever the number of workers. Workers
 * keep the machines (worker.ts): each expands the frontier nodes it owns and
 * keeps the new states it generated; between levels the main thread moves
 * machines (wire.ts) from workers with more than their share to those with
 * less.
 *
 * The main thread waits for answers synchronously (Atomics.wait on a shared
 * counter the workers bump, then receiveMessageOnPort), so explore stays a
 * plain function.
 */

import type { MessagePort } from 'node:worker_threads';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { Violation } from '../core/invariants.js';
import type { Policy } from '../core/points.js';
import type { Pos, Scenario } from '../scenario/ast.js';
import type { ErrorCode } from '../scenario/errors.js';
import { InputError } from '../scenario/errors.js';
import type { Finding } from '../scenario/ghost.js';
import { newMachine } from '../scenario/machine.js';
import { configFor } from '../scenario/run.js';
import type { MachineData } from '../scenario/wire.js';
import type { Final } from './expand.js';
import { stepsOf } from './expand.js';
import type { ExploreOptions, ExploreResult } from './explore.js';
import { lanesOf } from './fingerprint-set.js';
import type { Move } from './moves.js';
import { Search } from './search.js';
import { SharedSeen } from './shared-seen.js';
import { type SymmetryLevel, symmetryLevel, symmetryReport } from './symmetry.js';

export type ToWorker =
  | { readonly type: 'init' }
  | { readonly type: 'export'; readonly keys: readonly string[] }
  | {
      readonly type: 'expand';
      readonly nodes: readonly { readonly index: number; readonly key: string }[];
      readonly incoming: readonly { readonly index: number; readonly data: MachineData }[];
    };

type SuccReply =
  | {
      readonly key: string;
      readonly known?: undefined;
      readonly move: Move;
      /** Absent when there are none. */
      readonly violations?: readonly Violation[];
      readonly findings?: readonly Finding[];
    }
  /** A state of an earlier level (in the shared visited set): only the transition counts. */
  | { readonly key: string; readonly known: true };

type FromWorker =
  | { readonly type: 'init'; readonly key: string }
  | { readonly type: 'export'; readonly data: readonly MachineData[] }
  | {
      readonly type: 'expand';
      readonly results: readonly {
        readonly index: number;
        readonly final: Final | null;
        readonly succs: readonly SuccReply[];
      }[];
    }
  | {
      readonly type: 'input-error';
      readonly code: ErrorCode;
      readonly message: string;
      readonly file: string;
      readonly pos: Pos | null;
    }
  | { readonly type: 'crash'; readonly message: string }
  /** The main thread raised the stop flag (a budget ran out) while this worker expanded. */
  | { readonly type: 'interrupted' };

interface FrontierNode {
  readonly key: string;
  readonly depth: number;
  readonly edge: number;
  /** The worker holding the machine. */
  owner: number;
}

/** The compiled worker next to this module (dist/), also when this module runs from src/ under the tests. */
function workerUrl(): URL {
  const here = import.meta.url;
  return here.endsWith('.ts')
    ? new URL('../../dist/explore/worker.js', here)
    : new URL('./worker.js', here);
}

class Pool {
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  private readonly signal = new Int32Array(new SharedArrayBuffer(4 * 64));
  /** Raised when a budget runs out while the workers expand: they stop inside their steps. */
  private readonly stop = new Int32Array(new SharedArrayBuffer(4));

  constructor(
    sc: Scenario,
    policy: Policy,
    por: boolean,
    symmetry: boolean,
    /** Which symmetries the fingerprints apply (symmetry.ts). */
    level: SymmetryLevel,
    /** Independent accesses taken alone (independence.ts): under the symmetry, unless por is 'local'. */
    independence: boolean,
    n: number,
    seen: SharedSeen,
  ) {
    for (let i = 0; i < n; i++) {
      const { port1, port2 } = new MessageChannel();
      const w = new Worker(workerUrl(), {
        workerData: {
          source: sc.source,
          file: sc.file,
          era: policy.id,
          por,
          symmetry,
          level,
          independence,
          port: port2,
          signal: this.signal,
          stop: this.stop,
          index: i,
          seen: seen.buffer,
        },
        transferList: [port2],
      });
      w.unref();
      this.workers.push(w);
      this.ports.push(port1);
    }
  }

  send(i: number, msg: ToWorker): void {
    this.ports[i]!.postMessage(msg);
  }

  /**
   * Wait for worker i's answer; `budget` is polled meanwhile, and once it
   * names a budget the workers are told to stop.
   */
  receive(i: number, budget: () => string | null = () => null): FromWorker {
    for (;;) {
      if (Atomics.load(this.stop, 0) === 0 && budget() !== null) Atomics.store(this.stop, 0, 1);
      const v = Atomics.load(this.signal, i);
      const r = receiveMessageOnPort(this.ports[i]!);
      if (r) {
        const msg = r.message as FromWorker;
        if (msg.type === 'input-error')
          throw new InputError(msg.code, msg.message, msg.file, msg.pos);
        if (msg.type === 'crash') throw new Error(`explorer worker ${i} failed: ${msg.message}`);
        return msg;
      }
      Atomics.wait(this.signal, i, v, 100);
    }
  }

  close(): void {
    for (const p of this.ports) p.close();
    for (const w of this.workers) void w.terminate();
  }
}

/** Explore with `workers` worker threads (BFS only); the same result as explore(). */
export function exploreParallel(
  sc: Scenario,
  policy: Policy,
  opts: ExploreOptions & { readonly workers: number },
): ExploreResult {
  const n = opts.workers;
  if (!(Number.isInteger(n) && n >= 1 && n <= 64)) throw new Error(`workers: 1..64, not ${n}`);
  if (opts.dfs) throw new Error('the parallel explorer is breadth-first only');
  const shared = new SharedSeen(opts.maxStates ?? 1_000_000);
  const level = symmetryLevel(opts.symmetry);
  const symmetry = level ? symmetryReport(sc, level) : null;
  const pool = new Pool(
    sc,
    policy,
    opts.por !== false,
    symmetry?.applied === true,
    level ?? 'pfns',
    symmetry?.applied === true && opts.por !== 'local',
    n,
    shared,
  );
  try {
    const config = configFor(sc, policy, { lockBreaks: true });
    const search = new Search(sc, policy.id, opts, (moves) =>
      stepsOf(newMachine(sc), moves, config),
    );
    pool.send(0, { type: 'init' });
    const init = pool.receive(0);
    if (init.type !== 'init') throw new Error('worker protocol: expected init');
    search.root(lanesOf(init.key));
    shared.add(init.key);
    let frontier: FrontierNode[] = [{ key: init.key, depth: 0, edge: -1, owner: 0 }];
    while (frontier.length > 0 && search.stop === null) {
      const incoming = rebalance(pool, frontier, n);
      for (let w = 0; w < n; w++) {
        const nodes = frontier.flatMap((f, index) =>
          f.owner === w && !incoming[w]!.some((x) => x.index === index)
            ? [{ index, key: f.key }]
            : [],
        );
        pool.send(w, { type: 'expand', nodes, incoming: incoming[w]! });
      }
      const byIndex: {
        w: number;
        r: Extract<FromWorker, { type: 'expand' }>['results'][number];
      }[] = [];
      let interrupted = false;
      for (let w = 0; w < n; w++) {
        const a = pool.receive(w, () => search.budgetLeft());
        if (a.type === 'interrupted') interrupted = true;
        else if (a.type !== 'expand') throw new Error('worker protocol: expected expand');
        else for (const r of a.results) byIndex[r.index] = { w, r };
      }
      if (interrupted) {
        search.budgetOut(search.budgetLeft() ?? 'time');
        break;
      }
      const next: FrontierNode[] = [];
      for (let index = 0; index < frontier.length && search.stop === null; index++) {
        const node = frontier[index]!;
        const { w, r } = byIndex[index]!;
        search.visit(node.depth);
        for (const sr of r.succs) {
          if (sr.known) {
            search.seenSuccessor();
            continue;
          }
          const edge = search.successor(node.edge, lanesOf(sr.key), sr.move, () => ({
            violations: sr.violations ?? [],
            findings: sr.findings ?? [],
          }));
          if (edge >= 0) {
            next.push({ key: sr.key, depth: node.depth + 1, edge, owner: w });
            search.tick(frontier.length - index - 1 + next.length);
          }
          if (search.stop !== null) break;
        }
        search.final(node.edge, r.final);
      }
      for (const f of next) shared.add(f.key);
      frontier = next;
    }
    const result = search.result();
    return symmetry ? { ...result, symmetry } : result;
  } finally {
    pool.close();
  }
}

/**
 * Move machines from workers holding more than their share of the frontier
 * to those holding less; returns, per worker, the machines it receives
 * (with their frontier index), and updates the owners.
 */
function rebalance(
  pool: Pool,
  frontier: FrontierNode[],
  n: number,
): { index: number; data: MachineData }[][] {
  const incoming: { index: number; data: MachineData }[][] = Array.from({ length: n }, () => []);
  const share = Math.ceil(frontier.length / n);
  const held: number[][] = Array.from({ length: n }, () => []);
  frontier.forEach((f, i) => {
    held[f.owner]!.push(i);
  });
  const surplus: number[] = [];
  for (let w = 0; w < n; w++) surplus.push(...held[w]!.splice(share));
  if (surplus.length === 0) return incoming;
  // Ask every giving worker for its machines at once, then hand them out.
  const from = new Map<number, number[]>();
  for (const i of surplus)
    from.set(frontier[i]!.owner, [...(from.get(frontier[i]!.owner) ?? []), i]);
  for (const [w, idx] of from)
    pool.send(w, { type: 'export', keys: idx.map((i) => frontier[i]!.key) });
  const data = new Map<number, MachineData>();
  for (const [w, idx] of from) {
    const a = pool.receive(w);
    if (a.type !== 'export') throw new Error('worker protocol: expected export');
    idx.forEach((i, j) => {
      data.set(i, a.data[j]!);
    });
  }
  let to = 0;
  for (const i of surplus) {
    while (held[to]!.length >= share) to++;
    held[to]!.push(i);
    frontier[i]!.owner = to;
    incoming[to]!.push({ index: i, data: data.get(i)! });
  }
  return incoming;
}
