import { describe, expect, it } from 'vitest';
import { explore } from '../../src/explore/explore.js';
import { threadClasses } from '../../src/explore/thread-symmetry.js';
import { eraInfo } from '../../src/policy/registry.js';
import { load, samePage } from './symmetry-props.js';
import { ownPageScenarioArb, threadEquivariance, threadIdentity } from './thread-symmetry-props.js';

const names = (src: string) => {
  const sc = load(src);
  return threadClasses(sc).members.map((ds) => ds.map((d) => sc.threads[d]!.name));
};

describe('symmetry over threads that run the same program', () => {
  it('is equivariant: a state with threads permuted has the permuted successors (random scenarios)', () => {
    threadEquivariance(10, 200);
  }, 120_000);

  it('changes no verdict and adds no state (random scenarios)', () => {
    threadIdentity(6);
  }, 120_000);

  it('is equivariant with the pages threads own moved with them (random scenarios)', () => {
    threadEquivariance(10, 200, 53, ownPageScenarioArb);
  }, 120_000);

  it('changes no verdict where threads own pages (random scenarios)', () => {
    threadIdentity(6, 59, ownPageScenarioArb);
  }, 120_000);

  it('counts the orders of K threads storing their own number into one page once', () => {
    const policy = eraInfo('v6.18')!.policy!;
    const runs = [5, 6].map((k) =>
      (['values', true] as const).map((symmetry) => explore(samePage(k), policy, { symmetry })),
    );
    for (const [values, all] of runs) {
      expect([values!.kind, all!.kind]).toEqual(['done', 'done']);
      if (values!.kind !== 'done' || all!.kind !== 'done') return;
      expect(all!.verdict).toBe(values!.verdict);
      expect([all!.finals.holds, all!.finals.fails]).toEqual([
        values!.finals.holds,
        values!.finals.fails,
      ]);
      expect(all!.states * 5).toBeLessThan(values!.states);
    }
    expect(runs[0]![1]!.symmetry?.threads).toEqual([['t0', 't1', 't2', 't3', 't4']]);
    // The growth with K: polynomial, not exponential.
    expect(runs[1]![1]!.states).toBeLessThan(runs[0]![1]!.states * 1.6);
  });

  it('groups only threads whose programs are equal, or differ in their own numbers and pages', () => {
    const base = (t0: string, t1: string, cond = 'pgfault > 0', extra = '') =>
      `scenario s\nsetup {\n  mmap a pages=2 private rw\n  write a[0..2] = 1\n}\nthread parent {\n  spawn t0\n  spawn t1\n${extra}}\nthread t0 {\n${t0}\n}\nthread t1 {\n${t1}\n}\nexists (${cond})`;
    expect(
      names(base('  write a[0] = 2\n  write a[1] = 2', '  write a[0] = 3\n  write a[1] = 3')),
    ).toEqual([['t0', 't1']]);
    // The same program, numbers and all: no renaming needed, so shared numbers are fine.
    expect(names(base('  write a[0] = 1\n  read a[1]', '  write a[0] = 1\n  read a[1]'))).toEqual([
      ['t0', 't1'],
    ]);
    // Their own pages (address-symmetry.ts): named by nothing else.
    expect(names(base('  write a[0] = 2', '  write a[1] = 3'))).toEqual([['t0', 't1']]);
    expect(names(base('  read a[0]\n  write a[0] = 2', '  read a[1]\n  write a[1] = 3'))).toEqual([
      ['t0', 't1'],
    ]);
    const apart = [
      // Not the same program.
      base('  write a[0] = 2', '  write a[1] = 3\n  read a[1]'),
      base('  write a[0] = 2\n  read a[1]', '  write a[1] = 3\n  read a[0]'),
      // A page that is not their own: the condition's, another statement's, a walking actor's.
      base('  write a[0] = 2', '  write a[1] = 3', 'value(parent, a[1]) == 3'),
      base('  write a[0] = 2', '  write a[1] = 3', 'pgfault > 0', '  madvise a[0] dontneed\n'),
      `env reclaim\n${base('  write a[0] = 2', '  write a[1] = 3')}`,
      // A mapping moved (mremap, of another mapping).
      base(
        '  write a[0] = 2',
        '  write a[1] = 3',
        'pgfault > 0',
        '  mmap b pages=1 private rw\n  mmap c pages=2 private rw\n  mremap b[0..1] onto c\n',
      ),
      base('  write a[0] = 2\n  write a[1] = 4', '  write a[0] = 3\n  write a[1] = 3'),
      // A number that is not their own: the other's, setup's, the condition's, 0.
      base('  write a[0] = 2\n  write a[1] = 3', '  write a[0] = 3\n  write a[1] = 4'),
      base('  write a[0] = 1', '  write a[0] = 3'),
      base('  write a[0] = 2', '  write a[0] = 3', 'value(parent, a[0]) == 3'),
      base('  write a[0] = 0', '  write a[0] = 3'),
      // Making or ending a task.
      base('  write a[0] = 2\n  exit', '  write a[0] = 3\n  exit'),
    ];
    for (const src of apart) expect(names(src)).toEqual([]);
  });

  it('swaps threads the condition and other statements name: what they read is the process', () => {
    const sc = load(
      'scenario w\nsetup {\n  mmap a pages=1 private rw\n  write a[0] = 1\n}\nthread parent {\n  fork child\n  spawn t0\n  spawn t1\n  observe alive(t0) -> x\n}\nthread t0 {\n  write a[0] = 2\n}\nthread t1 {\n  write a[0] = 3\n}\nthread child {\n}\nexists (value(t1, a[0]) == value(child, a[0]) && x == 1)',
    );
    const policy = eraInfo('v6.18')!.policy!;
    const all = explore(sc, policy, { symmetry: true, por: false });
    const values = explore(sc, policy, { symmetry: 'values', por: false });
    expect(all.kind === 'done' && values.kind === 'done').toBe(true);
    if (all.kind !== 'done' || values.kind !== 'done') return;
    expect(all.symmetry?.threads).toEqual([['t0', 't1']]);
    expect(all.verdict).toBe(values.verdict);
    expect(all.states).toBeLessThan(values.states);
  });
});
