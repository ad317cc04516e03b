// What each commit bought: the bench's programs explored by several builds
// of cowherd, one after the other in this run, so that the figures compare.
//
// Usage: node bench/commits.mjs [--k7-only] [--library] COMMIT [COMMIT ...]
//
// Each commit is checked out into a git worktree under the system's temp
// directory and compiled there (tsc, the same as `npm run build` without
// the viewer); the worktrees are kept for the next run and reused. For each
// build: states/s of cow-own-page K=7 and K=8 and cow-same-page K=7
// (partial-order reduction off; best of two runs), with `--library` the time
// of every library scenario under every era. Figures vary with the
// machine's load: read the columns against each other.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { build, root } from './worktrees.mjs';

const args = process.argv.slice(2);
const library = args.includes('--library');
const k7only = args.includes('--k7-only');
const commits = args.filter((a) => !a.startsWith('--'));
if (commits.length === 0) {
  console.error('usage: node bench/commits.mjs [--k7-only] [--library] COMMIT [COMMIT ...]');
  process.exit(2);
}

// One measurement in a child process of its own (a fresh heap for each).
function measure(dist, what) {
  const r = spawnSync(process.execPath, [join(root, 'bench', 'commits-child.mjs'), dist, what], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`${what} on ${dist}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const programs = k7only ? ['own:7', 'same:7'] : ['own:7', 'same:7', 'own:8'];
const builds = commits.map(build);
const rows = [];
for (const b of builds) {
  const row = { sha: b.sha };
  for (const p of programs) {
    const runs = [measure(b.dist, p), measure(b.dist, p)];
    const best = runs.reduce((x, y) => (x.s < y.s ? x : y));
    row[p] = best;
  }
  if (library) row.library = measure(b.dist, 'library');
  rows.push(row);
}
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const head = ['commit', ...programs.map((p) => `${p.replace(':', ' K=')} states/s`)];
if (library) head.push('library s');
console.log(`| ${head.join(' | ')} |`);
console.log(`| ${head.map(() => '---').join(' | ')} |`);
for (const r of rows) {
  const cells = [
    r.sha,
    ...programs.map((p) => `${fmt(r[p].states / r[p].s)} (${r[p].s.toFixed(2)} s)`),
  ];
  if (library) cells.push(r.library.s.toFixed(1));
  console.log(`| ${cells.join(' | ')} |`);
}
const states = new Set(
  rows.flatMap((r) => programs.map((p) => `${p}:${r[p].states}:${r[p].verdict}`)),
);
if (states.size !== programs.length)
  console.log('warning: the builds disagree on states or verdicts');
if (library && new Set(rows.map((r) => r.library.digest)).size !== 1)
  console.log('warning: the builds disagree on the library verdicts');
