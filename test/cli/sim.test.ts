import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tempDirs } from './run-cli.js';

const tempDir = tempDirs('cowherd-sim-');

const usemem = 'workloads/usemem-small.cow';

describe('cowherd sim', () => {
  it('prints the counters per era, the same for the same seed', () => {
    const a = cli('sim', usemem, '--era', 'v6.18', '--seed', '5', '--cpus', '2');
    expect(a.code).toBe(0);
    expect(a.out).toMatch(
      /^usemem-small \(workloads\/usemem-small\.cow\), seed 5, 2 CPU\(s\), swap writes end with chance 0.7 per step\n/,
    );
    expect(a.out).toMatch(/\npgfault +2304\n/);
    expect(a.out).toMatch(/\ncondition +holds\n/);
    expect(cli('sim', usemem, '--era', 'v6.18', '--seed', '5', '--cpus', '2').out).toBe(a.out);
  });

  it('writes the JSON of docs/sim.md and CSV files, and never overwrites one', () => {
    const j = JSON.parse(cli('sim', usemem, '--era', 'v5.9', '--json').out);
    expect(j).toMatchObject({ seed: 1, cpus: 1 });
    expect(j.results[0]).toMatchObject({ scenario: 'usemem-small', era: 'v5.9', kind: 'done' });
    expect(j.results[0].phases.map((p: { phase: string }) => p.phase)).toEqual(['forked', 'done']);
    const dir = tempDir();
    expect(cli('sim', usemem, '--era', 'v5.9', '--csv', dir).code).toBe(0);
    const counters = readFileSync(join(dir, 'counters.csv'), 'utf8');
    expect(counters).toMatch(/^scenario,era,counter,value\nusemem-small,v5\.9,pgfault,2304\n/);
    expect(existsSync(join(dir, 'phases.csv'))).toBe(true);
    const again = cli('sim', usemem, '--era', 'v5.9', '--csv', dir);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/counters\.csv exists: sim does not overwrite files/);
    expect(readFileSync(join(dir, 'counters.csv'), 'utf8')).toBe(counters);
  });

  it('reports bad input with a code and a position, exit 2', () => {
    const dir = tempDir();
    const f = join(dir, 'bad.cow');
    writeFileSync(
      f,
      'scenario bad\nthread t {\n  repeat i in 0..3 { write m[i] = 1 }\n}\nexists (1)\n',
    );
    const r = cli('sim', f);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /bad\.cow:3:28: error SC003: unknown mapping 'm'|bad\.cow:3:\d+: error SC003/,
    );
    expect(cli('sim', usemem, '--era', 'v9.9').code).toBe(2);
    expect(cli('sim', usemem, '--seed', '-1').code).toBe(2);
    const wb = cli('sim', usemem, '--era', 'v6.18', '--writeback-end', '1.5');
    expect(wb.code).toBe(2);
    expect(wb.err).toMatch(/CLI001: --writeback-end takes a chance from 0 to 1, not '1.5'/);
  });

  it("takes the swap device's rate from --writeback-end, and says it in the output", () => {
    const f = 'workloads/forceswap-small.cow';
    const at = (rate: string) =>
      cli('sim', f, '--era', 'v6.18', '--json', '--costs', 'none', '--writeback-end', rate);
    const slow = at('0.1');
    const fast = at('1');
    type J = { writebackEnd: number; results: { counters: Record<string, number> }[] };
    const a = JSON.parse(slow.out) as J;
    const b = JSON.parse(fast.out) as J;
    expect([a.writebackEnd, b.writebackEnd]).toEqual([0.1, 1]);
    // Every write ends before the next MADV_PAGEOUT: each round pages out both pages.
    expect(b.results[0]!.counters.pswpout).toBe(20_000);
    expect(a.results[0]!.counters.pswpout).toBeLessThan(20_000);
  });

  it("runs the file's env actors at the rates of --env-rate, says them in the output, and refuses a bad one", () => {
    const dir = tempDir();
    const f = join(dir, 'reclaim.cow');
    writeFileSync(
      f,
      [
        'scenario reclaim-churn',
        'env reclaim, lru_batches',
        'setup {',
        '  mmap m pages=4 private rw',
        '  write m = 1',
        '}',
        'thread main {',
        '  repeat r in 0..400 { write m[r % 4] = r }',
        '  read m[0] -> a',
        '}',
        'forall (a == 396)',
        '',
      ].join('\n'),
    );
    const run = (...more: string[]) =>
      cli('sim', f, '--era', 'v6.18', '--costs', 'none', '--json', ...more);
    const j = JSON.parse(run('--env-rate', 'reclaim=0.5').out);
    expect(j.envRates).toMatchObject({ reclaim: 0.5, lru_batches: 0.1 });
    expect(j.results[0].counters.pswpout).toBeGreaterThan(0);
    expect(JSON.parse(run('--env-rate', 'reclaim=0').out).results[0].counters.pswpout).toBe(0);
    const text = cli('sim', f, '--era', 'v6.18', '--costs', 'none').out;
    expect(text.split('\n')[0]).toMatch(
      /, env reclaim acts with chance 0\.1 per step, env lru_batches acts with chance 0\.1 per step$/,
    );
    const bad = run('--env-rate', 'kswapd=0.5');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(
      /CLI001: --env-rate takes ACTOR=P with ACTOR one of lru_batches, reclaim, ksmd, khugepaged, not 'kswapd=0.5'/,
    );
    expect(run('--env-rate', 'reclaim=2').err).toMatch(
      /CLI001: --env-rate reclaim takes a chance from 0 to 1, not '2'/,
    );
  });

  it('predicts time from a calibration file, prints claims beside the model, and refuses a bad file', () => {
    const dir = tempDir();
    const cal = join(dir, 'cal.json');
    const band = (x: number) => ({ median: x, lo: x, hi: 2 * x });
    writeFileSync(
      cal,
      JSON.stringify({
        machine: { kernel: 'k', cpu: 'c', date: 'd' },
        reps: 1,
        pages: 1,
        ns: { page_copy: band(400), page_zero: band(300), line_cold: band(5), line_hot: band(1) },
        base: { do_wp_page: { per: 'calls', ns: band(1000) } },
        check: {},
      }),
    );
    const f = join(dir, 'claim.cow');
    writeFileSync(
      f,
      readFileSync(usemem, 'utf8').replace(
        'scenario usemem-small',
        'scenario usemem-small\nclaim v5.8 v5.9 "throughput +31.4%"',
      ),
    );
    const r = cli('sim', f, '--era', 'all', '--costs', cal);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\npredicted s +[0-9.]+ /);
    expect(r.out).toMatch(/\npredicted s range +[0-9.]+\.\.[0-9.]+ /);
    expect(r.out).toMatch(
      /claim v5\.8 -> v5\.9: "throughput \+31\.4%"\n {2}model: throughput [+-][0-9.]+%/,
    );
    const j = JSON.parse(cli('sim', f, '--era', 'all', '--costs', cal, '--json').out);
    expect(j.claims[0]).toMatchObject({ scenario: 'usemem-small', from: 'v5.8', to: 'v5.9' });
    expect(j.results[0].prediction.seconds.median).toBeGreaterThan(0);
    expect(cli('sim', usemem, '--era', 'v6.18', '--costs', 'none').out).not.toMatch(/predicted/);
    writeFileSync(cal, '{"ns": 3}');
    const bad = cli('sim', usemem, '--era', 'v6.18', '--costs', cal);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/CLI002.*not a calibration file/);
    const badEra = join(dir, 'bad-claim.cow');
    writeFileSync(badEra, readFileSync(f, 'utf8').replace('claim v5.8 v5.9', 'claim v5.8 v9.9'));
    expect(cli('sim', badEra, '--era', 'v6.18').err).toMatch(/SC006: claim: unknown era 'v9\.9'/);
  });
});
