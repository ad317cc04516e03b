/**
 * Exhaustive exploration of a scenario's interleavings. A move is one
 * statement of one thread (one atomic step, as in the sequential runner),
 * taken once for every combination of the nondeterministic choices kernel
 * paths ask for (k.choose()), or one step of an enabled environment actor
 * (an LRU batch drained on some CPU, a reclaim scan taking or releasing a
 * folio). Every reachable machine is visited once, keyed by a 64-bit
 * fingerprint of its canonical encoding; BFS by default, so the witness found
 * first is a shortest one. Final machines are those where no thread can step:
 * finished (the condition is evaluated, then everything exits and the
 * accounting invariants are checked once more) or hung (threads asleep in the
 * kernel). Actors do not keep a machine from being final.
 *
 * Verdicts are data: Never / Sometimes / Always over the finished states, Hang
 * when every final state hangs, with the counts of each kind.
 */

import { checkInvariants, type Violation } from '../core/invariants.js';
import type { EraId, Policy } from '../core/points.js';
import type { Pos, Scenario, Verdict } from '../scenario/ast.js';
import type { GhostCode } from '../scenario/ghost.js';
import { ghostFindings } from '../scenario/ghost.js';
import type { Machine } from '../scenario/machine.js';
import { machineRefs, newMachine } from '../scenario/machine.js';
import { configFor } from '../scenario/run.js';
import { expand, machineKey } from './expand.js';
import type { Choice, Move } from './moves.js';

export interface ExploreProgress {
  readonly states: number;
  readonly transitions: number;
  readonly queue: number;
  readonly depth: number;
}

export interface ExploreOptions {
  /** Stop with kind 'limit' after this many distinct states (default 1,000,000). */
  readonly maxStates?: number;
  /** Depth-first instead of breadth-first (no shortest-witness guarantee). */
  readonly dfs?: boolean;
  /** Partial-order reduction (default on): see localMove(). */
  readonly por?: boolean;
  /** Called every `progressEvery` new states (default 4096) with the counts so far. */
  readonly progress?: (p: ExploreProgress) => void;
  readonly progressEvery?: number;
}

/** One step of a path: who moved, on which CPU, what ran, and what it did. */
export interface PathStep {
  /** Thread name or environment actor (lru_add_drain/N, reclaim). */
  readonly thread: string;
  /** The CPU it ran on; -1 when it does not matter (reclaim). */
  readonly cpu: number;
  /** The statement, or the actor's kernel function. */
  readonly stmt: string;
  /** Source position of the statement; null for actors. */
  readonly pos: Pos | null;
  readonly note: string;
  /** The nondeterministic choices the step made inside the kernel. */
  readonly choices: readonly Choice[];
  readonly move: Move;
}

export interface ExploreStats {
  readonly states: number;
  readonly transitions: number;
  readonly depth: number;
}

export interface FinalCounts {
  /** Finished final states where the condition holds. */
  readonly holds: number;
  /** Finished final states where it does not. */
  readonly fails: number;
  /** Final states where threads are stuck asleep in the kernel. */
  readonly hangs: number;
}

/** The first (with BFS: a shortest) path to a state breaking a design invariant, per code. */
export interface FindingPath {
  readonly code: GhostCode;
  readonly detail: string;
  readonly path: readonly PathStep[];
}

export type ExploreResult = ExploreStats & {
  readonly era: EraId;
  /** Design invariants (ghost.ts) broken in some reachable state; empty when none. */
  readonly findings: readonly FindingPath[];
} & (
    | {
        readonly kind: 'done';
        readonly verdict: Verdict;
        readonly finals: FinalCounts;
        /**
         * A shortest path (with BFS) to a final state of the interesting kind:
         * for `exists`, one where the condition holds; for `forall`, one where it
         * does not; null when there is none.
         */
        readonly witness: readonly PathStep[] | null;
      }
    | { readonly kind: 'limit'; readonly finals: FinalCounts }
    | {
        readonly kind: 'tool-bug';
        readonly violations: readonly Violation[];
        readonly path: readonly PathStep[];
      }
  );

interface Node {
  readonly m: Machine;
  readonly depth: number;
  /** Index of the edge that reached it, -1 for the initial machine. */
  readonly edge: number;
}

interface Edge {
  readonly parent: number;
  readonly step: PathStep;
}

function pathTo(edges: readonly Edge[], edge: number): PathStep[] {
  const out: PathStep[] = [];
  for (let e = edge; e >= 0; e = edges[e]!.parent) out.push(edges[e]!.step);
  return out.reverse();
}

/** Explore every interleaving of a checked scenario under one era. Throws InputError (SC1xx) like the runner. */
export function explore(sc: Scenario, policy: Policy, opts: ExploreOptions = {}): ExploreResult {
  const config = configFor(sc, policy, { lockBreaks: true });
  const maxStates = opts.maxStates ?? 1_000_000;
  const every = opts.progressEvery ?? 4096;
  const wantHolds = sc.quantifier === 'exists';
  const seen = new Set<string>();
  const edges: Edge[] = [];
  const work: (Node | undefined)[] = [{ m: newMachine(sc), depth: 0, edge: -1 }];
  seen.add(machineKey(work[0]!.m));
  let holds = 0;
  let fails = 0;
  let hangs = 0;
  let transitions = 0;
  let depth = 0;
  let witness: PathStep[] | null = null;
  let head = 0;
  let stop: ExploreResult | null = null;
  const findings: FindingPath[] = [];
  const stats = () => ({ era: policy.id, states: seen.size, transitions, depth, findings });
  const bug = (violations: Violation[], edge: number): ExploreResult => ({
    ...stats(),
    kind: 'tool-bug',
    violations,
    path: pathTo(edges, edge),
  });

  while (stop === null && (opts.dfs ? work.length > 0 : head < work.length)) {
    const node = (opts.dfs ? work.pop() : work[head++])!;
    if (!opts.dfs) work[head - 1] = undefined; // let the visited machine go
    depth = Math.max(depth, node.depth);
    const { succs, final } = expand(node.m, config, opts.por !== false);
    for (const { m, step } of succs) {
      transitions++;
      edges.push({ parent: node.edge, step });
      const key = machineKey(m);
      if (seen.has(key)) continue;
      // Invariants are a function of the state: checked once, when it is new.
      const v = checkInvariants(m.s, machineRefs(m));
      if (v.length > 0) {
        stop = bug(v, edges.length - 1);
        break;
      }
      for (const f of ghostFindings(m.s, m.ghost))
        if (!findings.some((x) => x.code === f.code))
          findings.push({ ...f, path: pathTo(edges, edges.length - 1) });
      if (seen.size >= maxStates) {
        stop = { ...stats(), kind: 'limit', finals: { holds, fails, hangs } };
        break;
      }
      seen.add(key);
      work.push({ m, depth: node.depth + 1, edge: edges.length - 1 });
      if (opts.progress && seen.size % every === 0)
        opts.progress({ states: seen.size, transitions, queue: work.length - head, depth });
    }
    if (final?.kind === 'finished') {
      if (final.holds) holds++;
      else fails++;
      if (witness === null && final.holds === wantHolds && node.edge >= 0)
        witness = pathTo(edges, node.edge);
      if (final.violations.length > 0) stop = bug([...final.violations], node.edge);
    } else if (final?.kind === 'hung') {
      hangs++;
    }
  }
  if (stop !== null) return stop;
  const finished = holds + fails;
  const verdict: Verdict =
    finished === 0 ? 'Hang' : holds === 0 ? 'Never' : fails === 0 ? 'Always' : 'Sometimes';
  return { ...stats(), kind: 'done', verdict, finals: { holds, fails, hangs }, witness };
}
