/**
 * The page-table strategies' properties at full size, reclaim's rmap walk
 * among the walkers (test/props/pt-walkers.test.ts runs them small).
 */

import { describe, it } from 'vitest';
import { exploreAll, promisedFrees } from '../props/pt-walkers-props.js';

describe('page-table strategies on random programs, reclaim included', () => {
  it('designs keep the accounting and break nothing; unsafe variants break only PT001/PT002', () => {
    exploreAll(['env reclaim'], 80, 23, true);
  }, 1_800_000);

  it('pte-refcount and pt-rwsem leave no empty table linked', () => {
    promisedFrees(['', 'env reclaim'], 300, 5);
  }, 1_800_000);
});
