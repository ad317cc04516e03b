/**
 * Seed 004's arithmetic on sparse-1t-seed004 under every page-table
 * strategy (docs/pgtable-designs.md): half a minute of sim in-process, so
 * `npm run test:slow` runs it.
 */

import { describe, expect, it } from 'vitest';
import { simByStrategy } from '../sim/pt-run.js';

describe('page-table strategies on sparse-1t-seed004', () => {
  it("meets seed 004's arithmetic on sparse-1t-seed004: 2 GiB of PTE tables, 4 MiB of PMD tables, and what each design frees", () => {
    const r = simByStrategy<{ era: string; phases: { phase: string; vmpte: number }[] }>(
      'workloads/sparse-1t-seed004.cow',
    );
    expect(r.code).toBe(0);
    const after = Object.fromEntries(
      [...r.byStrategy].map(([s, x]) => [
        s,
        Object.fromEntries(x.phases.map((p) => [p.phase, p.vmpte])),
      ]),
    );
    expect(Object.keys(after)).toHaveLength(5);
    for (const s of Object.keys(after)) expect(after[s]!.touched).toBe(2_097_152 + 4_096 + 8);
    expect(Object.fromEntries(Object.entries(after).map(([s, p]) => [s, p.dontneed]))).toEqual({
      none: 2_101_256,
      'pte-refcount': 4_104,
      'pt-rwsem': 0,
      'madv-cleanup': 2_101_256,
      'pt-reclaim': 4_104,
    });
    for (const s of Object.keys(after)) expect(after[s]!.unmapped).toBe(0);
  });
});
