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

import type { EraId, Policy } from '../core/points.js';
import type { Scenario } from '../scenario/ast.js';
import type { ExploreOptions, ExploreResult } from './explore.js';
import { explore } from './explore.js';

/** Policy members that name or describe an era and decide nothing. */
const LABELS: ReadonlySet<string> = new Set(['id', 'title', 'kernels', 'complete', 'cites']);

/**
 * A copy of `p` that notes each decision point read (a getter per member;
 * labels are plain values), and the set it notes them in.
 */
export function recordingPolicy(p: Policy): { policy: Policy; read: Set<string> } {
  const read = new Set<string>();
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(p)) {
    const value = (p as unknown as Record<string, unknown>)[key];
    if (LABELS.has(key)) copy[key] = value;
    else
      Object.defineProperty(copy, key, {
        enumerable: true,
        get() {
          read.add(key);
          return value;
        },
      });
  }
  return { policy: copy as unknown as Policy, read };
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
 * The explorations of one scenario with one set of options, by behaviour.
 * `explore(p)` returns what explore(sc, p, opts) returns.
 */
export class EraMemo {
  private readonly done: Explored[] = [];
  /** Explorations run, and results given to another era. */
  explored = 0;
  shared = 0;

  constructor(
    private readonly sc: Scenario,
    private readonly opts: ExploreOptions = {},
  ) {}

  explore(p: Policy): ExploreResult {
    const same = this.done.find((e) => sameDecisions(e, p));
    if (same) {
      this.shared++;
      return { ...same.result, era: p.id as EraId };
    }
    const { policy, read } = recordingPolicy(p);
    const result = explore(this.sc, policy, this.opts);
    this.explored++;
    if (repeatable(result)) this.done.push({ policy: p, read: [...read].sort(), result });
    return result;
  }
}

function sameDecisions(e: Explored, p: Policy): boolean {
  const a = e.policy as unknown as Record<string, unknown>;
  const b = p as unknown as Record<string, unknown>;
  return e.read.every((key) => a[key] === b[key]);
}
