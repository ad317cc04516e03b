/** `cowherd sim` output: a counters × eras table, JSON (docs/sim.md) and CSV. */

import { WORK_KINDS } from '../core/work.js';
import type { SimResult } from '../sim/sim.js';

export interface SimRow {
  readonly scenario: string;
  readonly file: string;
  readonly result: SimResult;
}

export interface SimRunInfo {
  readonly seed: number;
  readonly cpus: number;
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

/** One table per scenario: a row per counter any era counted, a column per era. */
export function simText(rows: readonly SimRow[], info: SimRunInfo): string {
  const out: string[] = [];
  const byScenario = new Map<string, SimRow[]>();
  for (const r of rows) byScenario.set(r.file, [...(byScenario.get(r.file) ?? []), r]);
  for (const [file, list] of byScenario) {
    out.push(`${list[0]!.scenario} (${file}), seed ${info.seed}, ${info.cpus} CPU(s)`);
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
      results: rows.map((r) => ({ scenario: r.scenario, file: r.file, ...r.result })),
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
