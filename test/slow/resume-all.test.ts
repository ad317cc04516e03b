/**
 * The whole library under every era, killed with SIGKILL at three random
 * moments and resumed from its checkpoint each time: byte for byte the
 * output of a run never stopped (issue 16's test of `--resume`); and one
 * exploration of 43,692 states killed twice and resumed. Slow (two
 * whole-library runs), so `npm run test:slow` runs it; `npm test` runs the
 * check on a few seconds of work (test/cli/check-resume.test.ts) and the
 * explorer's resume on random scenarios (test/props/explore.test.ts).
 */

import { describe, expect, it } from 'vitest';
import { killedAndResumed, moments, runBin } from '../cli/kill-resume.js';
import { tempDirs } from '../cli/run-cli.js';

const tmp = tempDirs('cowherd-resume-all-');

describe('check --era all and explore, killed and resumed', () => {
  it('prints what an uninterrupted run prints', async () => {
    const args = ['--era', 'all'];
    const t0 = performance.now();
    const whole = await runBin(['check', ...args]);
    const ms = performance.now() - t0;
    expect(whole.code).toBe(0);
    const seed = 4_2026_12;
    const next = moments(seed);
    // Three kills spread over the run, each at a random moment of its third.
    const delays = [0, 1, 2].map(() => Math.floor((0.05 + next() * 0.25) * ms));
    const { last, kills } = await killedAndResumed(['check', ...args], tmp(), delays);
    expect(kills, `seed ${seed}: delays ${delays}`).toBe(3);
    expect(last.code).toBe(0);
    expect(last.out, `seed ${seed}: delays ${delays}`).toBe(whole.out);
  });

  it('explore killed with SIGKILL at random moments and resumed prints what an uninterrupted run prints', async () => {
    const args = ['explore', 'test/fixtures/many-threads.cow', '--era', 'v6.18'];
    const t0 = performance.now();
    const whole = await runBin(args);
    const ms = performance.now() - t0;
    expect(whole.code).toBe(0);
    expect(whole.out).toMatch(/^states 43692, /m);
    const seed = 31;
    const next = moments(seed);
    // Two kills, each at a random moment of the middle of a run (as long as
    // the explorer takes here: fixed delays outlived it once it got faster).
    const delays = [0, 1].map(() => Math.floor((0.3 + next() * 0.4) * ms));
    const { last, kills } = await killedAndResumed(args, tmp(), delays, '1');
    expect(kills, `seed ${seed}: delays ${delays}`).toBeGreaterThan(0);
    expect(last.code).toBe(0);
    expect(last.out, `seed ${seed}: delays ${delays}`).toBe(whole.out);
  });
});
