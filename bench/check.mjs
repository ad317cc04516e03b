// `cowherd check scenarios --era all` as a user runs it, this checkout against
// an earlier build, in one run (issue 19: "at least 5× faster than today").
//
// Usage: npm run build && node bench/check.mjs [--runs N] [--ref COMMIT]
//
// The reference (default 74d257a, the build of the day issue 19 was filed) is
// built into a git worktree as bench/commits.mjs does. Each run is the real
// CLI (bin/cowherd.js) in a child process on this checkout's scenarios/: the
// reference, this build with --jobs 1, and with --jobs CPUS (the machine's
// CPUs, at most 8), interleaved, N rounds (default 2). Every run
// must print the same matrix as the reference (the trailing blanks of a line
// aside); the best time of each is compared. The machine's load moves the
// figures: read the ratios.

import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { build, root } from './worktrees.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const rounds = Number(opt('--runs', '2'));
const ref = build(opt('--ref', '74d257a'));
const scenarios = join(root, 'scenarios');

function run(dir, extra) {
  const t = performance.now();
  const r = spawnSync(
    process.execPath,
    [join(dir, 'bin', 'cowherd.js'), 'check', scenarios, '--era', 'all', ...extra],
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  const s = (performance.now() - t) / 1000;
  if (r.status !== 0)
    throw new Error(`check with ${dir} ${extra.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return { s, out: r.stdout.replace(/ +$/gm, '') };
}

const cpus = Math.min(8, availableParallelism());
const kinds = [
  { name: `${ref.sha} (reference)`, dir: ref.dir, extra: [] },
  { name: 'this build, --jobs 1', dir: root, extra: ['--jobs', '1'] },
  ...(cpus > 1
    ? [{ name: `this build, --jobs ${cpus}`, dir: root, extra: ['--jobs', String(cpus)] }]
    : []),
];
const times = kinds.map(() => []);
let expected = null;
for (let i = 0; i < rounds; i++)
  kinds.forEach((k, j) => {
    const r = run(k.dir, k.extra);
    expected ??= r.out;
    if (r.out !== expected) throw new Error(`${k.name}: the matrix differs from the reference's`);
    times[j].push(r.s);
  });
const best = times.map((t) => Math.min(...t));
console.log(
  `cowherd check scenarios --era all (${rounds} run(s) each, interleaved; the same matrix from every build)`,
);
console.log('\n| build | seconds (each run) | best | speed-up against the reference |');
console.log('| --- | --- | --- | --- |');
for (const [j, k] of kinds.entries())
  console.log(
    `| ${k.name} | ${times[j].map((t) => t.toFixed(2)).join(' / ')} | ${best[j].toFixed(2)} | ${(best[0] / best[j]).toFixed(2)}× |`,
  );
