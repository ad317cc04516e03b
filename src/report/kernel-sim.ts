/**
 * A workload on the running kernel beside `cowherd sim` of the same file
 * under the kernel's era (`cowherd kernel --compare` of a workload): per
 * thread, the faults it took and its process's VmPTE; the registers the
 * workload observes (copies and reuses seen through PFNs); the threads' CPU
 * time beside the cost model's prediction. Each figure has a stated
 * tolerance (docs/fidelity.md, "Sim beside the kernel").
 */

import type { KernelFigures } from '../kernel/run.js';
import type { Scenario, Stmt } from '../scenario/ast.js';
import type { Prediction } from '../sim/cost.js';
import type { SimResult } from '../sim/sim.js';

/**
 * Faults of the probe's own in a thread's count: the first writes to its
 * stack, its thread-local data and the pages /proc reads use, after fork()
 * write-protected them (measured here: 14 to 17 in a forked child, 28 to 30 in a parent
 * that forked 8). The model counts the workload's faults only.
 */
export const FAULT_SLACK = 24;
/** And per fork() the thread made: its own written pages are write-protected again. */
export const FAULT_PER_FORK = 4;
/** The same, as a share of the count, for long runs. */
export const FAULT_SHARE = 0.01;
/**
 * VmPTE is compared over the initial process's before the workload (the
 * probe's own tables). A mapping placed near the probe's own (no `at=`)
 * may share its PTE, PMD and PUD tables with them: up to 12 kB less than the model's, whose
 * process holds only the workload.
 */
export const VMPTE_SLACK_KB = 12;
/** The cost model's bar: predicted time within this factor of the measured. */
export const TIME_FACTOR = 2;

export interface FigureRow {
  readonly what: string;
  readonly sim: number;
  readonly kernel: number;
  readonly ok: boolean;
}

export interface WorkloadComparison {
  readonly scenario: string;
  readonly rows: readonly FigureRow[];
  /** Predicted CPU time (ms, median and band) beside the threads' measured CPU time. */
  readonly time: {
    readonly predictedMs: number;
    readonly loMs: number;
    readonly hiMs: number;
    readonly measuredMs: number;
    readonly ok: boolean;
    /** Kernel paths the calibration has no fixed cost for (their time is missing from the prediction). */
    readonly unpriced: readonly string[];
  } | null;
  readonly agree: boolean;
}

/**
 * Two-sided: the probe's own faults come on top of the kernel's count, but
 * the kernel may also skip a page-out the model made (a swap write still in
 * flight) and fault less.
 */
const faultsOk = (sim: number, kernel: number, slack: number): boolean =>
  Math.abs(kernel - sim) <= Math.max(slack, Math.ceil(sim * FAULT_SHARE));

/** Observables whose value is an address, a PFN or a swap slot: the model's numbering, not the kernel's. */
const ADDRESS_FNS = new Set(['pfn', 'swap_offset', 'address', 'pin_pfn']);

/**
 * Registers some `observe` sets straight from an address, a PFN or a swap
 * slot (`observe pfn(main, m[i]) -> before`): they are shown, not compared.
 * A register computed from them (`copies + (pfn(...) != before)`) is
 * compared exactly.
 */
export function addressRegisters(sc: Scenario): Set<string> {
  const out = new Set<string>();
  const walk = (list: readonly Stmt[]): void => {
    for (const st of list) {
      if (st.op === 'repeat') walk(st.body);
      else if (st.op === 'observe' && st.expr.kind === 'call' && ADDRESS_FNS.has(st.expr.fn))
        out.add(st.reg);
    }
  };
  walk(sc.setup);
  for (const t of sc.threads) walk(t.body);
  return out;
}

export function compareWorkload(
  scenario: string,
  sim: SimResult,
  kernel: KernelFigures,
  prediction: Prediction | null,
  addressRegs: ReadonlySet<string> = new Set(),
): WorkloadComparison {
  const rows: FigureRow[] = [];
  const byName = new Map(kernel.threads.map((t) => [t.name, t]));
  let simFaults = 0;
  let kernelFaults = 0;
  for (const t of sim.tasks) {
    const k = byName.get(t.name);
    if (!k || k.minflt < 0) {
      rows.push({ what: `${t.name} minflt`, sim: t.minflt, kernel: -1, ok: false });
      continue;
    }
    simFaults += t.minflt + t.majflt;
    kernelFaults += k.minflt + k.majflt;
    rows.push({
      what: `${t.name} minflt`,
      sim: t.minflt,
      kernel: k.minflt,
      ok: faultsOk(t.minflt, k.minflt, FAULT_SLACK + FAULT_PER_FORK * t.forks),
    });
    // A fault is major when it waited for I/O: the kernel's swap device decides, so only the total is compared.
    if (t.majflt > 0 || k.majflt > 0)
      rows.push({ what: `${t.name} majflt`, sim: t.majflt, kernel: k.majflt, ok: true });
    const vmpte = k.vmpteKb - kernel.baseVmpteKb;
    rows.push({
      what: `${t.name} VmPTE kB`,
      sim: t.vmpteKb,
      kernel: vmpte,
      ok: vmpte >= t.vmpteKb - VMPTE_SLACK_KB && vmpte <= t.vmpteKb,
    });
  }
  rows.push({
    what: 'all threads: faults',
    sim: simFaults,
    kernel: kernelFaults,
    ok: faultsOk(
      simFaults,
      kernelFaults,
      sim.tasks.reduce((a, t) => a + FAULT_SLACK + FAULT_PER_FORK * t.forks, 0),
    ),
  });
  for (const [name, v] of Object.entries(sim.regs)) {
    const k = kernel.regs[name] ?? 0;
    rows.push(
      addressRegs.has(name)
        ? {
            what: `register ${name} (an address or PFN: not compared)`,
            sim: v,
            kernel: k,
            ok: true,
          }
        : { what: `register ${name}`, sim: v, kernel: k, ok: v === k },
    );
  }
  const time =
    prediction === null
      ? null
      : {
          predictedMs: prediction.seconds.median * 1e3,
          loMs: prediction.seconds.lo * 1e3,
          hiMs: prediction.seconds.hi * 1e3,
          measuredMs: kernel.cpuMs,
          unpriced: prediction.unpriced,
          ok:
            kernel.cpuMs > 0 &&
            prediction.seconds.median * 1e3 <= kernel.cpuMs * TIME_FACTOR &&
            prediction.seconds.median * 1e3 >= kernel.cpuMs / TIME_FACTOR,
        };
  return { scenario, rows, time, agree: rows.every((r) => r.ok) };
}

const num = (n: number): string => (n < 0 ? '-' : n.toLocaleString('en-US'));

export function comparisonText(c: WorkloadComparison, era: string): string {
  const w = Math.max(6, ...c.rows.map((r) => r.what.length));
  const lines = [
    `${c.scenario}: the kernel beside cowherd sim (era ${era})`,
    `  ${'figure'.padEnd(w)}  ${'sim'.padStart(12)}  ${'kernel'.padStart(12)}`,
  ];
  for (const r of c.rows)
    lines.push(
      `  ${r.what.padEnd(w)}  ${num(r.sim).padStart(12)}  ${num(r.kernel).padStart(12)}${r.ok ? '' : '  DIFFERS'}`,
    );
  if (c.time) {
    const t = c.time;
    const ratio = t.measuredMs > 0 ? t.predictedMs / t.measuredMs : Number.NaN;
    lines.push(
      `  CPU time: predicted ${t.predictedMs.toFixed(1)} ms (range ${t.loMs.toFixed(1)}..${t.hiMs.toFixed(1)}), measured ${t.measuredMs.toFixed(1)} ms: ×${ratio.toFixed(2)}${t.ok ? '' : ` (outside a factor of ${TIME_FACTOR})`}${t.unpriced.length ? `; no fixed cost calibrated for ${t.unpriced.join(', ')}` : ''}`,
    );
  }
  lines.push(
    `  tolerances: faults ±max(${FAULT_SLACK} + ${FAULT_PER_FORK} per fork, ${FAULT_SHARE * 100} %) per thread (the probe's own stack, TLS and /proc reads); VmPTE over the probe's own tables −${VMPTE_SLACK_KB}..+0 kB (upper tables shared with the probe's without at=); registers exact; major faults shown, not compared (the swap device decides which faults wait)`,
  );
  return `${lines.join('\n')}\n`;
}
