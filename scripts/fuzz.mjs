// The fuzzer (docs/reliability.md): `npm run fuzz -- --seconds N [--seed S]`.
// Mutated library files and grammar-made scenarios through parse, check, run
// and explore under random eras, for N seconds (default 60); prints the count
// of each outcome and writes each finding (crash, tool bug, hang) to
// .cache/fuzz/ as a scenario file with what happened in a comment. Exit 1 if
// there was a finding.   (needs `npm run build`)
import { mkdirSync, writeFileSync } from 'node:fs';
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
const { FINDINGS, fuzzBudget, fuzzInputs, fuzzLibrary, fuzzOne } = await import(
  join(root, 'dist', 'fuzz', 'fuzz.js')
);

const library = fuzzLibrary(join(root, 'scenarios'));
const budget = fuzzBudget();
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
