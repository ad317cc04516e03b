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

import { Fingerprint, hashState } from '../core/canon.js';
import { checkInvariants, type Violation } from '../core/invariants.js';
import type { EraId, Policy } from '../core/points.js';
import type { Pos, Scenario, Verdict } from '../scenario/ast.js';
import { envSteps } from '../scenario/env.js';
import { InputError } from '../scenario/errors.js';
import type { GhostCode } from '../scenario/ghost.js';
import { ghostFindings } from '../scenario/ghost.js';
import type { Machine } from '../scenario/machine.js';
import {
  canStep,
  cloneMachine,
  conditionHolds,
  machineRefs,
  newMachine,
  nextStmt,
  teardown,
} from '../scenario/machine.js';
import { stmtText } from '../scenario/print.js';
import { configFor } from '../scenario/run.js';
import type { Choice, Move } from './moves.js';
import { applyMove } from './moves.js';

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

function byKey<V>(m: ReadonlyMap<string, V>): [string, V][] {
  return [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Fingerprint of everything that determines a machine's future. */
export function machineKey(m: Machine): string {
  const h = new Fingerprint();
  hashState(m.s, h);
  for (const t of m.threads) {
    h.word(t.pid);
    h.word(t.pc);
    h.word(t.cpu);
    h.word(t.done ? 1 : 0);
    const kp = t.kpath;
    if (kp) {
      const p = kp.pending;
      h.word(1);
      h.num(p.address);
      h.num(p.orig_pte);
      h.word(p.page);
      h.word(p.unshare ? 1 : 0);
      h.word(kp.page);
      h.num(kp.value === undefined ? -1 : kp.value);
    } else {
      h.word(0);
    }
  }
  const text = (x: string) => {
    h.word(x.length);
    for (let i = 0; i < x.length; i++) h.word(x.charCodeAt(i));
  };
  for (const b of [...m.blocked].sort((a, b) => a - b)) h.word(b);
  h.word(-1);
  for (const [k, v] of byKey(m.regs)) {
    text(k);
    h.num(v >>> 0);
  }
  h.word(-2);
  for (const e of [...m.events].sort()) text(e);
  h.word(-3);
  for (const [k, ids] of byKey(m.pins)) {
    text(k);
    h.words(ids, ids.length);
  }
  // Name bindings: two orders of the same mmaps can leave the same VMAs bound to other names.
  h.word(-4);
  for (const [k, v] of byKey(m.maps)) {
    text(k);
    h.num(v.addr);
    h.num(v.len);
  }
  h.word(-5);
  for (const named of [m.pipes, m.files])
    for (const [k, v] of byKey(named)) {
      text(k);
      h.word(v);
    }
  // Ghost state of the design invariants: what each process is entitled to see.
  h.word(-6);
  const [d1, d2] = m.ghost.digest();
  h.word(d1);
  h.word(d2);
  for (const [id, o] of [...m.ghost.origin].sort(([a], [b]) => a - b)) {
    h.word(id);
    h.num(o.key);
    h.word(o.pin ? 1 : 0);
  }
  h.word(-7);
  for (const [pipe, bufs] of [...m.ghost.pipes].sort(([a], [b]) => a - b)) {
    h.word(pipe);
    h.word(bufs.length);
    for (const b of bufs) {
      h.num(b.want + 1);
      h.num(b.key + 1);
    }
  }
  return h.hex();
}

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

/** Every move thread `i` can make: one per combination of the kernel's choices. */
function threadSuccessors(
  i: number,
  run: (mv: Move) => { m: Machine; choices: readonly Choice[] },
): void {
  const pending: number[][] = [[]];
  while (pending.length > 0) {
    const picks = pending.pop()!;
    const { choices } = run({ kind: 'thread', index: i, picks });
    for (let j = picks.length; j < choices.length; j++) {
      const prefix = choices.slice(0, j).map((c) => c.pick);
      for (let o = 1; o < choices[j]!.options.length; o++) pending.push([...prefix, o]);
    }
  }
}

/**
 * Partial-order reduction by persistent sets of one move. A statement is
 * *local* when it touches nothing any other move reads or writes and no other
 * move can disable it: `sched_setaffinity` (the thread's own CPU), `signal`
 * (events are only ever added) and an `await` whose event is set. Such a move
 * commutes with every other move, so every final machine reachable from a
 * state is reachable through that move first: the explorer takes it alone
 * (a final machine has no thread move enabled, so any path to one contains
 * the local move, which can be moved to the front). Returns the thread index,
 * or -1.
 */
function localMove(m: Machine): number {
  for (let i = 0; i < m.threads.length; i++) {
    if (!canStep(m, i)) continue;
    const op = nextStmt(m, m.threads[i]!)!.op;
    if (op === 'sched_setaffinity' || op === 'signal' || op === 'await') return i;
  }
  return -1;
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
    const successor = (mv: Move): { m: Machine; choices: readonly Choice[] } => {
      const m = cloneMachine(node.m);
      // The parent's state is never mutated again: it is the prior state of a step that sleeps.
      const r = applyMove(m, mv, config, { prior: node.m.s });
      transitions++;
      const st = mv.kind === 'thread' ? nextStmt(node.m, node.m.threads[mv.index]!)! : null;
      edges.push({
        parent: node.edge,
        step: {
          thread: r.actor,
          cpu: r.cpu,
          stmt: r.what,
          pos: st ? st.pos : null,
          note: r.note,
          choices: r.choices,
          move: mv.kind === 'thread' ? { ...mv, picks: r.choices.map((c) => c.pick) } : mv,
        },
      });
      if (stop !== null) return { m, choices: r.choices };
      const key = machineKey(m);
      if (!seen.has(key)) {
        // Invariants are a function of the state: checked once, when it is new.
        const v = checkInvariants(m.s, machineRefs(m));
        if (v.length > 0) {
          stop = bug(v, edges.length - 1);
          return { m, choices: r.choices };
        }
        for (const f of ghostFindings(m.s, m.ghost))
          if (!findings.some((x) => x.code === f.code))
            findings.push({ ...f, path: pathTo(edges, edges.length - 1) });
        if (seen.size >= maxStates) {
          stop = { ...stats(), kind: 'limit', finals: { holds, fails, hangs } };
        } else {
          seen.add(key);
          work.push({ m, depth: node.depth + 1, edge: edges.length - 1 });
          if (opts.progress && seen.size % every === 0)
            opts.progress({ states: seen.size, transitions, queue: work.length - head, depth });
        }
      }
      return { m, choices: r.choices };
    };

    const local = opts.por === false ? -1 : localMove(node.m);
    if (local >= 0) {
      threadSuccessors(local, successor);
      continue;
    }
    let stepped = false;
    for (let i = 0; i < node.m.threads.length && stop === null; i++) {
      if (!canStep(node.m, i)) continue;
      stepped = true;
      threadSuccessors(i, successor);
    }
    if (stop !== null) break;
    if (stepped) {
      for (const e of envSteps(node.m)) {
        successor({ kind: 'env', step: e });
        if (stop !== null) break;
      }
      continue;
    }
    // A final machine: finished, hung, or stuck on the scenario's own awaits.
    if (node.m.threads.every((t) => t.done)) {
      const ok = conditionHolds(node.m);
      if (ok) holds++;
      else fails++;
      if (witness === null && ok === wantHolds && node.edge >= 0)
        witness = pathTo(edges, node.edge);
      const end = cloneMachine(node.m);
      teardown(end);
      const v = checkInvariants(end.s);
      if (v.length > 0) stop = bug(v, node.edge);
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
  if (stop !== null) return stop;
  const finished = holds + fails;
  const verdict: Verdict =
    finished === 0 ? 'Hang' : holds === 0 ? 'Never' : fails === 0 ? 'Always' : 'Sometimes';
  return { ...stats(), kind: 'done', verdict, finals: { holds, fails, hangs }, witness };
}
