// The fuzzer (docs/reliability.md): `npm run fuzz -- --seconds N [--seed S]`.
// Mutated library files and grammar-made scenarios through parse, check, run
// and explore under random eras, for N seconds (default 60); prints the count
// of each outcome and writes each finding (crash, tool bug, hang) to
// .cache/fuzz/ as a scenario file with what happened in a comment. Exit 1 if
// there was a finding.   (needs `npm run build`)
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const seconds = Number(arg('--seconds', '60'));
const seed = Number(arg('--seed', String(Date.now() % 2 ** 31)));
const fc = (await import('fast-check')).default;
const { FINDINGS, fuzzInputs, fuzzOne } = await import(join(root, 'dist', 'fuzz', 'fuzz.js'));

const files = [];
const walk = (d) => {
  for (const n of readdirSync(d).sort()) {
    const p = join(d, n);
    if (statSync(p).isDirectory()) walk(p);
    else if (n.endsWith('.cow')) files.push(p);
  }
};
walk(join(root, 'scenarios'));
const library = files.map((f) => readFileSync(f, 'utf8'));
const budget = {
  millis: 300,
  hangMillis: 5000,
  maxStates: 400,
  maxSteps: 400,
  clock: () => performance.now(),
  // Heap and typed arrays: an input that grows past this ends in a budget.
  maxBytes: 1.5 * 2 ** 30,
  memory: () => {
    const u = process.memoryUsage();
    return u.heapUsed + u.arrayBuffers;
  },
};
const counts = Object.fromEntries(
  ['verdict', 'input-error', 'budget', 'crash', 'tool-bug', 'hang'].map((k) => [k, 0]),
);
const out = join(root, '.cache', 'fuzz');
mkdirSync(out, { recursive: true });
const current = join(out, 'current.cow');
const arb = fuzzInputs(library);
const end = performance.now() + seconds * 1000;
let total = 0;
let batch = 0;
let findings = 0;
while (performance.now() < end) {
  for (const [text, era] of fc.sample(arb, { numRuns: 200, seed: seed + batch++ })) {
    // The input under way, for the post-mortem of a crash that takes the fuzzer with it.
    writeFileSync(current, `# fuzz input under way (era ${era}, seed ${seed})\n${text}`);
    const o = fuzzOne(text, era, budget);
    counts[o.kind]++;
    total++;
    if (FINDINGS.includes(o.kind)) {
      findings++;
      mkdirSync(out, { recursive: true });
      const f = join(out, `finding-${seed}-${total}.cow`);
      const note = `# fuzz finding (${o.kind}, era ${era}, seed ${seed}): ${o.detail.replace(/\n/g, ' ')}\n`;
      writeFileSync(f, note + text);
      console.log(`${o.kind} under ${era}: ${o.detail.split('\n')[0]}  -> ${f}`);
    }
    if (performance.now() >= end) break;
  }
}
const rate = Math.round(total / seconds);
console.log(
  `fuzz: ${total} inputs in ${seconds} s (${rate}/s, seed ${seed}): ` +
    Object.entries(counts)
      .map(([k, v]) => `${v} ${k}`)
      .join(', '),
);
process.exitCode = findings > 0 ? 1 : 0;
