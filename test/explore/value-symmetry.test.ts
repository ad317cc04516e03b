import { describe, expect, it } from 'vitest';
import { explore } from '../../src/explore/explore.js';
import {
  fixedValues,
  valueSymmetryBlocked,
  valuesMayMerge,
} from '../../src/explore/value-symmetry.js';
import { eraInfo } from '../../src/policy/registry.js';
import { newMachine } from '../../src/scenario/machine.js';
import { load, samePage } from './symmetry-props.js';
import { valueEquivariance, valueIdentity } from './value-symmetry-props.js';

const base = (body: string, cond = 'pgfault > 0', more = '') =>
  load(
    `scenario s\nsetup {\n  mmap a pages=2 private rw\n  write a[0..2] = 1\n  pipe p\n}\nthread t {\n${body}\n}\n${more}exists (${cond})`,
  );

describe('symmetry over page contents', () => {
  it('is equivariant: a state with its values renamed has the renamed successors (random scenarios)', () => {
    valueEquivariance(10, 300);
  }, 120_000);

  it('changes no verdict and adds no state (random scenarios)', () => {
    valueIdentity(10);
  }, 120_000);

  it('counts the states where threads stored numbers no statement still to run stores once', () => {
    const sc = samePage(5);
    const policy = eraInfo('v6.18')!.policy!;
    const pfns = explore(sc, policy, { symmetry: 'pfns' });
    const both = explore(sc, policy, { symmetry: 'values' });
    expect([pfns.kind, both.kind]).toEqual(['done', 'done']);
    if (pfns.kind !== 'done' || both.kind !== 'done') return;
    expect(both.symmetry).toEqual({
      applied: true,
      blocked: null,
      valuesBlocked: null,
      threads: [],
    });
    expect(pfns.symmetry?.valuesBlocked).toBe('not asked for');
    expect(both.verdict).toBe(pfns.verdict);
    // The last store decides what the page holds: five final pages before, one after.
    expect(both.finals.fails).toBeLessThan(pfns.finals.fails);
    expect(both.states * 1.5).toBeLessThan(pfns.states);
  });

  it('keeps fixed the numbers still to be stored or compared with a page, not a counter', () => {
    const sc = samePage(3);
    const m = newMachine(sc);
    // The condition compares a counter with 3: t1 stores 3, and it is fixed only while t1 may run.
    expect([...fixedValues(m)].sort()).toEqual([0, 1, 2, 3, 4]);
    const cond = base('  write a[0] = 2', 'value(t, a[0]) == 7 || anon_wp_copy_count == 9');
    expect([...fixedValues(newMachine(cond))].sort()).toEqual([0, 1, 2, 7]);
    const reg = base('  read a[0] -> x\n  observe pgfault == 5 -> y', 'x != 8 && y == 1');
    expect([...fixedValues(newMachine(reg))].sort()).toEqual([0, 1, 8]);
  });

  it('walks the contents only where a renaming could merge two states', () => {
    // K threads storing into one page: which number is where depends on the order.
    expect(valuesMayMerge(samePage(3))).toBe(true);
    // Each thread storing into its own page: what an address holds follows from the positions.
    const own = (more = '') =>
      load(
        `scenario own\nsetup {\n  mmap a pages=2 private rw\n  mmap b pages=2 private rw\n  write a[0..2] = 1\n}\nthread parent {\n  spawn t0\n  spawn t1\n}\nthread t0 {\n  write a[0] = 2\n}\nthread t1 {\n  write a[1] = 3\n${more}}\nexists (pgfault > 0)`,
      );
    expect(valuesMayMerge(own())).toBe(false);
    // But a mapping moved onto another carries its numbers there.
    expect(valuesMayMerge(own('  mremap a onto b\n'))).toBe(true);
    // Only one free number: always the same renaming.
    expect(valuesMayMerge(base('  write a[0] = 2', 'value(t, a[0]) == 1'))).toBe(false);
  });

  it('stays off where a renamed state would answer otherwise', () => {
    const sound = [
      ['  write a[0] = 2'],
      ['  read a[0]'],
      ['  write a[0] = 2', 'value(t, a[0]) == value(t, a[1])'],
      ['  write a[0] = 2', 'value(t, a[0]) != 1'],
      ['  write a[0] = 2\n  observe value(t, a[0]) == 2 -> x', 'x == 1'],
      ['  pin a[0] rw -> q\n  write pin q = 3', 'pin_value(q) == value(t, a[0])'],
      ['  read a[0] -> x\n  read a[1] -> y', 'x == 1 && y != x && x != value(t, a[1])'],
    ] as const;
    for (const [body, cond] of sound) expect(valueSymmetryBlocked(base(body, cond))).toBeNull();
    const unsound: readonly (readonly [string, string, RegExp])[] = [
      ['  read a[0] -> x', 'x + 1 == 2', /\(register x\) other than to compare/],
      ['  read a[0] -> x', 'kpf_anon(x) == 1', /\(register x\) other than to compare/],
      [
        '  read pipe p -> x\n  observe pgfault -> x',
        'x > 0',
        /register x holds a value read from memory and another number/,
      ],
      ['  write a[0] = 2', 'value(t, a[0]) < 3', /\(value\(\)\) other than to compare/],
      ['  write a[0] = 2', 'value(t, a[0]) + 1 == 3', /\(value\(\)\) other than to compare/],
      ['  observe value(t, a[0]) -> x', 'x == 1', /\(value\(\)\) other than to compare/],
      ['  observe pgfault -> x\n  write a[0] = x', 'pgfault > 0', /stores a computed value/],
      ['  write a[0] = 2 + 1', 'pgfault > 0', /stores a computed value/],
    ];
    for (const [body, cond, why] of unsound)
      expect(valueSymmetryBlocked(base(body, cond))).toMatch(why);
    const r = explore(base('  read a[0] -> x', 'x < 1'), eraInfo('v6.18')!.policy!, {
      symmetry: true,
    });
    expect(r.symmetry).toEqual({
      applied: true,
      blocked: null,
      valuesBlocked:
        "the scenario uses a page's value (register x) other than to compare it with a number or another",
      threads: [],
    });
  });
});
