/**
 * Exhaustive exploration of a scenario's interleavings at statement
 * granularity (one statement is one atomic step, as in the sequential
 * runner; the explorer issue refines steps to lock boundaries). Every
 * reachable machine is visited once, keyed by a 64-bit fingerprint of its
 * canonical encoding; BFS by default, so the witness found first is a
 * shortest one. Final machines are those where no thread can step: finished
 * (the condition is evaluated) or hung (threads asleep in the kernel).
 *
 * Verdicts are data: Never / Sometimes / Always over the finished states, Hang
 * when every final state hangs, with the counts of each kind.
 */

import { Fingerprint, hashState } from '../core/canon.js';
import { checkInvariants, type Violation } from '../core/invariants.js';
import type { EraId, Policy } from '../core/points.js';
import { sequentialKernel } from '../core/points.js';
import type { Pos, Scenario, Verdict } from '../scenario/ast.js';
import { InputError } from '../scenario/errors.js';
import type { Machine } from '../scenario/machine.js';
import {
  canStep,
  cloneMachine,
  conditionHolds,
  newMachine,
  nextStmt,
  stepThread,
} from '../scenario/machine.js';
import { stmtText } from '../scenario/print.js';
import { configFor } from '../scenario/run.js';

export interface ExploreOptions {
  /** Stop with kind 'limit' after this many distinct states (default 1,000,000). */
  readonly maxStates?: number;
  /** Depth-first instead of breadth-first (no shortest-witness guarantee). */
  readonly dfs?: boolean;
}

/** One step of a witness path. */
export interface PathStep {
  readonly thread: string;
  readonly stmt: string;
  readonly pos: Pos;
  readonly note: string;
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

export type ExploreResult = ExploreStats & { readonly era: EraId } & (
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

/** Fingerprint of everything that determines a machine's future. */
function machineKey(m: Machine): string {
  const h = new Fingerprint();
  hashState(m.s, h);
  for (const t of m.threads) {
    h.word(t.pid);
    h.word(t.pc);
    h.word(t.done ? 1 : 0);
  }
  const text = (x: string) => {
    h.word(x.length);
    for (let i = 0; i < x.length; i++) h.word(x.charCodeAt(i));
  };
  for (const b of [...m.blocked].sort((a, b) => a - b)) h.word(b);
  h.word(-1);
  for (const [k, v] of [...m.regs].sort(([a], [b]) => (a < b ? -1 : 1))) {
    text(k);
    h.num(v >>> 0);
  }
  h.word(-2);
  for (const e of [...m.events].sort()) text(e);
  h.word(-3);
  for (const [k, ids] of [...m.pins].sort(([a], [b]) => (a < b ? -1 : 1))) {
    text(k);
    h.words(ids, ids.length);
  }
  // Name bindings: two orders of the same mmaps can leave the same VMAs bound to other names.
  h.word(-4);
  for (const [k, v] of [...m.maps].sort(([a], [b]) => (a < b ? -1 : 1))) {
    text(k);
    h.num(v.addr);
    h.num(v.len);
  }
  h.word(-5);
  for (const named of [m.pipes, m.files])
    for (const [k, v] of [...named].sort(([a], [b]) => (a < b ? -1 : 1))) {
      text(k);
      h.word(v);
    }
  return h.hex();
}

interface Node {
  readonly m: Machine;
  readonly depth: number;
  /** Index of the parent in `edges`, -1 for the initial machine. */
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
  const config = configFor(policy);
  const maxStates = opts.maxStates ?? 1_000_000;
  const wantHolds = sc.quantifier === 'exists';
  const seen = new Set<string>();
  const edges: Edge[] = [];
  const work: Node[] = [{ m: newMachine(sc), depth: 0, edge: -1 }];
  seen.add(machineKey(work[0]!.m));
  let holds = 0;
  let fails = 0;
  let hangs = 0;
  let transitions = 0;
  let depth = 0;
  let witness: PathStep[] | null = null;
  let head = 0;
  const stats = () => ({ era: policy.id, states: seen.size, transitions, depth });
  while (opts.dfs ? work.length > 0 : head < work.length) {
    const node = opts.dfs ? work.pop()! : work[head++]!;
    if (!opts.dfs) work[head - 1] = undefined as unknown as Node; // let the visited machine go
    depth = Math.max(depth, node.depth);
    let stepped = false;
    for (let i = 0; i < node.m.threads.length; i++) {
      if (!canStep(node.m, i)) continue;
      stepped = true;
      const m = cloneMachine(node.m);
      const t = m.threads[i]!;
      const st = nextStmt(m, t)!;
      const k = sequentialKernel(config);
      const r = stepThread(m, i, k);
      if (r.kind === 'error') throw r.error;
      if (r.kind === 'blocked') {
        m.s = node.m.s; // nothing happened; the parent's state is never mutated again
        m.blocked.add(i);
      } else {
        m.blocked.clear();
      }
      transitions++;
      edges.push({
        parent: node.edge,
        step: {
          thread: t.name,
          stmt: stmtText(st),
          pos: st.pos,
          note: r.kind === 'blocked' ? `blocked: ${r.note}` : r.note,
        },
      });
      const v = checkInvariants(m.s);
      if (v.length > 0)
        return {
          ...stats(),
          kind: 'tool-bug',
          violations: v,
          path: pathTo(edges, edges.length - 1),
        };
      const key = machineKey(m);
      if (seen.has(key)) continue;
      if (seen.size >= maxStates)
        return { ...stats(), kind: 'limit', finals: { holds, fails, hangs } };
      seen.add(key);
      work.push({ m, depth: node.depth + 1, edge: edges.length - 1 });
    }
    if (stepped) continue;
    // A final machine: finished, hung, or stuck on the scenario's own awaits.
    if (node.m.threads.every((t) => t.done)) {
      const ok = conditionHolds(node.m);
      if (ok) holds++;
      else fails++;
      if (witness === null && ok === wantHolds && node.edge >= 0)
        witness = pathTo(edges, node.edge);
    } else if (node.m.blocked.size > 0) {
      hangs++;
    } else {
      const stuck = node.m.threads.filter((t) => !t.done);
      const st = nextStmt(node.m, stuck[0]!)!;
      throw new InputError(
        'SC102',
        `deadlock in an interleaving: ${stuck.map((t) => `${t.name} waits at '${stmtText(nextStmt(node.m, t)!)}'`).join(', ')}`,
        sc.file,
        st.pos,
      );
    }
  }
  const finished = holds + fails;
  const verdict: Verdict =
    finished === 0 ? 'Hang' : holds === 0 ? 'Never' : fails === 0 ? 'Always' : 'Sometimes';
  return { ...stats(), kind: 'done', verdict, finals: { holds, fails, hangs }, witness };
}
