/**
 * The explorer's whole-library properties on every file of the library: slow
 * (several minutes on 2 cores), so `npm run test:slow` runs them and .ci/run
 * runs that too; `npm test` checks a sample (test/explore/explore.test.ts).
 */

import { describe, expect, it } from 'vitest';
import {
  expectEraMemoExact,
  expectPorSound,
  expectSequentialContained,
  libraryFiles,
} from '../explore/library.js';

describe('explore on the whole library', () => {
  it('contains the sequential run in every scenario', () => {
    for (const f of libraryFiles()) expectSequentialContained(f);
  });

  it('partial-order reduction keeps verdicts and final-state counts in every scenario and era', () => {
    const { reduced, full } = expectPorSound([
      ...libraryFiles(),
      'test/fixtures/race-shared-read.cow',
    ]);
    expect(reduced).toBeLessThan(full);
  });

  it("an era given another era's result (era-memo.ts) gets what exploring it gives, in every scenario", () => {
    const { explored, shared, reused } = expectEraMemoExact(libraryFiles());
    expect(shared).toBeGreaterThan(explored / 4);
    // Eras explored again take state expansions from earlier ones (about 27,000).
    expect(reused).toBeGreaterThan(10_000);
  });
});
