import { describe, expect, it } from 'vitest';
import { explore } from '../../src/explore/explore.js';
import { eraInfo } from '../../src/policy/registry.js';
import { load } from './symmetry-props.js';

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
    for (const era of ['v5.9', 'v6.18']) {
      const p = eraInfo(era)!.policy!;
      for (const symmetry of [false, true]) {
        const full = explore(sc, p, { symmetry, por: false });
        const reduced = explore(sc, p, { symmetry });
        expect(full.kind === 'done' && reduced.kind === 'done').toBe(true);
        if (full.kind !== 'done' || reduced.kind !== 'done') return;
        expect(reduced.finals).toEqual(full.finals);
      }
    }
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
    const p = eraInfo('v6.18')!.policy!;
    const full = explore(sc, p, { por: false });
    const reduced = explore(sc, p);
    expect(full.kind === 'done' && reduced.kind === 'done').toBe(true);
    if (full.kind !== 'done' || reduced.kind !== 'done') return;
    expect(reduced.finals).toEqual(full.finals);
    expect(reduced.states).toBeLessThan(full.states);
  });
});
