/**
 * Properties of the symmetry over PFN allocation order (core/symmetry.ts,
 * explore/symmetry.ts) on random scenarios that allocate, free, pin, splice,
 * swap and share pages, run at a reduced size by the unit suite
 * (test/explore/symmetry.test.ts) and at full size by the slow suite:
 *  - equivariance: for every state reached and a random renaming σ of its
 *    movable PFNs (and of the registers an observe of a PFN sets), the
 *    successors of σ(state) are σ of its successors (same
 *    fingerprints), with the same final verdict, accounting violations and
 *    design findings. A PFN the renaming forgets, or a kernel path that
 *    looks at a PFN's number, breaks it;
 *  - the canonical renaming is the same for σ(state) as for the state;
 *  - the fingerprint hashed under a renaming (canon.ts hashState() with a
 *    renaming) is the fingerprint of the renamed copy;
 *  - identity: exploring with the symmetry gives the verdict, the broken
 *    design invariants and the kinds of final states of exploring without it,
 *    in at most as many states.
 */

import fc from 'fast-check';
import { expect } from 'vitest';
import { checkInvariants } from '../../src/core/invariants.js';
import { movablePfns, type PfnRenaming } from '../../src/core/symmetry.js';
import {
  expand,
  machineFindings,
  machineKey,
  machineLanes,
  renamedLanes,
} from '../../src/explore/expand.js';
import { explore } from '../../src/explore/explore.js';
import {
  canonicalLanes,
  canonicalMachine,
  pfnRegisters,
  renameMachine,
} from '../../src/explore/symmetry.js';
import { eraInfo } from '../../src/policy/registry.js';
import type { Scenario } from '../../src/scenario/ast.js';
import { checkScenario } from '../../src/scenario/check.js';
import type { Machine } from '../../src/scenario/machine.js';
import { machineRefs, newMachine } from '../../src/scenario/machine.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { configFor } from '../../src/scenario/run.js';

const NAMES: Readonly<Record<string, string>> = { p: 'parent', c: 'child', s: 'sibling' };

/** The random scenarios' pages: three private ones and a shared one, every page holding 1. */
export const PAGES_SETUP = [
  '  mmap a pages=3 private rw',
  '  mmap b pages=1 shared rw',
  '  write a[0..3] = 1',
  '  write b[0] = 1',
];

/** `write a[i] = v`, for a page i below `pages` and a value from 2 to `maxValue`. */
export const writeArb = (pages: number, maxValue: number) =>
  fc
    .tuple(fc.integer({ min: 0, max: pages - 1 }), fc.integer({ min: 2, max: maxValue }))
    .map(([i, v]) => `write a[${i}] = ${v}`);

/** `read a[i] -> reg`, for a page i below `pages`. */
export const readArb = (pages: number, reg: string) =>
  fc.integer({ min: 0, max: pages - 1 }).map((i) => `read a[${i}] -> ${reg}`);

/** One statement of a generated thread; `n` numbers its pin and register names. */
const stmtArb = (thread: string, n: number) =>
  fc.oneof(
    writeArb(3, 4),
    readArb(3, `${thread}${n}`),
    fc.integer({ min: 0, max: 2 }).map((i) => `madvise a[${i}] dontneed`),
    fc.integer({ min: 0, max: 2 }).map((i) => `vmsplice a[${i}] -> p`),
    fc
      .integer({ min: 0, max: 2 })
      .map((i) => `pin a[${i}] ro longterm -> ${thread}pin${n}\n  unpin ${thread}pin${n}`),
    fc.constantFrom('madvise a pageout', 'write b[0] = 5', 'mprotect a r', 'mprotect a rw'),
    // A PFN kept in a register: the canonical renaming keeps its number.
    fc
      .integer({ min: 0, max: 2 })
      .map((i) => `observe pfn(${NAMES[thread]}, a[${i}]) -> ${thread}f${n}`),
  );

/** A thread's statements: between `min` and `max` of `stmt(n)`, `n` numbering them. */
export const statementsArb = (
  stmt: (n: number) => fc.Arbitrary<string>,
  min: number,
  max: number,
) =>
  fc
    .array(fc.nat(), { minLength: min, maxLength: max })
    .chain((xs) => fc.tuple(...xs.map((_, n) => stmt(n))));

const threadArb = (thread: string, max: number) => statementsArb((n) => stmtArb(thread, n), 1, max);

/**
 * A parent that forks a child and spawns a sibling, on three private pages, a
 * shared one and a pipe, maybe with pages already on the free stack.
 */
export const symScenarioArb = fc
  .record({
    parent: threadArb('p', 2),
    child: threadArb('c', 2),
    sibling: threadArb('s', 2),
    env: fc.constantFrom('', 'env lru_batches', 'env reclaim'),
    // Three pages freed in setup: later allocations take them off the free stack.
    freed: fc.boolean(),
    cond: fc.constantFrom(
      'value(parent, a[0]) == 2',
      'anon_wp_copy_count > 1',
      'pgfault > 4',
      'pfn(parent, a[0]) != pfn(child, a[0])',
      'pfn(parent, a[1]) == pfn(sibling, a[2]) || pfn(child, a[1]) == 0',
    ),
  })
  .map((g) =>
    [
      'scenario sym',
      g.env,
      'setup {',
      ...PAGES_SETUP,
      '  pipe p',
      ...(g.freed
        ? ['  mmap f pages=3 private rw', '  write f[0..3] = 1', '  madvise f dontneed']
        : []),
      '}',
      'thread parent {',
      '  spawn sibling',
      '  fork child',
      ...g.parent.map((s) => `  ${s}`),
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

export function load(src: string): Scenario {
  const sc = parseScenario(src, 'sym.cow');
  checkScenario(sc);
  return sc;
}

/** `xs` shuffled (Fisher–Yates) by a linear congruential generator from `seed`. */
export function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const to = xs.slice();
  let x = seed >>> 0 || 1;
  for (let i = to.length - 1; i > 0; i--) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const j = x % (i + 1);
    [to[i], to[j]] = [to[j]!, to[i]!];
  }
  return to;
}

/** bench/programs.mjs cowThreads(k, true): k threads of a forked process store their own number into one COW page. */
export function samePage(k: number, cond = `anon_wp_copy_count == ${k}`) {
  const ts = Array.from({ length: k }, (_, i) => i);
  return load(
    [
      'scenario same',
      'setup {\n  mmap mem pages=1 private rw\n  write mem[0..1] = 1\n}',
      `thread parent {\n  fork child\n${ts.map((i) => `  spawn t${i}`).join('\n')}\n}`,
      ...ts.map((i) => `thread t${i} {\n  write mem[0] = ${i + 2}\n}`),
      'thread child {\n}',
      `exists (${cond})`,
    ].join('\n'),
  );
}

/** A random renaming of `m`'s movable PFNs (register values stay), from `seed`. */
function randomRenaming(m: Machine, seed: number): PfnRenaming {
  const from = movablePfns(m.s, m.regs.values());
  const to = shuffled(from, seed);
  const perm: number[] = new Array(m.s.mem.end);
  for (let p = 0; p < perm.length; p++) perm[p] = p;
  from.forEach((p, i) => {
    perm[p] = to[i]!;
  });
  return perm;
}

/** What a machine's successors are, fingerprints of `rename`d successors, sorted. */
function successorKeys(
  m: Machine,
  config: ReturnType<typeof configFor>,
  rename: (t: Machine) => Machine,
  key: (t: Machine) => string,
) {
  const { succs, final } = expand(m, config, false);
  const keys = succs.map((x) => key(rename(x.m))).sort();
  const fin =
    final === null
      ? null
      : final.kind === 'hung'
        ? 'hung'
        : `${final.holds}/${final.violations.length}`;
  return { keys, fin };
}

/**
 * Does the symmetry `g` commute with the model at `m`: has g(m) the
 * accounting violations and design findings of `m`, and as successors the
 * g-images of m's, with the same final verdict? Returns g(m).
 */
export function expectEquivariant(
  m: Machine,
  config: ReturnType<typeof configFor>,
  g: (t: Machine) => Machine,
  key: (t: Machine) => string = machineKey,
): Machine {
  const m2 = g(m);
  expect(checkInvariants(m2.s, machineRefs(m2)).length).toBe(
    checkInvariants(m.s, machineRefs(m)).length,
  );
  const codes = (x: Machine) =>
    machineFindings(x, config)
      .map((f) => f.code)
      .sort();
  expect(codes(m2)).toEqual(codes(m));
  expect(successorKeys(m2, config, (t) => t, key)).toEqual(successorKeys(m, config, g, key));
  return m2;
}

/**
 * Call `check` on the first `limit` states of `sc` (breadth-first, every
 * move) and on every state of `walks` random paths to a final state.
 */
export function visitStates(
  sc: Scenario,
  config: ReturnType<typeof configFor>,
  limit: number,
  walks: number,
  seed: number,
  check: (m: Machine) => void,
): void {
  const seen = new Set<string>();
  const queue: Machine[] = [newMachine(sc)];
  for (let head = 0; head < queue.length && head < limit; head++) {
    const m = queue[head]!;
    check(m);
    for (const x of expand(m, config, false).succs) {
      const k = machineKey(x.m);
      if (!seen.has(k)) {
        seen.add(k);
        queue.push(x.m);
      }
    }
  }
  let x = seed >>> 0 || 1;
  for (let w = 0; w < walks; w++)
    for (let m = newMachine(sc), steps = 0; steps < 200; steps++) {
      check(m);
      const { succs } = expand(m, config, false);
      if (succs.length === 0) break;
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      m = succs[x % succs.length]!.m;
    }
}

/** Equivariance and canonical renaming on the first `limit` states of `sc` (breadth-first). */
export function checkEquivariance(sc: Scenario, era: string, seed: number, limit: number): void {
  const config = configFor(sc, eraInfo(era)!.policy!, { lockBreaks: true });
  // A register an observe of a PFN sets holds a PFN: renamed with the state.
  const regs = pfnRegisters(sc);
  let n = 0;
  visitStates(sc, config, limit, 0, seed, (m) => {
    const perm = randomRenaming(m, seed + n++);
    const m2 = expectEquivariant(m, config, (t) => renameMachine(t, perm, regs));
    expect(machineKey(canonicalMachine(m2))).toBe(machineKey(canonicalMachine(m)));
    // The fingerprint hashed under a renaming is that of the renamed copy.
    expect(renamedLanes(m, { perm, vals: null, order: null, addrs: null })).toEqual(
      machineLanes(m2),
    );
    expect(canonicalLanes(m2)).toEqual(machineLanes(canonicalMachine(m)));
  });
}

/** checkEquivariance() on random scenarios. */
export function symmetryEquivariance(numRuns: number, limit: number): void {
  fc.assert(
    fc.property(symScenarioArb, fc.constantFrom('v5.9', 'v6.18'), fc.nat(), (src, era, seed) =>
      checkEquivariance(load(src), era, seed, limit),
    ),
    { numRuns, seed: 19 },
  );
}

/** The symmetry changes no verdict, broken design invariant or kind of final state, and adds no state. */
export function symmetryIdentity(numRuns: number): void {
  fc.assert(
    fc.property(symScenarioArb, fc.constantFrom('v5.9', 'v6.18'), (src, era) => {
      const sc = load(src);
      const policy = eraInfo(era)!.policy!;
      const a = explore(sc, policy, { maxStates: 20_000 });
      const b = explore(sc, policy, { maxStates: 20_000, symmetry: true });
      expect(b.symmetry?.applied).toBe(true);
      expectSameAnswer(b, a);
    }),
    { numRuns, seed: 23 },
  );
}

type Result = ReturnType<typeof explore>;

/**
 * Does `reduced` (a search under a symmetry) answer as `plain` does: no
 * tool bug, and, when both finished, the same verdict, broken design
 * invariants and kinds of final states, in no more states and final states?
 */
export function expectSameAnswer(reduced: Result, plain: Result): void {
  expect([plain.kind, reduced.kind]).not.toContain('tool-bug');
  if (plain.kind !== 'done' || reduced.kind !== 'done') return;
  expect(reduced.verdict).toBe(plain.verdict);
  const codes = (r: Result) => r.findings.map((f) => f.code).sort();
  expect(codes(reduced)).toEqual(codes(plain));
  const kinds = (r: typeof plain) =>
    [r.finals.holds > 0, r.finals.fails > 0, r.finals.hangs > 0].join();
  expect(kinds(reduced)).toBe(kinds(plain));
  expect(reduced.states).toBeLessThanOrEqual(plain.states);
  expect(reduced.finals.holds).toBeLessThanOrEqual(plain.finals.holds);
  expect(reduced.finals.fails).toBeLessThanOrEqual(plain.finals.fails);
}
