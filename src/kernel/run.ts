/**
 * Run a scenario on the running kernel (klitmus7's role for herd7): compile
 * it for the probe, run it N times, evaluate the scenario's condition on each
 * completed run, and report the verdict with its counts.
 */

import { existsSync, readFileSync } from 'node:fs';
import type { Expr, Scenario, Verdict } from '../scenario/ast.js';
import type { Bounds } from '../scenario/expr.js';
import { evalBounds, truthOf } from '../scenario/expr.js';
import type { Features, ProbeRun, ThreadStat } from './probe.js';
import { buildProbe, probeFeatures, runProbe } from './probe.js';
import type { Needs, ProbeProgram } from './program.js';
import { compileProbe } from './program.js';
import type { HostSettings } from './settings.js';

export interface KernelOptions {
  readonly runs: number;
  readonly timeoutMs: number;
  /** Where host settings are changed (and journaled for restoring). */
  readonly settings: HostSettings;
  /** The CPU the scenario's processes start on (-1: any), against noise from other CPUs. */
  readonly cpu: number;
}

const KSM = '/sys/kernel/mm/ksm';
const THP = '/sys/kernel/mm/transparent_hugepage';

let features: Features | null = null;

/** Per page a scenario touches, on top of the per-run timeout. */
const PAGE_BUDGET_MS = 0.02;

/**
 * Make the host what the scenario needs, or say why it cannot be: the model
 * assumes THP mode `madvise` and a swap device that never fills up.
 */
function prepareHost(needs: Needs, bin: string, settings: HostSettings): string | null {
  features ??= probeFeatures(bin);
  if (!features.pfn) return 'PFNs are hidden in /proc/self/pagemap (not root?)';
  if (needs.softdirty && !features.softdirty)
    return 'soft-dirty tracking is not built into this kernel (CONFIG_MEM_SOFT_DIRTY)';
  if (needs.ksm && !features.ksm) return 'KSM is not available (/sys/kernel/mm/ksm/run)';
  if (needs.ext4 && !features.ext4tmp) return 'tmpfile fs=ext4 needs /tmp on ext4';
  if (needs.io_uring && !features.io_uring) return 'io_uring is not available';
  if (needs.userfaultfd && !features.userfaultfd) return 'userfaultfd is not available';
  if (!features.thp) return 'transparent hugepages are not available';
  if (!settings.set(`${THP}/enabled`, 'madvise')) return `cannot set ${THP}/enabled to madvise`;
  if (needs.swap) {
    const why = settings.ensureSwap();
    if (why) return `no swap device, and a swap file could not be set up: ${why}`;
  }
  if (needs.ksm) {
    // ksm_scan writes run and use_zero_pages itself: journal them first.
    for (const k of ['run', 'use_zero_pages']) settings.guard(`${KSM}/${k}`);
    if (
      !settings.set(`${KSM}/sleep_millisecs`, '0') ||
      !settings.set(`${KSM}/pages_to_scan`, '10000')
    )
      return `cannot set ${KSM}/sleep_millisecs and pages_to_scan`;
    // smart_scan (v6.7, on by default) skips a page that did not merge for a
    // growing number of scans and takes it out of its tree meanwhile
    // (should_skip_rmap_item()): how many scans ksmd ran before the probe
    // stopped it would decide what merged and what pages_unshared reads.
    // The model's ksm_scan scans every page, so the runner turns it off.
    if (existsSync(`${KSM}/smart_scan`) && !settings.set(`${KSM}/smart_scan`, '0'))
      return `cannot set ${KSM}/smart_scan to 0`;
  }
  if (needs.khugepaged) {
    if (
      !settings.set(`${THP}/khugepaged/scan_sleep_millisecs`, '0') ||
      !settings.set(`${THP}/khugepaged/alloc_sleep_millisecs`, '0')
    )
      return 'cannot make khugepaged scan without sleeping';
  }
  return null;
}

/** A run's per-thread figures (probe.c `T` records) and registers, by name. */
export interface KernelFigures {
  readonly threads: readonly ({ readonly name: string } & ThreadStat)[];
  readonly regs: Readonly<Record<string, number>>;
  /** From the first thread's start to the last thread's end, in milliseconds. */
  readonly wallMs: number;
  /** The threads' CPU time, in milliseconds. */
  readonly cpuMs: number;
  /** The probe's own page tables (the initial process's VmPTE before the scenario). */
  readonly baseVmpteKb: number;
}

function figuresOf(program: ProbeProgram, run: ProbeRun): KernelFigures {
  const threads = [...run.threads]
    .sort(([a], [b]) => a - b)
    .map(([i, t]) => ({ name: program.threads[i] ?? `#${i}`, ...t }));
  const ended = threads.filter((t) => t.endNs >= 0);
  const wallNs =
    ended.length > 0
      ? Math.max(...ended.map((t) => t.endNs)) - Math.min(...threads.map((t) => t.startNs))
      : 0;
  return {
    threads,
    regs: Object.fromEntries(program.regs.map((r, i) => [r, run.regs[i] ?? 0])),
    wallMs: wallNs / 1e6,
    cpuMs: ended.reduce((a, t) => a + Math.max(0, t.cpuNs), 0) / 1e6,
    baseVmpteKb: run.baseVmpteKb,
  };
}

export type KernelResult =
  | {
      readonly kind: 'observed';
      /** Over the runs that decided the condition; Unknown when none did. */
      readonly verdict: Verdict | 'Unknown';
      /** Completed runs where the condition held, and where it did not. */
      readonly pos: number;
      readonly neg: number;
      readonly hang: number;
      /**
       * Completed runs whose condition a system-wide observable leaves open:
       * other processes count too, so the scenario's own share is only known
       * to lie between 0 and what was read.
       */
      readonly undetermined: number;
      readonly systemWide: readonly string[];
      /** What the last completed run's threads recorded of themselves, and its registers. */
      readonly last: KernelFigures | null;
    }
  | { readonly kind: 'skip'; readonly reason: string }
  /** The probe failed where the model would not: a tool bug, reported as such. */
  | { readonly kind: 'error'; readonly reason: string };

/** Why the host cannot run probes at all, or null. */
export function hostUnsupported(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    return 'not root: PFNs in /proc/PID/pagemap and /proc/PID/mem of other processes need CAP_SYS_ADMIN';
  return null;
}

/**
 * What one run says of the condition: 1, 0, or undefined when it depends on
 * how much of a system-wide observable the scenario itself caused.
 */
export function evalObserved(
  e: Expr,
  program: ProbeProgram,
  run: ProbeRun,
  finalOf: (e: Expr) => number | undefined,
): 0 | 1 | undefined {
  const own = (v: number): Bounds => [Math.min(0, v), v];
  return truthOf(
    evalBounds(e, (x): Bounds => {
      if (x.kind === 'ident') {
        const r = program.regs.indexOf(x.name);
        if (r >= 0) {
          const v = run.regs[r] ?? 0;
          const noise = program.noisyRegs.get(x.name);
          if (noise === 'any') return [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY];
          if (noise === 'ksm' && !run.ksmNoisy) return [v, v];
          return noise === undefined ? [v, v] : own(v);
        }
      }
      if (x.kind === 'ref') return [0, 0];
      const v = finalOf(x) ?? 0;
      const prim = program.leafPrims.get(x);
      if (prim === undefined || !program.systemWidePrims.has(prim)) return [v, v];
      // KSM's counters are the scenario's own when no other process has merged pages.
      return program.ksmPrims.has(prim) && !run.ksmNoisy ? [v, v] : own(v);
    }),
  );
}

/** The value a run's final primitive gave each leaf of the condition. */
function finalLookup(program: ProbeProgram, run: ProbeRun): (e: Expr) => number | undefined {
  return (e: Expr) => {
    const prim = program.leafPrims.get(e);
    return prim === undefined ? undefined : run.finals.get(prim);
  };
}

/**
 * Does what the kernel showed fit what the model allows (klitmus7 against
 * herd7)? Every observed outcome must be one the model allows: a model
 * Sometimes allows both, so Never or Always observed there agrees, with only
 * one of the allowed outcomes seen (`partial`); a model Never or Always must
 * be observed exactly; Hang only where the model hangs.
 */
export function consistent(
  model: Verdict,
  observed: Verdict | 'Unknown',
): { readonly agree: boolean; readonly partial: boolean } {
  // No run decided the condition: nothing the kernel showed contradicts the model.
  if (observed === 'Unknown') return { agree: true, partial: true };
  if (model === 'Sometimes' && observed !== 'Hang')
    return { agree: true, partial: observed !== 'Sometimes' };
  return { agree: model === observed, partial: false };
}

/** The verdict of `pos` runs where the condition held and `neg` where it did not (`hang` hung). */
export function verdictOf(pos: number, neg: number, hang: number): Verdict {
  if (pos + neg === 0) return hang > 0 ? 'Hang' : 'Never';
  if (pos === 0) return 'Never';
  if (neg === 0) return 'Always';
  return 'Sometimes';
}

/** Run `sc` on this kernel. */
export function runOnKernel(sc: Scenario, opts: KernelOptions): KernelResult {
  const host = hostUnsupported();
  if (host) return { kind: 'skip', reason: host };
  const c = compileProbe(sc);
  if (!c.ok) return { kind: 'skip', reason: c.reason };
  const missing = c.program.prims.find((p) => p.kind === 'vm' && !vmstatNames().has(p.name));
  if (missing)
    return { kind: 'skip', reason: `${missing.name} is not in this kernel's /proc/vmstat` };
  const bin = buildProbe();
  if (!bin.ok) return { kind: 'skip', reason: bin.reason };
  const host2 = prepareHost(c.program.needs, bin.path, opts.settings);
  if (host2) return { kind: 'skip', reason: host2 };
  // Two full KSM scans take a while on a machine with other mergeable memory; a
  // run that touches many pages gets 20 us a page more (a 1 GiB dense touch:
  // about 5 s more than the base).
  const base = c.program.needs.ksm ? Math.max(opts.timeoutMs, 15_000) : opts.timeoutMs;
  const timeoutMs = base + Math.ceil(c.program.pages * PAGE_BUDGET_MS);
  const out = runProbe(bin.path, c.program.text, opts.runs, timeoutMs, opts.cpu);
  if (!out.ok) return { kind: 'error', reason: out.reason };
  const err = out.runs.find((r) => r.outcome === 'error');
  if (err) return { kind: 'error', reason: `probe: ${err.message}` };
  let pos = 0;
  let neg = 0;
  let hang = 0;
  let undetermined = 0;
  const done = out.runs.filter((r) => r.outcome === 'done');
  for (const run of out.runs) {
    if (run.outcome === 'hang') {
      hang++;
      continue;
    }
    const v = evalObserved(c.program.condition, c.program, run, finalLookup(c.program, run));
    if (v === undefined) undetermined++;
    else if (v) pos++;
    else neg++;
  }
  return {
    kind: 'observed',
    verdict: pos + neg + hang === 0 && undetermined > 0 ? 'Unknown' : verdictOf(pos, neg, hang),
    pos,
    neg,
    hang,
    undetermined,
    systemWide: c.program.systemWide,
    last: done.length > 0 ? figuresOf(c.program, done.at(-1)!) : null,
  };
}

let vmstatCache: Set<string> | null = null;
function vmstatNames(): Set<string> {
  if (!vmstatCache) {
    try {
      vmstatCache = new Set(
        readFileSync('/proc/vmstat', 'utf8')
          .split('\n')
          .map((l) => l.split(' ')[0]!)
          .filter(Boolean),
      );
    } catch {
      vmstatCache = new Set();
    }
  }
  return vmstatCache;
}
