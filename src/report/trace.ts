/** `cowherd run`: the step-by-step trace of one sequential run, with what each step changed. */

import type { Scenario } from '../scenario/ast.js';
import type { StateDiff } from '../scenario/diff.js';
import type { RunOutcome } from '../scenario/run.js';

const hex = (n: number) => `0x${n.toString(16)}`;

function limited<T>(
  items: readonly T[],
  max: number,
  what: string,
  fmt: (x: T) => string,
): string[] {
  const out = items.slice(0, max).map(fmt);
  if (items.length > max) out.push(`... and ${items.length - max} more ${what} (--full shows all)`);
  return out;
}

export function changeLines(d: StateDiff, max: number): string[] {
  return [
    ...limited(
      d.tables,
      max,
      'tables',
      (t) => `table  mm${t.mm} ${t.level} table for ${hex(t.base)}: ${t.change}`,
    ),
    ...limited(
      d.ptes,
      max,
      'PTEs',
      (p) => `pte    mm${p.mm} ${hex(p.addr)}: ${p.before} -> ${p.after}`,
    ),
    ...limited(d.folios, max, 'pages', (f) => `page   pfn ${f.pfn}: ${f.before} -> ${f.after}`),
    ...limited(d.vmas, max, 'VMA lists', (v) => `vmas   mm${v.mm}: ${v.after || '(none)'}`),
    ...(d.counters.length
      ? [
          `vmstat ${d.counters.map((c) => `${c.name} ${c.delta > 0 ? '+' : ''}${c.delta}`).join(', ')}`,
        ]
      : []),
  ];
}

export function traceText(sc: Scenario, r: RunOutcome & { era: string }, max: number): string {
  const lines = [`scenario ${sc.name} on ${r.era}${sc.doc ? `: ${sc.doc}` : ''}`, ''];
  for (const st of r.steps) {
    const where = st.thread === '-' ? '' : `  (${sc.file}:${st.pos.line}:${st.pos.col})`;
    lines.push(
      `#${st.index} ${st.thread === '-' ? '' : `${st.thread} [pid ${st.pid}] `}${st.stmt}${st.note ? `  => ${st.note}` : ''}${where}`,
    );
    for (const d of st.decisions) lines.push(`   decide ${d.point}: ${d.choice} (${d.why})`);
    if (st.changes) for (const l of changeLines(st.changes, max)) lines.push(`   ${l}`);
  }
  lines.push('');
  if (r.kind === 'tool-bug') {
    lines.push(`TOOL BUG at step #${r.step}: the model broke its own accounting (please report):`);
    for (const v of r.violations) lines.push(`  ${v.code} ${v.detail}`);
  } else {
    const regs = [...r.regs].map(([k, v]) => `${k}=${v}`).join(' ');
    lines.push(`registers: ${regs || '(none)'}`);
    if (r.hung)
      lines.push(
        `no final state, the condition is not evaluated: ${r.hung.join('; ')}: ${r.verdict}`,
      );
    else
      lines.push(`${sc.quantifier} condition ${r.holds ? 'holds' : 'does not hold'}: ${r.verdict}`);
  }
  return `${lines.join('\n')}\n`;
}

export function traceJson(sc: Scenario, r: RunOutcome & { era: string }): string {
  const { final: _final, ...rest } = r as RunOutcome & { era: string; final?: unknown };
  return `${JSON.stringify({ scenario: sc.name, file: sc.file, ...rest }, (_k, v) => (v instanceof Map ? Object.fromEntries(v) : v), 2)}\n`;
}
