/**
 * Traces of explored paths: the readable form (step, thread, CPU, what ran,
 * the decisions and choices made, what changed) and the JSON form documented
 * in docs/trace-format.md (ITF-like: a list of states, each with the action
 * that produced it).
 */

import type { ReplayOutcome, ReplayStep } from '../explore/replay.js';
import type { Scenario } from '../scenario/ast.js';
import { changeLines } from './trace.js';

function stepHead(sc: Scenario, st: ReplayStep): string {
  const who =
    st.pid > 0 ? `${st.thread} [pid ${st.pid}, cpu ${st.cpu}]` : `${st.thread} (environment)`;
  const where = st.pos ? `  (${sc.file}:${st.pos.line}:${st.pos.col})` : '';
  return `#${st.index} ${who} ${st.stmt}${st.note ? `  => ${st.note}` : ''}${where}`;
}

/** The readable trace of a replayed path, `max` changes per kind per step. */
export function replayLines(sc: Scenario, r: ReplayOutcome, max: number): string[] {
  const lines: string[] = [];
  let broken = new Set<string>();
  for (const st of r.steps) {
    lines.push(stepHead(sc, st));
    for (const c of st.choices)
      lines.push(`   choose ${c.what}: ${c.options[c.pick]} (of ${c.options.join(', ')})`);
    for (const d of st.decisions) lines.push(`   decide ${d.point}: ${d.choice} (${d.why})`);
    for (const l of changeLines(st.changes, max)) lines.push(`   ${l}`);
    const now = new Set(st.findings.map((f) => `${f.code} ${f.detail}`));
    for (const f of now) if (!broken.has(f)) lines.push(`   ! ${f}`);
    broken = now;
  }
  return lines;
}

/** How a replayed path ends, in one line. */
export function replayEnd(sc: Scenario, r: ReplayOutcome): string {
  if (r.violations.length > 0)
    return `TOOL BUG: the model broke its own accounting (please report): ${r.violations.map((v) => `${v.code} ${v.detail}`).join('; ')}`;
  if (r.end === 'hung') return 'every thread left is asleep in the kernel: Hang';
  if (r.end === 'stopped') return 'the path ends here (threads could still run)';
  return `${sc.quantifier} condition ${r.holds ? 'holds' : 'does not hold'} on this path`;
}

/** The ITF-like JSON trace (docs/trace-format.md). */
export function traceDoc(sc: Scenario, r: ReplayOutcome, token: string): unknown {
  return {
    '#meta': {
      format: 'cowherd-trace',
      version: 1,
      scenario: sc.name,
      file: sc.file,
      era: r.era,
      replay: token,
    },
    vars: ['action', 'threads', 'regs', 'events', 'changes', 'findings'],
    states: [
      {
        '#meta': { index: 0 },
        action: null,
        threads: r.initial,
        regs: {},
        events: [],
        changes: null,
        findings: [],
      },
      ...r.steps.map((st) => ({
        '#meta': { index: st.index + 1 },
        action: {
          actor: st.thread,
          pid: st.pid,
          cpu: st.cpu,
          stmt: st.stmt,
          pos: st.pos,
          note: st.note,
          choices: st.choices.map((c) => ({ what: c.what, options: c.options, pick: c.pick })),
          decisions: st.decisions,
        },
        threads: st.threads,
        regs: st.regs,
        events: st.events,
        changes: st.changes,
        findings: st.findings,
      })),
    ],
    end: r.end,
    holds: r.holds,
    violations: r.violations,
  };
}
