// The programs the explorer benchmarks share (bench/explore.mjs, bench/profile.mjs).

import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The cowherd twin of bench/promela/cow-{own,same}-page.pml: K threads of a
 * process that forked write their own COW page, or the same one. With
 * `lru`, the own-page program with per-CPU LRU add batches as an environment
 * actor (bench/promela/cow-own-page-lru.pml).
 */
export function cowThreads(k, same, lru = false) {
  const pages = same ? 1 : k;
  const name = `bench-cow-${same ? 'same' : 'own'}-page${lru ? '-lru' : ''}-${k}`;
  let s = `scenario ${name}\n${lru ? 'env lru_batches\n' : ''}`;
  s += `setup {\n  mmap mem pages=${pages} private rw\n  write mem[0..${pages}] = 1\n}\n`;
  s += 'thread parent {\n  fork child\n';
  for (let i = 0; i < k; i++) s += `  spawn t${i}\n`;
  s += '}\n';
  for (let i = 0; i < k; i++) s += `thread t${i} {\n  write mem[${same ? 0 : i}] = ${i + 2}\n}\n`;
  s += `thread child {\n}\nexists (anon_wp_copy_count == ${k})\n`;
  return s;
}

/** The programs of the SPIN comparison: Promela model, cowherd twin, largest K. */
export const spinPrograms = [
  { model: 'cow-own-page.pml', same: false, lru: false, maxK: 8 },
  { model: 'cow-same-page.pml', same: true, lru: false, maxK: 8 },
  // SPIN stores about ten times cowherd's states here: 26 million at K = 8.
  { model: 'cow-own-page-lru.pml', same: false, lru: true, maxK: 7 },
];

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
