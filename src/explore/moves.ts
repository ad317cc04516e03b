/**
 * Moves: what takes one step of an exploration — a thread running its next
 * statement (with the picks it made at each nondeterministic choice inside
 * the kernel), or an environment actor acting. A path of moves replays
 * exactly, which is what replay tokens encode.
 */

import { reclaimCandidates, reclaimTake } from '../core/mm/vmscan.js';
import type { State } from '../core/mm_types.js';
import { cloneState } from '../core/mm_types.js';
import { HPAGE_PMD_SIZE } from '../core/pgtable_types.js';
import type { Config, DecisionRecord, Kernel } from '../core/points.js';
import type { EnvStep } from '../scenario/env.js';
import { envActorName, envStepKey, reclaimActionOf, stepEnv } from '../scenario/env.js';
import type { Machine } from '../scenario/machine.js';
import { NONE_BLOCKED, nextStmt, stepThread, withMember } from '../scenario/machine.js';
import { stmtText } from '../scenario/print.js';

export type Move =
  | { readonly kind: 'thread'; readonly index: number; readonly picks: readonly number[] }
  | { readonly kind: 'env'; readonly step: EnvStep };

/** A nondeterministic choice a kernel path made: what was open, and which option it took. */
export interface Choice {
  readonly what: string;
  readonly options: readonly string[];
  readonly pick: number;
}

export interface MoveResult {
  readonly kind: 'ok' | 'blocked';
  /** Thread name, or the actor's name. */
  readonly actor: string;
  readonly cpu: number;
  /** The statement, or the actor's kernel function. */
  readonly what: string;
  readonly note: string;
  readonly choices: readonly Choice[];
}

/**
 * A kernel whose choose() takes `picks` in order and the default (first
 * option) after them, recording every choice it was asked for.
 */
function choiceKernel(
  config: Config,
  cpu: number,
  picks: readonly number[],
  out: Choice[],
  log?: DecisionRecord[],
): Kernel {
  return {
    config,
    policy: config.policy,
    cpu,
    pending: null,
    userfault: null,
    forkDeferred: null,
    raceFolioLock(s: State, folio: number): boolean {
      if (!config.reclaimRaces || s.isolated.length > 0) return false;
      if (!reclaimCandidates(s).includes(folio)) return false;
      if (this.choose('reclaim races for the folio lock', ['no', 'yes'] as const) === 'no')
        return false;
      reclaimTake(s, folio);
      return true;
    },
    choose<T extends string>(what: string, options: readonly T[]): T {
      const pick = picks[out.length] ?? 0;
      const chosen = options[pick];
      if (chosen === undefined) throw new Error(`tool bug: choice ${what} has no option ${pick}`);
      out.push({ what, options, pick });
      return chosen;
    },
    decide: log ? (point, choice, why) => log.push({ point, choice, why }) : () => {},
  };
}

const ENV_WHAT = {
  lru_add_drain: 'lru_add_drain_cpu',
  reclaim: 'shrink_folio_list',
  ksmd: 'ksm_do_scan',
  khugepaged: 'khugepaged_do_scan',
  writeback: 'folio_end_writeback',
} as const;

/**
 * Apply one move to `m` in place. A thread that sleeps in the kernel leaves
 * the state as it was (the caller passes a machine whose state it may drop)
 * and is marked blocked; any other thread step wakes the sleepers.
 * Input errors (SC1xx) are thrown, as by the runner.
 */
export function applyMove(
  m: Machine,
  mv: Move,
  config: Config,
  opts: {
    readonly log?: DecisionRecord[];
    /** An untouched copy of m.s from before the move (the explorer has the parent's); cloned when absent. */
    readonly prior?: State;
  } = {},
): MoveResult {
  if (mv.kind === 'env') {
    const note = stepEnv(m, mv.step, choiceKernel(config, 0, [], [], opts.log));
    // Reclaim letting go of a folio may wake a thread asleep on its lock.
    if ((mv.step.actor === 'reclaim' && mv.step.action !== 'take') || mv.step.actor === 'writeback')
      m.blocked = NONE_BLOCKED;
    const what = ENV_WHAT[mv.step.actor];
    const cpu = mv.step.actor === 'lru_add_drain' ? mv.step.cpu : -1;
    return { kind: 'ok', actor: envActorName(mv.step), cpu, what, note, choices: [] };
  }
  const t = m.threads[mv.index]!;
  const st = nextStmt(m, t)!;
  const resumes = t.kpath !== null;
  const choices: Choice[] = [];
  const k = choiceKernel(config, t.cpu, mv.picks, choices, opts.log);
  const before = opts.prior ?? cloneState(m.s);
  const r = stepThread(m, mv.index, k);
  if (r.kind === 'error') throw r.error;
  if (r.kind === 'blocked') {
    m.s = before; // the sleeping attempt did not happen
    m.blocked = withMember(m.blocked, mv.index);
  } else {
    m.blocked = NONE_BLOCKED;
  }
  return {
    kind: r.kind,
    actor: t.name,
    cpu: m.threads[mv.index]!.cpu, // read again: the step wrote a copy of the thread (threadW())
    what: resumes ? `${stmtText(st)} (continued)` : stmtText(st),
    note: r.kind === 'blocked' ? `blocked: ${r.note}` : r.note,
    choices,
  };
}

/** The text of one move in a replay token: `2`, `2/1.0` (with picks), `d0`, `k3`, `h1.512`, `r12`, `u12`, `o12`, `w`. */
export function moveKey(mv: Move): string {
  if (mv.kind === 'env') return envStepKey(mv.step);
  return mv.picks.length === 0 ? String(mv.index) : `${mv.index}/${mv.picks.join('.')}`;
}

/** Parse one move of a replay token; null when it is not one. */
export function parseMove(text: string): Move | null {
  let g = /^(\d+)(?:\/(\d+(?:\.\d+)*))?$/.exec(text);
  if (g) {
    const picks = g[2] === undefined ? [] : g[2].split('.').map(Number);
    return { kind: 'thread', index: Number(g[1]), picks };
  }
  g = /^d(\d+)$/.exec(text);
  if (g) return { kind: 'env', step: { actor: 'lru_add_drain', cpu: Number(g[1]) } };
  g = /^k(\d+)$/.exec(text);
  if (g) return { kind: 'env', step: { actor: 'ksmd', index: Number(g[1]) } };
  g = /^h(\d+)\.(\d+)$/.exec(text);
  if (g)
    return {
      kind: 'env',
      step: { actor: 'khugepaged', mm: Number(g[1]), haddr: Number(g[2]) * HPAGE_PMD_SIZE },
    };
  if (text === 'w') return { kind: 'env', step: { actor: 'writeback' } };
  g = /^([ruo])(\d+)$/.exec(text);
  const action = g ? reclaimActionOf(g[1]!) : undefined;
  if (g && action) return { kind: 'env', step: { actor: 'reclaim', action, folio: Number(g[2]) } };
  return null;
}
