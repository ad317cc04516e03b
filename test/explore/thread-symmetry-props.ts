/**
 * Properties of the symmetry over threads that run the same program
 * (explore/thread-symmetry.ts) on random scenarios where a parent spawns
 * two or three threads with one program but their own stored numbers, run
 * at a reduced size by the unit suite (test/explore/thread-symmetry.test.ts)
 * and at full size by the slow suite:
 *  - equivariance: for every state reached and a random permutation π of a
 *    group of permutable threads, with the renaming of contents it forces
 *    (made one-to-one), the successors of the permuted state are the
 *    permuted successors (same fingerprints), with the same final verdict,
 *    accounting violations and design findings;
 *  - the fingerprint taken under the canonical form is that of the
 *    canonical machine, and the permuted state has the same one;
 *  - identity: exploring with every symmetry gives the verdict, the broken
 *    design invariants and the kinds of final states of exploring with the
 *    PFN and value symmetries alone and without any, in at most as many
 *    states; and, under every symmetry, the partial-order reduction gives
 *    the verdict, findings and final-state counts of the full search.
 */

import fc from 'fast-check';
import { expect } from 'vitest';
import { machineLanes } from '../../src/explore/expand.js';
import { explore } from '../../src/explore/explore.js';
import { canonicalLanes, canonicalMachine, permuteThreads } from '../../src/explore/symmetry.js';
import { forcedValues, permutable } from '../../src/explore/thread-symmetry.js';
import { renameMachineValues } from '../../src/explore/value-symmetry.js';
import { eraInfo } from '../../src/policy/registry.js';
import type { Scenario } from '../../src/scenario/ast.js';
import type { Machine } from '../../src/scenario/machine.js';
import { configFor } from '../../src/scenario/run.js';
import {
  expectEquivariant,
  expectSameAnswer,
  load,
  PAGES_SETUP,
  shuffled,
  statementsArb,
  visitStates,
} from './symmetry-props.js';

/** One statement of the shared program; `$k` stands for the thread's k-th own number. */
const stmtArb = fc.oneof(
  fc
    .tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 1 }))
    .map(([i, k]) => `write a[${i}] = $${k}`),
  fc
    .tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 1 }))
    .map(([i, k]) => `write a[${i}] = $${k}`),
  fc.integer({ min: 0, max: 2 }).map((i) => `read a[${i}]`),
  fc.integer({ min: 0, max: 2 }).map((i) => `madvise a[${i}] dontneed`),
  fc.constantFrom('madvise a pageout', 'write b[0] = $1', 'mprotect a r', 'mprotect a rw'),
);

/**
 * A parent that forks a child and spawns two or three threads running one
 * program (thread k stores 10k + 2 and 10k + 3 for $0 and $1, or all of
 * them 2 and 3), with a sibling of its own, on three private pages and a
 * shared one.
 */
export const threadScenarioArb = fc
  .record({
    shared: statementsArb(() => stmtArb, 1, 3),
    k: fc.integer({ min: 2, max: 3 }),
    // The threads store the same numbers (equal programs) instead of their own.
    same: fc.boolean(),
    sibling: statementsArb(() => stmtArb, 0, 2),
    child: statementsArb(() => stmtArb, 0, 2),
    env: fc.constantFrom('', '', 'env lru_batches', 'env reclaim'),
    cond: fc.constantFrom(
      'value(parent, a[0]) == 1',
      'anon_wp_copy_count > 1',
      'value(child, a[1]) == value(parent, a[1])',
      'value(t1, a[2]) != value(child, a[2]) || alive(t0) == 0',
      'pgfault > 6',
    ),
  })
  .map((g) => {
    const own = (stmts: readonly string[], k: number) =>
      stmts.map((s) => `  ${s.replace(/\$(\d)/g, (_, j) => String(10 * k + 2 + Number(j)))}`);
    const ts = Array.from({ length: g.k }, (_, k) => k);
    return [
      'scenario threads',
      g.env,
      'setup {',
      ...PAGES_SETUP,
      '}',
      'thread parent {',
      '  fork child',
      ...ts.map((k) => `  spawn t${k}`),
      '  spawn sibling',
      '}',
      ...ts.flatMap((k) => [`thread t${k} {`, ...own(g.shared, g.same ? 0 : k), '}']),
      'thread sibling {',
      ...own(g.sibling, 7),
      '}',
      'thread child {',
      ...own(g.child, 8),
      '}',
      `exists (${g.cond})`,
    ]
      .filter((l) => l !== '')
      .join('\n');
  });

/** `forced` made one-to-one: the numbers it maps onto but not from go to those it maps from but not onto. */
function oneToOne(forced: ReadonlyMap<number, number>): Map<number, number> {
  const out = new Map(forced);
  const onto = new Set(forced.values());
  const from = [...forced.keys()].filter((x) => !onto.has(x)).sort((a, b) => a - b);
  const rest = [...onto].filter((y) => !forced.has(y)).sort((a, b) => a - b);
  rest.forEach((y, i) => {
    out.set(y, from[i]!);
  });
  return out;
}

/** A random permutation of each permutable group of `m`, as an order (slot j takes thread order[j]). */
function randomOrder(m: Machine, seed: number): number[] | null {
  const groups = permutable(m);
  if (groups === null) return null;
  const order = m.threads.map((_, i) => i);
  groups.forEach((g, k) => {
    const to = shuffled(g, seed + k);
    g.forEach((slot, j) => {
      order[slot] = to[j]!;
    });
  });
  return order;
}

/**
 * Equivariance and the canonical form on the first `limit` states of `sc`
 * (breadth-first) and on every state of `walks` random paths to a final
 * state; returns how many states had a permutable group.
 */
export function checkThreadEquivariance(
  sc: Scenario,
  era: string,
  seed: number,
  limit: number,
  walks = 3,
): number {
  const config = configFor(sc, eraInfo(era)!.policy!, { lockBreaks: true });
  let n = 0;
  let permuted = 0;
  visitStates(sc, config, limit, walks, seed, (m) => {
    expect(canonicalLanes(m)).toEqual(machineLanes(canonicalMachine(m)));
    const order = randomOrder(m, seed + n++);
    const forced = order && forcedValues(m, order);
    if (!order || !forced) return;
    permuted++;
    const tau = oneToOne(forced);
    const m2 = expectEquivariant(m, config, (t) =>
      renameMachineValues(permuteThreads(t, order), tau),
    );
    expect(canonicalLanes(m2)).toEqual(canonicalLanes(m));
  });
  return permuted;
}

/** checkThreadEquivariance() on random scenarios; most of them permute some state. */
export function threadEquivariance(numRuns: number, limit: number, seed = 43): void {
  let permuting = 0;
  fc.assert(
    fc.property(threadScenarioArb, fc.constantFrom('v5.9', 'v6.18'), fc.nat(), (src, era, s) => {
      if (checkThreadEquivariance(load(src), era, s, limit) > 0) permuting++;
    }),
    { numRuns, seed },
  );
  expect(permuting).toBeGreaterThan(numRuns / 2);
}

type Result = ReturnType<typeof explore>;

/** Every symmetry changes no verdict, broken design invariant or kind of final state, and adds no state. */
export function threadIdentity(numRuns: number, seed = 47): void {
  fc.assert(
    fc.property(threadScenarioArb, fc.constantFrom('v5.9', 'v6.18'), (src, era) => {
      const sc = load(src);
      const policy = eraInfo(era)!.policy!;
      const [none, values, all] = ([false, 'values', true] as const).map((symmetry) =>
        explore(sc, policy, { maxStates: 15_000, symmetry }),
      ) as [Result, Result, Result];
      expect(all.symmetry?.threads.length).toBeGreaterThan(0);
      expectSameAnswer(values, none);
      expectSameAnswer(all, values);
      if (all.kind !== 'done') return;
      // The partial-order reduction under every symmetry: the same finals as without it.
      const full = explore(sc, policy, { maxStates: 15_000, symmetry: true, por: false });
      if (full.kind !== 'done') return;
      expect([full.verdict, full.finals]).toEqual([all.verdict, all.finals]);
      expect(full.findings.map((f) => f.code).sort()).toEqual(
        all.findings.map((f) => f.code).sort(),
      );
    }),
    { numRuns, seed },
  );
}
