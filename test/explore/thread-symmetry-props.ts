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
import {
  forcedPages,
  pageRenaming,
  renameMachineAddresses,
} from '../../src/explore/address-symmetry.js';
import { machineKey, machineLanes } from '../../src/explore/expand.js';
import { explore } from '../../src/explore/explore.js';
import {
  canonicalKey,
  canonicalLanes,
  canonicalMachine,
  permuteThreads,
} from '../../src/explore/symmetry.js';
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
 * A parent that forks `child` and spawns t0…t(k − 1) and `sibling`, on
 * PAGES_SETUP and `setup`: the scenario text of the generators below.
 */
function program(p: {
  name: string;
  env: string;
  setup: readonly string[];
  k: number;
  thread: (k: number) => readonly string[];
  sibling: readonly string[];
  child: readonly string[];
  cond: string;
}): string {
  const ts = Array.from({ length: p.k }, (_, k) => k);
  return [
    `scenario ${p.name}`,
    p.env,
    'setup {',
    ...PAGES_SETUP,
    ...p.setup,
    '}',
    'thread parent {',
    '  fork child',
    ...ts.map((k) => `  spawn t${k}`),
    '  spawn sibling',
    '}',
    ...ts.flatMap((k) => [`thread t${k} {`, ...p.thread(k), '}']),
    'thread sibling {',
    ...p.sibling,
    '}',
    'thread child {',
    ...p.child,
    '}',
    `exists (${p.cond})`,
  ]
    .filter((l) => l !== '')
    .join('\n');
}

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
    return program({
      name: 'threads',
      env: g.env,
      setup: [],
      k: g.k,
      thread: (k) => own(g.shared, g.same ? 0 : k),
      sibling: own(g.sibling, 7),
      child: own(g.child, 8),
      cond: g.cond,
    });
  });

/** One statement of a program on pages of its own (`$Pk`: the thread's k-th own page of `o`). */
const ownStmtArb = fc.oneof(
  fc.integer({ min: 0, max: 1 }).map((k) => `write o[$P${k}] = $${k}`),
  fc.integer({ min: 0, max: 1 }).map((k) => `write o[$P${k}] = $${1 - k}`),
  fc.integer({ min: 0, max: 1 }).map((k) => `read o[$P${k}]`),
  fc.integer({ min: 0, max: 2 }).map((i) => `read a[${i}]`),
  fc.constantFrom('write a[1] = $0', 'write b[0] = $1', 'madvise a pageout', 'mprotect a r'),
);

/**
 * What another thread does: other mappings, a page of `o` nobody owns, or
 * (rarely) a thread's own page, which leaves `o`'s pages in place.
 */
const otherStmtArb = fc.oneof(
  { weight: 10, arbitrary: stmtArb },
  { weight: 2, arbitrary: fc.constantFrom('read o[7]', 'write o[6] = 9') },
  { weight: 1, arbitrary: fc.constantFrom('read o[0]', 'madvise o[1..2] dontneed') },
);

/**
 * threadScenarioArb's parent, child and sibling around two or three threads
 * that run one program on two pages of `o` each (thread k owns pages 2k and
 * 2k + 1), unmapped, populated or half populated by setup.
 */
export const ownPageScenarioArb = fc
  .record({
    shared: statementsArb(() => ownStmtArb, 1, 3),
    k: fc.integer({ min: 2, max: 3 }),
    same: fc.boolean(),
    sibling: statementsArb(() => otherStmtArb, 0, 2),
    child: statementsArb(() => otherStmtArb, 0, 2),
    env: fc.constantFrom('', '', 'env lru_batches', 'env lru_batches', 'env reclaim'),
    populate: fc.constantFrom('', '  write o[0..8] = 1', '  write o[0..3] = 1'),
    cond: fc.constantFrom(
      'anon_wp_copy_count > 1',
      'pgfault > 6',
      'value(child, a[1]) == value(parent, a[1])',
      'anon_wp_copy_count > 2',
    ),
  })
  .map((g) => {
    const own = (stmts: readonly string[], k: number) =>
      stmts.map(
        (s) =>
          `  ${s
            .replace(/\$P(\d)/g, (_, j) => String(2 * k + Number(j)))
            .replace(/\$(\d)/g, (_, j) => String(10 * (g.same ? 0 : k) + 2 + Number(j)))}`,
      );
    return program({
      name: 'own-pages',
      env: g.env,
      setup: ['  mmap o pages=8 private rw', g.populate],
      k: g.k,
      thread: (k) => own(g.shared, k),
      sibling: own(g.sibling, 7).map((l) => l.replace(/= \d+$/, '= 9')),
      child: own(g.child, 8).map((l) => l.replace(/= \d+$/, '= 9')),
      cond: g.cond,
    });
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
    // The pages the permutation moves (address-symmetry.ts), renamed alike in every successor.
    const pages = forcedPages(m, order);
    if (pages === 'pinned') return;
    const move = (t: Machine) => {
      if (pages === null) return t;
      const a = pageRenaming(t, pages.pages);
      expect(a).not.toBe('pinned');
      return a === 'pinned' ? t : renameMachineAddresses(t, a);
    };
    // Moved pages are freed in another order (an exit zaps them by address): the
    // successors are the permuted ones up to a renaming of PFNs.
    const m2 = expectEquivariant(
      m,
      config,
      (t) => renameMachineValues(move(permuteThreads(t, order)), tau),
      pages === null ? machineKey : (t) => canonicalKey(t, 'pfns'),
    );
    expect(canonicalLanes(m2)).toEqual(canonicalLanes(m));
  });
  return permuted;
}

/** checkThreadEquivariance() on random scenarios; most of them permute some state. */
export function threadEquivariance(
  numRuns: number,
  limit: number,
  seed = 43,
  arb: fc.Arbitrary<string> = threadScenarioArb,
): void {
  let permuting = 0;
  fc.assert(
    fc.property(arb, fc.constantFrom('v5.9', 'v6.18'), fc.nat(), (src, era, s) => {
      if (checkThreadEquivariance(load(src), era, s, limit) > 0) permuting++;
    }),
    { numRuns, seed },
  );
  expect(permuting).toBeGreaterThan(numRuns / 2);
}

type Result = ReturnType<typeof explore>;

/** Every symmetry changes no verdict, broken design invariant or kind of final state, and adds no state. */
export function threadIdentity(
  numRuns: number,
  seed = 47,
  arb: fc.Arbitrary<string> = threadScenarioArb,
): void {
  fc.assert(
    fc.property(arb, fc.constantFrom('v5.9', 'v6.18'), (src, era) => {
      const sc = load(src);
      const policy = eraInfo(era)!.policy!;
      const [none, values, all] = ([false, 'values', true] as const).map((symmetry) =>
        explore(sc, policy, { maxStates: 15_000, symmetry }),
      ) as [Result, Result, Result];
      // Every random program of threadScenarioArb groups its threads (of ownPageScenarioArb, most).
      if (arb === threadScenarioArb) expect(all.symmetry?.threads.length).toBeGreaterThan(0);
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
