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
    expect(a.out).toMatch(/^usemem-small \(workloads\/usemem-small\.cow\), seed 5, 2 CPU\(s\)\n/);
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
  });
});
