/** `cowherd sim` output: a counters × eras table, JSON (docs/sim.md) and CSV. */

import { WORK_KINDS } from '../core/work.js';
import type { Claim, EnvActor } from '../scenario/ast.js';
import { type Band, type Calibration, type Prediction, termDifferences } from '../sim/cost.js';
import type { SimResult } from '../sim/sim.js';

export interface SimRow {
  readonly scenario: string;
  readonly file: string;
  readonly result: SimResult;
  /** Predicted time (cost.ts), when a calibration was given. */
  readonly prediction?: Prediction;
  readonly claims?: readonly Claim[];
  /** The file's `env` actors (their rates are printed with it). */
  readonly env?: readonly EnvActor[];
}

export interface SimRunInfo {
  readonly seed: number;
  readonly cpus: number;
  /** The chance per step that the swap device ends the writes in flight. */
  readonly writebackEnd: number;
  /** The chance per step of each `env` actor (the file's own are printed). */
  readonly envRates?: Readonly<Record<EnvActor, number>>;
  readonly calibration?: Calibration | null;
}

/** What the model says about a claim: the throughput change from one era to the other, and its biggest terms. */
export interface ClaimResult {
  readonly from: string;
  readonly to: string;
  readonly claim: string;
  /** t(from) / t(to) − 1: more throughput when the work takes less time. */
  readonly throughput: Band;
  /** The largest differences of predicted time (to − from), ns. */
  readonly terms: readonly { readonly path: string; readonly term: string; readonly ns: number }[];
}

/**
 * The throughput change t(from)/t(to) − 1 with both predictions priced at
 * the same point of every band: at the low ends, the medians and the high
 * ends; its range spans the three (the medians' change can lie outside the
 * two ends' when one era's time rests on a unit whose band is lopsided).
 */
export function throughputBand(from: Band, to: Band): Band {
  const at = [from.lo / to.lo, from.median / to.median, from.hi / to.hi];
  return { median: at[1]! - 1, lo: Math.min(...at) - 1, hi: Math.max(...at) - 1 };
}

export function claimResults(list: readonly SimRow[]): ClaimResult[] {
  const out: ClaimResult[] = [];
  for (const c of list[0]?.claims ?? []) {
    const a = list.find((r) => r.result.era === c.from)?.prediction;
    const b = list.find((r) => r.result.era === c.to)?.prediction;
    if (!a || !b) continue;
    out.push({
      from: c.from,
      to: c.to,
      claim: c.text,
      throughput: throughputBand(a.seconds, b.seconds),
      terms: termDifferences(a, b),
    });
  }
  return out;
}

const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;

function claimText(list: readonly SimRow[]): string[] {
  const out: string[] = [];
  for (const c of claimResults(list)) {
    out.push(`claim ${c.from} -> ${c.to}: "${c.claim}"`);
    out.push(
      `  model: throughput ${pct(c.throughput.median)} (range ${pct(c.throughput.lo)} .. ${pct(c.throughput.hi)}), from the predicted times above`,
    );
    out.push(`  largest terms of the difference (${c.to} minus ${c.from}):`);
    for (const t of c.terms)
      out.push(`    ${t.path} ${t.term}: ${t.ns >= 0 ? '+' : ''}${(t.ns / 1e9).toFixed(3)} s`);
  }
  for (const c of list[0]?.claims ?? [])
    if (!list.some((r) => r.result.era === c.from) || !list.some((r) => r.result.era === c.to))
      out.push(
        `claim ${c.from} -> ${c.to}: "${c.text}" (simulate both eras to compare: --era all)`,
      );
  return out;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function lpad(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}

/** Rows of the work account: each kind's total over every path, for the kinds any era did. */
function workRows(list: readonly SimRow[]): [string, string[]][] {
  const totals = list.map((r) => {
    const t = new Map<string, number>();
    for (const row of Object.values(r.result.work))
      for (const [k, v] of Object.entries(row)) t.set(k, (t.get(k) ?? 0) + v);
    return t;
  });
  return WORK_KINDS.filter((k) => k !== 'calls' && totals.some((t) => (t.get(k) ?? 0) !== 0)).map(
    (k): [string, string[]] => [`work ${k}`, totals.map((t) => String(t.get(k) ?? 0))],
  );
}

function predictionRows(list: readonly SimRow[]): [string, string[]][] {
  if (!list.some((r) => r.prediction)) return [];
  const s = (x: number) => x.toFixed(3);
  return [
    ['predicted s', list.map((r) => (r.prediction ? s(r.prediction.seconds.median) : '-'))],
    [
      'predicted s range',
      list.map((r) =>
        r.prediction ? `${s(r.prediction.seconds.lo)}..${s(r.prediction.seconds.hi)}` : '-',
      ),
    ],
  ];
}

/** One table per scenario: a row per counter any era counted, a column per era. */
export function simText(rows: readonly SimRow[], info: SimRunInfo): string {
  const out: string[] = [];
  const byScenario = new Map<string, SimRow[]>();
  for (const r of rows) byScenario.set(r.file, [...(byScenario.get(r.file) ?? []), r]);
  for (const [file, list] of byScenario) {
    const actors = (list[0]!.env ?? []).map(
      (a) => `, env ${a} acts with chance ${info.envRates?.[a] ?? '-'} per step`,
    );
    out.push(
      `${list[0]!.scenario} (${file}), seed ${info.seed}, ${info.cpus} CPU(s), swap writes end with chance ${info.writebackEnd} per step${actors.join('')}`,
    );
    const eras = list.map((r) => r.result.era);
    const counters = Object.keys(list[0]!.result.counters).filter((c) =>
      list.some((r) => (r.result.counters[c] ?? 0) !== 0),
    );
    const lines: [string, string[]][] = [
      ['outcome', list.map((r) => r.result.kind)],
      ['steps', list.map((r) => String(r.result.steps))],
      ...counters.map((c): [string, string[]] => [
        c,
        list.map((r) => String(r.result.counters[c] ?? 0)),
      ]),
      ...workRows(list),
      ...predictionRows(list),
      ['VmPTE peak kB', list.map((r) => String(r.result.vmpte.peak))],
      ['VmPTE final kB', list.map((r) => String(r.result.vmpte.final))],
      [
        'condition',
        list.map((r) => (r.result.holds === null ? '-' : r.result.holds ? 'holds' : 'fails')),
      ],
    ];
    const w0 = Math.max(...lines.map(([n]) => n.length), 7);
    const w = eras.map((e, i) => Math.max(e.length, ...lines.map(([, v]) => v[i]!.length)));
    out.push(`${pad('', w0)}  ${eras.map((e, i) => lpad(e, w[i]!)).join('  ')}`);
    for (const [n, v] of lines)
      out.push(`${pad(n, w0)}  ${v.map((x, i) => lpad(x, w[i]!)).join('  ')}`);
    for (const r of list) {
      if (r.result.hung) out.push(`${r.result.era}: hangs: ${r.result.hung.join('; ')}`);
      if (r.result.note) out.push(`${r.result.era}: ${r.result.note}`);
      for (const v of r.result.violations ?? [])
        out.push(`${r.result.era}: tool bug ${v.code}: ${v.detail}`);
    }
    const cal = info.calibration;
    if (cal && list.some((r) => r.prediction)) {
      out.push(
        `predicted with the calibration of ${cal.machine.cpu}, Linux ${cal.machine.kernel}, ${cal.machine.date} (docs/sim.md, "Cost model")`,
      );
      const unpriced = new Map<string, string[]>();
      for (const r of list)
        if (r.prediction && r.prediction.unpriced.length > 0) {
          const key = r.prediction.unpriced.join(', ');
          unpriced.set(key, [...(unpriced.get(key) ?? []), r.result.era]);
        }
      for (const [paths, eras] of unpriced)
        out.push(
          `no fixed cost calibrated for ${paths} (their work is priced): ${eras.length === list.length ? 'every era' : eras.join(', ')}`,
        );
    }
    out.push(...claimText(list));
    const phased = list.filter((r) => r.result.phases.length > 0);
    if (phased.length > 0)
      out.push(
        `phases: ${phased[0]!.result.phases.length} sample(s) per era (--json or --csv for the series)`,
      );
    out.push('');
  }
  return `${out.join('\n')}`;
}

export function simJson(rows: readonly SimRow[], info: SimRunInfo): string {
  return `${JSON.stringify(
    {
      seed: info.seed,
      cpus: info.cpus,
      writebackEnd: info.writebackEnd,
      ...(info.envRates ? { envRates: info.envRates } : {}),
      ...(info.calibration ? { calibration: info.calibration.machine } : {}),
      results: rows.map((r) => ({
        scenario: r.scenario,
        file: r.file,
        ...r.result,
        ...(r.prediction ? { prediction: r.prediction } : {}),
      })),
      claims: [...new Set(rows.map((r) => r.file))].flatMap((f) =>
        claimResults(rows.filter((r) => r.file === f)).map((c) => ({
          scenario: rows.find((r) => r.file === f)!.scenario,
          ...c,
        })),
      ),
    },
    null,
    2,
  )}\n`;
}

/** CSV files: the final counters (one row per era and counter) and the phase samples. */
export function simCsv(rows: readonly SimRow[]): { counters: string; phases: string } {
  const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const counters = ['scenario,era,counter,value'];
  const phases = ['scenario,era,phase,thread,step,vmpte_kb,counter,value'];
  for (const r of rows) {
    const base = `${q(r.scenario)},${q(r.result.era)}`;
    for (const [c, v] of Object.entries(r.result.counters)) counters.push(`${base},${c},${v}`);
    counters.push(`${base},steps,${r.result.steps}`);
    counters.push(`${base},vmpte_peak_kb,${r.result.vmpte.peak}`);
    for (const p of r.result.phases)
      for (const [c, v] of Object.entries(p.counters))
        phases.push(`${base},${q(p.phase)},${q(p.thread)},${p.step},${p.vmpte},${c},${v}`);
  }
  return { counters: `${counters.join('\n')}\n`, phases: `${phases.join('\n')}\n` };
}
