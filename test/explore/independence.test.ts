import { describe, expect, it } from 'vitest';
import { expand } from '../../src/explore/expand.js';
import { explore } from '../../src/explore/explore.js';
import { independentAccess } from '../../src/explore/independence.js';
import { completeEraIds, eraInfo } from '../../src/policy/registry.js';
import { newMachine } from '../../src/scenario/machine.js';
import { configFor } from '../../src/scenario/run.js';
import {
  envAccessScenarioArb,
  forkedScenarioArb,
  independenceIdentity,
} from './independence-props.js';
import { load } from './symmetry-props.js';

/** bench/programs.mjs cowThreads(k, same): k threads of a forked process write their own (or one) COW page. */
function cowThreads(k: number, same: boolean): string {
  const pages = same ? 1 : k;
  const ts = [...Array(k).keys()];
  return [
    'scenario cow',
    `setup {\n  mmap mem pages=${pages} private rw\n  write mem[0..${pages}] = 1\n}`,
    `thread parent {\n  fork child\n${ts.map((i) => `  spawn t${i}`).join('\n')}\n}`,
    ...ts.map((i) => `thread t${i} {\n  write mem[${same ? 0 : i}] = ${i + 2}\n}`),
    'thread child {\n}',
    `exists (anon_wp_copy_count == ${k})`,
  ].join('\n');
}

/** Under every symmetry, the partial-order reduction finds the final states of the full search. */
function expectSameFinals(sc: ReturnType<typeof load>, eras: readonly string[]): void {
  for (const era of eras) {
    const p = eraInfo(era)!.policy!;
    const full = explore(sc, p, { symmetry: true, por: false });
    const reduced = explore(sc, p, { symmetry: true });
    if (full.kind !== 'done' || reduced.kind !== 'done') throw new Error('not done');
    expect(reduced.finals).toEqual(full.finals);
  }
}

describe('independence of accesses to private pages', () => {
  const policy = eraInfo('v6.18')!.policy!;

  it('takes one thread at a time when the threads write their own pages', () => {
    const sc = load(cowThreads(5, false));
    // Without the symmetry over threads, which swaps the threads and their pages.
    const full = explore(sc, policy, { symmetry: 'values', por: false });
    const reduced = explore(sc, policy, { symmetry: 'values' });
    expect([full.kind, reduced.kind]).toEqual(['done', 'done']);
    if (full.kind !== 'done' || reduced.kind !== 'done') return;
    expect(reduced.verdict).toBe('Always');
    expect(reduced.finals).toEqual(full.finals);
    // 3^5 combinations of where the five faults are, against one order of them.
    expect(full.states).toBe(367);
    expect(reduced.states).toBe(19);
  });

  it('is off without the symmetry: the order of allocations gives other PFNs', () => {
    const sc = load(cowThreads(4, false));
    const plain = explore(sc, policy);
    const local = explore(sc, policy, { por: 'local' });
    expect(plain.states).toBe(local.states);
    // The spawns alone are taken first (local-move.ts): fewer than with no reduction.
    expect(plain.states).toBeLessThan(explore(sc, policy, { por: false }).states);
  });

  it('keeps every order of writes to one page', () => {
    const sc = load(cowThreads(4, true));
    const local = explore(sc, policy, { symmetry: true, por: 'local' });
    const reduced = explore(sc, policy, { symmetry: true });
    expect(reduced.states).toBe(local.states);
  });

  it('keeps the orders of a write and the child sharing its page', () => {
    // The parent's thread and the child write the same folio at their own address.
    const sc = load(
      [
        'scenario shared',
        'setup {\n  mmap a pages=2 private rw\n  write a[0..2] = 1\n}',
        'thread parent {\n  fork child\n  spawn t\n  write a[1] = 3\n}',
        'thread t {\n  write a[0] = 2\n}',
        'thread child {\n  write a[0] = 4\n}',
        'exists (anon_wp_copy_count == 2)',
      ].join('\n'),
    );
    const full = explore(sc, policy, { symmetry: true, por: false });
    const local = explore(sc, policy, { symmetry: true, por: 'local' });
    const reduced = explore(sc, policy, { symmetry: true });
    if (full.kind !== 'done' || reduced.kind !== 'done') throw new Error('not done');
    expect(reduced.verdict).toBe(full.verdict);
    expect(reduced.finals).toEqual(full.finals);
    // The two copies of a[0] free the old folio: the parent's copy of a[1] is not moved across that.
    expect(reduced.states).toBe(local.states);
  });

  it('takes the forks, and the writes of forked children to the page their parent keeps mapped, one at a time', () => {
    // Each child copies the folio the parent still maps, in every era, whatever the order.
    const ks = [0, 1, 2, 3];
    const sc = load(
      [
        'scenario children',
        'setup {\n  mmap a pages=1 private rw\n  write a[0] = 1\n}',
        `thread parent {\n${ks.map((i) => `  fork c${i}`).join('\n')}\n}`,
        ...ks.map((i) => `thread c${i} {\n  write a[0] = ${i + 2}\n}`),
        'exists (anon_wp_copy_count == 4)',
      ].join('\n'),
    );
    for (const era of completeEraIds()) {
      const p = eraInfo(era)!.policy!;
      const full = explore(sc, p, { symmetry: true, por: false });
      const reduced = explore(sc, p, { symmetry: true });
      if (full.kind !== 'done' || reduced.kind !== 'done') throw new Error('not done');
      expect([era, reduced.verdict, reduced.finals]).toEqual([era, full.verdict, full.finals]);
      // The forks too are taken alone: one order of seven moves after setup.
      expect([era, full.states, reduced.states]).toEqual([era, 123, 15]);
    }
  });

  it('keeps both orders of a fork and another process spawning (the pids they take)', () => {
    const sc = load(
      [
        'scenario creators',
        'setup {\n  mmap a pages=1 private rw\n  write a[0] = 1\n}',
        'thread main {\n  fork c0\n  fork c1\n}',
        'thread c0 {\n  spawn g0\n}',
        'thread c1 {\n  write a[0] = 3\n}',
        'thread g0 {\n  write a[0] = 4\n}',
        'exists (anon_wp_copy_count == 2)',
      ].join('\n'),
    );
    const full = explore(sc, policy, { symmetry: true, por: false });
    const reduced = explore(sc, policy, { symmetry: true });
    if (full.kind !== 'done' || reduced.kind !== 'done') throw new Error('not done');
    expect(reduced.finals).toEqual(full.finals);
  });

  it('keeps every order of forked children writing the folio no one else maps', () => {
    // The last child to write may reuse the folio: who that is depends on the order.
    const sc = load(
      [
        'scenario children',
        'setup {\n  mmap a pages=1 private rw\n  write a[0] = 1\n}',
        'thread parent {\n  fork c0\n  fork c1\n  write a[0] = 9\n}',
        'thread c0 {\n  write a[0] = 2\n}',
        'thread c1 {\n  write a[0] = 3\n}',
        'exists (anon_wp_copy_count == 2)',
      ].join('\n'),
    );
    for (const era of ['v5.9', 'v6.18']) {
      const p = eraInfo(era)!.policy!;
      // Once the parent has forked twice (its forks are taken alone), no write is.
      const config = configFor(sc, p, { lockBreaks: true });
      let m = newMachine(sc);
      while (m.threads.length < 3) m = expand(m, config, true, true).succs[0]!.m;
      expect(m.threads.map((t) => `${t.name}:${t.pc}`)).toEqual(['parent:4', 'c0:0', 'c1:0']);
      expect(independentAccess(m)).toBe(-1);
    }
    expectSameFinals(sc, ['v5.9', 'v6.18']);
  });

  it('changes no verdict, finding or count of final states (forked children, every era)', () => {
    // More in test/slow/props-explore.test.ts.
    expect(independenceIdentity(25, 3, completeEraIds(), forkedScenarioArb)).toBeGreaterThan(10);
  }, 120_000);

  it('changes no verdict, finding or count of final states (random programs)', () => {
    // The programs where it applies are a good part of them (13 of 40 with this seed).
    expect(independenceIdentity(40)).toBeGreaterThan(5);
  }, 120_000);

  it('changes no verdict, finding or count of final states with the LRU batches drained (random programs)', () => {
    const lru = envAccessScenarioArb('lru_batches');
    expect(independenceIdentity(40, 31, ['v5.9', 'v6.18'], lru)).toBeGreaterThan(3);
  }, 120_000);

  it('keeps both orders of a fork and the LRU drain, which reads the references it takes', () => {
    // Found by the slow suite's random programs (v5.7).
    const sc = load(
      'scenario f\nenv lru_batches\nsetup {\n  mmap a pages=4 private rw\n  write a[0..4] = 1\n}\nthread main {\n  spawn t1\n  fork child\n}\nthread t1 {\n}\nthread child {\n}\nexists (value(main, a[0]) == 2)',
    );
    expectSameFinals(sc, ['v5.7', 'v6.18']);
  });

  it('keeps both orders of a read and reclaim, which may unmap the page', () => {
    const sc = load(
      'scenario r\nenv reclaim\nsetup {\n  mmap a pages=1 private rw\n  write a[0] = 1\n}\nthread main {\n  read a[0] -> x\n  sched_setaffinity 1\n}\nexists (x == 1)',
    );
    expectSameFinals(sc, ['v5.9', 'v6.18']);
  });

  it('takes a read alone while the LRU batches drain, but not a thread’s last one', () => {
    const sc = (tail: string) =>
      load(
        `scenario r\nenv lru_batches\nsetup {\n  mmap a pages=2 private rw\n  write a[0..2] = 1\n}\nthread main {\n  spawn t\n  write a[1] = 5\n  write a[1] = 6\n}\nthread t {\n  read a[0] -> x\n${tail}}\nexists (x == 1)`,
      );
    const states = (src: ReturnType<typeof load>, por: boolean) => {
      const r = explore(src, policy, { symmetry: 'pfns', por });
      if (r.kind !== 'done') throw new Error('not done');
      return r;
    };
    // The read first, then its thread's sched_setaffinity: the read is taken alone.
    const two = sc('  sched_setaffinity 1\n');
    expect(states(two, true).states).toBeLessThan(states(two, false).states);
    expect(states(two, true).finals).toEqual(states(two, false).finals);
    // The read as the thread's last statement: every order with the drain is kept.
    const one = sc('');
    expect(states(one, true).finals).toEqual(states(one, false).finals);
  });
});
