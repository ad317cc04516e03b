// Where the explorer's time goes (docs/performance.md, "Profile").
//
// Explores one scenario per argument in this process under the V8 sampling
// profiler (node:inspector), then sorts the self time of every sampled
// function into what the explorer does: cloning states, fingerprinting,
// the accounting invariants, the design invariants (ghost), the successor
// generation and search bookkeeping, the model's own kernel paths, garbage
// collection, and the rest. Prints one line per scenario and one table.
//
// Usage: node bench/profile.mjs [--era ID] [--top N] [--symmetry] [--own K] [--same K] [FILE.cow ...]
//   --own K / --same K: the bench's generated programs (bench/explore.mjs).
//   --symmetry: explore with the symmetry over PFN allocation order (symmetry.ts).
//   Default: --own 7 --own 8 --same 8. Needs `npm run build`.

import { readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cowThreads } from './programs.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => join(root, 'dist', p);
const { explore } = await import(dist('explore/explore.js'));
const { parseScenario } = await import(dist('scenario/parse.js'));
const { checkScenario } = await import(dist('scenario/check.js'));
const { lookupPolicy } = await import(dist('policy/registry.js'));

const args = process.argv.slice(2);
let era = 'v6.18';
let top = 0;
let symmetry = false;
const programs = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--era') era = args[++i];
  else if (a === '--top') top = Number(args[++i]);
  else if (a === '--symmetry') symmetry = true;
  else if (a === '--own' || a === '--same') {
    const k = Number(args[++i]);
    programs.push({
      name: `cow-${a.slice(2)}-page K=${k}`,
      text: cowThreads(k, a === '--same'),
      file: 'bench.cow',
    });
  } else programs.push({ name: a, text: readFileSync(a, 'utf8'), file: a });
}
if (programs.length === 0)
  for (const [k, same] of [
    [7, false],
    [8, false],
    [8, true],
  ])
    programs.push({
      name: `cow-${same ? 'same' : 'own'}-page K=${k}`,
      text: cowThreads(k, same),
      file: 'bench.cow',
    });
const found = lookupPolicy(era);
if (!('policy' in found)) {
  console.error(`bench: unknown era ${era}`);
  process.exit(2);
}

/** What a sampled function's self time counts as. */
function category(fn, url) {
  if (fn === '(garbage collector)') return 'garbage collection';
  if (fn === '(program)' || fn === '(idle)' || fn === '(root)') return 'V8 and the rest';
  const f = url.replace(/^.*\/dist\//, '');
  if (/clone/i.test(fn) || fn === 'structuredClone') return 'cloning states';
  if (f.startsWith('core/canon') || f.startsWith('core/symmetry') || fn === 'machineKey')
    return 'fingerprinting';
  if (f.startsWith('core/invariants')) return 'accounting invariants';
  if (f.startsWith('scenario/ghost') || fn === 'machineFindings' || f.includes('ptPromise'))
    return 'design invariants';
  if (f.startsWith('explore/')) return 'search and successors';
  if (f.startsWith('core/mm_types') || f.startsWith('core/pgtable_types'))
    return 'state access (tables, memmap)';
  if (f.startsWith('core/') || f.startsWith('policy/')) return 'kernel paths (the model)';
  if (f.startsWith('scenario/')) return 'scenario runtime';
  return 'V8 and the rest';
}

const CATS = [
  'cloning states',
  'fingerprinting',
  'accounting invariants',
  'design invariants',
  'search and successors',
  'state access (tables, memmap)',
  'kernel paths (the model)',
  'scenario runtime',
  'garbage collection',
  'V8 and the rest',
];

const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 200 });
const rows = [];
for (const p of programs) {
  const sc = parseScenario(p.text, p.file);
  checkScenario(sc);
  await session.post('Profiler.start');
  const t0 = performance.now();
  const r = explore(sc, found.policy, { symmetry });
  const secs = (performance.now() - t0) / 1000;
  const { profile } = await session.post('Profiler.stop');
  const self = new Map();
  const dt = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    dt.set(id, (dt.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  let total = 0;
  const fns = new Map();
  for (const n of profile.nodes) {
    const t = dt.get(n.id) ?? 0;
    const c = category(n.callFrame.functionName, n.callFrame.url);
    self.set(c, (self.get(c) ?? 0) + t);
    total += t;
    const f = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/dist\//, '')}:${n.callFrame.lineNumber + 1}`;
    fns.set(f, (fns.get(f) ?? 0) + t);
  }
  if (top > 0) {
    console.log(`${p.name}: the ${top} functions with the most self time`);
    for (const [f, t] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top))
      console.log(`  ${((t / total) * 100).toFixed(1).padStart(5)}%  ${f}`);
  }
  rows.push({
    name: p.name,
    states: r.states,
    secs,
    shares: CATS.map((c) => (self.get(c) ?? 0) / total),
  });
}
session.disconnect();

console.log(`explorer profile (${era}, sampling every 0.2 ms; self time by what it is spent on)`);
const head = ['', ...rows.map((r) => r.name)];
const w = Math.max(...CATS.map((c) => c.length)) + 2;
const col = (s) => String(s).padStart(18);
console.log(head[0].padEnd(w) + head.slice(1).map(col).join(''));
console.log('states'.padEnd(w) + rows.map((r) => col(r.states.toLocaleString('en'))).join(''));
console.log('seconds'.padEnd(w) + rows.map((r) => col(r.secs.toFixed(2))).join(''));
console.log(
  'states/s'.padEnd(w) +
    rows.map((r) => col(Math.round(r.states / r.secs).toLocaleString('en'))).join(''),
);
CATS.forEach((c, i) => {
  console.log(c.padEnd(w) + rows.map((r) => col(`${(r.shares[i] * 100).toFixed(1)}%`)).join(''));
});
