/**
 * Properties of the symmetry over page contents (explore/value-symmetry.ts)
 * on random scenarios that store, copy on write, swap, splice and pin pages,
 * run at a reduced size by the unit suite (test/explore/value-symmetry.test.ts)
 * and at full size by the slow suite:
 *  - equivariance: for every state reached and a random one-to-one renaming
 *    τ of the values it holds that are not fixed (fixedValues()), the
 *    successors of τ(state) are τ of its successors (same fingerprints),
 *    with the same final verdict, accounting violations and design
 *    findings. A kernel path or check that did arithmetic on contents, or a
 *    fixed value left out, breaks it;
 *  - the canonical form is the same for τ(state) as for the state, and the
 *    fingerprint taken under the renamings is that of the renamed copy;
 *  - identity: exploring with both symmetries gives the verdict, the broken
 *    design invariants and the kinds of final states of exploring with the
 *    one over PFNs alone and without any, in at most as many states.
 */

import fc from 'fast-check';
import { expect } from 'vitest';
import { machineLanes } from '../../src/explore/expand.js';
import { explore } from '../../src/explore/explore.js';
import { canonicalLanes, canonicalMachine } from '../../src/explore/symmetry.js';
import {
  fixedValues,
  renameMachineValues,
  valueRegisters,
  valueSymmetryBlocked,
  valuesMayMerge,
} from '../../src/explore/value-symmetry.js';
import { eraInfo } from '../../src/policy/registry.js';
import type { Scenario } from '../../src/scenario/ast.js';
import type { Machine } from '../../src/scenario/machine.js';
import { configFor } from '../../src/scenario/run.js';
import {
  expectEquivariant,
  expectSameAnswer,
  load,
  PAGES_SETUP,
  readArb,
  shuffled,
  statementsArb,
  visitStates,
  writeArb,
} from './symmetry-props.js';

/** One statement of a generated thread; `n` numbers its pin names. */
const stmtArb = (thread: string, n: number) =>
  fc.oneof(
    writeArb(3, 6),
    writeArb(3, 6),
    fc.integer({ min: 0, max: 2 }).map((i) => `read a[${i}]`),
    readArb(3, `${thread}${n}`),
    fc.integer({ min: 0, max: 2 }).map((i) => `madvise a[${i}] dontneed`),
    fc.integer({ min: 0, max: 2 }).map((i) => `vmsplice a[${i}] -> p`),
    fc
      .tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 2, max: 6 }))
      .map(
        ([i, v]) =>
          `pin a[${i}] rw longterm -> ${thread}pin${n}\n  write pin ${thread}pin${n} = ${v}\n  unpin ${thread}pin${n}`,
      ),
    fc.constantFrom('madvise a pageout', 'write b[0] = 5'),
  );

const threadArb = (thread: string, max: number) => statementsArb((n) => stmtArb(thread, n), 1, max);

/**
 * A parent that forks a child and spawns a sibling, on three private pages,
 * a shared one and a pipe; the parent reads a page into a register last.
 */
export const valueScenarioArb = fc
  .record({
    parent: threadArb('p', 3),
    child: threadArb('c', 2),
    sibling: threadArb('s', 2),
    env: fc.constantFrom('', 'env lru_batches', 'env reclaim'),
    cond: fc.constantFrom(
      'value(parent, a[0]) == 2',
      'value(parent, a[1]) == value(child, a[1])',
      'value(child, a[0]) != 3 && value(sibling, a[2]) == 4',
      'anon_wp_copy_count > 1',
      'pr == 2 || pr == value(sibling, a[2])',
      'pr != 1',
    ),
  })
  .map((g) =>
    [
      'scenario values',
      g.env,
      'setup {',
      ...PAGES_SETUP,
      '  pipe p',
      '}',
      'thread parent {',
      '  spawn sibling',
      '  fork child',
      ...g.parent.map((s) => `  ${s}`),
      '  read a[1] -> pr',
      '}',
      'thread sibling {',
      ...g.sibling.map((s) => `  ${s}`),
      '}',
      'thread child {',
      ...g.child.map((s) => `  ${s}`),
      '}',
      `exists (${g.cond})`,
    ]
      .filter((l) => l !== '')
      .join('\n'),
  );

/** Every value `m` holds: memory, swap, the ghost's expectations, registers a read set. */
function heldValues(m: Machine): number[] {
  const out = new Set<number>();
  for (let p = 0; p < m.s.mem.end; p++) out.add(m.s.mem.content[p]!);
  for (const x of m.s.swap.data) out.add(x);
  for (const [, v] of m.ghost.mem()) out.add((v - (v % 2)) / 2);
  for (const [, bufs] of m.ghost.pipes) for (const b of bufs) if (b.want >= 0) out.add(b.want);
  const regs = valueRegisters(m.sc);
  for (const [k, x] of m.regs) if (regs.has(k)) out.add(x);
  return [...out].sort((a, b) => a - b);
}

/** A random one-to-one renaming of the values `m` holds that are not fixed, onto 100..199 (none fixed). */
function randomValues(m: Machine, seed: number): Map<number, number> {
  const fixed = fixedValues(m);
  const from = heldValues(m).filter((x) => !fixed.has(x));
  const to = shuffled(
    Array.from({ length: 100 }, (_, i) => 100 + i),
    seed,
  );
  return new Map(from.map((v, i) => [v, to[i]!]));
}

/**
 * Equivariance and the canonical form on the first `limit` states of `sc`
 * (breadth-first) and on every state of `walks` random paths to a final
 * state (where the condition reads the values).
 */
export function checkValueEquivariance(
  sc: Scenario,
  era: string,
  seed: number,
  limit: number,
  walks = 4,
): void {
  expect(valueSymmetryBlocked(sc)).toBeNull();
  const config = configFor(sc, eraInfo(era)!.policy!, { lockBreaks: true });
  const merges = valuesMayMerge(sc);
  let n = 0;
  visitStates(sc, config, limit, walks, seed, (m) => {
    const tau = randomValues(m, seed + n++);
    const m2 = expectEquivariant(m, config, (t) => renameMachineValues(t, tau));
    // Where no renaming could merge two reachable states the fingerprint skips it (valuesMayMerge()).
    if (merges) expect(canonicalLanes(m2)).toEqual(canonicalLanes(m));
    expect(canonicalLanes(m)).toEqual(machineLanes(canonicalMachine(m)));
  });
}

/** checkValueEquivariance() on random scenarios. */
export function valueEquivariance(numRuns: number, limit: number, seed = 29): void {
  fc.assert(
    fc.property(valueScenarioArb, fc.constantFrom('v5.9', 'v6.18'), fc.nat(), (src, era, s) =>
      checkValueEquivariance(load(src), era, s, limit),
    ),
    { numRuns, seed },
  );
}

/** Both symmetries change no verdict, broken design invariant or kind of final state, and add no state. */
export function valueIdentity(numRuns: number, seed = 31): void {
  fc.assert(
    fc.property(valueScenarioArb, fc.constantFrom('v5.9', 'v6.18'), (src, era) => {
      const sc = load(src);
      const policy = eraInfo(era)!.policy!;
      const [none, pfns, both] = ([false, 'pfns', 'values'] as const).map((symmetry) =>
        explore(sc, policy, { maxStates: 20_000, symmetry }),
      );
      expect(both!.symmetry).toEqual({
        applied: true,
        blocked: null,
        valuesBlocked: null,
        threads: [],
      });
      expectSameAnswer(pfns!, none!);
      expectSameAnswer(both!, pfns!);
    }),
    { numRuns, seed },
  );
}
