/**
 * Build and run the C probe (probe/probe.c): compiled once with the system's
 * `cc` into a cache directory keyed by the hash of its source, then run with
 * a probe program, a number of runs and a per-run deadline.
 */

import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** probe/probe.c of this package (next to dist/ and src/). */
export function probeSource(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'probe', 'probe.c');
}

function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME ?? (homedir() ? join(homedir(), '.cache') : tmpdir());
  return join(base, 'cowherd');
}

export type Built =
  | { readonly ok: true; readonly path: string }
  | { readonly ok: false; readonly reason: string };

/** The compiled probe, building it if the cache has none for this source. */
export function buildProbe(): Built {
  const src = probeSource();
  if (!existsSync(src)) return { ok: false, reason: `probe source not found at ${src}` };
  const text = readFileSync(src);
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const dir = cacheDir();
  const bin = join(dir, `probe-${hash}`);
  if (existsSync(bin)) return { ok: true, path: bin };
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    return { ok: false, reason: `cannot create ${dir}: ${(e as Error).message}` };
  }
  const cc = process.env.CC ?? 'cc';
  const tmp = `${bin}.${process.pid}.tmp`;
  const r = spawnSync(cc, ['-O2', '-Wall', '-pthread', '-o', tmp, src], { encoding: 'utf8' });
  if (r.error) return { ok: false, reason: `no C compiler (${cc}): ${r.error.message}` };
  if (r.status !== 0) return { ok: false, reason: `${cc} failed: ${r.stderr.trim()}` };
  renameSync(tmp, bin);
  return { ok: true, path: bin };
}

/** What the kernel offers the probe (`probe --features`). */
export interface Features {
  readonly softdirty: boolean;
  readonly pfn: boolean;
  readonly userfaultfd: boolean;
  readonly ksm: boolean;
  readonly thp: boolean;
  readonly ext4tmp: boolean;
  readonly io_uring: boolean;
}

export function probeFeatures(bin: string): Features {
  const r = spawnSync(bin, ['--features'], { encoding: 'utf8', timeout: 10_000 });
  const on = new Set(
    (r.stdout ?? '')
      .split('\n')
      .filter((l) => l.endsWith(' 1'))
      .map((l) => l.split(' ')[0]),
  );
  return {
    softdirty: on.has('softdirty'),
    pfn: on.has('pfn'),
    userfaultfd: on.has('userfaultfd'),
    ksm: on.has('ksm'),
    thp: on.has('thp'),
    ext4tmp: on.has('ext4tmp'),
    io_uring: on.has('io_uring'),
  };
}

/** One run of the probe's output. */
export interface ProbeRun {
  readonly outcome: 'done' | 'hang' | 'error';
  readonly message: string;
  readonly regs: readonly number[];
  /** Final primitive values by primitive index. */
  readonly finals: ReadonlyMap<number, number>;
  /**
   * Whether a process outside the scenario had KSM-merged pages when a KSM
   * counter was read (the probe's `Q` record; true when it says nothing).
   */
  readonly ksmNoisy: boolean;
  /** Per thread index, what it recorded of itself (the probe's `T` records). */
  readonly threads: ReadonlyMap<number, ThreadStat>;
  /** The initial process's VmPTE before the scenario ran (the probe's own page tables). */
  readonly baseVmpteKb: number;
}

/** A probe thread's own figures (minflt, majflt and the times are -1 when it never ended). */
export interface ThreadStat {
  readonly minflt: number;
  readonly majflt: number;
  readonly vmpteKb: number;
  /** From the run's start, in nanoseconds. */
  readonly startNs: number;
  readonly endNs: number;
  /** CPU time (user and system) between its start and its end. */
  readonly cpuNs: number;
}

/** Parse the probe's stdout (see probe.c). */
export function parseProbeOutput(out: string): ProbeRun[] {
  const runs: {
    outcome: ProbeRun['outcome'];
    message: string;
    regs: number[];
    finals: Map<number, number>;
    ksmNoisy: boolean;
    threads: Map<number, ThreadStat>;
    baseVmpteKb: number;
  }[] = [];
  for (const line of out.split('\n')) {
    const w = line.split(' ');
    if (w[0] === 'run') {
      runs.push({
        outcome: w[2] as ProbeRun['outcome'],
        message: w.slice(3).join(' '),
        regs: [],
        finals: new Map(),
        ksmNoisy: true,
        threads: new Map(),
        baseVmpteKb: 0,
      });
    } else if (w[0] === 'R' && runs.length > 0) runs.at(-1)!.regs[Number(w[1])] = Number(w[2]);
    else if (w[0] === 'F' && runs.length > 0) runs.at(-1)!.finals.set(Number(w[1]), Number(w[2]));
    else if (w[0] === 'Q' && runs.length > 0) runs.at(-1)!.ksmNoisy = w[1] !== '0';
    else if (w[0] === 'T' && runs.length > 0) {
      const [minflt, majflt, vmpteKb, startNs, endNs, cpuNs] = w
        .slice(2, 8)
        .map(Number) as number[];
      runs.at(-1)!.threads.set(Number(w[1]), {
        minflt: minflt!,
        majflt: majflt!,
        vmpteKb: vmpteKb!,
        startNs: startNs!,
        endNs: endNs!,
        cpuNs: cpuNs ?? -1,
      });
    } else if (w[0] === 'B' && runs.length > 0) runs.at(-1)!.baseVmpteKb = Number(w[1]);
  }
  return runs;
}

/** Run `program` `runs` times; the probe's records, or why it could not run. */
export function runProbe(
  bin: string,
  program: string,
  runs: number,
  timeoutMs: number,
  cpu = -1,
): { ok: true; runs: ProbeRun[] } | { ok: false; reason: string } {
  // A directory of its own, removed with the program once the probe is done.
  const dir = mkdtempSync(join(tmpdir(), 'cowherd-probe-'));
  const file = join(dir, 'program.txt');
  let r: SpawnSyncReturns<string>;
  try {
    writeFileSync(file, program);
    r = spawnSync(bin, [file, String(runs), String(timeoutMs), String(cpu)], {
      encoding: 'utf8',
      // Every run may end by its deadline, plus the probe's own teardown.
      timeout: runs * (timeoutMs + 3000) + 10_000,
      maxBuffer: 64 << 20,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (r.error) return { ok: false, reason: `probe: ${r.error.message}` };
  if (r.status !== 0) {
    const how = r.signal ? `was killed by ${r.signal}` : `exited ${r.status}`;
    const said = r.stderr.trim();
    return { ok: false, reason: `probe ${how}${said ? `: ${said}` : ' (it said nothing)'}` };
  }
  return { ok: true, runs: parseProbeOutput(r.stdout) };
}
