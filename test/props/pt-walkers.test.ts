/**
 * Page-table strategies on random programs (pt-walkers-props.ts), at a size
 * the unit suite can afford; test/slow/pt-walkers.test.ts adds reclaim's
 * rmap walk to the exploration.
 */

import { describe, it } from 'vitest';
import { exploreAll, promisedFrees } from './pt-walkers-props.js';

describe('page-table strategies on random fault / GUP-fast / MADV_DONTNEED programs', () => {
  it('designs keep the accounting and break nothing; unsafe variants break only PT001/PT002', () => {
    exploreAll([''], 40, 17, true);
  }, 300_000);

  it('the same over a shared memfd mapping with hole punches among the walkers', () => {
    exploreAll([''], 60, 23, true, true);
  }, 300_000);

  it('pte-refcount and pt-rwsem leave no empty table linked at the end of an interleaving', () => {
    promisedFrees([''], 20, 6, true);
    promisedFrees(['', 'env reclaim'], 40, 4);
  }, 300_000);
});
