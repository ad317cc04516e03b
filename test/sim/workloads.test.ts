/**
 * The workload library (workloads/): every file is a checked workload whose
 * simulation ends with its condition true. The seeds' files at full scale
 * (`*-seed*.cow`) run here at a reduced size, their consts scaled down
 * (REDUCED); test/slow/workloads-full.test.ts runs them as they ship.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eraInfo } from '../../src/policy/registry.js';
import { parseWorkload } from '../../src/scenario/parse.js';
import { checkWorkload, simulate } from '../../src/sim/sim.js';

/** Files with no size to reduce (seed 004's 1 TiB is the point): test/slow/workloads-full.test.ts runs them. */
const FULL_ONLY = new Set([
  'sparse-1t-seed004.cow',
  // 10^7 operations; malloc-churn-small.cow and malloc-churn-purge-small.cow are their reduced forms.
  'malloc-churn.cow',
  'malloc-churn-purge.cow',
]);

const files = readdirSync('workloads')
  .filter((f) => f.endsWith('.cow') && !FULL_ONLY.has(f))
  .sort()
  .map((f) => join('workloads', f));

/** The consts of the full-scale files, at a size the test suite runs in a second. */
const REDUCED: Readonly<Record<string, number>> = {
  N: 4,
  LEN: 8 << 20,
  PAGES: 2048,
  ROUNDS: 2000,
};

/** `text` with its consts set to their REDUCED values (those it has). */
function reduced(text: string): string {
  return text.replace(/^const (\w+) = .*$/gm, (line, name: string) =>
    name in REDUCED ? `const ${name} = ${REDUCED[name]}` : line,
  );
}

describe('workload library', () => {
  it('holds workloads', () => expect(files.length).toBeGreaterThanOrEqual(4));
  for (const f of files)
    for (const era of ['v5.8', 'v6.18'])
      it(`${f} on ${era}: checked, simulated, condition holds`, () => {
        const text = readFileSync(f, 'utf8');
        const w = parseWorkload(/-seed\d+/.test(f) ? reduced(text) : text, f);
        checkWorkload(w);
        const r = simulate(w, eraInfo(era)!.policy!, { seed: 1, cpus: 2 });
        expect(r.kind).toBe('done');
        expect(r.holds).toBe(true);
        expect(r.counters.pgfault).toBeGreaterThan(0);
      });
});

describe('malloc-churn (seed 004): the PTE tables an allocator leaves behind', () => {
  const run = (f: string, era: string) => {
    const w = parseWorkload(readFileSync(f, 'utf8'), f);
    checkWorkload(w);
    return simulate(w, eraInfo(era)!.policy!, { seed: 1, cpus: 1 });
  };
  // A 1 GiB arena of 512 slots at 1 TiB: a PTE table per slot, one PMD table and one PUD table.
  const everySlot = 512 * 4 + 4 + 4;
  const liveSlots = 64 * 4 + 4 + 4;

  it('keeps a table for every slot ever used when the frees are smaller than a PMD, in every era', () => {
    for (const era of ['v6.2', 'v6.18']) {
      const r = run('workloads/malloc-churn-small.cow', era);
      expect(r.holds).toBe(true);
      expect(r.vmpte.final).toBe(everySlot);
      expect(r.counters.pt_reclaim_pte ?? 0).toBe(0);
    }
  });

  it('frees the emptied table of each purged 2 MiB extent with PT_RECLAIM (v6.18), and only there', () => {
    const old = run('workloads/malloc-churn-purge-small.cow', 'v6.2');
    const now = run('workloads/malloc-churn-purge-small.cow', 'v6.18');
    expect(old.vmpte.final).toBe(everySlot);
    expect(now.vmpte.final).toBe(liveSlots);
    // Each of the 20,000 operations but the 64 whose objects stay live frees a table.
    expect(now.counters.pt_reclaim_pte).toBe(20_000 - 64);
    // The phases sample VmPTE as the churn goes on.
    expect(now.phases.map((p) => p.vmpte)).toEqual([liveSlots, liveSlots, liveSlots, liveSlots]);
  });
});

describe('forceswap-copies-small: the copies seen through PFNs are the copies the kernel counts', () => {
  it('counts, in every era, as many moved PFNs as anon_wp_copy_count', () => {
    const f = 'workloads/forceswap-copies-small.cow';
    const w = parseWorkload(readFileSync(f, 'utf8'), f);
    checkWorkload(w);
    const seen = new Set<number>();
    for (const era of ['v5.7', 'v5.9', 'v5.18', 'v6.18', 'linus-rules']) {
      const r = simulate(w, eraInfo(era)!.policy!, { seed: 1, cpus: 1 });
      expect(r.regs.copies, era).toBe(r.counters.anon_wp_copy_count ?? 0);
      seen.add(r.regs.copies!);
    }
    // Not all zero: the eras disagree (v5.9 copies every write).
    expect(seen.size).toBeGreaterThan(1);
  });
});
