/**
 * One scenario under several eras, explored once per behaviour: `cowherd
 * check` runs every scenario under eleven eras, and most scenarios never
 * reach the decision points where two eras differ.
 *
 * Eras differ only at the named decision points of a Policy (core/points.ts;
 * test/meta/layers.test.ts keeps era checks out of core). An exploration is
 * a deterministic function of the scenario, its options and the values the
 * policy's members give when read: it reads no clock or randomness that can
 * change its result, except the time and memory budgets, whose results are
 * never kept here. So the exploration reads its policy through a recording
 * copy (recordingPolicy()), and the members it read are kept with the
 * result. A later era whose members are the same values (the same rule
 * function, the same flag) at every one of those names would read the same
 * values at the same moments, take the same steps, and come to the same
 * result, so it gets that result, with its own era id, without exploring.
 * The labels (id, title, kernels, cites, complete) are not decision points
 * and are not compared.
 *
 * Rules are shared between eras as the same function objects (policy/rules.ts)
 * so that equal decisions compare equal; a rule written inline in an era
 * file is a function of its own and never matches another era's.
 */

import { type PtWalkRules, ptWalkRulesOf } from '../core/mm/pt_walk.js';
import type { EraId, Policy } from '../core/points.js';
import type { Scenario } from '../scenario/ast.js';
import type { ExpansionMemo, ExploreOptions, ExploreResult, KnownExpansion } from './explore.js';
import { explore } from './explore.js';
import type { Lanes } from './fingerprint-set.js';

/** Policy members that name or describe an era and decide nothing. */
const LABELS: ReadonlySet<string> = new Set(['id', 'title', 'kernels', 'complete', 'cites']);

/**
 * A copy of a policy that notes each decision point read (a getter per
 * member; labels are plain values): every name in `read`, and each also in
 * the window open when it is read (open() to close()), or in `outside` when
 * none is. A getter runs on every read of a member, in the kernel's hot
 * paths: it notes a name by marks in arrays, and touches a Set only the
 * first time.
 */
export interface PolicyRecorder {
  readonly policy: Policy;
  /** Every decision point read. */
  readonly read: Set<string>;
  /** The names read while no window was open. */
  readonly outside: Set<string>;
  /** Open a new window (the one open, if any, is set aside until the new one closes). */
  open(): void;
  /** Close the window opened last: the names read in it, each at least once. */
  close(): string[];
  /**
   * A function that notes a read of `name` that goes around the getters (a
   * field of a decision record: `ptWalk.rwsem`), each call as a getter does.
   */
  noter(name: string): () => void;
}

export function recordingPolicy(p: Policy): PolicyRecorder {
  const read = new Set<string>();
  const outside = new Set<string>();
  // Per name noted (by slot): whether in `read`, in `outside`, and the
  // window it was last noted in.
  const slots = new Map<string, number>();
  const inRead: number[] = [];
  const inOutside: number[] = [];
  const stamp: number[] = [];
  /** The open windows' ids and names, innermost last. */
  const ids: number[] = [];
  const lists: string[][] = [];
  let window = 0;
  let opened = 0;
  const slotOf = (name: string): number => {
    let i = slots.get(name);
    if (i === undefined) {
      i = inRead.length;
      slots.set(name, i);
      inRead.push(0);
      inOutside.push(0);
      stamp.push(0);
    }
    return i;
  };
  const mark = (i: number, name: string): void => {
    if (inRead[i] === 0) {
      inRead[i] = 1;
      read.add(name);
    }
    if (window === 0) {
      if (inOutside[i] === 0) {
        inOutside[i] = 1;
        outside.add(name);
      }
    } else if (stamp[i] !== window) {
      stamp[i] = window;
      lists[lists.length - 1]!.push(name);
    }
  };
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(p)) {
    const value = (p as unknown as Record<string, unknown>)[key];
    if (LABELS.has(key)) {
      copy[key] = value;
      continue;
    }
    const i = slotOf(key);
    Object.defineProperty(copy, key, {
      enumerable: true,
      get() {
        mark(i, key);
        return value;
      },
    });
  }
  return {
    policy: copy as unknown as Policy,
    read,
    outside,
    noter(name) {
      const i = slotOf(name);
      return () => mark(i, name);
    },
    open() {
      window = ++opened;
      ids.push(window);
      lists.push([]);
    },
    close() {
      ids.pop();
      window = ids.length > 0 ? ids[ids.length - 1]! : 0;
      return lists.pop() ?? [];
    },
  };
}

interface Explored {
  readonly policy: Policy;
  /** The decision points the exploration read. */
  readonly read: readonly string[];
  readonly result: ExploreResult;
}

/** Whether a result is the same whenever the same steps are taken (not cut by the clock, memory or a signal). */
function repeatable(r: ExploreResult): boolean {
  return r.kind !== 'limit' || r.limit === 'states';
}

/**
 * An exploration whose expansions are kept: its policy, and the decision
 * points it read outside every expansion (setting up: configFor()), which
 * each of its expansions rests on too.
 */
interface Source {
  readonly policy: Policy;
  readonly setup: string[];
}

/** An expansion kept: its state's lanes, who made it, and the decisions it read. */
interface Kept {
  readonly a: number;
  readonly b: number;
  readonly source: Source;
  readonly read: readonly string[];
  readonly known: KnownExpansion;
}

/**
 * The bytes a memo's kept expansions may hold, as estimated by keptBytes():
 * each successor is a machine kept alive. The cap bounds what the memo adds
 * to an exploration's memory (--max-memory counts it); the expansions kept
 * first are the shallowest, those a later era is likeliest to reach.
 */
const KEEP_BYTES = 128 * 2 ** 20;

/**
 * An estimate of the memory a successor holds of its own: a few kilobytes of
 * records, and about four bytes per PFN for each of the memmap arrays a step
 * writes (copied on write; a step writes three or four of the five).
 */
function keptBytes(known: KnownExpansion): number {
  let n = 0;
  for (const { m } of known.succs) n += 2048 + 16 * m.s.mem.end;
  return n;
}

/**
 * The explorations of one scenario with one set of options, by behaviour.
 * `explore(p)` returns what explore(sc, p, opts) returns.
 *
 * An era that must be explored again still shares every state expansion
 * that reads only decisions it makes the same way: a state reached under
 * two eras (every state before the first step where they differ, at least)
 * is expanded once, and the later era takes the successors, their
 * fingerprints and their checks as they were made (ExpansionMemo in
 * explore.ts). Its search is its own, in its own order, so its result is
 * the one exploring would give.
 */
export class EraMemo {
  private readonly done: Explored[] = [];
  private readonly sources: Source[] = [];
  /** Kept expansions by their state's lanes (53 bits of them; the rest compared). */
  private readonly kept = new Map<number, Kept[]>();
  private keptBytes = 0;
  /** Explorations run, and results given to another era. */
  explored = 0;
  shared = 0;
  /** Expansions made, and expansions taken from another era's exploration. */
  expansions = 0;
  reused = 0;

  constructor(
    private readonly sc: Scenario,
    private readonly opts: ExploreOptions = {},
  ) {}

  explore(p: Policy): ExploreResult {
    const same = this.done.find((e) => sameDecisions(e.policy, e.read, p));
    if (same) {
      this.shared++;
      return { ...same.result, era: p.id as EraId };
    }
    const rec = recordingPolicy(p);
    const source: Source = { policy: p, setup: [] };
    const usable = new Set(this.sources.filter((s) => sameDecisions(s.policy, s.setup, p)));
    const result = explore(this.sc, rec.policy, {
      ...this.opts,
      expansions: this.expansionMemo(rec, source, usable),
    });
    this.explored++;
    if (repeatable(result)) this.done.push({ policy: p, read: [...rec.read].sort(), result });
    source.setup.push(...rec.outside);
    this.sources.push(source);
    return result;
  }

  /** The ExpansionMemo of one exploration: it reuses the kept expansions of `usable` and keeps its own under `source`. */
  private expansionMemo(
    rec: PolicyRecorder,
    source: Source,
    usable: ReadonlySet<Source>,
  ): ExpansionMemo {
    const policy = source.policy;
    return {
      lookup: (lanes) => {
        const list = usable.size > 0 ? this.kept.get(key53(lanes)) : undefined;
        if (!list) return null;
        for (const k of list) {
          if (k.a !== lanes[0] || k.b !== lanes[1] || !usable.has(k.source)) continue;
          if (!sameDecisions(k.source.policy, k.read, policy)) continue;
          // The exploration rests on these decisions as if it had read them.
          for (const name of k.read) rec.read.add(name);
          this.reused++;
          return k.known;
        }
        return null;
      },
      open: () => {
        rec.open();
      },
      keep: (lanes, known) => {
        const read = rec.close();
        this.expansions++;
        const bytes = keptBytes(known);
        if (this.keptBytes + bytes > KEEP_BYTES) return;
        this.keptBytes += bytes;
        const k: Kept = { a: lanes[0], b: lanes[1], source, read, known };
        const at = key53(lanes);
        const list = this.kept.get(at);
        if (list) list.push(k);
        else this.kept.set(at, [k]);
      },
      // A window not kept is dropped: its names stay in rec.read alone.
      close: () => {
        rec.close();
      },
      config: (make) => {
        rec.open();
        const c = make();
        const names = rec.close();
        // configFor() reads the page-table strategy once; the kernel reads the
        // strategy's answers later, each through its field of the walk rules
        // (ptWalk.rwsem), or reads ptStrategy itself: noted where it does.
        // Every other name read here is read at setup.
        const wrap = c.ptStrategy === policy.ptStrategy && c.ptWalk === undefined;
        for (const name of names) if (!wrap || name !== 'ptStrategy') rec.noter(name)();
        if (!wrap) return c;
        const rules = ptWalkRulesOf(policy.pte_map_rcu, c.ptStrategy);
        const ptWalk: Record<string, unknown> = {};
        for (const [field, value] of Object.entries(rules)) {
          const note = rec.noter(`ptWalk.${field}`);
          Object.defineProperty(ptWalk, field, {
            enumerable: true,
            get() {
              note();
              return value;
            },
          });
        }
        const out = { ...c, ptWalk: ptWalk as unknown as PtWalkRules };
        const noteStrategy = rec.noter('ptStrategy');
        return Object.defineProperty(out, 'ptStrategy', {
          enumerable: true,
          get() {
            noteStrategy();
            return c.ptStrategy;
          },
        });
      },
      aside: (f) => {
        rec.open();
        try {
          return f();
        } finally {
          rec.close();
        }
      },
    };
  }
}

/** 53 bits of a fingerprint's lanes, a Map key. */
function key53(lanes: Lanes): number {
  return (lanes[0] >>> 0) * 2 ** 21 + (lanes[1] >>> 11);
}

/** Whether `p` gives the values `q` gives at every one of the names `read`. */
function sameDecisions(q: Policy, read: Iterable<string>, p: Policy): boolean {
  for (const name of read) if (decision(q, name) !== decision(p, name)) return false;
  return true;
}

/** The value a policy gives at a name noted: a member, or a field of its walk rules (`ptWalk.rwsem`). */
function decision(p: Policy, name: string): unknown {
  if (name.startsWith('ptWalk.'))
    return (ptWalkRulesOf(p.pte_map_rcu, p.ptStrategy) as unknown as Record<string, unknown>)[
      name.slice('ptWalk.'.length)
    ];
  return (p as unknown as Record<string, unknown>)[name];
}
