import { describe, expect, it } from 'vitest';
import { explore } from '../../src/explore/explore.js';
import { symmetryBlocked } from '../../src/explore/symmetry.js';
import { eraInfo } from '../../src/policy/registry.js';
import { load, symmetryEquivariance, symmetryIdentity } from './symmetry-props.js';

describe('symmetry over PFN allocation order', () => {
  it('is equivariant: a renamed state has the renamed successors (random scenarios)', () => {
    symmetryEquivariance(12, 400);
  }, 120_000);

  it('changes no verdict and adds no state (random scenarios)', () => {
    symmetryIdentity(12);
  }, 120_000);

  it('counts K threads copying their own COW page in any order once', () => {
    // bench/programs.mjs cowThreads(4, false): four threads of a forked process write their own page.
    const threads = [0, 1, 2, 3];
    const sc = load(
      [
        'scenario own4',
        'setup {\n  mmap mem pages=4 private rw\n  write mem[0..4] = 1\n}',
        `thread parent {\n  fork child\n${threads.map((i) => `  spawn t${i}`).join('\n')}\n}`,
        ...threads.map((i) => `thread t${i} {\n  write mem[${i}] = ${i + 2}\n}`),
        'thread child {\n}',
        'exists (anon_wp_copy_count == 4)',
      ].join('\n'),
    );
    const policy = eraInfo('v6.18')!.policy!;
    const a = explore(sc, policy, { por: false });
    const b = explore(sc, policy, { por: false, symmetry: true });
    expect([a.kind, b.kind]).toEqual(['done', 'done']);
    if (a.kind !== 'done' || b.kind !== 'done') return;
    expect([a.verdict, b.verdict]).toEqual(['Always', 'Always']);
    // 4! orders of the four copies end in four PFN assignments... one up to renaming.
    expect(a.finals.holds).toBe(24);
    expect(b.finals.holds).toBe(1);
    expect(b.states).toBeLessThan(a.states);
    // The four threads swap places with their pages (address-symmetry.ts).
    expect(b.symmetry).toEqual({
      applied: true,
      blocked: null,
      valuesBlocked: null,
      threads: [['t0', 't1', 't2', 't3']],
    });
  });

  it('stays off where a renamed state would answer otherwise', () => {
    const base = (body: string, cond = 'pgfault > 0', env = '') =>
      load(
        `scenario s\n${env}\nsetup {\n  mmap a pages=2 private rw\n  write a[0..2] = 1\n}\nthread t {\n${body}\n}\nexists (${cond})`,
      );
    const sound = [
      ['  write a[0] = 2'],
      ['  observe pfn(t, a[0]) -> x'],
      ['  observe pfn(t, a[0]) -> x\n  observe x -> y', 'y != pfn(t, a[1])'],
      ['  observe pfn(t, a[0]) -> x', 'x == pfn(t, a[0]) && kpf_anon(x) == 1'],
      ['  write a[0] = 2', 'pfn(t, a[0]) != pfn(t, a[1]) || pfn(t, a[0]) == 0'],
      ['  write a[0] = 2', 'pfn(t, a[0]) != 1'],
    ] as const;
    for (const [body, cond] of sound) expect(symmetryBlocked(base(body, cond))).toBeNull();
    const unsound = [
      ['  write a[0] = 2', 'pfn(t, a[0]) == 3'],
      ['  write a[0] = 2', 'pfn(t, a[0]) < pfn(t, a[1])'],
      ['  observe pfn(t, a[0]) -> x', 'x + 1 > 0'],
      ['  observe pfn(t, a[0]) -> x\n  observe x -> y', 'y == 7'],
      // A kpf_*() of a value read from memory: no renaming follows it.
      ['  read a[0] -> x', 'kpf_anon(x) == 1'],
      ['  observe pfn(t, a[0]) -> x\n  write a[1] = x', 'pgfault > 0'],
    ] as const;
    for (const [body, cond] of unsound)
      expect(symmetryBlocked(base(body, cond))).toMatch(/uses a PFN number/);
    expect(symmetryBlocked(base('  ksm_scan'))).toMatch(/KSM/);
    expect(symmetryBlocked(base('  write a[0] = 2', 'pgfault > 0', 'env ksmd'))).toMatch(/ksmd/);
    const r = explore(base('  write a[0] = 2', 'pfn(t, a[0]) == 3'), eraInfo('v6.18')!.policy!, {
      symmetry: true,
    });
    expect(r.symmetry).toEqual({
      applied: false,
      blocked: 'the scenario uses a PFN number (pfn()) other than to compare it with another',
      valuesBlocked: null,
      threads: [],
    });
  });
});
