/**
 * The cost model of `cowherd sim` (docs/sim.md "Cost model", ADR 0012):
 * predicted time = for each kernel path, its fixed cost per call (or per PTE
 * written, for fork and unmap) plus the work it did priced at unit costs.
 *
 * Every number comes from a calibration measured on a real machine
 * (bench/calibrate.mjs): unit costs from user-space loops that do what the
 * kernel does (zero or copy a page, read struct-page-sized records, atomic
 * adds, a lock), and kernel paths timed whole (a first-touch fault, a COW
 * fault, fork, munmap, a THP fault), from which the work the model counts
 * for the same operations is subtracted to leave each path's fixed cost.
 * Nothing is fitted to the seeds' numbers.
 *
 * Each figure is a band: the median and two ends, from the spread of the
 * calibration's repetitions and from the alternatives a unit has (a struct
 * page read from this CPU's cache or after another CPU wrote it; an atomic
 * on a private or a shared line).
 */

import { WORK_KINDS, type WorkKind } from '../core/work.js';

/**
 * A measured or predicted figure: the median, and a low and a high end. In a
 * calibration the ends are the 25th and 75th percentile of the repetitions
 * (or, for a unit with alternatives, the cheap and the dear alternative);
 * a prediction's ends price everything at its low, or at its high, end.
 */
export interface Band {
  readonly median: number;
  readonly lo: number;
  readonly hi: number;
}

export interface PathBase {
  /** What the fixed cost is per: a call of the path, or a PTE it writes (fork, unmap). */
  readonly per: 'calls' | 'pte_writes';
  readonly ns: Band;
}

export interface Calibration {
  readonly machine: { readonly kernel: string; readonly cpu: string; readonly date: string };
  readonly reps: number;
  readonly pages: number;
  /** bench/ref/calibrate.c's measurements, ns per unit. */
  readonly ns: Readonly<Record<string, Band>>;
  /** Fixed cost of each calibrated path. */
  readonly base: Readonly<Record<string, PathBase>>;
  /** Measured against predicted for an operation not used to calibrate (the reuse fault), ns per fault. */
  readonly check: Readonly<Record<string, { readonly measured: Band; readonly predicted: Band }>>;
}

/** The work of one path: count per kind (work.ts). */
export type WorkRow = Readonly<Partial<Record<string, number>>>;

/** Unit cost bands per kind of work, from the calibration's measurements. */
export function unitCosts(ns: Readonly<Record<string, Band>>): Record<WorkKind, Band> {
  const zero: Band = { median: 0, lo: 0, hi: 0 };
  const get = (k: string): Band => ns[k] ?? zero;
  const out = Object.fromEntries(WORK_KINDS.map((k) => [k, zero])) as Record<WorkKind, Band>;
  // A struct page read by another CPU since (the subpage loops of usemem's
  // concurrent children) or still in this CPU's cache.
  out.page_lines = {
    median: get('line_cold').median,
    lo: get('line_hot').lo,
    hi: get('line_cold').hi,
  };
  out.atomics = {
    median: get('atomic').median,
    lo: get('atomic').lo,
    hi: get('atomic_shared').hi,
  };
  out.locks = get('lock');
  out.pages_copied = get('page_copy');
  out.pages_zeroed = get('page_zero');
  // A page-table page allocated and zeroed, and freed (kernel paths less their dense twins; absent from older calibrations).
  out.pt_alloc = get('pt_alloc');
  out.pt_free = get('pt_free');
  return out;
}

/** The priced work of one row: Σ count × unit, at each end of the band. */
export function price(row: WorkRow, units: Record<WorkKind, Band>): Band {
  let median = 0;
  let min = 0;
  let max = 0;
  for (const k of WORK_KINDS) {
    const n = row[k] ?? 0;
    if (n === 0) continue;
    median += n * units[k].median;
    min += n * units[k].lo;
    max += n * units[k].hi;
  }
  return { median, lo: min, hi: max };
}

/**
 * A path's fixed cost from one calibration operation: the kernel's time for
 * it (`measured` ns per unit × `units`) minus the priced work the model
 * counts for the same operation, per call or PTE written (`per`), at each
 * end of the band (the low time less the work at low prices, and so on), so
 * that predicting the calibration operation itself gives its measurement;
 * a negative fixed cost is clamped to 0.
 */
export function fitBase(
  measured: Band,
  units: number,
  work: WorkRow,
  costs: Record<WorkKind, Band>,
  per: PathBase['per'],
): PathBase {
  const p = price(work, costs);
  const n = work[per] ?? 0;
  if (n === 0) throw new Error(`tool bug: calibration operation without ${per}`);
  const at = (t: number, w: number) => Math.max(0, (t * units - w) / n);
  return {
    per,
    ns: {
      median: at(measured.median, p.median),
      lo: at(measured.lo, p.lo),
      hi: at(measured.hi, p.hi),
    },
  };
}

export interface Prediction {
  /** Predicted seconds, as a band. */
  readonly seconds: Band;
  /** Paths with calls that the calibration has no fixed cost for (their work is still priced). */
  readonly unpriced: readonly string[];
  /** Nanoseconds (median) per path and kind, the terms the prediction is made of ("base" for fixed costs). */
  readonly terms: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** Predicted time of a work account (work.ts workTable()) under a calibration. */
export function predict(work: Readonly<Record<string, WorkRow>>, cal: Calibration): Prediction {
  const units = unitCosts(cal.ns);
  let median = 0;
  let min = 0;
  let max = 0;
  const unpriced: string[] = [];
  const terms: Record<string, Record<string, number>> = {};
  for (const [path, row] of Object.entries(work)) {
    const t: Record<string, number> = {};
    const base = cal.base[path];
    if (base) {
      const n = row[base.per] ?? 0;
      median += n * base.ns.median;
      min += n * base.ns.lo;
      max += n * base.ns.hi;
      if (n !== 0) t.base = n * base.ns.median;
    } else if ((row.calls ?? 0) > 0 && path !== 'handle_mm_fault' && path !== 'other')
      unpriced.push(path);
    const p = price(row, units);
    median += p.median;
    min += p.lo;
    max += p.hi;
    for (const k of WORK_KINDS) {
      const v = (row[k] ?? 0) * units[k].median;
      if (v !== 0) t[k] = v;
    }
    if (Object.keys(t).length > 0) terms[path] = t;
  }
  return { seconds: { median: median / 1e9, lo: min / 1e9, hi: max / 1e9 }, unpriced, terms };
}

/** The largest differences between two predictions' terms (b − a), in ns, biggest first. */
export function termDifferences(
  a: Prediction,
  b: Prediction,
  top = 6,
): { readonly path: string; readonly term: string; readonly ns: number }[] {
  const keys = new Set<string>();
  for (const p of [a, b])
    for (const [path, t] of Object.entries(p.terms))
      for (const term of Object.keys(t)) keys.add(`${path}\u0000${term}`);
  const out = [...keys].map((key) => {
    const [path, term] = key.split('\u0000') as [string, string];
    const ns = (b.terms[path]?.[term] ?? 0) - (a.terms[path]?.[term] ?? 0);
    return { path, term, ns };
  });
  return out
    .filter((d) => d.ns !== 0)
    .sort((x, y) => Math.abs(y.ns) - Math.abs(x.ns) || (x.path < y.path ? -1 : 1))
    .slice(0, top);
}
