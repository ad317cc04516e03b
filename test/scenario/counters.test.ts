import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VM_EVENT_NAMES } from '../../src/core/vmstat.js';
import { explore } from '../../src/explore/explore.js';
import { eraInfo } from '../../src/policy/registry.js';
import { checkScenario } from '../../src/scenario/check.js';
import { countersRead, saturationCap } from '../../src/scenario/counters.js';
import { parseScenario } from '../../src/scenario/parse.js';

const sc = (text: string) => {
  const s = parseScenario(text, 't.cow');
  checkScenario(s);
  return s;
};
/** A one-thread scenario: its thread's statements after a write, and its condition. */
const oneThread = (more: string, cond: string) =>
  sc(`scenario c
setup {
  mmap m pages=1 private rw
}
thread t {
  write m[0] = 1
${more}}
exists (${cond})
`);
/** Each counter read, by name, with its cap. */
const caps = (s: ReturnType<typeof sc>) =>
  countersRead(s).map((c) => [VM_EVENT_NAMES[c.index], c.cap]);

describe('countersRead', () => {
  it('finds the vmstat counters in the condition and in observe statements, nothing else', () => {
    const s = oneThread('  observe pswpout -> out\n', 'anon_wp_copy_lock > 0 && out == 0');
    expect(caps(s)).toEqual([
      ['pswpout', Number.POSITIVE_INFINITY], // observed into a register: exact
      ['anon_wp_copy_lock', 1], // compared with 0 only: 0, or 1 for anything more
    ]);
  });

  it('saturates a counter past the largest literal it is compared with, and keeps it exact otherwise', () => {
    const s = oneThread(
      '',
      'pgfault > 5 && 2 == anon_wp_copy_count && pgreuse != -1 && pgmajfault + 0 == 1 && pswpin < pswpout',
    );
    expect(caps(s)).toEqual([
      ['pgfault', 6],
      ['pgmajfault', Number.POSITIVE_INFINITY],
      ['pgreuse', 0],
      ['pswpin', Number.POSITIVE_INFINITY],
      ['pswpout', Number.POSITIVE_INFINITY],
      ['anon_wp_copy_count', 3],
    ]);
  });

  it('a saturated value compares with the literal as every value past it does', () => {
    const ops: ((x: number, l: number) => boolean)[] = [
      (x, l) => x === l,
      (x, l) => x !== l,
      (x, l) => x < l,
      (x, l) => x <= l,
      (x, l) => x > l,
      (x, l) => x >= l,
    ];
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: -5, max: 40 }), fc.double({ min: -5, max: 40, noNaN: true })),
        fc.nat(1000),
        (lit, past) => {
          const cap = saturationCap(lit);
          expect(cap).toBeGreaterThanOrEqual(0);
          for (const op of ops) expect(op(cap + past, lit)).toBe(op(cap, lit));
        },
      ),
    );
  });

  it('turns a livelock that raises a counter the condition reads into a cycle: the search ends', () => {
    // t0's copy is dropped each time reclaim unmaps the page between the two
    // steps of its write fault; anon_wp_copy_count grows with every retry.
    const s = sc(`scenario livelock
env reclaim
setup {
  mmap mem pages=1 private rw
  write mem[0] = 1
}
thread parent {
  fork child
  spawn t0
}
thread t0 {
  write mem[0] = 2
}
thread child {
}
exists (anon_wp_copy_count == 1)
`);
    const r = explore(s, eraInfo('v6.18')!.policy!, { maxStates: 200_000 });
    expect(r.kind).toBe('done');
    if (r.kind === 'done') expect(r.verdict).toBe('Sometimes');
  });

  it('is empty for a scenario that reads no counter', () => {
    expect(countersRead(oneThread('  read m[0] -> v\n', 'v == 1'))).toEqual([]);
  });
});
