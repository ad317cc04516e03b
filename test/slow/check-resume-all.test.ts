/**
 * The whole library under every era, killed with SIGKILL at three random
 * moments and resumed from its checkpoint each time: byte for byte the
 * output of a run never stopped (issue 16's test of `--resume`). Slow (two
 * whole-library runs), so `npm run test:slow` runs it; `npm test` runs the
 * same on a few seconds of work (test/cli/check-resume.test.ts).
 */

import { describe, expect, it } from 'vitest';
import { killedAndResumed, moments, runBin } from '../cli/kill-resume.js';
import { tempDirs } from '../cli/run-cli.js';

const tmp = tempDirs('cowherd-resume-all-');

describe('check --era all, killed and resumed', () => {
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
    const { last, kills } = await killedAndResumed(args, tmp(), delays);
    expect(kills, `seed ${seed}: delays ${delays}`).toBe(3);
    expect(last.code).toBe(0);
    expect(last.out, `seed ${seed}: delays ${delays}`).toBe(whole.out);
  });
});
