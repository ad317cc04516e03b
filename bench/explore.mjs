// Explorer benchmark: `npm run build && node bench/explore.mjs [--k N | --k A..B] [--skip-library]`.
//
// 1. The scenario library: every scenario under every modelled era, explored
//    as `cowherd check` does; states, transitions, states/s.
// 2. cowherd beside SPIN (Debian's `spin`, installed here with apt-get when
//    missing) on two programs written both as a cowherd scenario (generated
//    below) and in Promela at the same granularity (bench/promela/):
//    K threads of a forked process writing their own COW page, or the same
//    COW page (write faults in two steps, as cowherd's explorer splits them),
//    and the own-page program with an environment actor (per-CPU LRU add
//    batches drained between any two steps).
//    Both run exhaustively without reductions first: SPIN -DSAFETY -DNOREDUCE
//    (best of three runs of the compiled verifier), cowherd with --no-por.
//    Prints the ratios: cowherd time / SPIN time for the same program,
//    SPIN states/s / cowherd states/s, and the bytes a stored state costs.
//    Then the time to verdict with every reduction on: cowherd's partial-order
//    reduction and --symmetry (PFNs, page contents, threads of one program), SPIN's partial-order
//    reduction (-DSAFETY).
//
// Figures vary with the machine's load; the ratio is measured in one run.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { cowThreads, libraryFiles, spinPrograms } from './programs.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => join(root, 'dist', p);
const { explore } = await import(dist('explore/explore.js'));
const { parseScenario } = await import(dist('scenario/parse.js'));
const { checkScenario } = await import(dist('scenario/check.js'));
const { completeEraIds, eraInfo } = await import(dist('policy/registry.js'));
const { exploreParallel } = await import(dist('explore/parallel.js'));

const args = process.argv.slice(2);

// A child run of the scaling section: explore one generated program once, single-threaded.
if (args[0] === '--solo') {
  const sc = parseScenario(args[1], 'solo.cow');
  checkScenario(sc);
  explore(sc, eraInfo('v6.18').policy);
  process.exit(0);
}
// --k N, or --k A..B for the growth with K (a table at the end of part 2).
const kArg = args.includes('--k') ? args[args.indexOf('--k') + 1] : '7';
const kRange = /^(\d+)(?:\.\.(\d+))?$/.exec(kArg ?? '');
const Ks = [];
if (kRange) for (let k = Number(kRange[1]); k <= Number(kRange[2] ?? kRange[1]); k++) Ks.push(k);
if (Ks.length === 0 || Ks.some((k) => k < 1 || k > 8))
  throw new Error('--k takes N or A..B in 1..8');
// Part 3 (worker threads) uses the largest K of the range, at most 7.
const K = Math.min(7, Ks[Ks.length - 1]);
const skipLibrary = args.includes('--skip-library');
const policy = (id) => eraInfo(id).policy;
const fmt = (n) => Math.round(n).toLocaleString('en-US');

function scenario(text, file) {
  const sc = parseScenario(text, file);
  checkScenario(sc);
  return sc;
}

function timed(fn) {
  const t = performance.now();
  const r = fn();
  return { r, s: (performance.now() - t) / 1000 };
}

// ---- 1. the library -------------------------------------------------------
if (!skipLibrary) {
  const files = libraryFiles();
  let states = 0;
  let transitions = 0;
  let secs = 0;
  const rows = [];
  for (const f of files) {
    const sc = scenario(readFileSync(f, 'utf8'), f);
    for (const era of completeEraIds()) {
      const { r, s } = timed(() => explore(sc, policy(era)));
      states += r.states;
      transitions += r.transitions;
      secs += s;
      rows.push({ name: sc.name, era, states: r.states, s });
    }
  }
  console.log(
    `library: ${files.length} scenarios x ${completeEraIds().length} eras: ${fmt(states)} states, ${fmt(transitions)} transitions in ${secs.toFixed(1)} s (${fmt(states / secs)} states/s)`,
  );
  rows.sort((a, b) => b.s - a.s);
  for (const x of rows.slice(0, 3))
    console.log(`  slowest: ${x.name} on ${x.era}: ${x.states} states, ${x.s.toFixed(2)} s`);
}

// ---- 2. beside SPIN -------------------------------------------------------

function haveSpin() {
  if (spawnSync('spin', ['-V']).status === 0) return null;
  const apt = (a) => spawnSync('apt-get', a, { stdio: 'ignore' }).status === 0;
  if (!apt(['install', '-y', 'spin']) && !(apt(['update']) && apt(['install', '-y', 'spin'])))
    return 'spin is not installed and apt-get could not install it (not root, or no Debian registry)';
  return spawnSync('spin', ['-V']).status === 0 ? null : 'spin still missing after apt-get';
}

/**
 * Compile bench/promela/MODEL with K threads and these -D flags; run the
 * verifier (best of 3). Exhaustive without partial-order reduction unless
 * `reduce` (SPIN's default reduction on).
 */
function runSpin(model, k, flags = [], reduce = false) {
  const dir = mkdtempSync(join(tmpdir(), 'cowherd-spin-'));
  try {
    execFileSync('spin', [`-DK=${k}`, '-a', join(root, 'bench', 'promela', model)], {
      cwd: dir,
      stdio: 'ignore',
    });
    const noReduce = reduce ? [] : ['-DNOREDUCE'];
    execFileSync('cc', ['-O2', '-DSAFETY', ...noReduce, ...flags, '-o', 'pan', 'pan.c'], {
      cwd: dir,
      stdio: 'ignore',
    });
    let best = Number.POSITIVE_INFINITY;
    let out = '';
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      out = execFileSync('./pan', ['-m100000'], { cwd: dir, encoding: 'utf8' });
      best = Math.min(best, (performance.now() - t) / 1000);
    }
    const num = (re) => Number(re.exec(out)?.[1] ?? Number.NaN);
    const errors = num(/errors: (\d+)/);
    if (errors !== 0) throw new Error(`pan reported errors:\n${out}`);
    const states = num(/(\d+) states, stored/);
    // Bytes a stored state costs in SPIN's state store: the compressed vector
    // plus its overhead when pan prints them, else the store over the states
    // (pan's "Megabytes" are MiB).
    const asStored = /state-vector as stored = (\d+) byte \+ (\d+) byte overhead/.exec(out);
    const stored = asStored
      ? Number(asStored[1]) + Number(asStored[2])
      : (num(/([\d.]+)\s+actual memory usage for states/) * 2 ** 20) / states;
    return {
      vector: num(/State-vector (\d+) byte/),
      states,
      transitions: num(/(\d+) transitions \(= stored\+matched\)/),
      bytesPerState: stored,
      s: best,
      version: execFileSync('spin', ['-V'], { encoding: 'utf8' }).trim(),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A function that gives `gc()` without --expose-gc on the command line. */
function gcFunction() {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc');
}
const gc = gcFunction();
const heapNow = () => {
  const u = process.memoryUsage();
  return u.heapUsed + u.arrayBuffers;
};

/**
 * Explore `sc` on v6.18 and measure its memory: the visited set and the paths
 * (bytes a stored state costs), and the peak of the heap over the search,
 * the queued machines included (sampled every 1,024 new states).
 */
function exploreMeasured(sc, opts = {}) {
  gc();
  const base = heapNow();
  let peak = base;
  const progress = () => {
    peak = Math.max(peak, heapNow());
  };
  const { r, s } = timed(() =>
    explore(sc, policy('v6.18'), {
      maxStates: 5_000_000,
      progress,
      progressEvery: 1024,
      ...opts,
    }),
  );
  if (r.kind !== 'done') throw new Error(`cowherd: ${r.kind}`);
  return {
    r,
    s,
    storedPerState: (r.visited.bytes + r.pathBytes) / r.states,
    peakPerState: (peak - base) / r.states,
  };
}

const why = haveSpin();
if (why) {
  console.log(`SPIN comparison skipped: ${why}`);
} else {
  console.log(
    `\nbeside SPIN, K = ${Ks.join(', ')} threads (cowherd v6.18; cowherd --no-por, SPIN -DSAFETY -DNOREDUCE, best of 3):`,
  );
  console.log(
    '  bytes/state: cowherd stored = its visited set (64-bit fingerprints, hash-compact) and paths over its states; peak = its heap growth, queued machines included; SPIN = its state store (full vectors), and with -DHC4 (hash-compact)',
  );
  const ratios = [];
  const growth = [];
  const reduced = [];
  for (const k of Ks)
    for (const prog of spinPrograms) {
      if (k > prog.maxK) continue;
      const { model, same, lru } = prog;
      const name = model.replace('.pml', '');
      const sc = scenario(cowThreads(k, same, lru), `bench-${name}-${k}.cow`);
      explore(scenario(cowThreads(Math.max(2, k - 2), same, lru), 'warmup.cow'), policy('v6.18'));
      const c = exploreMeasured(sc, { por: false });
      const { r, s } = c;
      const sp = runSpin(model, k);
      const hc = runSpin(model, k, ['-DHC4']);
      growth.push({ name, k, ...c, sp, hc });
      const tr = s / sp.s;
      const rr = sp.states / sp.s / (r.states / s);
      ratios.push(`${name} K=${k}: ${tr.toFixed(1)}x the time, ${rr.toFixed(0)}x fewer states/s`);
      console.log(`  ${model}, K = ${k}${lru ? ' (environment actor: lru_add_drain)' : ''}`);
      console.log(
        `    cowherd: ${fmt(r.states)} states, ${fmt(r.transitions)} transitions, ${s.toFixed(2)} s, ${fmt(r.states / s)} states/s (verdict ${r.verdict}); bytes/state stored ${c.storedPerState.toFixed(0)}, peak ${fmt(c.peakPerState)}`,
      );
      console.log(
        `    SPIN:    ${fmt(sp.states)} states, ${fmt(sp.transitions)} transitions, ${sp.s.toFixed(3)} s, ${fmt(sp.states / sp.s)} states/s; bytes/state ${sp.bytesPerState.toFixed(0)}, -DHC4 ${hc.bytesPerState.toFixed(0)}`,
      );
      console.log(
        `    ratio cowherd/SPIN: time ${tr.toFixed(1)}, states/s ${(1 / rr).toFixed(4)}, stored bytes/state ${(c.storedPerState / sp.bytesPerState).toFixed(2)} (against -DHC4 ${(c.storedPerState / hc.bytesPerState).toFixed(2)})`,
      );
      // Time to verdict with every reduction on: cowherd's partial-order
      // reduction and --symmetry, SPIN's partial-order reduction.
      const cr = exploreMeasured(sc, { symmetry: true });
      const spr = runSpin(model, k, [], true);
      if (cr.r.verdict !== r.verdict)
        throw new Error(`--symmetry changed the verdict of ${name} K=${k}`);
      reduced.push({ name, k, cr, spr });
      console.log(
        `    reductions on: cowherd (POR, --symmetry) ${fmt(cr.r.states)} states, ${cr.s.toFixed(2)} s; SPIN (POR) ${fmt(spr.states)} states, ${spr.s.toFixed(3)} s; time ratio ${(cr.s / spr.s).toFixed(2)}`,
      );
    }
  console.log(
    "  (SPIN also counts each process's exit as a step, so it stores more states for the same program.)",
  );
  console.log(`ratio: ${ratios.join('; ')}`);
  if (Ks.length > 1) {
    // The growth with K, as a Markdown table (docs/performance.md).
    console.log(
      '\n| program | K | cowherd states | cowherd s | cowherd states/s | cowherd B/state stored, peak | SPIN states | SPIN s | SPIN states/s | SPIN B/state, -DHC4 | time ratio |',
    );
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const g of growth)
      console.log(
        `| ${g.name} | ${g.k} | ${fmt(g.r.states)} | ${g.s.toFixed(2)} | ${fmt(g.r.states / g.s)} | ${g.storedPerState.toFixed(0)}, ${g.r.states < 1024 ? '-' : fmt(g.peakPerState)} | ${fmt(g.sp.states)} | ${g.sp.s.toFixed(3)} | ${fmt(g.sp.states / g.sp.s)} | ${g.sp.bytesPerState.toFixed(0)}, ${g.hc.bytesPerState.toFixed(0)} | ${(g.s / g.sp.s).toFixed(1)} |`,
      );
  }
  // Time to verdict with every reduction on, as a Markdown table.
  console.log(
    '\n| program | K | cowherd states (POR, --symmetry) | cowherd s | SPIN states (POR) | SPIN s | time ratio |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const g of reduced)
    console.log(
      `| ${g.name} | ${g.k} | ${fmt(g.cr.r.states)} | ${g.cr.s.toFixed(2)} | ${fmt(g.spr.states)} | ${g.spr.s.toFixed(3)} | ${(g.cr.s / g.spr.s).toFixed(2)} |`,
    );
}

// ---- 3. worker threads ----------------------------------------------------
{
  const sc = scenario(cowThreads(K, true), `bench-cow-same-page-${K}.cow`);
  const one = timed(() => explore(sc, policy('v6.18'))).s;
  console.log(`\nworker threads (cow-same-page, K = ${K}, v6.18): one thread ${one.toFixed(2)} s`);
  for (const workers of [1, 2]) {
    const t = timed(() => exploreParallel(sc, policy('v6.18'), { workers })).s;
    console.log(`  --workers ${workers}: ${t.toFixed(2)} s, speed-up ${(one / t).toFixed(2)}x`);
  }
  // The machine's ceiling: two independent single-threaded runs at once, against one alone.
  const me = fileURLToPath(import.meta.url);
  const child = () =>
    new Promise((done) =>
      spawn(process.execPath, [me, '--solo', sc.source], { stdio: 'ignore' }).on('exit', done),
    );
  let t = performance.now();
  await child();
  const solo = (performance.now() - t) / 1000;
  t = performance.now();
  await Promise.all([child(), child()]);
  const pair = (performance.now() - t) / 1000;
  console.log(
    `  ceiling of this machine: two independent runs in ${pair.toFixed(2)} s against one in ${solo.toFixed(2)} s: ${((2 * solo) / pair).toFixed(2)}x the throughput`,
  );
}
