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
 * when another thread of the group exits, execs or is killed by a fault,
 * the local move never runs. The dead thread keeps the CPU and statement it
 * had, and a `signal` it never sent can leave another process hung in
 * `await` (the explorer once reported no deadlock for such a program:
 * test/explore/local-move.test.ts). So a local move is taken alone only
 * while no other thread of its group, nor a thread one of them will spawn,
 * can end the group before it: none has `exit` or `exec` left, and each
 * `read` or `write` left (or a fault of one that stopped) can only succeed.
 * An access ends its group only in the VMA checks of the fault
 * (arch/x86/mm/fault.ts userAccess(): no VMA, or no permission: SIGSEGV;
 * the model's handle_mm_fault() fails with no signal), so an access is
 * safe when every page it touches has a VMA with the permission now and no
 * thread but the one moving has a statement left that can change VMAs or
 * rebind a mapping's name (mmap, munmap, mprotect, mremap).
 *
 * A `spawn` is local too, with one more condition. A thread shares its
 * process's mm (mm_users, which only exit reads) and takes the next pid
 * and the next place in the thread list; no fault reads either. Two
 * creations in two orders give the pids and places the other way round,
 * and a fork while a thread shares the mm is split where GUP-fast can race
 * with it (statements.ts), so a spawn is taken alone only while no other
 * thread, of any process, has a `fork` or `spawn` left or a fork stopped.
 * Spawns then run before the threads' accesses interleave, in the one
 * order the parent gives them.
 *
 * A thread's last statement also ends the thread, and a fork is split for
 * GUP-fast only while another thread shares the mm (statements.ts): a
 * thread's last local statement is not taken alone while another thread
 * of its group may fork.
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

import { vma_lookup } from '../core/mm/vma.js';
import type { Mm } from '../core/mm_types.js';
import { VM_EXEC, VM_READ, VM_WRITE } from '../core/mm_types.js';
import { PAGE_SIZE as PAGE } from '../core/pgtable_types.js';
import type { Stmt } from '../scenario/ast.js';
import type { Machine } from '../scenario/machine.js';
import { canStep, nextStmt, stmtAt, task } from '../scenario/machine.js';

/** Statements that touch only their own thread and the scenario's events. */
export const LOCAL_OPS: ReadonlySet<string> = new Set([
  'sched_setaffinity',
  'signal',
  'await',
  'phase',
]);

/** Statements that end the thread group of the thread that runs them. */
const GROUP_ENDING_OPS: ReadonlySet<string> = new Set(['exit', 'exec']);

/** Statements that change VMAs or what a mapping's name stands for. */
const VMA_OPS: ReadonlySet<string> = new Set(['mmap', 'munmap', 'mprotect', 'mremap']);

/** Statements that create a task. */
const CREATING_OPS: ReadonlySet<string> = new Set(['fork', 'spawn']);

/** At most this many pages of one access are checked; a larger access may end its group. */
const MAX_PAGES = 4096;

/** Call `visit` on the statements of declaration `decl` from `pc` on and of the threads they spawn, until it returns true. */
function anyStmt(
  m: Machine,
  decl: number,
  pc: number,
  visit: (st: Stmt) => boolean,
  seen = new Set<number>(),
): boolean {
  for (let st = stmtAt(m, decl, pc); st !== undefined; st = stmtAt(m, decl, ++pc)) {
    if (visit(st)) return true;
    if (st.op !== 'spawn') continue;
    const child = m.sc.threads.findIndex((d) => d.name === st.thread);
    if (child < 0) return true;
    if (seen.has(child)) continue;
    seen.add(child);
    if (anyStmt(m, child, 0, visit, seen)) return true;
  }
  return false;
}

/** May access `st` by a thread of `mm` fail the VMA checks as the VMAs are now? */
function accessMayFail(m: Machine, mm: Mm, st: Stmt & { op: 'read' | 'write' }): boolean {
  const map = m.maps.get(st.ref.map);
  if (!map) return true;
  const to = st.ref.to === -1 ? map.len / PAGE : st.ref.to;
  if ((to - st.ref.from) / st.ref.step > MAX_PAGES) return true;
  for (let p = st.ref.from; p < to; p += st.ref.step) {
    const vma = vma_lookup(mm, map.addr + p * PAGE);
    if (!vma) return true;
    const need = st.op === 'write' ? VM_WRITE : VM_READ | VM_WRITE | VM_EXEC;
    if ((vma.vm_flags & need) === 0) return true;
  }
  return false;
}

/** May a thread of thread `i`'s group other than `i` end the group before thread `i` moves? */
function groupMayEnd(m: Machine, i: number): boolean {
  const me = task(m, m.threads[i]!);
  const mm = m.s.mms[me.mm];
  if (!mm) return true;
  const accesses: (Stmt & { op: 'read' | 'write' })[] = [];
  const collect = (st: Stmt): boolean => {
    if (GROUP_ENDING_OPS.has(st.op)) return true;
    if (st.op === 'read' || st.op === 'write') accesses.push(st);
    return false;
  };
  for (let j = 0; j < m.threads.length; j++) {
    const u = m.threads[j]!;
    if (j === i || u.done || task(m, u).tgid !== me.tgid) continue;
    const p = u.kpath?.pending.kind;
    if (p !== undefined && p !== 'wp_page_copy' && p !== 'pte_map') return true;
    if (anyStmt(m, u.decl, u.pc, collect)) return true;
  }
  if (accesses.length === 0) return false;
  for (let j = 0; j < m.threads.length; j++) {
    const u = m.threads[j]!;
    if (j !== i && !u.done && anyStmt(m, u.decl, u.pc, (st) => VMA_OPS.has(st.op))) return true;
  }
  return accesses.some((st) => accessMayFail(m, mm, st));
}

/** May a thread other than `i` create a task (or finish a fork it began) before thread `i` moves? */
export function othersMayCreate(m: Machine, i: number): boolean {
  for (let j = 0; j < m.threads.length; j++) {
    const u = m.threads[j]!;
    if (j === i || u.done) continue;
    const p = u.kpath?.pending.kind;
    if (p === 'fork_wrprotect' || p === 'uffd_fork_event') return true;
    if (anyStmt(m, u.decl, u.pc, (st) => CREATING_OPS.has(st.op))) return true;
  }
  return false;
}

/** May a thread of thread `i`'s group other than `i` fork (or be inside a fork)? */
function groupMayFork(m: Machine, i: number): boolean {
  const tgid = task(m, m.threads[i]!).tgid;
  for (let j = 0; j < m.threads.length; j++) {
    const u = m.threads[j]!;
    if (j === i || u.done || task(m, u).tgid !== tgid) continue;
    if (u.kpath?.pending.kind === 'fork_wrprotect') return true;
    if (anyStmt(m, u.decl, u.pc, (st) => st.op === 'fork')) return true;
  }
  return false;
}

/** The index of a thread whose next move is local and taken alone (the module comment), or -1. */
export function localMove(m: Machine, actors: boolean): number {
  for (let i = 0; i < m.threads.length; i++) {
    if (!canStep(m, i)) continue;
    const t = m.threads[i]!;
    const op = nextStmt(m, t)!.op;
    if (!LOCAL_OPS.has(op) && op !== 'spawn') continue;
    const last = stmtAt(m, t.decl, t.pc + 1) === undefined;
    if (actors && last) continue;
    // A thread's last statement ends it, and a fork of its mm is split only while another thread lives.
    if (last && groupMayFork(m, i)) continue;
    if (groupMayEnd(m, i)) continue;
    if (op === 'spawn' && othersMayCreate(m, i)) continue;
    return i;
  }
  return -1;
}
