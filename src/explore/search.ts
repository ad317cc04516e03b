/**
 * The bookkeeping of a breadth-first (or depth-first) search, shared by the
 * sequential explorer and the parallel one: the visited set, the edges back
 * to the initial machine, the final-state counts, the first witness and the
 * first path to each broken design invariant, and the reasons to stop (a tool
 * bug, the state limit). Fed in the order the sequential search visits
 * states, it gives the same result whoever computed the successors.
 */

import type { Violation } from '../core/invariants.js';
import type { EraId } from '../core/points.js';
import type { Scenario, Verdict } from '../scenario/ast.js';
import type { Finding } from '../scenario/ghost.js';
import type { Final } from './expand.js';
import type { Budget, ExploreOptions, ExploreResult, FindingPath, PathStep } from './explore.js';
import { type Lanes, lanesOf } from './fingerprint-set.js';
import type { Move } from './moves.js';
import { moveKey, parseMove } from './moves.js';
import { newVisitedSet, type VisitedSet } from './visited.js';

/**
 * A search stopped between two nodes, as data (JSON-safe): what a checkpoint
 * keeps so that the search can go on to the result it would have given. The
 * edges are only those on the paths to the nodes still queued, renumbered;
 * paths keep their moves (moveKey), and their steps are rebuilt on resume.
 */
export interface SearchSnapshot {
  readonly seen: readonly string[];
  /** [parent edge, move key], parents before children. */
  readonly edges: readonly (readonly [number, string])[];
  /** The nodes still to expand, in the order the search takes them: [edge, depth]. */
  readonly queue: readonly (readonly [number, number])[];
  readonly findings: readonly {
    readonly code: FindingPath['code'];
    readonly detail: string;
    readonly moves: readonly string[];
  }[];
  readonly witness: readonly string[] | null;
  readonly counts: {
    readonly holds: number;
    readonly fails: number;
    readonly hangs: number;
    readonly transitions: number;
    readonly depth: number;
  };
}

/** A queued node of a search, as a snapshot records it. */
export interface QueuedNode {
  readonly edge: number;
  readonly depth: number;
}

/** A path the search found: its moves, and its steps when they were kept (else replayed). */
interface Found {
  readonly moves: readonly Move[];
  readonly steps: readonly PathStep[] | null;
}

/** What the search keeps of a finding until it reports it. */
interface FoundPath extends Found {
  readonly code: FindingPath['code'];
  readonly detail: string;
}

/**
 * The sequential search keeps the steps of its first STEP_CACHE edges as it
 * made them, so that a witness among them is not replayed: in the library's
 * costliest scenarios (a terabyte mapping, THP collapse) one step takes
 * milliseconds and a replay of the witness was a third of the search. Past
 * that many states, steps cost memory the search needs, and a replay is
 * cheap beside the search.
 */
const STEP_CACHE = 1 << 16;

/**
 * The edges of the search tree, one per distinct state but the initial one:
 * the edge it continues and its move (an index into a table of the distinct
 * moves), in two growable Int32Arrays. A transition to a state already seen
 * keeps nothing. Paths are rebuilt into steps on demand (witness, findings).
 */
class Edges {
  private parents = new Int32Array(1024);
  private moveIds = new Int32Array(1024);
  private n = 0;
  private readonly moves: Move[] = [];
  private readonly moveIndex = new Map<string, number>();

  get length(): number {
    return this.n;
  }

  /** Bytes of the two arrays (the move table aside: one entry per distinct move). */
  get bytes(): number {
    return this.parents.byteLength + this.moveIds.byteLength;
  }

  push(parent: number, move: Move): number {
    if (this.n === this.parents.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(2 * a.length);
        b.set(a);
        return b;
      };
      this.parents = grow(this.parents);
      this.moveIds = grow(this.moveIds);
    }
    const key = moveKey(move);
    let id = this.moveIndex.get(key);
    if (id === undefined) {
      id = this.moves.length;
      this.moves.push(move);
      this.moveIndex.set(key, id);
    }
    this.parents[this.n] = parent;
    this.moveIds[this.n] = id;
    return this.n++;
  }

  parent(e: number): number {
    return this.parents[e]!;
  }

  move(e: number): Move {
    return this.moves[this.moveIds[e]!]!;
  }

  clear(): void {
    this.n = 0;
  }
}

export class Search {
  private readonly seen: VisitedSet;
  private readonly edges = new Edges();
  private readonly findings: FoundPath[] = [];
  private readonly maxStates: number;
  private readonly deadline: number | null;
  private readonly every: number;
  private readonly wantHolds: boolean;
  private holds = 0;
  private fails = 0;
  private hangs = 0;
  private transitions = 0;
  private depth = 0;
  private witness: Found | null = null;
  /** The steps of edges below STEP_CACHE, when the caller gave them. */
  private readonly steps: PathStep[] = [];
  /** Set once the search must end early (tool bug, state limit). */
  stop: ExploreResult | null = null;

  constructor(
    sc: Scenario,
    private readonly era: EraId,
    private readonly opts: ExploreOptions,
    /** Turns a path of moves into its steps (replayed from the initial machine). */
    private readonly rebuild: (moves: readonly Move[]) => PathStep[],
  ) {
    this.seen = newVisitedSet(opts.visited);
    this.maxStates = opts.maxStates ?? 1_000_000;
    this.deadline =
      opts.maxMillis !== undefined && opts.clock ? opts.clock() + opts.maxMillis : null;
    this.every = opts.progressEvery ?? 4096;
    this.wantHolds = sc.quantifier === 'exists';
  }

  root(key: Lanes): void {
    this.seen.add(key[0], key[1]);
  }

  get states(): number {
    return this.seen.size;
  }

  private stats() {
    const { era, transitions, depth } = this;
    const findings: FindingPath[] = this.findings.map((f) => ({
      code: f.code,
      detail: f.detail,
      path: this.stepsOf(f),
    }));
    const visited = this.seen.report();
    const pathBytes = this.edges.bytes;
    return { era, states: this.seen.size, transitions, depth, visited, pathBytes, findings };
  }

  /** Edge `e`: the edge it continues (-1 from the initial machine) and its move. */
  edgeAt(e: number): { readonly parent: number; readonly move: Move } {
    return { parent: this.edges.parent(e), move: this.edges.move(e) };
  }

  private stepsOf(f: Found): readonly PathStep[] {
    return f.steps ?? this.rebuild(f.moves);
  }

  /** The path to the node reached by `edge`: its moves, and its steps when every one was kept. */
  private found(edge: number): Found {
    const moves = this.movesTo(edge);
    if (edge >= this.steps.length) return { moves, steps: null };
    const steps: PathStep[] = [];
    for (let e = edge; e >= 0; e = this.edges.parent(e)) steps.push(this.steps[e]!);
    return { moves, steps: steps.reverse() };
  }

  /** The moves from the initial machine to the node reached by `edge`. */
  movesTo(edge: number): Move[] {
    const out: Move[] = [];
    for (let e = edge; e >= 0; e = this.edges.parent(e)) out.push(this.edges.move(e));
    return out.reverse();
  }

  /**
   * The search as data, taken between two nodes: `queue` are the nodes still
   * to expand, in the order they will be taken. Only their paths' edges are
   * kept (renumbered): every later path goes through one of them.
   */
  snapshot(queue: readonly QueuedNode[]): SearchSnapshot {
    const keep = new Map<number, number>();
    const order: number[] = [];
    const visit = (edge: number): number => {
      if (edge < 0) return -1;
      const known = keep.get(edge);
      if (known !== undefined) return known;
      const chain: number[] = [];
      for (let e = edge; e >= 0 && !keep.has(e); e = this.edges.parent(e)) chain.push(e);
      for (const e of chain.reverse()) {
        keep.set(e, order.length);
        order.push(e);
      }
      return keep.get(edge)!;
    };
    const q = queue.map((n) => [visit(n.edge), n.depth] as const);
    const edges = order.map((e) => {
      const parent = this.edges.parent(e);
      return [parent < 0 ? -1 : keep.get(parent)!, moveKey(this.edges.move(e))] as const;
    });
    const seen = this.seen.hexes();
    if (seen === null) throw new Error('a checkpoint needs the hash-compact visited set');
    return {
      seen,
      edges,
      queue: q,
      findings: this.findings.map((f) => ({
        code: f.code,
        detail: f.detail,
        moves: f.moves.map(moveKey),
      })),
      witness: this.witness ? this.witness.moves.map(moveKey) : null,
      counts: {
        holds: this.holds,
        fails: this.fails,
        hangs: this.hangs,
        transitions: this.transitions,
        depth: this.depth,
      },
    };
  }

  /**
   * Go on from a snapshot: the visited set, the edges, the counts, the
   * witness and findings (their steps rebuilt). Returns the queued nodes with
   * the edges' new indices (the same as the snapshot's).
   */
  restore(snap: SearchSnapshot): QueuedNode[] {
    const move = (k: string): Move => {
      const m = parseMove(k);
      if (m === null) throw new Error(`checkpoint: not a move: ${k}`);
      return m;
    };
    this.seen.clear();
    for (const k of snap.seen) {
      const [a, b] = lanesOf(k);
      this.seen.add(a, b);
    }
    this.edges.clear();
    this.steps.length = 0;
    for (const [parent, k] of snap.edges) this.edges.push(parent, move(k));
    this.findings.length = 0;
    for (const f of snap.findings)
      this.findings.push({ code: f.code, detail: f.detail, moves: f.moves.map(move), steps: null });
    this.witness = snap.witness ? { moves: snap.witness.map(move), steps: null } : null;
    ({
      holds: this.holds,
      fails: this.fails,
      hangs: this.hangs,
      transitions: this.transitions,
      depth: this.depth,
    } = snap.counts);
    return snap.queue.map(([edge, depth]) => ({ edge, depth }));
  }

  private bug(violations: readonly Violation[], edge: number): void {
    const path = this.stepsOf(this.found(edge));
    this.stop = { ...this.stats(), kind: 'tool-bug', violations, path };
  }

  /** Which budget has run out ('time', 'memory', 'interrupted'), or null. */
  budgetLeft(): Budget | null {
    if (this.opts.interrupted?.()) return 'interrupted';
    if (this.deadline !== null && this.opts.clock!() > this.deadline) return 'time';
    const { maxBytes, memory } = this.opts;
    if (maxBytes !== undefined && memory && memory() > maxBytes) return 'memory';
    return null;
  }

  /**
   * What a machine checks inside long steps (Machine.interrupt): the same
   * budgets, null when the search has none.
   */
  interrupt(): (() => string | null) | undefined {
    if (this.deadline === null && this.opts.maxBytes === undefined && !this.opts.interrupted)
      return undefined;
    return () => this.budgetLeft();
  }

  /** End the search: a budget ran out (kind 'limit', with the counts so far). */
  budgetOut(limit: Budget): void {
    this.stop = { ...this.stats(), kind: 'limit', limit, finals: this.finals() };
  }

  /** A node at `depth` is being expanded. */
  visit(depth: number): void {
    this.depth = Math.max(this.depth, depth);
  }

  /**
   * One successor of the node reached by `parentEdge`. Returns the new
   * edge's index when the state is new (the caller enqueues it), else -1.
   * `check` gives the state's accounting violations and design findings.
   * `step` is the step that reached it, or only its move (the parallel
   * search, whose paths are replayed).
   */
  successor(
    parentEdge: number,
    key: Lanes,
    step: PathStep | Move,
    check: () => { violations: readonly Violation[]; findings: readonly Finding[] },
  ): number {
    this.transitions++;
    if (this.seen.has(key[0], key[1])) return -1;
    const isStep = 'move' in step;
    const edge = this.edges.push(parentEdge, isStep ? step.move : step);
    // Kept while every earlier edge's step was (paths need all of theirs).
    if (isStep && edge === this.steps.length && edge < STEP_CACHE) this.steps.push(step);
    const c = check();
    if (c.violations.length > 0) {
      this.bug(c.violations, edge);
      return -1;
    }
    for (const f of c.findings)
      if (!this.findings.some((x) => x.code === f.code))
        this.findings.push({ code: f.code, detail: f.detail, ...this.found(edge) });
    if (this.seen.size >= this.maxStates) {
      this.stop = { ...this.stats(), kind: 'limit', limit: 'states', finals: this.finals() };
      return -1;
    }
    // The clock and the memory are read every 16 new states (a state can be
    // large: the ghost copies every private page's expected contents).
    if (this.seen.size % 16 === 0) {
      const out = this.budgetLeft();
      if (out !== null) {
        this.budgetOut(out);
        return -1;
      }
    }
    this.seen.add(key[0], key[1]);
    return edge;
  }

  /** A successor already known to be visited (the parallel search's workers filter them). */
  seenSuccessor(): void {
    this.transitions++;
  }

  /** Report progress every so many new states (`queue`: states waiting). */
  tick(queue: number): void {
    if (this.opts.progress && this.seen.size % this.every === 0)
      this.opts.progress({
        states: this.seen.size,
        transitions: this.transitions,
        queue,
        depth: this.depth,
      });
  }

  /** The node reached by `edge` is final (or not, when `final` is null). */
  final(edge: number, final: Final | null): void {
    if (this.stop !== null || final === null) return;
    if (final.kind === 'hung') {
      this.hangs++;
      return;
    }
    if (final.holds) this.holds++;
    else this.fails++;
    if (this.witness === null && final.holds === this.wantHolds && edge >= 0)
      this.witness = this.found(edge);
    if (final.violations.length > 0) this.bug(final.violations, edge);
  }

  private finals() {
    return { holds: this.holds, fails: this.fails, hangs: this.hangs };
  }

  result(): ExploreResult {
    if (this.stop !== null) return this.stop;
    const { holds, fails } = this;
    const verdict: Verdict =
      holds + fails === 0 ? 'Hang' : holds === 0 ? 'Never' : fails === 0 ? 'Always' : 'Sometimes';
    const witness = this.witness ? this.stepsOf(this.witness) : null;
    return { ...this.stats(), kind: 'done', verdict, finals: this.finals(), witness };
  }
}
