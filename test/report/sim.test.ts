import { describe, expect, it } from 'vitest';
import { throughputBand } from '../../src/report/sim.js';

describe('claims: the throughput change', () => {
  it('is t(from)/t(to) - 1 at the medians, with a range over the low ends, medians and high ends', () => {
    // usemem-seed000 with the calibration of 2026-12-04: the v5.8 time rests
    // on struct-page lines whose band is lopsided, so the medians' change lies
    // above both ends' changes; the range must still hold it.
    const v58 = { median: 118.808, lo: 66.159, hi: 132.011 };
    const v59 = { median: 63.14, lo: 59.044, hi: 75.062 };
    const t = throughputBand(v58, v59);
    expect(t.median).toBeCloseTo(118.808 / 63.14 - 1, 9);
    expect(t.lo).toBeCloseTo(66.159 / 59.044 - 1, 9);
    expect(t.hi).toBe(t.median);
    expect(t.lo).toBeLessThanOrEqual(t.median);
    const same = throughputBand(v59, v59);
    expect([same.lo, same.median, same.hi]).toEqual([0, 0, 0]);
  });
});
