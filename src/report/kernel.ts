/**
 * `cowherd kernel` output: per scenario, the verdict observed on the running
 * kernel (with its counts, klitmus7-style) next to the model's verdict for
 * the host's era, and a summary of agreements, disagreements and skips.
 */

import type { Verdict } from '../scenario/ast.js';
import { comparisonText, type WorkloadComparison } from './kernel-sim.js';

export interface KernelRow {
  readonly scenario: string;
  readonly file: string;
  /** The observed verdict (Unknown: no run decided the condition), or SKIP / ERROR. */
  readonly observed: Verdict | 'Unknown' | 'SKIP' | 'ERROR';
  readonly pos: number;
  readonly neg: number;
  readonly hang: number;
  /** Runs whose condition a system-wide observable left open (see run.ts). */
  readonly undetermined: number;
  /** The model's verdict for the host's era (null without --compare). */
  readonly model: Verdict | 'limit' | 'tool-bug' | null;
  /** null when skipped or not compared. */
  readonly agree: boolean | null;
  /** Agrees, but only one of the outcomes the model allows (Sometimes) was seen. */
  readonly partial: boolean;
  readonly reason: string;
  readonly systemWide: readonly string[];
  /** A workload with --compare: its figures beside cowherd sim's. */
  readonly workload?: WorkloadComparison;
}

export function kernelJson(rows: readonly KernelRow[], era: string, release: string): string {
  return `${JSON.stringify(
    {
      kernel: release,
      era,
      results: rows.map((r) => ({
        scenario: r.scenario,
        file: r.file,
        observed: r.observed,
        positive: r.pos,
        negative: r.neg,
        hung: r.hang,
        ...(r.undetermined ? { undetermined: r.undetermined } : {}),
        model: r.model,
        agree: r.agree,
        ...(r.partial ? { partial: true } : {}),
        ...(r.reason ? { reason: r.reason } : {}),
        ...(r.systemWide.length ? { systemWide: r.systemWide } : {}),
        ...(r.workload ? { workload: r.workload } : {}),
      })),
    },
    null,
    2,
  )}\n`;
}

/** Why an agreement is weaker than a match of every run. */
function agreeNote(r: KernelRow): string {
  const notes: string[] = [];
  const decided = r.pos + r.neg + r.hang;
  if (r.undetermined > 0) notes.push(`${r.undetermined} undetermined`);
  if (r.partial && decided > 0) notes.push('one outcome seen');
  return notes.length ? ` (${notes.join(', ')})` : '';
}

export function kernelText(rows: readonly KernelRow[], era: string, release: string): string {
  const w = Math.max(8, ...rows.map((r) => r.scenario.length));
  const compare = rows.some((r) => r.model !== null);
  const out = [`kernel ${release} (era ${era})`, ''];
  out.push(
    `${'scenario'.padEnd(w)}  ${'observed'.padEnd(10)}  ${'pos/neg/hang'.padEnd(13)}${compare ? `  ${'model'.padEnd(10)}  agree` : ''}`,
  );
  for (const r of rows) {
    const counts =
      r.observed === 'SKIP' || r.observed === 'ERROR' ? '' : `${r.pos}/${r.neg}/${r.hang}`;
    const agree = r.agree === null ? '' : r.agree ? `yes${agreeNote(r)}` : 'NO';
    out.push(
      `${r.scenario.padEnd(w)}  ${r.observed.padEnd(10)}  ${counts.padEnd(13)}${compare ? `  ${(r.model ?? '').padEnd(10)}  ${agree}` : ''}`.trimEnd(),
    );
  }
  const skipped = rows.filter((r) => r.observed === 'SKIP' || r.observed === 'ERROR');
  if (skipped.length) {
    out.push('', 'skipped:');
    for (const r of skipped)
      out.push(`  ${r.scenario}: ${r.observed === 'ERROR' ? 'probe error: ' : ''}${r.reason}`);
  }
  const wide = [...new Set(rows.flatMap((r) => r.systemWide))].sort();
  if (wide.length)
    out.push('', `system-wide observables (other processes count too): ${wide.join(', ')}`);
  const open = rows.filter((r) => r.undetermined > 0);
  if (open.length)
    out.push(
      'runs left undetermined: the condition holds or not depending on how much of a system-wide',
      'counter the scenario caused itself (it is only known to be at most what was read):',
      ...open.map((r) => `  ${r.scenario}: ${r.undetermined} run(s), ${r.systemWide.join(', ')}`),
    );
  const noisy = rows.filter((r) => r.agree === false && r.systemWide.length > 0);
  if (noisy.length)
    out.push(
      'disagreements that read a system-wide observable (check docs/fidelity.md before trusting them):',
      ...noisy.map((r) => `  ${r.scenario}: ${r.systemWide.join(', ')}`),
    );
  for (const r of rows) if (r.workload) out.push('', comparisonText(r.workload, era).trimEnd());
  const agreeN = rows.filter((r) => r.agree === true).length;
  const disagree = rows.filter((r) => r.agree === false).length;
  out.push(
    '',
    compare
      ? `${rows.length} scenario(s): ${agreeN} agree, ${disagree} disagree, ${skipped.length} skipped`
      : `${rows.length} scenario(s): ${rows.length - skipped.length} run, ${skipped.length} skipped`,
  );
  return `${out.join('\n')}\n`;
}
