import { describe, expect, it } from 'vitest';
import { explore } from '../../src/explore/explore.js';
import { eraInfo } from '../../src/policy/registry.js';
import type { Scenario } from '../../src/scenario/ast.js';
import { load } from './symmetry-props.js';

/**
 * Explore `sc` under `era` with and without the reduction: both finish,
 * with the same verdict and counts of final states. Returns both state counts.
 */
function compare(sc: Scenario, era: string, symmetry = false): { full: number; reduced: number } {
  const p = eraInfo(era)!.policy!;
  const full = explore(sc, p, { symmetry, por: false });
  const reduced = explore(sc, p, { symmetry });
  if (full.kind !== 'done' || reduced.kind !== 'done') throw new Error(`${era}: not done`);
  expect([era, reduced.verdict, reduced.finals]).toEqual([era, full.verdict, full.finals]);
  return { full: full.states, reduced: reduced.states };
}

/** Thread t2 makes the process's mapping read-only and writes it: SIGSEGV ends main, t1 and t2. */
const killer = 'thread t2 {\n  mprotect a r\n  write a[0] = 2\n}';

describe('local moves taken alone (local-move.ts)', () => {
  it('keeps the order where the group dies before its thread signals', () => {
    // If t2's SIGSEGV comes first, `go` is never signalled and the child hangs.
    const sc = load(
      [
        'scenario kill-before-signal',
        'setup {\n  mmap a pages=1 private rw\n  write a[0] = 1\n}',
        'thread main {\n  fork child\n  spawn t1\n  spawn t2\n}',
        'thread t1 {\n  signal go\n}',
        killer,
        'thread child {\n  await go\n}',
        'exists (1 == 1)',
      ].join('\n'),
    );
    const v = eraInfo('v6.18')!.policy!;
    expect(() => explore(sc, v, { por: false })).toThrow(/deadlock in an interleaving/);
    expect(() => explore(sc, v)).toThrow(/deadlock in an interleaving/);
  });

  it('keeps the CPU a killed thread had', () => {
    const sc = load(
      [
        'scenario kill-before-affinity',
        'setup {\n  mmap a pages=4 private rw\n  write a[0..4] = 1\n}',
        'thread main {\n  spawn t2\n  sched_setaffinity 1\n  write a[1..3] = 7\n}',
        killer,
        'exists (1 == 1)',
      ].join('\n'),
    );
    for (const era of ['v5.9', 'v6.18'])
      for (const symmetry of [false, true]) compare(sc, era, symmetry);
  });

  it('spawns the threads before they interleave when their accesses cannot fail', () => {
    // bench/programs.mjs cowThreads(4, true): four threads of a forked process write one COW page.
    const ts = [0, 1, 2, 3];
    const sc = load(
      [
        'scenario same',
        'setup {\n  mmap mem pages=1 private rw\n  write mem[0] = 1\n}',
        `thread parent {\n  fork child\n${ts.map((i) => `  spawn t${i}`).join('\n')}\n}`,
        ...ts.map((i) => `thread t${i} {\n  write mem[0] = ${i + 2}\n}`),
        'thread child {\n}',
        'exists (anon_wp_copy_count == 4)',
      ].join('\n'),
    );
    const { full, reduced } = compare(sc, 'v6.18');
    expect(full).toBe(304);
    // The interleavings of the four writes alone (232 states, as a breadth-first
    // search of bench/promela/cow-same-page.pml finds), after setup, fork and spawns.
    expect(reduced).toBe(239);
  });

  it('keeps spawns in place while a thread of the group may be killed', () => {
    // t0's write may come after `mprotect a r`: a spawn taken first would create a thread the kill ends.
    const sc = load(
      [
        'scenario spawn-kill',
        'setup {\n  mmap a pages=1 private rw\n  write a[0] = 1\n}',
        'thread main {\n  spawn t0\n  spawn t1\n  spawn t2\n}',
        'thread t0 {\n  write a[0] = 2\n}',
        'thread t1 {\n  mprotect a r\n}',
        'thread t2 {\n  read a[0] -> x\n}',
        'exists (x == 2)',
      ].join('\n'),
    );
    for (const era of ['v5.9', 'v6.18']) compare(sc, era);
  });

  it('keeps both orders of two processes creating threads (the pids they take)', () => {
    const sc = load(
      [
        'scenario two-creators',
        'setup {\n  mmap a pages=1 private rw\n  write a[0] = 1\n}',
        'thread main {\n  fork child\n  spawn t0\n}',
        'thread child {\n  spawn c0\n}',
        'thread t0 {\n  write a[0] = 2\n}',
        'thread c0 {\n  write a[0] = 3\n}',
        'exists (anon_wp_copy_count == 2)',
      ].join('\n'),
    );
    compare(sc, 'v6.18');
  });

  it("keeps a thread's last statement in place while another thread of its process may fork", () => {
    // main's forks are split for GUP-fast while pt lives; pt's last statement ends it (a final state was lost).
    const sc = load(
      [
        'scenario split-fork',
        'setup {\n  mmap a pages=3 private rw\n  write a[0..3] = 1\n}',
        'thread main {\n  spawn pt\n  fork c1\n  write a[0..3] = 7\n  fork c2\n}',
        'thread pt {\n  sched_setaffinity 1\n}',
        'thread c1 {\n  spawn gc\n  write a[0] = 2\n}',
        'thread gc {\n  write a[0] = 2\n}',
        'thread c2 {\n  write a[0..3] = 7\n}',
        'exists (anon_wp_copy_count > 2)',
      ].join('\n'),
    );
    compare(sc, 'v5.7');
    compare(sc, 'v5.7', true);
  });

  it('still takes a local move alone when no thread of its group can end it', () => {
    // The child is another process: its fault cannot kill main's threads.
    const sc = load(
      [
        'scenario other-process',
        'setup {\n  mmap a pages=1 private rw\n  write a[0] = 1\n}',
        'thread main {\n  fork child\n  sched_setaffinity 1\n  signal go\n}',
        'thread child {\n  write a[0] = 2\n  write a[0] = 3\n}',
        'exists (1 == 1)',
      ].join('\n'),
    );
    const { full, reduced } = compare(sc, 'v6.18');
    expect(reduced).toBeLessThan(full);
  });
});
