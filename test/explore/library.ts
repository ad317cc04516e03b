/**
 * Whole-library properties of the explorer, shared by the quick suite (a
 * sample of the library) and test/slow (all of it).
 */

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { EraMemo } from '../../src/explore/era-memo.js';
import { explore } from '../../src/explore/explore.js';
import { completeEraIds, eraInfo } from '../../src/policy/registry.js';
import { checkScenario } from '../../src/scenario/check.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { runSequential } from '../../src/scenario/run.js';

const policy = (id: string) => eraInfo(id)!.policy!;

export function libraryFiles(dir = 'scenarios'): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const q = join(dir, n);
      return statSync(q).isDirectory() ? libraryFiles(q) : n.endsWith('.cow') ? [q] : [];
    });
}

/** Every `n`th library file (in sorted order), for the quick suite. */
export function librarySample(n: number): string[] {
  return libraryFiles().filter((_, i) => i % n === 0);
}

function load(f: string) {
  const sc = parseScenario(readFileSync(f, 'utf8'), f);
  checkScenario(sc);
  return sc;
}

/** The sequential run is one of the explored interleavings (v5.9, v6.18, wait-for-gup). */
export function expectSequentialContained(f: string): void {
  const sc = load(f);
  for (const era of ['v5.9', 'v6.18', 'wait-for-gup']) {
    const x = explore(sc, policy(era));
    const s = runSequential(sc, policy(era));
    if (x.kind !== 'done' || s.kind !== 'done') throw new Error(`${sc.name} ${era}`);
    // One schedule, atomic faults, actors idle: one of the explored paths.
    const allowed = x.verdict === 'Sometimes' ? ['Always', 'Never'] : [x.verdict];
    expect([sc.name, era, allowed.includes(s.verdict)]).toEqual([sc.name, era, true]);
  }
}

/** Partial-order reduction keeps verdicts and final-state counts in every era; the states it took. */
export function expectPorSound(files: readonly string[]): { reduced: number; full: number } {
  let reduced = 0;
  let full = 0;
  for (const f of files) {
    const sc = load(f);
    for (const era of completeEraIds()) {
      const a = explore(sc, policy(era));
      const b = explore(sc, policy(era), { por: false });
      if (a.kind !== 'done' || b.kind !== 'done') throw new Error(`${sc.name} ${era}`);
      expect([sc.name, era, a.verdict, a.finals]).toEqual([sc.name, era, b.verdict, b.finals]);
      reduced += a.states;
      full += b.states;
    }
  }
  return { reduced, full };
}

/**
 * An era that gets another era's result from an EraMemo gets exactly what
 * exploring it gives (every field, paths and counts included); the shares.
 */
export function expectEraMemoExact(files: readonly string[]): {
  explored: number;
  shared: number;
  reused: number;
} {
  let explored = 0;
  let shared = 0;
  let reused = 0;
  for (const f of files) {
    const sc = load(f);
    const memo = new EraMemo(sc);
    for (const era of completeEraIds()) {
      const mine = memo.explore(policy(era));
      expect([sc.name, era, JSON.stringify(mine)]).toEqual([
        sc.name,
        era,
        JSON.stringify(explore(sc, policy(era))),
      ]);
    }
    explored += memo.explored;
    shared += memo.shared;
    reused += memo.reused;
  }
  return { explored, shared, reused };
}
