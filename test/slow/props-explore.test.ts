/**
 * The explorer's properties on random scenarios at full size (the unit suite
 * runs fewer: test/props/explore.test.ts).
 */

import { describe, expect, it } from 'vitest';
import { completeEraIds } from '../../src/policy/registry.js';
import {
  envAccessScenarioArb,
  forkedScenarioArb,
  independenceIdentity,
} from '../explore/independence-props.js';
import {
  checkpointIdentity,
  eraMemoIdentity,
  porIdentity,
  saturationIdentity,
  workersIdentity,
} from '../props/explore-props.js';

describe('explorer on random scenarios, full size', () => {
  it('POR keeps verdicts, final-state counts and broken design invariants (60 scenarios)', () => {
    porIdentity(60);
  });

  it('POR with environment actors keeps the same (100 scenarios, each with an actor)', () => {
    porIdentity(100, true);
  });

  it('counters saturated in the fingerprint give the verdicts of exact counters (60 scenarios)', () => {
    saturationIdentity(60);
  });

  it('a search resumed from a checkpoint gives the result of one never stopped (40 scenarios)', () => {
    checkpointIdentity(40);
  });

  it('EraMemo gives each era what exploring it gives, byte for byte (40 scenarios)', () => {
    eraMemoIdentity(40);
  });

  it('worker threads give the one-thread result byte for byte (12 scenarios)', () => {
    workersIdentity(12);
  });

  it('with --symmetry too (checkpoints 30 scenarios, workers 12)', () => {
    checkpointIdentity(30, true);
    workersIdentity(12, true);
  });

  it('independent accesses and forks keep verdicts, findings and counts, every era (200 + 150 scenarios)', () => {
    expect(independenceIdentity(200, 7, completeEraIds())).toBeGreaterThan(50);
    expect(independenceIdentity(150, 8, completeEraIds(), forkedScenarioArb)).toBeGreaterThan(50);
  }, 900_000);

  it('with environment actors: reads beside the LRU drain, nothing beside reclaim (100 + 30 scenarios)', () => {
    const lru = envAccessScenarioArb('lru_batches');
    expect(independenceIdentity(100, 43, completeEraIds(), lru)).toBeGreaterThan(10);
    independenceIdentity(30, 47, ['v5.9', 'v6.18'], envAccessScenarioArb('reclaim'));
  }, 900_000);
});
