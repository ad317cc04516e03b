import { describe, expect, it } from 'vitest';
import { explore } from '../../src/explore/explore.js';
import {
  BITSTATE_MAX_BYTES,
  BitstateSet,
  bitstateSize,
  newVisitedSet,
} from '../../src/explore/visited.js';
import { eraInfo } from '../../src/policy/registry.js';
import { checkScenario } from '../../src/scenario/check.js';
import { parseScenario } from '../../src/scenario/parse.js';

/** Distinct fingerprints, spread as the canon's are (a fixed sequence: the test is deterministic). */
function key(i: number): [number, number] {
  const a = Math.imul(i ^ (i >>> 13), 0x9e3779b1) ^ Math.imul(i, 0x85ebca6b);
  const b = Math.imul(a ^ (a >>> 15), 0xc2b2ae35) + i;
  return [a | 0, b | 0];
}

/** K threads of a forked process writing their own COW page (bench/programs.mjs cowThreads). */
function cowOwnPage(k: number) {
  let s = `scenario own-${k}\nsetup {\n  mmap mem pages=${k} private rw\n  write mem[0..${k}] = 1\n}\n`;
  s += 'thread parent {\n  fork child\n';
  for (let i = 0; i < k; i++) s += `  spawn t${i}\n`;
  s += '}\n';
  for (let i = 0; i < k; i++) s += `thread t${i} {\n  write mem[${i}] = ${i + 2}\n}\n`;
  s += `thread child {\n}\nexists (anon_wp_copy_count == ${k})\n`;
  const sc = parseScenario(s, 'own.cow');
  checkScenario(sc);
  return sc;
}

describe('bitstate visited set', () => {
  it('never forgets a state it stored, and sizes itself to a power of two', () => {
    const set = new BitstateSet(3000);
    expect(set.bytes).toBe(2048);
    for (let i = 0; i < 500; i++) set.add(...key(i));
    for (let i = 0; i < 500; i++) expect(set.has(...key(i))).toBe(true);
    expect(bitstateSize(1)).toBe(1024);
    expect(bitstateSize(2 ** 40)).toBe(BITSTATE_MAX_BYTES);
  });

  it('estimates the states it takes for visited ones', () => {
    // 8,192 bits and 2,500 distinct states: about a third of the bits set, so
    // some new states find their three bits set already and are not stored.
    const set = new BitstateSet(1024);
    let missedForReal = 0;
    for (let i = 0; i < 2500; i++) if (!set.add(...key(i))) missedForReal++;
    const r = set.report();
    if (r.mode !== 'bitstate') throw new Error('mode');
    expect(set.size).toBe(2500 - missedForReal);
    expect(missedForReal).toBeGreaterThan(0);
    // The estimate counts each stored state's chance of a false match; the
    // true count here is of the same order.
    expect(r.missed).toBeGreaterThan(missedForReal / 3);
    expect(r.missed).toBeLessThan(missedForReal * 3);
    expect(r.coverage).toBeCloseTo(set.size / (set.size + r.missed), 10);
    expect(r.hashFactor).toBeCloseTo(8192 / set.size, 10);
  });

  it('hash-compact reports the chance of a fingerprint collision', () => {
    const set = newVisitedSet();
    for (let i = 0; i < 1000; i++) expect(set.add(...key(i))).toBe(true);
    const r = set.report();
    expect(r.mode).toBe('hash-compact');
    if (r.mode === 'hash-compact') expect(r.collision).toBeCloseTo((1000 * 999) / 2 ** 65, 25);
    expect(set.hexes()).toHaveLength(1000);
  });

  it('--memory: exact until the table would pass the cap, then bitstate of the cap', () => {
    const set = newVisitedSet({ capBytes: 16 * 1024 });
    let stored = 0;
    for (let i = 0; i < 1024; i++) if (set.add(...key(i))) stored++;
    expect(stored).toBe(1024);
    expect(set.report().mode).toBe('hash-compact');
    expect(set.bytes).toBe(16 * 1024);
    expect(set.add(...key(1024))).toBe(true); // the switch
    const r = set.report();
    expect(r).toMatchObject({ mode: 'bitstate', bytes: 16 * 1024, switchedAt: 1024 });
    expect(set.size).toBe(1025);
    for (let i = 0; i <= 1024; i++) expect(set.has(...key(i))).toBe(true);
    expect(set.add(...key(5))).toBe(false);
    expect(set.hexes()).toBeNull();
  });
});

describe('explore with a bitstate visited set', () => {
  const v618 = eraInfo('v6.18')!.policy!;

  it('a roomy array finds what hash-compact finds, and reports its coverage', () => {
    const sc = cowOwnPage(5);
    const exact = explore(sc, v618);
    const bits = explore(sc, v618, { visited: { bitstateBytes: 2 ** 20 } });
    if (exact.kind !== 'done' || bits.kind !== 'done') throw new Error('kind');
    expect(bits.states).toBe(exact.states);
    expect(bits.finals).toEqual(exact.finals);
    expect(bits.verdict).toBe(exact.verdict);
    expect(bits.visited).toMatchObject({ mode: 'bitstate', bytes: 2 ** 20, switchedAt: null });
    if (bits.visited.mode === 'bitstate') expect(bits.visited.coverage).toBeGreaterThan(0.9999);
    expect(exact.visited.mode).toBe('hash-compact');
  });

  it('a cramped one misses states and says about how many', () => {
    const sc = cowOwnPage(6);
    const exact = explore(sc, v618);
    const capped = explore(sc, v618, { visited: { capBytes: 16 * 1024 } });
    if (capped.visited.mode !== 'bitstate') throw new Error('no switch');
    expect(capped.visited.switchedAt).toBe(1024);
    expect(capped.states).toBeLessThanOrEqual(exact.states);
    expect(capped.visited.missed).toBeGreaterThan(0);
    expect(capped.visited.coverage).toBeLessThan(1);
  });
});
