/**
 * One state's successors, shared by the sequential explorer and its workers:
 * the moves every runnable thread can make (once per combination of the
 * kernel's choices), the environment actors' steps, the partial-order
 * reduction, and what a final machine is. Also the machine fingerprint.
 */

import { checkInvariants, type Violation } from '../core/invariants.js';
import { ptPromiseBroken } from '../core/mm/pt_walk.js';
import type { Config } from '../core/points.js';
import { actorsPossible, envSteps } from '../scenario/env.js';
import { InputError } from '../scenario/errors.js';
import { type Finding, ghostFindings } from '../scenario/ghost.js';
import type { Machine } from '../scenario/machine.js';
import {
  asleepInKernel,
  canStep,
  cloneMachine,
  conditionHolds,
  nextStmt,
  StepInterrupted,
  teardown,
} from '../scenario/machine.js';
import { stmtText } from '../scenario/print.js';
import type { PathStep } from './explore.js';
import { independentAccess } from './independence.js';
import { localMove } from './local-move.js';

export { machineKey, machineLanes, renamedKey, renamedLanes } from './machine-key.js';

import type { Choice, Move } from './moves.js';
import { applyMove } from './moves.js';
/**
 * The design invariants broken in machine `m` (scenario/ghost.ts), with the
 * page-table design's promised frees once every thread is done (PT003).
 */
export function machineFindings(m: Machine, config: Config): Finding[] {
  const out = ghostFindings(m.s, m.ghost);
  if (m.threads.every((t) => t.done)) {
    const broken = ptPromiseBroken(m.s, config);
    if (broken) out.push({ code: 'PT003', detail: broken });
  }
  return out;
}

/** Every move thread `i` can make: one per combination of the kernel's choices. */
function threadSuccessors(
  i: number,
  run: (mv: Move) => { m: Machine; choices: readonly Choice[] },
): void {
  const pending: number[][] = [[]];
  while (pending.length > 0) {
    const picks = pending.pop()!;
    const { choices } = run({ kind: 'thread', index: i, picks });
    for (let j = picks.length; j < choices.length; j++) {
      const prefix = choices.slice(0, j).map((c) => c.pick);
      for (let o = 1; o < choices[j]!.options.length; o++) pending.push([...prefix, o]);
    }
  }
}

/** Take move `mv` from `node` (left untouched) into a new machine, with the step as a path shows it. */
function stepFrom(node: Machine, mv: Move, config: Config): Successor {
  const m = cloneMachine(node);
  // The parent's state is never mutated again: it is the prior state of a step that sleeps.
  const r = applyMove(m, mv, config, { prior: node.s });
  const st = mv.kind === 'thread' ? nextStmt(node, node.threads[mv.index]!)! : null;
  const step: PathStep = {
    thread: r.actor,
    cpu: r.cpu,
    stmt: r.what,
    pos: st ? st.pos : null,
    note: r.note,
    choices: r.choices,
    move: mv.kind === 'thread' ? { ...mv, picks: r.choices.map((c) => c.pick) } : mv,
  };
  return { m, step };
}

/** The machine after move `mv` from `node` (left untouched): how a resumed search rebuilds its queue. */
export function machineAfter(node: Machine, mv: Move, config: Config): Machine {
  return stepFrom(node, mv, config).m;
}

/** The steps of a path of moves from the initial machine `root`, as the search reported them. */
export function stepsOf(root: Machine, moves: readonly Move[], config: Config): PathStep[] {
  let m = root;
  return moves.map((mv) => {
    const next = stepFrom(m, mv, config);
    m = next.m;
    return next.step;
  });
}

/** A successor: the machine and the step that reached it. */
export interface Successor {
  readonly m: Machine;
  readonly step: PathStep;
}

/** What a final machine (no thread can step) is. */
export type Final =
  | {
      readonly kind: 'finished';
      readonly holds: boolean;
      readonly violations: readonly Violation[];
    }
  | { readonly kind: 'hung' };

/**
 * The successors of `node`, or, when no thread can step, what kind of final
 * machine it is (actors do not keep a machine from being final). Throws
 * InputError SC102 when the scenario's own awaits deadlock. With `por`,
 * local moves are taken alone (local-move.ts); with `independence` too,
 * independent accesses (independence.ts: pass it only where the symmetry
 * over PFN allocation order is applied).
 */
export function expand(
  node: Machine,
  config: Config,
  por: boolean,
  independence = false,
): { readonly succs: Successor[]; readonly final: Final | null } {
  const succs: Successor[] = [];
  const run = (mv: Move): { m: Machine; choices: readonly Choice[] } => {
    // A node can have tens of thousands of successors (reclaim may take any
    // folio): the budgets are read while they are made, not only after.
    if ((succs.length & 63) === 63 && node.interrupt) {
      const budget = node.interrupt();
      if (budget !== null) throw new StepInterrupted(budget);
    }
    const { m, step } = stepFrom(node, mv, config);
    succs.push({ m, step });
    return { m, choices: step.choices };
  };
  const actors = por && actorsPossible(node);
  let alone = por ? localMove(node, actors) : -1;
  // Accesses to private pages commute up to the PFNs allocations take (independence.ts).
  if (alone < 0 && por && independence) alone = independentAccess(node, actors);
  if (alone >= 0) {
    threadSuccessors(alone, run);
    return { succs, final: null };
  }
  let stepped = false;
  for (let i = 0; i < node.threads.length; i++) {
    if (!canStep(node, i)) continue;
    stepped = true;
    threadSuccessors(i, run);
  }
  if (stepped) {
    for (const e of envSteps(node)) run({ kind: 'env', step: e });
    return { succs, final: null };
  }
  if (node.threads.every((t) => t.done)) {
    const holds = conditionHolds(node);
    const end = cloneMachine(node);
    teardown(end);
    return { succs, final: { kind: 'finished', holds, violations: checkInvariants(end.s) } };
  }
  if (node.threads.some((_, i) => asleepInKernel(node, i))) {
    // A sleeper may be waiting for an actor (reclaim holding the folio lock it needs).
    const env = envSteps(node);
    if (env.length === 0) return { succs, final: { kind: 'hung' } };
    for (const e of env) run({ kind: 'env', step: e });
    return { succs, final: null };
  }
  const stuck = node.threads.filter((t) => !t.done);
  const st = nextStmt(node, stuck[0]!)!;
  throw new InputError(
    'SC102',
    `deadlock in an interleaving: ${stuck.map((t) => `${t.name} waits at '${stmtText(nextStmt(node, t)!)}'`).join(', ')}`,
    node.sc.file,
    st.pos,
  );
}
