// A few thousand fuzz inputs in the suite (npm run fuzz runs more): each must
// end in a verdict, a coded error or a budget (docs/reliability.md).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FINDINGS,
  fuzzBudget,
  fuzzInputs,
  fuzzLibrary,
  fuzzOne,
  grammarInput,
  mutate,
} from '../../src/fuzz/fuzz.js';

// Generous on a loaded machine: a hang is a run that ignores its budget.
const budget = fuzzBudget({ hangMillis: 20_000, maxStates: 300, maxSteps: 300 });

describe('fuzz', () => {
  it('2,000 mutated and generated scenarios end in a verdict, a coded error or a budget', () => {
    const seen: Record<string, number> = {};
    fc.assert(
      fc.property(fuzzInputs(fuzzLibrary('scenarios')), ([text, era]) => {
        const o = fuzzOne(text, era, budget);
        seen[o.kind] = (seen[o.kind] ?? 0) + 1;
        if (FINDINGS.includes(o.kind)) throw new Error(`${o.kind} under ${era}: ${o.detail}`);
      }),
      { numRuns: 2000, seed: 20261204 },
    );
    // The inputs reach every stage: some give verdicts, some are refused.
    expect(seen.verdict).toBeGreaterThan(100);
    expect(seen['input-error']).toBeGreaterThan(100);
  }, 300_000);

  it('its oracle reports a crash, not a verdict, when a stage throws', () => {
    // A budget whose clock throws inside a stage stands in for a bug there.
    let calls = 0;
    const o = fuzzOne(
      'scenario s\nthread a {\n  mmap m pages=1 private rw\n  write m = 1\n}\nexists (1)\n',
      'v6.18',
      {
        ...budget,
        clock: () => {
          // The first reading (the input's start) works; the run stage's throws.
          if (++calls === 2) throw new TypeError('boom');
          return 0;
        },
      },
    );
    expect(o.kind).toBe('crash');
    expect(o.detail).toMatch(/TypeError: boom/);
  });

  it('mutations change the text as described', () => {
    expect(mutate('abcdef', { op: 'delete', at: 0.5, len: 2 })).toBe('abcf');
    expect(mutate('a\nb\nc', { op: 'swaplines', a: 0, b: 0.99 })).toBe('c\nb\na');
    expect(mutate('x = 12', { op: 'number', at: 0, value: '-1' })).toBe('x = -1');
    expect(fc.sample(grammarInput, { numRuns: 3, seed: 1 })[0]).toMatch(/^scenario fuzz\n/);
  });
});
