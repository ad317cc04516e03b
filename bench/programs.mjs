// The programs the explorer benchmarks share (bench/explore.mjs, bench/profile.mjs).

import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The cowherd twin of bench/promela/cow-{own,same}-page.pml: K threads of a
 * process that forked write their own COW page, or the same one.
 */
export function cowThreads(k, same) {
  const pages = same ? 1 : k;
  let s = `scenario bench-cow-${same ? 'same' : 'own'}-page-${k}\n`;
  s += `setup {\n  mmap mem pages=${pages} private rw\n  write mem[0..${pages}] = 1\n}\n`;
  s += 'thread parent {\n  fork child\n';
  for (let i = 0; i < k; i++) s += `  spawn t${i}\n`;
  s += '}\n';
  for (let i = 0; i < k; i++) s += `thread t${i} {\n  write mem[${same ? 0 : i}] = ${i + 2}\n}\n`;
  s += `thread child {\n}\nexists (anon_wp_copy_count == ${k})\n`;
  return s;
}

/** Every scenario file of the bundled library (scenarios/), in a fixed order. */
export function libraryFiles() {
  const files = [];
  const walk = (p) => {
    for (const n of readdirSync(p).sort()) {
      const q = join(p, n);
      if (statSync(q).isDirectory()) walk(q);
      else if (n.endsWith('.cow')) files.push(q);
    }
  };
  walk(join(dirname(fileURLToPath(import.meta.url)), '..', 'scenarios'));
  return files;
}
