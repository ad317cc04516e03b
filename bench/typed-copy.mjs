// What a copy of a small typed array costs in V8: slice() (a backing store of
// its own past 64 bytes) against a view into a shared buffer (src/core/slab.ts),
// for the sizes the explorer copies per state (memmap arrays, page tables).
// `npm run build && node bench/typed-copy.mjs`; prints ns per copy and the ratio.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { copyTyped } = await import(join(root, 'dist', 'core', 'slab.js'));

const N = 1_000_000;
// One copy in 32 is kept for a while, as a breadth-first queue keeps states.
const keep = [];
function perCopy(copy, src) {
  const t = performance.now();
  for (let i = 0; i < N; i++) {
    const c = copy(src);
    if ((i & 31) === 0) keep.push(c);
    if (keep.length > 20_000) keep.length = 0;
  }
  return ((performance.now() - t) * 1e6) / N;
}

console.log(
  'Int32Array copy, ns each (slice = own backing store; slab = view into a shared buffer)',
);
console.log('| entries | bytes | slice | slab | slice/slab |');
console.log('| --- | --- | --- | --- | --- |');
for (const n of [16, 64, 256, 1024]) {
  const src = new Int32Array(n).map((_, i) => i);
  perCopy((a) => a.slice(), src); // warm-up
  const slice = perCopy((a) => a.slice(), src);
  const slab = perCopy(copyTyped, src);
  console.log(
    `| ${n} | ${4 * n} | ${slice.toFixed(0)} | ${slab.toFixed(0)} | ${(slice / slab).toFixed(1)} |`,
  );
}
