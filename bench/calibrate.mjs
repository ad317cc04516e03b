// Calibrate `cowherd sim`'s cost model on this machine (docs/sim.md "Cost
// model", ADR 0012), and write the calibration file sim reads.
//
//  1. bench/ref/calibrate.c measures unit costs in user space (a page zeroed
//     and copied, struct-page-sized records read cold and hot, atomics on a
//     private and a shared line, a lock) and times kernel paths whole (first-
//     touch, COW, reuse and THP faults; a write fault on a THP a fork
//     shares; fork and munmap per page; a page-table page allocated and
//     freed; as root, with a swap file set up for the run, MADV_PAGEOUT of a
//     page and the swap-in fault after it), each
//     `reps` times;
//  2. the model runs the same operations (bench/calibrate/paths.cow) under
//     the era of the running kernel, and each timed operation's work account
//     is priced at the unit costs; what is left of the kernel's time is the
//     path's fixed cost (per fault, or per PTE written for fork and munmap);
//  3. the reuse fault, not used to fit anything, is predicted and printed
//     beside its measurement as a check of the model.
//
// Usage: node bench/calibrate.mjs [--reps N] [--out FILE]   (needs `npm run build`)
//   default FILE: bench/calibration.json (what `cowherd sim` reads by default)

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => join(root, 'dist', p);
if (!existsSync(dist('sim/cost.js'))) {
  console.error('calibrate: run `npm run build` first');
  process.exit(2);
}
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const reps = Number(arg('--reps', '7'));
const out = arg('--out', join(root, 'bench', 'calibration.json'));
const PAGES = 65536;

const { parseWorkload } = await import(dist('scenario/parse.js'));
const { checkWorkload, simulate } = await import(dist('sim/sim.js'));
const { eraInfo } = await import(dist('policy/registry.js'));
const { eraOfRelease } = await import(dist('kernel/era.js'));
const { fitBase, predict, unitCosts } = await import(dist('sim/cost.js'));
const { HostSettings } = await import(dist('kernel/settings.js'));

// 1. The machine. The swap paths need a swap device: as root one is set up
// for the run (a swap file, as `cowherd kernel` does) and taken down after.
const bin = join(root, '.cache', 'bench-calibrate');
mkdirSync(dirname(bin), { recursive: true });
execFileSync('cc', ['-O2', '-pthread', '-o', bin, join(root, 'bench', 'ref', 'calibrate.c')]);
const settings = process.getuid?.() === 0 ? new HostSettings() : null;
const noSwap = settings ? settings.ensureSwap() : 'not root: no swap device set up';
let measured;
try {
  measured = JSON.parse(
    execFileSync(bin, [String(reps), String(PAGES), ...(noSwap ? [] : ['swap'])], {
      encoding: 'utf8',
    }),
  );
} finally {
  settings?.restore();
}
if (noSwap) console.log(`swap paths not calibrated: ${noSwap}`);

// 2. The model, phase by phase.
const era = eraOfRelease(release()) ?? 'v6.18';
const file = join(root, 'bench', 'calibrate', 'paths.cow');
const w = parseWorkload(readFileSync(file, 'utf8'), file);
checkWorkload(w);
const r = simulate(w, eraInfo(era).policy, { seed: 1, cpus: 1 });
if (r.kind !== 'done') throw new Error(`calibration workload: ${r.kind}`);
const at = (name) => {
  const p = r.phases.find((x) => x.phase === name);
  if (!p) throw new Error(`calibration workload: no phase ${name}`);
  return p.work;
};
const delta = (from, to) => {
  const a = at(from);
  const b = at(to);
  return Object.fromEntries(Object.keys(b).map((k) => [k, b[k] - (a[k] ?? 0)]));
};
const units = unitCosts(measured.ns);
const ns = measured.ns;
const op = {
  anon: delta('anon_start', 'anon_end'),
  cow: delta('cow_start', 'cow_end'),
  reuse: delta('reuse_start', 'reuse_end'),
  fork: delta('anon_end', 'fork_end'),
  munmap: delta('reuse_end', 'munmap_end'),
  thp: delta('thp_start', 'thp_end'),
  thpCow: delta('thpcow_start', 'thpcow_end'),
};
const faults = (d) => ({ ...d, calls: PAGES });
const base = {
  do_anonymous_page: fitBase(ns.fault_anon, PAGES, faults(op.anon), units, 'calls'),
  do_wp_page: fitBase(ns.fault_cow, PAGES, faults(op.cow), units, 'calls'),
  copy_page_range: fitBase(ns.fork_per_page, PAGES, op.fork, units, 'pte_writes'),
  unmap: fitBase(ns.munmap_per_page, PAGES, op.munmap, units, 'pte_writes'),
  do_huge_pmd_anonymous_page: fitBase(
    ns.fault_thp,
    PAGES / 512,
    { ...op.thp, calls: PAGES / 512 },
    units,
    'calls',
  ),
};

// The write fault on a THP a fork shares: do_huge_pmd_wp_page() splits the
// PMD and falls back to do_wp_page(), whose fixed cost (fitted above) is
// charged on its own; what is left is the split path's.
if (ns.fault_thp_cow) {
  const thps = PAGES / 512;
  if (op.thpCow.pages_copied !== thps)
    throw new Error(
      `calibration workload: ${op.thpCow.pages_copied} pages copied by ${thps} THP write faults`,
    );
  const wp = base.do_wp_page.ns;
  const less = (b) => ({ median: b.median - wp.median, lo: b.lo - wp.lo, hi: b.hi - wp.hi });
  base.do_huge_pmd_wp_page = fitBase(
    less(ns.fault_thp_cow),
    thps,
    { ...op.thpCow, calls: thps },
    units,
    'calls',
  );
}

// The swap paths, summed over the rounds of the loop: MADV_PAGEOUT's reclaim
// (per folio, the madvise() call's own cost included) and the faults after it.
if (ns.reclaim_per_folio && ns.fault_swapin) {
  const sum = (from, to) => {
    const a = r.phases.filter((x) => x.phase === from);
    const b = r.phases.filter((x) => x.phase === to);
    const out = {};
    const pg = { faults: 0 };
    a.forEach((x, i) => {
      for (const [k, v] of Object.entries(b[i].work)) out[k] = (out[k] ?? 0) + v - (x.work[k] ?? 0);
      pg.faults += b[i].counters.pgfault - x.counters.pgfault;
    });
    return { work: out, faults: pg.faults };
  };
  const po = sum('pageout_start', 'pageout_end');
  const si = sum('pageout_end', 'swapin_end');
  base.reclaim = fitBase(ns.reclaim_per_folio, po.work.calls, po.work, units, 'calls');
  base.do_swap_page = fitBase(
    ns.fault_swapin,
    si.faults,
    { ...si.work, calls: si.faults },
    units,
    'calls',
  );
}

// 3. A check: the reuse fault, predicted from do_wp_page's fixed cost.
const cal0 = {
  machine: {
    kernel: release(),
    cpu: `${cpus()[0]?.model ?? 'unknown'} x${cpus().length}`,
    date: new Date().toISOString().slice(0, 10),
  },
  reps,
  pages: PAGES,
  ns: measured.ns,
  base,
  check: {},
};
const reuse = predict({ do_wp_page: { ...op.reuse, calls: PAGES } }, cal0).seconds;
const cal = {
  ...cal0,
  check: {
    fault_reuse: {
      measured: ns.fault_reuse,
      predicted: {
        median: (reuse.median * 1e9) / PAGES,
        lo: (reuse.lo * 1e9) / PAGES,
        hi: (reuse.hi * 1e9) / PAGES,
      },
    },
  },
};
writeFileSync(out, `${JSON.stringify(cal, null, 2)}\n`);

const f = (b) => `${b.median.toFixed(1)} (low end ${b.lo.toFixed(1)}, high end ${b.hi.toFixed(1)})`;
console.log(
  `calibration of ${cal.machine.cpu}, Linux ${cal.machine.kernel} (era ${era}), ${reps} reps`,
);
for (const [k, b] of Object.entries(ns)) console.log(`  ${k.padEnd(18)} ${f(b)} ns`);
console.log('fixed cost per path (kernel time minus the priced work the model counts):');
for (const [p, b] of Object.entries(base))
  console.log(`  ${p.padEnd(28)} ${f(b.ns)} ns per ${b.per}`);
const c = cal.check.fault_reuse;
console.log(`check: reuse fault measured ${f(c.measured)} ns, predicted ${f(c.predicted)} ns`);
console.log(`wrote ${out}`);
