/** The workload library (workloads/) at the size it ships: every file is a checked workload whose simulation ends with its condition true. */

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eraInfo } from '../../src/policy/registry.js';
import { parseWorkload } from '../../src/scenario/parse.js';
import { checkWorkload, simulate } from '../../src/sim/sim.js';

const files = readdirSync('workloads')
  .filter((f) => f.endsWith('.cow'))
  .sort()
  .map((f) => join('workloads', f));

describe('workload library', () => {
  it('holds workloads', () => expect(files.length).toBeGreaterThanOrEqual(2));
  for (const f of files)
    for (const era of ['v5.8', 'v6.18'])
      it(`${f} on ${era}: checked, simulated, condition holds`, () => {
        const w = parseWorkload(readFileSync(f, 'utf8'), f);
        checkWorkload(w);
        const r = simulate(w, eraInfo(era)!.policy!, { seed: 1, cpus: 2 });
        expect(r.kind).toBe('done');
        expect(r.holds).toBe(true);
        expect(r.counters.pgfault).toBeGreaterThan(0);
      });
});
