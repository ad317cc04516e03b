/**
 * The explorer's properties on random scenarios (explore-props.ts), at a size
 * the unit suite can afford; test/slow/props-explore.test.ts runs them at
 * full size (npm run test:slow, which CI runs).
 */

import { describe, it } from 'vitest';
import {
  checkpointIdentity,
  eraMemoIdentity,
  porIdentity,
  saturationIdentity,
  workersIdentity,
} from './explore-props.js';

describe('explorer on random scenarios', () => {
  it('POR keeps verdicts, final-state counts and broken design invariants; witnesses replay; the sequential run is contained', () => {
    porIdentity(20);
    // About 60 s here with two test files at once; the limit is for a loaded machine.
  }, 400_000);

  it('POR with environment actors keeps the same (every scenario has an actor)', () => {
    // Taking a thread's last statement alone lost final states here (localMove()).
    porIdentity(12, true);
  }, 400_000);

  it('counters saturated in the fingerprint give the verdicts of exact counters', () => {
    saturationIdentity(10);
  }, 400_000);

  it('a search resumed from any checkpoint gives the result of one never stopped', () => {
    checkpointIdentity(4);
  }, 300_000);

  it('EraMemo gives each era what exploring it gives, byte for byte', () => {
    eraMemoIdentity(6);
  }, 300_000);

  it('worker threads give the one-thread result byte for byte', () => {
    workersIdentity(4);
  }, 300_000);

  it('with --symmetry, checkpoints and worker threads give the plain result byte for byte', () => {
    checkpointIdentity(3, true);
    workersIdentity(3, true);
  }, 300_000);
});
