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
import type { Config, EraId, Policy } from '../core/points.js';
import type { Pos, Scenario, Verdict } from '../scenario/ast.js';
import type { Finding, GhostCode } from '../scenario/ghost.js';
import type { Machine } from '../scenario/machine.js';
import { machineRefs, newMachine, StepInterrupted } from '../scenario/machine.js';
import { configFor } from '../scenario/run.js';
import {
  expand,
  type Final,
  machineAfter,
  machineFindings,
  machineLanes,
  type Successor,
  stepsOf,
} from './expand.js';
import type { Lanes } from './fingerprint-set.js';
import type { Choice, Move } from './moves.js';
import type { SearchSnapshot } from './search.js';
import { Search } from './search.js';
import {
  canonicalLanes,
  type SymmetryLevel,
  type SymmetryReport,
  symmetryLevel,
  symmetryReport,
} from './symmetry.js';
import type { VisitedOptions, VisitedReport } from './visited.js';

export interface ExploreProgress {
  readonly states: number;
  readonly transitions: number;
  readonly queue: number;
  readonly depth: number;
}

export interface ExploreOptions {
  /** Stop with kind 'limit' after this many distinct states (default 1,000,000). */
  readonly maxStates?: number;
  /**
   * Stop with kind 'limit' once `clock()` passes this many milliseconds after
   * the start (the clock is the caller's: the explorer reads none itself).
   */
  readonly maxMillis?: number;
  readonly clock?: () => number;
  /**
   * Stop with kind 'limit' once `memory()` (the caller's measure, bytes)
   * passes this many bytes; read with the clock, and inside long steps.
   */
  readonly maxBytes?: number;
  readonly memory?: () => number;
  /**
   * Stop with kind 'limit' (limit 'interrupted') once this returns true: a
   * signal reached the CLI. Read with the clock, and inside long steps.
   */
  readonly interrupted?: () => boolean;
  /** The visited set: hash-compact (default), bitstate, or hash-compact capped (visited.ts). */
  readonly visited?: VisitedOptions;
  /** Depth-first instead of breadth-first (no shortest-witness guarantee). */
  readonly dfs?: boolean;
  /**
   * Partial-order reduction (default on): local moves taken alone
   * (local-move.ts) and, under the symmetry, independent accesses
   * (independence.ts); 'local' keeps only the first kind (to measure or
   * test what each buys).
   */
  readonly por?: boolean | 'local';
  /**
   * The symmetries (default off): states that differ only in which free
   * PFNs allocations took (symmetry.ts), in which values no statement
   * still to run stores (value-symmetry.ts), or in which of the threads
   * that run the same program is where (thread-symmetry.ts) count once.
   * Each is ignored, with the reason in the result, where it would be
   * unsound. `true` is all three; 'pfns' the first alone, 'values' the
   * first two (to measure or test what each buys).
   */
  readonly symmetry?: boolean | SymmetryLevel;
  /** Go on from a checkpoint's snapshot instead of starting at the initial machine. */
  readonly resume?: SearchSnapshot;
  /**
   * Checkpoints, taken between two nodes: `save` gets a snapshot at the start,
   * whenever `due()` says so, and at the end of a search that finished.
   * Sequential search only.
   */
  readonly checkpoint?: {
    due(): boolean;
    save(snapshot: SearchSnapshot): void;
  };
  /**
   * Expansions of the same scenario made under other eras, reused where they
   * read the same decisions (era-memo.ts); ignored under the symmetry.
   */
  readonly expansions?: ExpansionMemo;
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

/** What can end a search before its verdict: --max-states, --max-seconds, --max-memory, a signal. */
export type Budget = 'states' | 'time' | 'memory' | 'interrupted';

export interface ExploreStats {
  readonly states: number;
  readonly transitions: number;
  readonly depth: number;
  /** The visited set's mode, size and coverage (hash-compact: exact up to fingerprint collisions). */
  readonly visited: VisitedReport;
  /** Bytes of the edges paths are rebuilt from (8 a state, in arrays that double as they fill). */
  readonly pathBytes: number;
  /** Whether the symmetry over PFN allocation order was used, when it was asked for. */
  readonly symmetry?: SymmetryReport;
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
    | {
        readonly kind: 'limit';
        /** Which budget ran out: distinct states, time, memory, or a signal stopped the run. */
        readonly limit: Budget;
        readonly finals: FinalCounts;
      }
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
  /** Its exact fingerprint, when known (the key of its expansion in an ExpansionMemo). */
  readonly lanes?: Lanes;
}

/** What the explorer checks in a new state: the accounting invariants and the design's. */
export interface StateChecks {
  readonly violations: readonly Violation[];
  readonly findings: readonly Finding[];
}

/** One state's expansion as the explorer made it, with what it computed of each successor. */
export interface KnownExpansion {
  readonly succs: readonly Successor[];
  readonly final: Final | null;
  /** Each successor's exact fingerprint. */
  readonly lanes: readonly Lanes[];
  /** Each successor's checks, where they were made (the successor was new). */
  readonly checks: (StateChecks | undefined)[];
}

/**
 * Expansions made by explorations of the same scenario and options under
 * other policies (era-memo.ts): a state's expansion is a function of the
 * state and of the decisions it reads, so one that read only decisions
 * this exploration's policy makes the same way is this exploration's too.
 * The explorer reports each expansion it makes between open() and keep()
 * (or close(), when it is not to be kept).
 */
export interface ExpansionMemo {
  /** The known expansion of the state with these exact lanes that holds for this policy, or null. */
  lookup(lanes: Lanes): KnownExpansion | null;
  /** An expansion starts: note the decisions read from here on. */
  open(): void;
  /** The expansion opened is complete: keep it for other policies. */
  keep(lanes: Lanes, known: KnownExpansion): void;
  /** The expansion opened is not to be kept (cut short, or reused). */
  close(): void;
  /** Run `f`, a replay of steps already taken (a path's steps), whose reads decide nothing new. */
  aside<T>(f: () => T): T;
  /** The exploration's configuration, made by `make`, as the memo has the exploration read it. */
  config(make: () => Config): Config;
}

/** Explore every interleaving of a checked scenario under one era. Throws InputError (SC1xx) like the runner. */
export function explore(sc: Scenario, policy: Policy, opts: ExploreOptions = {}): ExploreResult {
  const level = symmetryLevel(opts.symmetry);
  const symmetry = level ? symmetryReport(sc, level) : null;
  const lanesOf = symmetry?.applied ? (m: Machine) => canonicalLanes(m, level!) : machineLanes;
  // Expansions are known by exact fingerprints: under the symmetry the visited key is another.
  const memo = symmetry?.applied ? null : (opts.expansions ?? null);
  const make = () => configFor(sc, policy, { lockBreaks: true });
  const config = memo ? memo.config(make) : make();
  const rebuild = (moves: readonly Move[]) => stepsOf(newMachine(sc), moves, config);
  const search = new Search(sc, policy.id, opts, (moves) =>
    memo ? memo.aside(() => rebuild(moves)) : rebuild(moves),
  );
  const root = newMachine(sc);
  const interrupt = search.interrupt();
  if (interrupt) root.interrupt = interrupt;
  let work: (Node | undefined)[];
  if (opts.resume) {
    // The queued machines, rebuilt along their paths (shared prefixes once).
    const at = new Map<number, Machine>([[-1, root]]);
    const machineAt = (edge: number): Machine => {
      const known = at.get(edge);
      if (known) return known;
      const { parent, move } = search.edgeAt(edge);
      const m = machineAfter(machineAt(parent), move, config);
      at.set(edge, m);
      return m;
    };
    work = search
      .restore(opts.resume)
      .map((n) => ({ m: machineAt(n.edge), depth: n.depth, edge: n.edge }));
  } else {
    const lanes = lanesOf(root);
    search.root(lanes);
    work = [{ m: root, depth: 0, edge: -1, lanes }];
  }
  let head = 0;
  const queued = () => (opts.dfs ? work : work.slice(head)) as Node[];
  opts.checkpoint?.save(search.snapshot(queued()));
  while (search.stop === null && (opts.dfs ? work.length > 0 : head < work.length)) {
    if (opts.checkpoint?.due()) opts.checkpoint.save(search.snapshot(queued()));
    const node = (opts.dfs ? work.pop() : work[head++])!;
    if (!opts.dfs) work[head - 1] = undefined; // let the visited machine go
    search.visit(node.depth);
    const key = memo ? (node.lanes ?? machineLanes(node.m)) : null;
    const known = key ? memo!.lookup(key) : null;
    memo?.open();
    let expanded: { readonly succs: readonly Successor[]; readonly final: Final | null };
    if (known) expanded = known;
    else
      try {
        expanded = expand(
          node.m,
          config,
          opts.por !== false,
          symmetry?.applied === true && opts.por !== 'local',
        );
      } catch (e) {
        memo?.close();
        // A budget ran out inside a long step (statements.ts access()).
        if (!(e instanceof StepInterrupted)) throw e;
        search.budgetOut(asBudget(e.budget));
        break;
      }
    const { succs, final } = expanded;
    // What a new expansion computes of its successors, kept for other policies.
    const madeLanes: Lanes[] = [];
    const madeChecks: (StateChecks | undefined)[] = [];
    let i = 0;
    for (; i < succs.length; i++) {
      const { m, step } = succs[i]!;
      if (known) {
        // A machine another exploration made: budgets are this one's.
        if (interrupt) m.interrupt = interrupt;
        else delete m.interrupt;
      }
      const lanes = known ? known.lanes[i]! : lanesOf(m);
      madeLanes.push(lanes);
      // Invariants are a function of the state: checked once, when it is new.
      const edge = search.successor(node.edge, lanes, step, () => {
        const c = known?.checks[i] ?? {
          violations: checkInvariants(m.s, machineRefs(m)),
          findings: machineFindings(m, config),
        };
        madeChecks[i] = c;
        return c;
      });
      if (edge >= 0) {
        work.push({ m, depth: node.depth + 1, edge, lanes });
        search.tick(work.length - head);
      }
      if (search.stop !== null) break;
    }
    if (memo && !known && i === succs.length)
      memo.keep(key!, { succs, final, lanes: madeLanes, checks: madeChecks });
    else memo?.close();
    search.final(node.edge, final);
  }
  if (search.stop === null) opts.checkpoint?.save(search.snapshot([]));
  const result = search.result();
  return symmetry ? { ...result, symmetry } : result;
}

/** The budget a StepInterrupted names (the search's own names; 'time' for anything else). */
export function asBudget(name: string): Budget {
  return name === 'memory' || name === 'interrupted' || name === 'states' ? name : 'time';
}
