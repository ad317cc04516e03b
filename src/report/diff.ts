/** `cowherd diff A B`: scenarios whose verdicts differ between two eras, and where the runs part. */

import type { DecisionRecord } from '../core/points.js';
import type { Pos, Verdict } from '../scenario/ast.js';

export interface Divergence {
  readonly step: number;
  readonly thread: string;
  readonly stmt: string;
  readonly pos: Pos;
  readonly a: readonly DecisionRecord[];
  readonly b: readonly DecisionRecord[];
}

export interface DiffRow {
  readonly scenario: string;
  readonly file: string;
  readonly a: { readonly era: string; readonly verdict: Verdict | 'tool-bug' | 'limit' };
  readonly b: { readonly era: string; readonly verdict: Verdict | 'tool-bug' | 'limit' };
  /**
   * The first step where the two sequential runs decide differently; null
   * when they decide alike throughout (the state alone differs, or only
   * other interleavings tell the eras apart).
   */
  readonly divergence: Divergence | null;
}

function decisions(ds: readonly DecisionRecord[]): string {
  return ds.length === 0
    ? 'no decision'
    : ds.map((d) => `${d.point} -> ${d.choice} (${d.why})`).join('; ');
}

export function diffText(rows: readonly DiffRow[], a: string, b: string, total: number): string {
  const lines: string[] = [];
  for (const r of rows) {
    lines.push(`${r.scenario}: ${a} ${r.a.verdict}, ${b} ${r.b.verdict}`);
    const d = r.divergence;
    if (d) {
      lines.push(
        `  first divergence: step #${d.step}, ${d.thread}: ${d.stmt} (${r.file}:${d.pos.line}:${d.pos.col})`,
      );
      lines.push(`    ${a}: ${decisions(d.a)}`);
      lines.push(`    ${b}: ${decisions(d.b)}`);
    } else {
      lines.push(
        '  the sequential runs take the same decisions: the difference is in other interleavings, or in state the eras compute alike',
      );
    }
  }
  lines.push(`${rows.length} of ${total} scenario(s) differ between ${a} and ${b}`);
  return `${lines.join('\n')}\n`;
}

export function diffJson(rows: readonly DiffRow[], a: string, b: string): string {
  return `${JSON.stringify({ a, b, differences: rows }, null, 2)}\n`;
}
