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
const FULL_ONLY = new Set(['sparse-1t-seed004.cow']);

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
