/**
 * The partial-order reduction's first kind of persistent set: a thread's
 * next statement that touches only the thread itself and the scenario's
 * events, taken alone (independence.ts is the second kind).
 *
 * A statement is *local* when it touches nothing any other move reads or
 * writes: `sched_setaffinity` (the thread's own CPU), `signal` (events are
 * only ever added), an `await` whose event is set and `phase`. Such a move
 * commutes with every other move, so every final machine reachable from a
 * state is reachable through that move first: the explorer takes it alone
 * (a final machine has no thread move enabled, so any path to one contains
 * the local move, which can be moved to the front).
 *
 * Unless another move disables it. A thread dies with its thread group:
 * when another thread of the group exits, execs or is killed by a fault
 * (SIGSEGV after an mprotect, SIGBUS, the OOM kill), the local move never
 * runs. The dead thread keeps the CPU and statement it had, and a `signal`
 * it never sent can leave another process hung in `await` (the explorer
 * once reported no deadlock for such a program: test/explore/local-move.test.ts).
 * So a local move is taken alone only while no other thread of its group,
 * nor a thread one of them will spawn, has a statement left that can end
 * the group: a `read` or `write` (or a fault of one that stopped), `exit`
 * or `exec`.
 *
 * With environment actors, a final machine does not expand them, so moving
 * a local move ahead could finish the last thread before an actor step that
 * came after the other threads' moves (a property test,
 * test/props/explore.test.ts, found final states lost that way when the
 * reduction was off for actors). A local move that is not its thread's last
 * statement cannot finish its thread, so the last thread move of every path
 * stays where it was and every actor step keeps its side of it: with
 * actors, only such moves are taken alone.
 */

import type { Machine } from '../scenario/machine.js';
import { canStep, nextStmt, stmtAt, task } from '../scenario/machine.js';

/** Statements that touch only their own thread and the scenario's events. */
export const LOCAL_OPS: ReadonlySet<string> = new Set([
  'sched_setaffinity',
  'signal',
  'await',
  'phase',
]);

/** Statements that can end the thread group of the thread that runs them (statements.ts access(), exit, exec). */
const GROUP_ENDING_OPS: ReadonlySet<string> = new Set(['read', 'write', 'exit', 'exec']);

/** May declaration `decl` from `pc` on, or a thread it spawns, end its thread group? */
function programMayEndGroup(m: Machine, decl: number, pc: number, seen: Set<number>): boolean {
  for (let st = stmtAt(m, decl, pc); st !== undefined; st = stmtAt(m, decl, ++pc)) {
    if (GROUP_ENDING_OPS.has(st.op)) return true;
    if (st.op !== 'spawn') continue;
    const child = m.sc.threads.findIndex((d) => d.name === st.thread);
    if (child < 0) return true;
    if (seen.has(child)) continue;
    seen.add(child);
    if (programMayEndGroup(m, child, 0, seen)) return true;
  }
  return false;
}

/** May a thread of thread `i`'s group other than `i` end the group before thread `i` moves? */
function groupMayEnd(m: Machine, i: number): boolean {
  const tgid = task(m, m.threads[i]!).tgid;
  for (let j = 0; j < m.threads.length; j++) {
    const u = m.threads[j]!;
    if (j === i || u.done || task(m, u).tgid !== tgid) continue;
    if (u.kpath !== null || programMayEndGroup(m, u.decl, u.pc, new Set())) return true;
  }
  return false;
}

/** The index of a thread whose next move is local and taken alone (the module comment), or -1. */
export function localMove(m: Machine, actors: boolean): number {
  for (let i = 0; i < m.threads.length; i++) {
    if (!canStep(m, i)) continue;
    const t = m.threads[i]!;
    if (!LOCAL_OPS.has(nextStmt(m, t)!.op)) continue;
    if (actors && stmtAt(m, t.decl, t.pc + 1) === undefined) continue;
    if (groupMayEnd(m, i)) continue;
    return i;
  }
  return -1;
}
