/** The scenario × era verdict matrix of `cowherd check`, as text and as JSON. */

import type { Provenance, Verdict } from '../scenario/ast.js';

export interface CheckRow {
  readonly scenario: string;
  readonly file: string;
  readonly era: string;
  /**
   * The explorer's verdict; 'tool-bug' when the model broke its own
   * accounting (or cowherd failed), 'limit' when a budget ran out first,
   * 'error' when the scenario cannot run under this era (a runtime input
   * error, SC1xx).
   */
  readonly verdict: Verdict | 'tool-bug' | 'limit' | 'error';
  readonly expected: Verdict | null;
  readonly provenance: Provenance | null;
  readonly ok: boolean;
  readonly detail?: string;
  /** Distinct states explored. */
  readonly states?: number;
  /** A replay token of the witness (exists: a path where the condition holds; forall: where it fails). */
  readonly replay?: string;
  /** Codes of the design invariants broken in some reachable state (ISO001, PIN001, DMA001). */
  readonly findings?: readonly string[];
}

export function checkJson(rows: readonly CheckRow[]): string {
  return `${JSON.stringify(
    {
      results: rows.map((r) => ({
        scenario: r.scenario,
        era: r.era,
        verdict: r.verdict,
        expected: r.expected,
        ok: r.ok,
        ...(r.provenance ? { provenance: r.provenance } : {}),
        ...(r.detail ? { detail: r.detail } : {}),
        ...(r.states !== undefined ? { states: r.states } : {}),
        ...(r.replay ? { replay: r.replay } : {}),
        ...(r.findings?.length ? { findings: r.findings } : {}),
      })),
    },
    null,
    2,
  )}\n`;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/**
 * herd-style matrix: one row per scenario, one column per era. A verdict that
 * differs from the expectation is marked `*`, one without an expectation `?`.
 */
export function checkText(
  rows: readonly CheckRow[],
  eras: readonly string[],
  skipped: readonly string[],
): string {
  const scenarios = [...new Set(rows.map((r) => r.scenario))];
  const cell = (r: CheckRow | undefined) => {
    if (!r) return '-';
    const mark =
      r.verdict === 'tool-bug' || r.verdict === 'limit' || r.verdict === 'error'
        ? '!'
        : r.expected === null
          ? '?'
          : r.ok
            ? ''
            : '*';
    return `${r.verdict}${mark}`;
  };
  const w0 = Math.max(8, ...scenarios.map((s) => s.length)) + 2;
  const widths = eras.map((e) => Math.max(e.length, 10) + 2);
  const lines: string[] = [];
  lines.push(
    pad('scenario', w0) +
      eras
        .map((e, i) => pad(e, widths[i]!))
        .join('')
        .trimEnd(),
  );
  for (const s of scenarios) {
    const cells = eras.map((e, i) =>
      pad(cell(rows.find((r) => r.scenario === s && r.era === e)), widths[i]!),
    );
    lines.push((pad(s, w0) + cells.join('')).trimEnd());
  }
  const bad = rows.filter((r) => !r.ok);
  const noExp = rows.filter((r) => r.expected === null);
  lines.push('');
  lines.push(
    `${scenarios.length} scenario(s) x ${eras.length} era(s): ${rows.length - bad.length} as expected, ${bad.length} differ${noExp.length ? `, ${noExp.length} without expectation (?)` : ''}`,
  );
  for (const r of bad) {
    if (r.verdict === 'tool-bug')
      lines.push(`! ${r.scenario} on ${r.era}: tool bug: ${r.detail ?? ''}`);
    else if (r.verdict === 'limit')
      lines.push(`! ${r.scenario} on ${r.era}: ${r.detail ?? 'state limit reached'}`);
    else if (r.verdict === 'error') lines.push(`! ${r.scenario} on ${r.era}: ${r.detail ?? ''}`);
    else
      lines.push(
        `* ${r.scenario} on ${r.era}: ${r.verdict}, expected ${r.expected}${r.provenance ? ` [${r.provenance}]` : ''} (${r.file})`,
      );
    if (r.replay) lines.push(`    replay: cowherd replay ${r.replay}`);
  }
  const broken = rows.filter((r) => r.findings?.length);
  if (broken.length)
    lines.push(
      `design invariants broken in ${broken.length} scenario/era pair(s) (findings, not verdicts; --json lists them, cowherd explore shows the paths)`,
    );
  if (skipped.length) lines.push(`eras not modelled yet, not checked: ${skipped.join(', ')}`);
  return `${lines.join('\n')}\n`;
}
