/**
 * `cowherd report --html`: what it writes, that it writes the same bytes for
 * the same inputs, and that it never overwrites or removes what is not its
 * own.
 */

import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dataFile, viewKey } from '../../src/report/view-keys.js';
import { cli as run } from './run-cli.js';

function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const n of readdirSync(d, { withFileTypes: true }))
      if (n.isDirectory()) walk(join(d, n.name), `${rel}${n.name}/`);
      else out[`${rel}${n.name}`] = readFileSync(join(d, n.name), 'utf8');
  };
  walk(dir, '');
  return out;
}

const BUGS = 'scenarios/bugs/bug-cve-2020-29374-vmsplice.cow';

describe('cowherd report --html', () => {
  it('writes the page, the bundle and one data file per record, the same bytes every time', () => {
    const base = mkdtempSync(join(tmpdir(), 'cowherd-report-'));
    const a = run(
      'report',
      '--html',
      join(base, 'a'),
      BUGS,
      '--era',
      'v5.7,v6.18',
      '--diff',
      'v5.7,v6.18',
    );
    expect(a.code, a.err).toBe(0);
    const b = run(
      'report',
      '--html',
      join(base, 'b'),
      BUGS,
      '--era',
      'v5.7,v6.18',
      '--diff',
      'v5.7,v6.18',
    );
    expect(b.code).toBe(0);
    const ta = tree(join(base, 'a'));
    expect(tree(join(base, 'b'))).toEqual(ta);
    expect(Object.keys(ta)).toEqual(
      expect.arrayContaining(['index.html', 'viewer.js', 'viewer.css', '.cowherd-report']),
    );
    expect(ta[dataFile(viewKey.index())]).toMatch(/^window\.cowherdData\("index",/);
    expect(ta[dataFile(viewKey.scenario(BUGS))]).toBeDefined();
    expect(ta[dataFile(viewKey.diff(BUGS, 'v5.7', 'v6.18'))]).toBeDefined();
    // The index names the v5.7 witness, and its trace is there.
    const token = /"witness":"([^"]+)"/.exec(ta[dataFile(viewKey.index())]!)![1]!;
    expect(ta[dataFile(viewKey.trace(token))]).toContain('"format":"cowherd-view-trace"');
  });

  it('refuses a directory that holds other files, and leaves it as it was (VW003)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cowherd-report-'));
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    const r = run('report', '--html', dir, BUGS, '--era', 'v6.18');
    expect(r.code).toBe(2);
    expect(r.err).toContain('VW003');
    expect(tree(dir)).toEqual({ 'notes.txt': 'mine' });
  });

  it('replaces an earlier report, and keeps a file someone put beside it', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'cowherd-report-')), 'r');
    expect(run('report', '--html', dir, BUGS, '--era', 'v5.7,v6.18').code).toBe(0);
    const before = tree(dir);
    writeFileSync(join(dir, 'README.txt'), 'kept');
    expect(run('report', '--html', dir, BUGS, '--era', 'v6.18').code).toBe(0);
    const after = tree(dir);
    expect(after['README.txt']).toBe('kept');
    // The v5.7 witness's trace belonged to the first report only.
    const gone = Object.keys(before).filter((f) => !(f in after));
    expect(gone.length).toBeGreaterThan(0);
  });

  it('single files: one self-contained page per trace', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'cowherd-report-')), 's');
    const r = run('report', '--html', dir, '--single-file', BUGS, '--era', 'v5.7');
    expect(r.code, r.err).toBe(0);
    const files = readdirSync(dir).sort();
    expect(files).toEqual([
      '.cowherd-report',
      'bug-cve-2020-29374-vmsplice.v5.7.ISO001.html',
      'bug-cve-2020-29374-vmsplice.v5.7.html',
    ]);
    const html = readFileSync(join(dir, 'bug-cve-2020-29374-vmsplice.v5.7.html'), 'utf8');
    expect(html).toContain('id="cowherd-records"');
    expect(html).not.toMatch(/<script[^>]*\ssrc=/);
  });

  it('bad options are input errors (exit 2) and write nothing', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'cowherd-report-')), 'x');
    expect(run('report', BUGS).code).toBe(2);
    const d = run('report', '--html', dir, BUGS, '--era', 'v6.18', '--diff', 'v5.7,v6.18');
    expect(d.code).toBe(2);
    expect(d.err).toContain('CLI001');
    const e = run('report', '--html', dir, BUGS, '--era', 'v9.99');
    expect(e.code).toBe(2);
    expect(existsSync(dir)).toBe(false);
    mkdirSync(dir);
  });
});
