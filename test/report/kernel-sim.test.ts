import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { KernelFigures } from '../../src/kernel/run.js';
import { addressRegisters, compareWorkload, comparisonText } from '../../src/report/kernel-sim.js';
import { parseWorkload } from '../../src/scenario/parse.js';
import type { SimResult } from '../../src/sim/sim.js';

const sim = {
  tasks: [
    { name: 'parent', minflt: 256, majflt: 0, vmpteKb: 12, forks: 8 },
    { name: 'child[0]', minflt: 256, majflt: 0, vmpteKb: 12, forks: 0 },
  ],
  regs: { copies: 10 },
} as unknown as SimResult;

function kernel(childFaults: number, childPte: number, copies: number): KernelFigures {
  const t = { majflt: 0, startNs: 0, endNs: 1, cpuNs: 2e6 };
  return {
    threads: [
      { name: 'parent', minflt: 286, vmpteKb: 52, ...t },
      { name: 'child[0]', minflt: childFaults, vmpteKb: 40 + childPte, ...t },
    ],
    regs: { copies },
    wallMs: 1,
    cpuMs: 4,
    baseVmpteKb: 40,
  };
}

describe('compareWorkload()', () => {
  it("agrees within the probe's own faults, VmPTE over its own tables, registers exactly", () => {
    const c = compareWorkload('u', sim, kernel(271, 12, 10), null);
    expect(c.agree).toBe(true);
    expect(c.rows.find((r) => r.what === 'parent VmPTE kB')).toMatchObject({ sim: 12, kernel: 12 });
  });

  it('marks each figure outside its tolerance', () => {
    const c = compareWorkload('u', sim, kernel(300, 16, 9), null);
    expect(c.agree).toBe(false);
    const bad = c.rows.filter((r) => !r.ok).map((r) => r.what);
    // The total's slack is the threads' slacks summed: 586 against 512 is inside.
    expect(bad).toEqual(['child[0] minflt', 'child[0] VmPTE kB', 'register copies']);
    expect(comparisonText(c, 'v6.18')).toMatch(/child\[0\] minflt\s+256\s+300 {2}DIFFERS/);
  });

  it('sets the predicted CPU time beside the measured, within a factor of two', () => {
    const p = {
      seconds: { median: 0.003, lo: 0.002, hi: 0.005 },
      unpriced: ['do_swap_page'],
      terms: {},
    };
    const c = compareWorkload('u', sim, kernel(271, 12, 10), p);
    expect(c.time).toMatchObject({ predictedMs: 3, measuredMs: 4, ok: true });
    expect(comparisonText(c, 'v6.18')).toContain(
      'CPU time: predicted 3.0 ms (range 2.0..5.0), measured 4.0 ms: ×0.75; no fixed cost calibrated for do_swap_page',
    );
  });

  it('shows a register set straight from a PFN without comparing it, and compares what is computed from it', () => {
    const w = parseWorkload(readFileSync('workloads/forceswap-copies-small.cow', 'utf8'), 'f.cow');
    const regs = addressRegisters(w);
    expect([...regs]).toEqual(['before']);
    const s = { ...sim, tasks: [], regs: { before: 3, copies: 0 } } as unknown as SimResult;
    const k = { ...kernel(271, 12, 0), threads: [], regs: { before: 123456, copies: 0 } };
    const c = compareWorkload('f', s, k, null, regs);
    expect(c.agree).toBe(true);
    expect(c.rows.map((r) => r.what)).toContain(
      'register before (an address or PFN: not compared)',
    );
  });
});
