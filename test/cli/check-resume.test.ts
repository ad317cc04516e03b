// `cowherd check` stopped and resumed (docs/reliability.md, "Interruptions"):
// rows stream, a signal prints the partial matrix and exits 130 or 143, a run
// killed by SIGKILL at random moments and resumed from its checkpoint prints
// byte for byte what a run never stopped prints.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { killedAndResumed, moments, runBin } from './kill-resume.js';
import { cli, tempDirs } from './run-cli.js';

const tmp = tempDirs('cowherd-resume-');
const ARGS = ['scenarios/cow', '--era', 'v5.7,v6.18'];

describe('check --checkpoint and --resume', () => {
  it('killed with SIGKILL at random moments and resumed, prints what an uninterrupted run prints', async () => {
    const whole = await runBin(['check', ...ARGS]);
    expect(whole.code).toBe(0);
    const seed = 20261204;
    const next = moments(seed);
    const delays = [0, 1].map(() => 400 + Math.floor(next() * 2000));
    const { last, kills } = await killedAndResumed(['check', ...ARGS], tmp(), delays);
    expect(kills, `seed ${seed}: delays ${delays}`).toBeGreaterThan(0);
    expect(last.code).toBe(0);
    expect(last.out, `seed ${seed}: delays ${delays}`).toBe(whole.out);
  }, 120_000);

  it('explore: a checkpoint of another run is refused, --workers too', () => {
    const dir = tmp();
    const cp = join(dir, 'cp.json');
    const f = 'test/fixtures/race-shared-read.cow';
    const whole = cli('explore', f, '--era', 'v6.18', '--checkpoint', cp);
    expect(whole.code).toBe(0);
    // A finished search: the same output again.
    expect(cli('explore', f, '--era', 'v6.18', '--resume', cp).out).toBe(whole.out);
    expect(cli('explore', f, '--era', 'v5.9', '--resume', cp).err).toMatch(
      /CLI004.*it is of era v6\.18, this run explores v5\.9/,
    );
    expect(cli('explore', f, '--era', 'v6.18', '--dfs', '--resume', cp).err).toMatch(
      /CLI004.*run with the defaults, this run with --dfs/,
    );
    expect(cli('explore', f, '--era', 'v6.18', '--resume', cp, '--workers', '2').err).toMatch(
      /CLI001.*one thread/,
    );
    expect(cli('check', f, '--era', 'v6.18', '--resume', cp).err).toMatch(
      /CLI004.*not a checkpoint of cowherd check/,
    );
  });

  it('SIGINT and SIGTERM print the partial matrix and exit 130 and 143; the checkpoint goes on', async () => {
    const dir = tmp();
    const cp = join(dir, 'cp.json');
    const a = await runBin(['check', ...ARGS, '--checkpoint', cp], 1000, 'SIGINT', true);
    expect(a.code).toBe(130);
    expect(a.out).toMatch(
      /interrupted after \d+ of 318 scenario\/era pairs: the matrix is partial/,
    );
    expect(a.out).toContain(`continue with --resume ${cp}`);
    const b = await runBin(['check', ...ARGS, '--resume', cp], 1000, 'SIGTERM', true);
    expect(b.code).toBe(143);
    const done = (s: string) => Number(/interrupted after (\d+)/.exec(s)?.[1]);
    expect(done(b.out)).toBeGreaterThan(done(a.out));
  }, 120_000);

  it('a signal before the resumed run has gone past its restored rows loses none of them', () => {
    const dir = tmp();
    const cp = join(dir, 'cp.json');
    const args = ['check', 'scenarios/bugs', '--era', 'v5.7,v6.18'];
    const run = (extra: string[], stopAfter: number) => {
      let asked = 0;
      let out = '';
      const code = main([...args, ...extra], {
        out: (t) => (out += t),
        err: () => {},
        interrupted: () => (++asked > stopAfter ? 130 : 0),
      });
      return { code, out };
    };
    const whole = cli(...args);
    // Stopped after a few pairs, then resumed and stopped again at once.
    expect(run(['--checkpoint', cp], 5).code).toBe(130);
    const kept = JSON.parse(readFileSync(cp, 'utf8')).data.length;
    expect(kept).toBeGreaterThan(0);
    expect(run(['--resume', cp], 0).code).toBe(130);
    expect(JSON.parse(readFileSync(cp, 'utf8')).data.length).toBe(kept);
    const last = run(['--resume', cp], Number.POSITIVE_INFINITY);
    expect(last.code).toBe(0);
    expect(last.out).toBe(whole.out);
  });

  it('refuses to overwrite a file, and to resume a checkpoint of another run (CLI004)', () => {
    const dir = tmp();
    const f = join(dir, 'mine.txt');
    writeFileSync(f, 'keep me');
    const a = cli('check', 'scenarios/bugs', '--era', 'v6.18', '--checkpoint', f);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/CLI002.*exists: cowherd does not overwrite files/);
    expect(readFileSync(f, 'utf8')).toBe('keep me');
    expect(cli('check', 'scenarios/bugs', '--era', 'v6.18', '--resume', f).err).toMatch(
      /CLI004.*is not a checkpoint of cowherd check/,
    );
    const cp = join(dir, 'cp.json');
    const whole = cli('check', 'scenarios/bugs', '--era', 'v6.18', '--checkpoint', cp);
    expect(whole.code).toBe(0);
    expect(existsSync(cp)).toBe(true);
    expect(cli('check', 'scenarios/bugs', '--era', 'v5.7', '--resume', cp).err).toMatch(
      /CLI004.*of another run: it is of eras v6\.18, this run checks v5\.7/,
    );
    expect(
      cli('check', 'scenarios/bugs', '--era', 'v6.18', '--max-states', '5', '--resume', cp).err,
    ).toMatch(/CLI004.*--max-states default, this run with 5/);
    // A finished checkpoint: the same output again, without exploring.
    const again = cli('check', 'scenarios/bugs', '--era', 'v6.18', '--resume', cp);
    expect(again.code).toBe(0);
    expect(again.out).toBe(whole.out);
  });

  it('refuses a scenario that changed since the checkpoint', () => {
    const dir = tmp();
    const sc = join(dir, 'a.cow');
    writeFileSync(sc, readFileSync('scenarios/anon/anon-madv-dontfork.cow', 'utf8'));
    const cp = join(dir, 'cp.json');
    expect(cli('check', sc, '--era', 'v6.18', '--checkpoint', cp).code).toBe(0);
    writeFileSync(sc, `${readFileSync(sc, 'utf8')}# edited\n`);
    expect(cli('check', sc, '--era', 'v6.18', '--resume', cp).err).toMatch(
      /CLI004.*a\.cow changed since it was written/,
    );
  });
});
