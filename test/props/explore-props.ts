/**
 * Properties of the explorer on random small racy scenarios (fast-check),
 * run at a reduced size by the unit suite (test/props/explore.test.ts) and
 * at full size by the slow suite (test/slow/props-explore.test.ts):
 *  - partial-order reduction changes neither the verdict, nor the final-state
 *    counts, nor which design invariants are broken somewhere;
 *  - the witness replays to a final state of the kind it claims;
 *  - the sequential run is one of the explored interleavings;
 *  - the search is deterministic (the same result twice).
 */

import fc from 'fast-check';
import { expect } from 'vitest';
import { EraMemo } from '../../src/explore/era-memo.js';
import { explore } from '../../src/explore/explore.js';
import { exploreParallel } from '../../src/explore/parallel.js';
import { replay } from '../../src/explore/replay.js';
import { completeEraIds, eraInfo } from '../../src/policy/registry.js';
import { checkScenario } from '../../src/scenario/check.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { runSequential } from '../../src/scenario/run.js';
import { symScenarioArb } from '../explore/symmetry-props.js';

/** One statement a thread of the generated scenarios may run (registers are named per thread). */
const stmtArb = (thread: string) =>
  fc.oneof(
    fc
      .tuple(fc.constantFrom('a[0]', 'a[1]', 'b[0]'), fc.integer({ min: 2, max: 4 }))
      .map(([ref, v]) => `write ${ref} = ${v}`),
    fc
      .tuple(fc.constantFrom('a[0]', 'a[1]', 'b[0]'), fc.nat(1))
      .map(([ref, n]) => `read ${ref} -> ${thread}${n}`),
    fc.constantFrom('sched_setaffinity 1', 'signal s', 'madvise a[1] dontneed'),
    // Statements that end a thread group (a write after `mprotect a r` is killed by SIGSEGV).
    fc.constantFrom('mprotect a r', 'exit', 'munmap a'),
  );

/** A parent that forks a child (and maybe spawns a sibling), each running a few random statements. */
const CONDS = ['value(parent, a[0]) == 2', 'anon_wp_copy_count > 1', 'pgfault > 5'];
const scenarioArbOf = (envs: readonly string[], conds: readonly string[] = CONDS) =>
  fc.record({
    parent: fc.array(stmtArb('p'), { minLength: 1, maxLength: 3 }),
    child: fc.array(stmtArb('c'), { minLength: 1, maxLength: 3 }),
    sibling: fc.option(fc.array(stmtArb('s'), { minLength: 1, maxLength: 2 }), { nil: null }),
    // Where the parent spawns the sibling: before the fork, or while the child runs.
    spawnLate: fc.boolean(),
    pin: fc.boolean(),
    env: fc.constantFrom(...envs),
    cond: fc.constantFrom(...conds),
  });

const scenarioText = (g: {
  parent: string[];
  child: string[];
  sibling: string[] | null;
  spawnLate: boolean;
  pin: boolean;
  env: string;
  cond: string;
}) => {
  // The pin must succeed for its `write pin` (SC101): no mprotect or munmap of `a` before it.
  const ok = (st: string) => !g.pin || !/^(mprotect|munmap) a/.test(st);
  g = {
    ...g,
    parent: g.parent.filter(ok),
    child: g.child.filter(ok),
    sibling: g.sibling?.filter(ok) ?? null,
  };
  const lines = ['scenario random', g.env, 'setup {'];
  lines.push('  mmap a pages=2 private rw', '  mmap b pages=1 shared rw', '  write a[0..2] = 1');
  lines.push('  write b[0] = 1', '}', 'thread parent {');
  if (g.sibling && !g.spawnLate) lines.push('  spawn sibling');
  if (g.pin) lines.push('  pin a[0] rw fast -> dma');
  lines.push('  fork child');
  if (g.sibling && g.spawnLate) lines.push('  spawn sibling');
  lines.push(...g.parent.map((s) => `  ${s}`));
  if (g.pin) lines.push('  write pin dma = 9');
  lines.push('}');
  if (g.sibling) lines.push('thread sibling {', ...g.sibling.map((s) => `  ${s}`), '}');
  lines.push('thread child {', ...g.child.map((s) => `  ${s}`), '}');
  lines.push(`exists (${g.cond})`);
  return lines.filter((l) => l !== '').join('\n');
};

const scenarioArb = scenarioArbOf(['', 'env lru_batches', 'env reclaim']).map(scenarioText);
/** Conditions on counters with small literals: the counters often pass them (saturation). */
const counterScenarioArb = scenarioArbOf(
  ['', 'env lru_batches', 'env reclaim'],
  ['anon_wp_copy_count == 0', 'pgfault > 1', 'anon_wp_copy_count >= 1 && pgfault < 4'],
).map(scenarioText);
/** Scenarios with environment actors only (the reduction with actors, localMove()). */
const actorScenarioArb = scenarioArbOf(['env lru_batches', 'env reclaim']).map(scenarioText);

function load(src: string) {
  const sc = parseScenario(src, 'random.cow');
  checkScenario(sc);
  return sc;
}

/** POR changes nothing observable; witnesses replay; the sequential run is contained; the search is deterministic. */
export function porIdentity(numRuns: number, actorsOnly = false, seed = 7): void {
  fc.assert(
    fc.property(
      actorsOnly ? actorScenarioArb : scenarioArb,
      fc.constantFrom('v5.9', 'v6.18'),
      (src, era) => {
        const sc = load(src);
        const policy = eraInfo(era)!.policy!;
        const a = explore(sc, policy, { maxStates: 20_000 });
        const b = explore(sc, policy, { maxStates: 20_000, por: false });
        expect([a.kind, b.kind]).not.toContain('tool-bug');
        if (a.kind !== 'done' || b.kind !== 'done') return;
        expect([a.verdict, a.finals]).toEqual([b.verdict, b.finals]);
        const codes = (r: typeof a) => r.findings.map((f) => f.code).sort();
        expect(codes(a)).toEqual(codes(b));
        expect(JSON.stringify(explore(sc, policy, { maxStates: 20_000 }))).toBe(JSON.stringify(a));
        if (a.witness) {
          const out = replay(
            sc,
            policy,
            a.witness.map((s) => s.move),
          );
          expect(out.end).toBe('finished');
          expect(out.holds).toBe(true);
        }
        const seq = runSequential(sc, policy);
        if (seq.kind === 'done') {
          const allowed = a.verdict === 'Sometimes' ? ['Always', 'Never'] : [a.verdict];
          expect(allowed).toContain(seq.verdict);
        }
      },
    ),
    { numRuns, seed },
  );
}

/**
 * Counters saturated in the fingerprint (scenario/counters.ts) give the
 * verdict and the broken design invariants of counters kept exact: the same
 * scenario with each counter of its condition written `(c + 0)`, which keeps
 * it exact. The saturated search has at most as many states and final states.
 */
export function saturationIdentity(numRuns: number): void {
  fc.assert(
    fc.property(counterScenarioArb, fc.constantFrom('v5.9', 'v6.18'), (src, era) => {
      const policy = eraInfo(era)!.policy!;
      const exactSrc = src.replace(
        /^exists \((.*)\)$/m,
        (_, cond: string) =>
          `exists (${cond.replace(/\b(anon_wp_copy_count|pgfault)\b/g, '($1 + 0)')})`,
      );
      const a = explore(load(src), policy, { maxStates: 20_000 });
      const b = explore(load(exactSrc), policy, { maxStates: 20_000 });
      expect([a.kind, b.kind]).not.toContain('tool-bug');
      if (a.kind !== 'done') return;
      // The exact search may not end where the saturated one does (a livelock).
      if (b.kind !== 'done') return;
      expect(a.verdict).toBe(b.verdict);
      const codes = (r: typeof a) => r.findings.map((f) => f.code).sort();
      expect(codes(a)).toEqual(codes(b));
      expect(a.states).toBeLessThanOrEqual(b.states);
      expect(a.finals.holds + a.finals.fails).toBeLessThanOrEqual(b.finals.holds + b.finals.fails);
    }),
    { numRuns, seed: 11 },
  );
}

/**
 * EraMemo (src/explore/era-memo.ts) gives each era, in a random order, what
 * exploring it gives, byte for byte: results shared whole, expansions taken
 * from another era's exploration. Conditions on counters are drawn too: a
 * saturated counter lets machines that differ in it share a fingerprint, so
 * an expansion is taken from a machine reached another way.
 */
export function eraMemoIdentity(numRuns: number): number {
  const eras = completeEraIds();
  let reused = 0;
  fc.assert(
    fc.property(
      fc.oneof(scenarioArb, counterScenarioArb),
      fc.shuffledSubarray([...eras], { minLength: 2, maxLength: 5 }),
      (src, ids) => {
        const sc = load(src);
        const memo = new EraMemo(sc, { maxStates: 20_000 });
        for (const id of ids) {
          const policy = eraInfo(id)!.policy!;
          const mine = JSON.stringify(memo.explore(policy));
          expect([id, mine]).toEqual([
            id,
            JSON.stringify(explore(sc, policy, { maxStates: 20_000 })),
          ]);
        }
        reused += memo.reused;
      },
    ),
    { numRuns, seed: 17 },
  );
  // The property is about expansions taken: some were.
  expect(reused).toBeGreaterThan(0);
  return reused;
}

/**
 * Worker threads give the one-thread result byte for byte (the compiled
 * explorer in dist/, built by `npm ci`), also with the symmetry over PFN
 * allocation order (on scenarios that allocate, free, pin, splice and swap).
 */
export function workersIdentity(numRuns: number, symmetry = false): void {
  fc.assert(
    fc.property(
      symmetry ? symScenarioArb : scenarioArb,
      fc.constantFrom('v5.9', 'v6.18'),
      (src, era) => {
        const sc = load(src);
        const policy = eraInfo(era)!.policy!;
        const opts = { maxStates: 20_000, symmetry };
        const one = JSON.stringify(explore(sc, policy, opts));
        expect(JSON.stringify(exploreParallel(sc, policy, { ...opts, workers: 2 }))).toBe(one);
      },
    ),
    { numRuns, seed: 5 },
  );
}

/**
 * A search resumed from any of its checkpoints (through JSON, as the file
 * keeps it) gives the result of the search never stopped, breadth- and
 * depth-first.
 */
export function checkpointIdentity(numRuns: number, symmetry = false): void {
  fc.assert(
    fc.property(
      symmetry ? symScenarioArb : scenarioArb,
      fc.constantFrom('v5.9', 'v6.18'),
      fc.boolean(),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (src, era, dfs, where) => {
        const sc = load(src);
        const policy = eraInfo(era)!.policy!;
        const whole = explore(sc, policy, { maxStates: 20_000, dfs, symmetry });
        // A checkpoint before a node drawn at random (the states bound the nodes expanded).
        const target = 1 + Math.floor(where * whole.states);
        let nodes = 0;
        let snap = '';
        const again = explore(sc, policy, {
          maxStates: 20_000,
          dfs,
          symmetry,
          checkpoint: {
            due: () => ++nodes === target,
            save: (s) => {
              if (nodes <= target) snap = JSON.stringify(s);
            },
          },
        });
        expect(JSON.stringify(again)).toBe(JSON.stringify(whole));
        const resumed = explore(sc, policy, {
          maxStates: 20_000,
          dfs,
          symmetry,
          resume: JSON.parse(snap),
        });
        expect(JSON.stringify(resumed)).toBe(JSON.stringify(whole));
      },
    ),
    { numRuns, seed: 11 },
  );
}
