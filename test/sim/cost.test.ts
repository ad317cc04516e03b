import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WORK_KINDS } from '../../src/core/work.js';
import {
  type Band,
  type Calibration,
  fitBase,
  predict,
  price,
  termDifferences,
  unitCosts,
} from '../../src/sim/cost.js';

const b = (median: number, lo = median, hi = median): Band => ({ median, lo, hi });

const NS = {
  page_zero: b(300, 250, 400),
  page_copy: b(500, 400, 600),
  line_cold: b(5, 4, 6),
  line_hot: b(0.5, 0.4, 0.6),
  atomic: b(2, 1.5, 2.5),
  atomic_shared: b(20, 10, 40),
  lock: b(5),
  fault_cow: b(2000, 1800, 2500),
};

function calibration(base: Calibration['base']): Calibration {
  return {
    machine: { kernel: 'test', cpu: 'test', date: '2026-12-03' },
    reps: 3,
    pages: 1,
    ns: NS,
    base,
    check: {},
  };
}

describe('the cost model (src/sim/cost.ts)', () => {
  it('prices each kind at its measured unit and leaves the kinds it has no unit for at 0', () => {
    const u = unitCosts(NS);
    expect(u.pages_copied).toEqual(NS.page_copy);
    expect(u.pages_zeroed).toEqual(NS.page_zero);
    expect(u.page_lines).toEqual({ median: 5, lo: 0.4, hi: 6 });
    expect(u.atomics).toEqual({ median: 2, lo: 1.5, hi: 40 });
    expect(u.tlb_flush).toEqual(b(0));
    // A calibration without page-table figures (before they were measured) prices tables at 0.
    expect(u.pt_alloc).toEqual(b(0));
    const withTables = unitCosts({ ...NS, pt_alloc: b(900, 800, 1000), pt_free: b(300) });
    expect([withTables.pt_alloc, withTables.pt_free]).toEqual([b(900, 800, 1000), b(300)]);
    expect(price({ pages_copied: 2, page_lines: 512 }, u)).toEqual({
      median: 2 * 500 + 512 * 5,
      lo: 2 * 400 + 512 * 0.4,
      hi: 2 * 600 + 512 * 6,
    });
  });

  it("fits a path's fixed cost as the kernel's time minus the priced work, per call", () => {
    const u = unitCosts(NS);
    const work = { calls: 10, pages_copied: 10, atomics: 40 };
    const base = fitBase(NS.fault_cow, 10, work, u, 'calls');
    expect(base.per).toBe('calls');
    expect(base.ns.median).toBeCloseTo(2000 - 500 - 4 * 2);
    // Each end is the time at that end less the work at that end's prices, never negative.
    expect(base.ns.lo).toBeCloseTo(1800 - 400 - 4 * 1.5);
    expect(base.ns.hi).toBeCloseTo(2500 - 600 - 4 * 40);
    expect(fitBase(b(10), 10, work, u, 'calls').ns.median).toBe(0);
  });

  it('predicts linearly in the work, with min <= median <= max (property)', () => {
    const cal = calibration({ do_wp_page: { per: 'calls', ns: b(800, 700, 900) } });
    const row = fc.record(
      Object.fromEntries(WORK_KINDS.map((k) => [k, fc.nat({ max: 1_000_000 })])) as Record<
        string,
        fc.Arbitrary<number>
      >,
    );
    fc.assert(
      fc.property(row, fc.integer({ min: 2, max: 9 }), (r, k) => {
        const one = predict({ do_wp_page: r }, cal).seconds;
        const many = predict(
          { do_wp_page: Object.fromEntries(Object.entries(r).map(([x, v]) => [x, v * k])) },
          cal,
        ).seconds;
        expect(one.lo).toBeLessThanOrEqual(one.median);
        expect(one.median).toBeLessThanOrEqual(one.hi);
        expect(many.median).toBeCloseTo(one.median * k, 6);
      }),
      { numRuns: 50 },
    );
  });

  it('names the paths it has no fixed cost for, and the terms that differ most', () => {
    const cal = calibration({ do_wp_page: { per: 'calls', ns: b(800) } });
    const a = predict({ do_wp_page: { calls: 100, page_lines: 100 } }, cal);
    const c = predict(
      { do_wp_page: { calls: 100, page_lines: 51300 }, do_swap_page: { calls: 3 } },
      cal,
    );
    expect(a.unpriced).toEqual([]);
    expect(c.unpriced).toEqual(['do_swap_page']);
    expect(a.seconds.median).toBeCloseTo((100 * 800 + 100 * 5) / 1e9, 12);
    expect(termDifferences(a, c)[0]).toEqual({
      path: 'do_wp_page',
      term: 'page_lines',
      ns: 51200 * 5,
    });
  });
});

describe('sim progress (src/cli/sim.ts progressLine)', () => {
  it('shows steps of the estimated total, the fault rate and what is left', async () => {
    const { progressLine } = await import('../../src/cli/sim.js');
    expect(progressLine('w', { era: 'v6.18', steps: 250, total: 1000, pgfault: 5000 }, 2)).toBe(
      'sim w v6.18: 250/1000 steps (25%), 5000 faults (2500/s), about 6 s left',
    );
    expect(progressLine('w', { era: 'v5.9', steps: 0, total: 0, pgfault: 0 }, 1)).toBe(
      'sim w v5.9: 0/0 steps (0%), 0 faults (0/s)',
    );
  });
});
