// The real kernel's fault rates on this machine, now (bench/ref/faults.c
// compiled with cc): shared by the benchmarks that print a ratio against it.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** {pages, anon_faults_per_s, cow_faults_per_s}, or {skipped: why}. */
export function kernelFaults(root, pages) {
  const out = join(root, '.cache', 'bench-faults');
  mkdirSync(dirname(out), { recursive: true });
  try {
    execFileSync('cc', ['-O2', '-o', out, join(root, 'bench', 'ref', 'faults.c')]);
    return JSON.parse(execFileSync(out, [String(pages)], { encoding: 'utf8' }));
  } catch (e) {
    return { skipped: `no C compiler or run failed: ${e.message.split('\n')[0]}` };
  }
}
