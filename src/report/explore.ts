/** Text and JSON for `cowherd explore`. */

import type { ExploreResult, PathStep } from '../explore/explore.js';
import type { Scenario, Verdict } from '../scenario/ast.js';

function pathLines(sc: Scenario, path: readonly PathStep[]): string[] {
  return path.map(
    (s, i) =>
      `  #${i} ${s.thread}: ${s.stmt}${s.note ? `  => ${s.note}` : ''}  (${sc.file}:${s.pos.line}:${s.pos.col})`,
  );
}

export function exploreText(sc: Scenario, r: ExploreResult, expected: Verdict | null): string {
  const lines = [`scenario ${sc.name} on ${r.era}: every interleaving (one statement = one step)`];
  lines.push(`states ${r.states}, transitions ${r.transitions}, depth ${r.depth}`);
  if (r.kind === 'tool-bug') {
    lines.push('TOOL BUG: the model broke its own accounting (please report), after:');
    lines.push(...pathLines(sc, r.path));
    for (const v of r.violations) lines.push(`  ${v.code} ${v.detail}`);
    return `${lines.join('\n')}\n`;
  }
  const f = r.finals;
  lines.push(
    `distinct final states: ${f.holds} where the condition holds, ${f.fails} where it does not, ${f.hangs} hung`,
  );
  if (r.kind === 'limit') {
    lines.push('limit reached: no verdict (raise --max-states)');
    return `${lines.join('\n')}\n`;
  }
  const mark = expected !== null && expected !== r.verdict ? ` (* expected ${expected})` : '';
  lines.push(`${sc.quantifier} (…): ${r.verdict}${mark}`);
  if (r.witness) {
    lines.push(
      sc.quantifier === 'exists'
        ? 'shortest interleaving where the condition holds:'
        : 'shortest interleaving where the condition fails:',
    );
    lines.push(...pathLines(sc, r.witness));
  }
  return `${lines.join('\n')}\n`;
}

export function exploreJson(sc: Scenario, r: ExploreResult, expected: Verdict | null): string {
  const verdict = r.kind === 'done' ? r.verdict : r.kind;
  const trace = r.kind === 'done' ? r.witness : r.kind === 'tool-bug' ? r.path : null;
  return `${JSON.stringify(
    {
      scenario: sc.name,
      file: sc.file,
      era: r.era,
      verdict,
      expected,
      states: r.states,
      transitions: r.transitions,
      depth: r.depth,
      finals: r.kind === 'tool-bug' ? null : r.finals,
      trace,
      ...(r.kind === 'tool-bug' ? { violations: r.violations } : {}),
    },
    null,
    2,
  )}\n`;
}
