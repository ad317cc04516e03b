/**
 * The symmetries on the whole library (slow: `npm run test:slow`):
 * equivariance on the first states of every scenario each applies to, under
 * every era, and the verdicts of every scenario and era unchanged. The quick
 * suite checks random scenarios (test/explore/symmetry.test.ts,
 * value-symmetry.test.ts, thread-symmetry.test.ts).
 */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { explore } from '../../src/explore/explore.js';
import { symmetryBlocked } from '../../src/explore/symmetry.js';
import { valueSymmetryBlocked } from '../../src/explore/value-symmetry.js';
import { completeEraIds, eraInfo } from '../../src/policy/registry.js';
import { libraryFiles } from '../explore/library.js';
import {
  checkEquivariance,
  load,
  symmetryEquivariance,
  symmetryIdentity,
} from '../explore/symmetry-props.js';
import {
  ownPageScenarioArb,
  threadEquivariance,
  threadIdentity,
} from '../explore/thread-symmetry-props.js';
import {
  checkValueEquivariance,
  valueEquivariance,
  valueIdentity,
} from '../explore/value-symmetry-props.js';

/** The two terabyte-scale page-table scenarios: one state's renaming is not looked for (SYMMETRY_MAX_PFNS). */
const HUGE = /pt-dense-1g|pt-sparse-1t/;

describe('symmetry over PFN allocation order, full size', () => {
  it('is equivariant on the first 100 states of every library scenario it applies to, every era', () => {
    let checked = 0;
    for (const f of libraryFiles()) {
      const sc = load(readFileSync(f, 'utf8'));
      if (symmetryBlocked(sc) !== null || HUGE.test(f)) continue;
      for (const era of completeEraIds()) checkEquivariance(sc, era, checked, 100);
      checked++;
    }
    expect(checked).toBeGreaterThan(200);
  });

  it('keeps every verdict and broken design invariant of the library, every era', () => {
    let fewer = 0;
    for (const f of libraryFiles()) {
      const sc = load(readFileSync(f, 'utf8'));
      for (const era of completeEraIds()) {
        const policy = eraInfo(era)!.policy!;
        const a = explore(sc, policy);
        const b = explore(sc, policy, { symmetry: true });
        const sum = (r: typeof a) => [
          f,
          era,
          r.kind,
          r.kind === 'done' ? r.verdict : null,
          r.findings.map((x) => x.code).sort(),
        ];
        expect(sum(b)).toEqual(sum(a));
        expect(b.states).toBeLessThanOrEqual(a.states);
        if (b.states < a.states) fewer++;
      }
    }
    expect(fewer).toBeGreaterThan(0);
  });

  it('is equivariant and keeps verdicts on random scenarios (60 each)', () => {
    symmetryEquivariance(60, 400);
    symmetryIdentity(60);
  });
});

describe('symmetry over page contents, full size', () => {
  it('is equivariant on the first 60 states and two paths of every library scenario it applies to, every era', () => {
    let checked = 0;
    for (const f of libraryFiles()) {
      const sc = load(readFileSync(f, 'utf8'));
      if (symmetryBlocked(sc) !== null || valueSymmetryBlocked(sc) !== null || HUGE.test(f))
        continue;
      for (const era of completeEraIds()) checkValueEquivariance(sc, era, checked, 60, 2);
      checked++;
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('is equivariant and keeps verdicts on random scenarios (150 each)', () => {
    valueEquivariance(150, 300, 37);
    valueIdentity(150, 41);
  });
});

describe('symmetry over threads that run one program, full size', () => {
  it('is equivariant and keeps verdicts on random scenarios (300 and 150)', () => {
    threadEquivariance(300, 200, 53);
    threadIdentity(150, 59);
  });

  it('moves the pages threads own with them: equivariant, verdicts kept (200 and 100)', () => {
    threadEquivariance(200, 300, 61, ownPageScenarioArb);
    threadIdentity(100, 67, ownPageScenarioArb);
  });
});
