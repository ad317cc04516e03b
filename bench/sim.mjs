// `cowherd sim` speed beside the real kernel (docs/performance.md, issue 15).
//
// One run on this machine measures:
//  1. the kernel: COW faults per second of a forked child writing every page
//     it shares with its parent (bench/ref/faults.c, compiled with cc);
//  2. the simulator: a usemem-like workload (the parent prefaults PAGES pages,
//     N children each write every page), simulated under v5.8, v5.9 and
//     v6.18 at two sizes: COW faults per second (anon_wp_copy_count over the
//     time of simulate()), peak RSS and bytes per simulated page;
//  3. the ratio simulated / kernel COW faults per second (the target is ≥ 10).
//
// Usage: node bench/sim.mjs [--quick | --growth]   (needs `npm run build`)
//   --growth: usemem from 256 MiB to 4 GiB (N = 8) and from N = 2 to 104
//   (256 MiB) under v6.18, time per COW fault and bytes per mapped page.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelFaults } from './ref/kernel-faults.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => join(root, 'dist', p);
if (!existsSync(dist('sim/sim.js'))) {
  console.error('bench: run `npm run build` first');
  process.exit(2);
}
const quick = process.argv.includes('--quick');
const part = process.argv.find((a) => a.startsWith('--part='))?.slice(7);
const fmt = (n) => Math.round(n).toLocaleString('en-US');

function workload(n, pages) {
  return `scenario usemem-bench
const N = ${n}
const PAGES = ${pages}
setup {
  mmap m pages=PAGES private rw
  write m = 1
}
thread parent {
  repeat k in 0..N { fork child[k] }
  repeat k in 0..N { wait child[k] }
}
thread child[k in 0..N] {
  write m = k + 2
  exit
}
forall (value(parent, m[0]) == 1)
`;
}

// One simulation per process, so that one does not pay for another's garbage.
if (part === 'sim') {
  const [era, n, pages] = process.argv.slice(-3);
  const { parseWorkload } = await import(dist('scenario/parse.js'));
  const { checkWorkload, simulate } = await import(dist('sim/sim.js'));
  const { eraInfo } = await import(dist('policy/registry.js'));
  // n = "seed000": the workload file at full scale; else the generated usemem.
  const w =
    n === 'seed000'
      ? parseWorkload(
          readFileSync(join(root, 'workloads', 'usemem-seed000.cow'), 'utf8'),
          'usemem-seed000.cow',
        )
      : parseWorkload(workload(Number(n), Number(pages)), 'bench.cow');
  checkWorkload(w);
  // What the process holds before the simulation: Node, the code, the parsed file.
  const baseline = process.memoryUsage().rss;
  let peak = 0;
  const t0 = performance.now();
  const r = simulate(w, eraInfo(era).policy, {
    seed: 1,
    cpus: 1,
    tickEvery: 64,
    tick: () => {
      peak = Math.max(peak, process.memoryUsage().rss);
    },
  });
  const secs = (performance.now() - t0) / 1000;
  peak = Math.max(peak, process.memoryUsage().rss);
  console.log(
    JSON.stringify({
      era,
      secs,
      cow: r.counters.anon_wp_copy_count,
      faults: r.counters.pgfault,
      peakRss: peak,
      baselineRss: baseline,
      ok: r.kind === 'done' && r.holds === true,
    }),
  );
  process.exit(0);
}

function kernel(pages) {
  return kernelFaults(root, pages);
}

function sim(era, n, pages) {
  const out = execFileSync(
    process.execPath,
    [
      '--max-old-space-size=8192',
      fileURLToPath(import.meta.url),
      '--part=sim',
      era,
      String(n),
      String(pages),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  return JSON.parse(out.trim().split('\n').at(-1));
}

// --growth: how time and memory grow with the size and the number of children
// (issue 15: "from 256 MiB to 4 GiB and from N = 2 to 104 (should be linear)").
if (process.argv.includes('--growth')) {
  const era = 'v6.18';
  const rows = [];
  for (const mib of [256, 512, 1024, 2048, 4096]) rows.push(['size', 8, mib * 256]);
  for (const n of [2, 4, 8, 16, 32, 64, 104]) rows.push(['children', n, 65536]);
  console.log(`usemem (base pages) under ${era}, one fresh process per row:`);
  console.log(
    'grows     N      MiB  COW faults      s  µs/COW fault  peak RSS MiB  B/mapped page (peak RSS less the baseline)',
  );
  for (const [what, n, pages] of rows) {
    const r = sim(era, n, pages);
    const mapped = pages * (n + 1);
    console.log(
      [
        what.padEnd(8),
        String(n).padStart(3),
        fmt(pages / 256).padStart(7),
        fmt(r.cow).padStart(11),
        r.secs.toFixed(2).padStart(6),
        ((r.secs * 1e6) / r.cow).toFixed(3).padStart(12),
        fmt(r.peakRss / 2 ** 20).padStart(13),
        fmt((r.peakRss - r.baselineRss) / mapped).padStart(14),
        r.ok ? '' : 'NOT OK',
      ].join('  '),
    );
  }
  process.exit(0);
}

const ref = kernel(262144);
const kernelCow = ref.cow_faults_per_s;
console.log(
  ref.skipped
    ? `kernel: skipped (${ref.skipped})`
    : `kernel (bench/ref/faults.c, 262,144 pages): ${fmt(kernelCow)} COW faults/s`,
);
const sizes = quick
  ? [[4, 16384]]
  : [
      [4, 16384],
      [8, 65536],
    ];
console.log(
  'era      N  pages/child  COW faults   s      COW faults/s  ratio vs kernel  peak RSS MiB  B/simulated page (peak RSS less the baseline)',
);
for (const [n, pages] of sizes)
  for (const era of ['v5.8', 'v5.9', 'v6.18']) {
    const r = sim(era, n, pages);
    const rate = r.cow / r.secs;
    const simulated = pages * (n + 1);
    console.log(
      [
        era.padEnd(7),
        String(n).padStart(2),
        fmt(pages).padStart(11),
        fmt(r.cow).padStart(11),
        r.secs.toFixed(2).padStart(5),
        fmt(rate).padStart(13),
        (kernelCow ? `${(rate / kernelCow).toFixed(2)}×` : '-').padStart(16),
        fmt(r.peakRss / 2 ** 20).padStart(13),
        fmt((r.peakRss - r.baselineRss) / simulated).padStart(17),
        r.ok ? '' : 'NOT OK',
      ].join('  '),
    );
  }

// Seed 000's usemem at full scale (workloads/usemem-seed000.cow): 104 children
// x 959,297,984 bytes with THP, about 24.4 M COW faults; targets: at most 15 s
// and 2 GiB per era (issue 15).
if (!quick) {
  console.log('\nusemem-seed000 at full scale (104 x 959,297,984 B, THP):');
  console.log(
    'era      COW faults      s   COW faults/s  ratio vs kernel  peak RSS MiB  B/mapped page',
  );
  const mapped = 105 * 234204;
  for (const era of ['v5.8', 'v5.9', 'v6.18']) {
    const r = sim(era, 'seed000', '0');
    const rate = r.cow / r.secs;
    console.log(
      [
        era.padEnd(7),
        fmt(r.cow).padStart(11),
        r.secs.toFixed(1).padStart(6),
        fmt(rate).padStart(13),
        (kernelCow ? `${(rate / kernelCow).toFixed(2)}×` : '-').padStart(15),
        fmt(r.peakRss / 2 ** 20).padStart(13),
        fmt((r.peakRss - r.baselineRss) / mapped).padStart(14),
        r.ok ? '' : 'NOT OK',
      ].join('  '),
    );
  }
}
