// `cowherd check --jobs N` (src/cli/check-pool.ts): pairs explored in worker
// threads print byte for byte what one job prints, in text and JSON, with a
// checkpoint too; a signal stops the workers and prints the partial matrix.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { runBin } from './kill-resume.js';
import { cli, cliAsync, tempDirs } from './run-cli.js';

const tmp = tempDirs('cowherd-jobs-');

// Scenarios with findings, witnesses, a mismatch-free matrix and a few hundred states.
const ARGS = ['scenarios/bugs', 'scenarios/gup_longterm', '--era', 'v5.7,v5.9,v6.18'];

describe('check --jobs', () => {
  it('prints what one job prints, in text and in JSON, whatever N', async () => {
    const one = cli('check', ...ARGS, '--jobs', '1');
    expect(one.code).toBe(0);
    expect(typeof one.code).toBe('number'); // one job stays synchronous
    for (const n of ['2', '3']) {
      const many = await cliAsync('check', ...ARGS, '--jobs', n);
      expect(many.code).toBe(0);
      expect(many.out).toBe(one.out);
      expect(many.err).toBe('');
    }
    const json1 = cli('check', ...ARGS, '--json', '--jobs', '1');
    const json2 = await cliAsync('check', ...ARGS, '--json', '--jobs', '2');
    expect(json2.out).toBe(json1.out);
    expect(JSON.parse(json2.out).results.length).toBeGreaterThan(30);
  }, 120_000);

  it('keeps the same exit code and rows when pairs differ from their expectation', async () => {
    const dir = tmp();
    const f = join(dir, 'wrong.cow');
    // The expectation says Sometimes where the model answers Always: exit 1 either way.
    const text = readFileSync('scenarios/anon/anon-madv-dontfork.cow', 'utf8').replace(
      /v6\.18: \w+/,
      'v6.18: Sometimes',
    );
    writeFileSync(f, text);
    const one = cli('check', f, '--era', 'v6.18,v5.7', '--jobs', '1');
    const two = await cliAsync('check', f, '--era', 'v6.18,v5.7', '--jobs', '2');
    expect(one.code).toBe(1);
    expect(two.code).toBe(1);
    expect(two.out).toBe(one.out);
  }, 60_000);

  it('writes a checkpoint that a run with another N resumes', async () => {
    const dir = tmp();
    const cp = join(dir, 'cp.json');
    const whole = cli('check', ...ARGS);
    const a = await cliAsync('check', ...ARGS, '--jobs', '2', '--checkpoint', cp);
    expect(a.out).toBe(whole.out);
    const b = cli('check', ...ARGS, '--resume', cp, '--jobs', '1');
    expect(b.out).toBe(whole.out);
    const c = await cliAsync('check', ...ARGS, '--resume', cp, '--jobs', '2');
    expect(c.out).toBe(whole.out);
  }, 120_000);

  it('refuses a bad --jobs with CLI001 and exit 2', () => {
    for (const n of ['0', '65', 'x', '1.5']) {
      const r = cli('check', 'scenarios/bugs', '--era', 'v6.18', '--jobs', n);
      expect(r.code, n).toBe(2);
      expect(r.err, n).toMatch(/CLI001.*--jobs/);
    }
  });

  it('a signal stops the workers: the partial matrix and exit 130', async () => {
    let asked = 0;
    let out = '';
    // The signal comes while pairs are being explored (the flag is read by
    // the pool's watch every 50 ms and before each pair).
    const start = Date.now();
    const code = await main(['check', 'scenarios/cow', '--era', 'v5.7,v6.18', '--jobs', '2'], {
      out: (t) => (out += t),
      err: () => {},
      interrupted: () => (++asked > 0 && Date.now() - start > 1500 ? 130 : 0),
    });
    expect(code).toBe(130);
    expect(out).toMatch(/interrupted after \d+ of \d+ scenario\/era pairs: the matrix is partial/);
  }, 60_000);

  it('the real process prints the same with its default jobs and with a pool', async () => {
    const args = ['check', 'scenarios/bugs', '--era', 'v5.7,v6.18'];
    const inProcess = cli(...args).out;
    for (const extra of [[], ['--jobs', '2']]) {
      const viaBin = await runBin([...args, ...extra]);
      expect(viaBin.code).toBe(0);
      expect(viaBin.out).toBe(inProcess);
    }
  }, 60_000);

  it('the real process with a pool: SIGINT prints the partial matrix and exits 130', async () => {
    const r = await runBin(
      ['check', 'scenarios/cow', '--era', 'v5.7,v6.18', '--jobs', '2'],
      1000,
      'SIGINT',
      true,
    );
    expect(r.code).toBe(130);
    expect(r.out).toMatch(
      /interrupted after \d+ of \d+ scenario\/era pairs: the matrix is partial/,
    );
  }, 60_000);
});
