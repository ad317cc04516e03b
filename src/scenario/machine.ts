/**
 * A scenario being executed: the kernel state plus every thread's program
 * counter, CPU and stopped kernel path, the registers, signalled events,
 * mapping addresses, pipes, pins and the ghost state of the design
 * invariants. One step runs one statement of one thread (statements.ts);
 * which thread steps next is the caller's choice (the sequential runner, the
 * explorer); canStep() says who can.
 */

import { iput } from '../core/fs/inode.js';
import { do_group_exit } from '../core/kernel/exit.js';
import { spawnInit } from '../core/kernel/fork.js';
import { folio_end_writeback, foliosUnderWriteback } from '../core/mm/filemap.js';
import { gupRelease } from '../core/mm/gup.js';
import { lru_add_drain_cpu } from '../core/mm/swap.js';
import { reclaimOrphanedSwapCache } from '../core/mm/swap_state.js';
import { reclaimRelease, rmap_walk_end } from '../core/mm/vmscan.js';
import type { State, Task } from '../core/mm_types.js';
import { cloneState, newState, TASK_RUNNING } from '../core/mm_types.js';
import type { ForkPending, PtWalkPending, WpCopyPending } from '../core/points.js';
import type { Scenario, Stmt } from './ast.js';
import type { InputError } from './errors.js';
import { evalExpr } from './expr.js';
import { Ghost } from './ghost.js';

export { evalEnv, stepThread } from './statements.js';

import { evalEnv } from './statements.js';

export interface ThreadRt {
  readonly name: string;
  /** Index of the thread's declaration in scenario.threads. */
  readonly decl: number;
  readonly pid: number;
  readonly pc: number;
  /** The CPU the thread runs on (sched_setaffinity; a child inherits its parent's). */
  readonly cpu: number;
  /** Ran its last statement, exited, or was killed. */
  readonly done: boolean;
  /** A kernel path stopped at a lock boundary inside the current statement (explorer only). */
  readonly kpath: KernelPath | null;
  /**
   * The copy-on-write token of the one machine that may write this record
   * in place (Machine.cow): copies of a machine share their threads, and
   * threadW() copies one the first time a machine writes it.
   */
  readonly own: object;
}

/** A thread as its writer sees it (threadW()). */
export type ThreadW = { -readonly [K in keyof ThreadRt]: ThreadRt[K] };

/**
 * Thread `i` of `m`, writable: copied first unless `m` made it. The copy
 * replaces the shared record in `m.threads`: a reference taken before is the
 * other machines' thread.
 */
export function threadW(m: Machine, i: number): ThreadW {
  const t = m.threads[i];
  if (!t) throw new Error(`tool bug: no thread ${i}`);
  if (t.own === m.cow) return t as ThreadW;
  const w: ThreadW = {
    name: t.name,
    decl: t.decl,
    pid: t.pid,
    pc: t.pc,
    cpu: t.cpu,
    done: t.done,
    kpath: t.kpath,
    own: m.cow,
  };
  m.threads[i] = w;
  return w;
}

/**
 * Where a thread stopped inside a statement: the kernel path to continue,
 * and where the statement's own loop over pages resumes (the access of page
 * `page` is retried once the kernel path is done, as the CPU retries the
 * instruction after a fault).
 */
export interface KernelPath {
  readonly pending: WpCopyPending | ForkPending | UffdForkPending | PtWalkPending;
  readonly page: number;
  /** The value a `write` stores (evaluated once, when the statement started). */
  readonly value: number | undefined;
  readonly faults: number;
}

/**
 * A fork() whose child is complete, waiting in dup_userfaultfd_complete() →
 * userfaultfd_event_wait_completion() until a reader of the parent's context
 * has read its UFFD_EVENT_FORK message (fs/userfaultfd.c, v4.11 on; the
 * child has not run yet: copy_process() has not woken it). Immutable: a read
 * replaces it.
 */
export interface UffdForkPending {
  readonly kind: 'uffd_fork_event';
  /** The parent's context (the message's queue) and the child's (msg.arg.fork.ufd). */
  readonly ctx: number;
  readonly child_ctx: number;
  /** The child's pid. */
  readonly child: number;
  readonly read: boolean;
}

/** The thread whose fork() waits for its UFFD_EVENT_FORK message of context `ctx` to be read, if any. */
export function forkEventWaiter(m: Machine, ctx: number): ThreadRt | undefined {
  return m.threads.find(
    (t) =>
      t.kpath?.pending.kind === 'uffd_fork_event' &&
      t.kpath.pending.ctx === ctx &&
      !t.kpath.pending.read,
  );
}

/** Is a UFFD_EVENT_FORK message of context `ctx` waiting to be read (ctx->mmap_changing raised)? */
export function forkEventUnread(m: Machine, ctx: number): boolean {
  return forkEventWaiter(m, ctx) !== undefined;
}

/** Is thread `i` asleep in the kernel: its last attempt slept, its fork() waits for a reader, or it waits for reclaim's rmap walk? */
export function asleepInKernel(m: Machine, i: number): boolean {
  const t = m.threads[i]!;
  const p = t.kpath?.pending;
  if (m.blocked.has(i) || (p?.kind === 'uffd_fork_event' && !p.read)) return true;
  // Waiting for a lock reclaim's stopped rmap walk holds: reclaim goes on first.
  const st = p ? undefined : nextStmt(m, t);
  return st !== undefined && waitsForRmapWalk(m, t, st);
}

/** A userfault message queued for a thread asleep in handle_userfault(). */
export interface UserfaultMsg {
  readonly ctx: number;
  readonly address: number;
  readonly read: boolean;
}

/** `map` with key `k` set to `v`: a new table (the old one may be shared with other machines). */
export function withEntry<K, V>(map: ReadonlyMap<K, V>, k: K, v: V): ReadonlyMap<K, V> {
  return new Map(map).set(k, v);
}

/** `map` without key `k`: the same table when it has no such key. */
export function withoutEntry<K, V>(map: ReadonlyMap<K, V>, k: K): ReadonlyMap<K, V> {
  if (!map.has(k)) return map;
  const out = new Map(map);
  out.delete(k);
  return out;
}

/** `set` with member `x`: the same set when it has it. */
export function withMember<T>(set: ReadonlySet<T>, x: T): ReadonlySet<T> {
  return set.has(x) ? set : new Set(set).add(x);
}

/** The empty set machines share (nobody blocked). */
export const NONE_BLOCKED: ReadonlySet<number> = new Set();

export interface Mapping {
  readonly addr: number;
  readonly len: number;
}

/**
 * The machine's name tables are persistent: a copy shares them, and a writer
 * replaces the table it changes (withEntry(), withoutEntry(), withMember()),
 * which the Readonly types enforce. Statements change them seldom; every
 * explored transition copies a machine.
 */
export interface Machine {
  readonly sc: Scenario;
  s: State;
  threads: ThreadRt[];
  /** Copy-on-write token: a thread record whose `own` is this token may be written in place. */
  cow: object;
  regs: ReadonlyMap<string, number>;
  events: ReadonlySet<string>;
  maps: ReadonlyMap<string, Mapping>;
  pipes: ReadonlyMap<string, number>;
  /** Pinned pages by name: the ids of the GUP references the name holds. */
  pins: ReadonlyMap<string, readonly number[]>;
  /** Files by name: the inode, whose creator's reference the machine holds until teardown. */
  files: ReadonlyMap<string, number>;
  /** Threads whose last attempt slept in the kernel; they retry once another thread has run. */
  blocked: ReadonlySet<number>;
  /** userfaultfd contexts by name. */
  uffds: ReadonlyMap<string, number>;
  /**
   * The userfaultfd message queue: per thread asleep in handle_userfault(),
   * the context, the faulting address, and whether a handler has read it.
   * Kept here because a sleeping attempt leaves no trace in the kernel state.
   */
  userfaults: ReadonlyMap<number, UserfaultMsg>;
  /** What each process is entitled to see (the design invariants, ghost.ts). */
  ghost: Ghost;
  /**
   * Programs made one statement at a time, by thread declaration (`cowherd
   * sim` runs loops without expanding them); absent everywhere else.
   */
  lazy?: readonly LazyProgram[];
  /**
   * Checked every few thousand pages inside a long step (a write over
   * gigabytes): a budget's name ends the step with StepInterrupted. Not
   * state: copies share it.
   */
  interrupt?: () => string | null;
}

/** A thread's statements, instantiated on demand: `at(pc)` for pc at or just behind the furthest asked. */
export interface LazyProgram {
  at(pc: number): Stmt | undefined;
}

export type StepResult =
  | { readonly kind: 'ok'; readonly note: string }
  /** The statement slept in the kernel and did not happen: the caller rolls the state back. */
  | { readonly kind: 'blocked'; readonly note: string }
  | { readonly kind: 'error'; readonly error: InputError };

const _PAGE = 4096;

/** The initial machine: one process running the first thread (setup first). */
export function newMachine(sc: Scenario): Machine {
  const s = newState();
  const init = spawnInit(s);
  const cow = {};
  return {
    sc,
    s,
    cow,
    threads: [
      {
        name: sc.threads[0]!.name,
        decl: 0,
        pid: init.pid,
        pc: 0,
        cpu: 0,
        // A first thread with no statements (and no setup) has nothing to run.
        done: sc.setup.length === 0 && sc.threads[0]!.body.length === 0,
        kpath: null,
        own: cow,
      },
    ],
    regs: new Map(),
    events: new Set(),
    maps: new Map(),
    pipes: new Map(),
    pins: new Map(),
    files: new Map(),
    blocked: new Set(),
    uffds: new Map(),
    userfaults: new Map(),
    ghost: new Ghost(),
  };
}

export function cloneMachine(m: Machine): Machine {
  m.cow = {}; // the thread records are shared from here on: each side copies what it writes
  return {
    sc: m.sc,
    s: cloneState(m.s),
    threads: m.threads.slice(),
    cow: {},
    regs: m.regs,
    events: m.events,
    maps: m.maps,
    pipes: m.pipes,
    pins: m.pins,
    files: m.files,
    blocked: m.blocked,
    uffds: m.uffds,
    userfaults: m.userfaults,
    ghost: new Ghost(m.ghost),
    ...(m.lazy ? { lazy: m.lazy } : {}),
    ...(m.interrupt ? { interrupt: m.interrupt } : {}),
  };
}

/** Statement `pc` of thread declaration `decl`'s program (setup first for the first thread). */
export function stmtAt(m: Machine, decl: number, pc: number): Stmt | undefined {
  const lazy = m.lazy?.[decl];
  if (lazy) return lazy.at(pc);
  const d = m.sc.threads[decl]!;
  if (decl !== 0) return d.body[pc];
  return pc < m.sc.setup.length ? m.sc.setup[pc] : d.body[pc - m.sc.setup.length];
}

export function nextStmt(m: Machine, t: ThreadRt): Stmt | undefined {
  return t.done ? undefined : stmtAt(m, t.decl, t.pc);
}

export function task(m: Machine, t: ThreadRt): Task {
  return m.s.tasks[t.pid]!;
}

export function threadByName(m: Machine, name: string): ThreadRt | undefined {
  return m.threads.find((t) => t.name === name);
}

/**
 * Statements that take the mmap lock for writing (mmap, munmap, mprotect,
 * madvise changing VMA flags, fork): they wait while another thread of the
 * same mm is inside a fault, which holds it for reading.
 */
const MMAP_WRITE_LOCKED = new Set<Stmt['op']>(['mmap', 'munmap', 'mprotect', 'fork']);

function takesMmapWriteLock(st: Stmt): boolean {
  return (
    MMAP_WRITE_LOCKED.has(st.op) ||
    (st.op === 'madvise' &&
      (st.advice === 'dontfork' || st.advice === 'dofork' || st.advice === 'cleanup_pgtable'))
  );
}

/** Is another thread of `t`'s mm stopped inside a fault (holding the mmap lock for reading)? */
function mmapReadHeld(m: Machine, t: ThreadRt): boolean {
  const mm = task(m, t).mm;
  return m.threads.some((o) => {
    const p = o.kpath?.pending;
    return o !== t && (p?.kind === 'wp_page_copy' || p?.kind === 'pte_map') && p.mm === mm;
  });
}

/**
 * Does `st` wait for reclaim's stopped rmap walk (core/mm/vmscan.ts)? The
 * walk holds the anon_vma lock, which munmap and exit take to unlink the
 * VMAs it visits (unlink_anon_vmas()) before their tables go, and
 * MADV_CLEANUP_PGTABLE takes as the rmap lock; under pt-rwsem it holds each
 * visited mm's rwsem for read, which MADV_DONTNEED takes for writing.
 */
function waitsForRmapWalk(m: Machine, t: ThreadRt, st: Stmt): boolean {
  if (m.threads.some((o) => o !== t && waitsForPunch(m, t, st, o.kpath?.pending))) return true;
  const w = m.s.rmap_walk;
  if (!w) return false;
  const mm = task(m, t).mm;
  if (!w.tables.some((x) => x.mm === mm)) return false;
  if (st.op === 'munmap' || st.op === 'exit' || st.op === 'exec') return true;
  if (st.op !== 'madvise') return false;
  return st.advice === 'cleanup_pgtable' || (st.advice === 'dontneed' && w.rwsem);
}

/**
 * Does `st` wait for a hole punch stopped in its rmap walk (`p`, from
 * another thread; core/mm/shmem.ts)? The punch holds the file's inode lock,
 * which another punch of the file takes, and its i_mmap lock for reading,
 * which whatever links, splits or unlinks a VMA of the file takes for
 * writing (vma_prepare(), unlink_file_vma(), dup_mmap()): an mmap of the
 * file, a munmap, mremap, mprotect or madvise of one of its VMAs, fork,
 * exit and exec of an mm that maps it, and MADV_CLEANUP_PGTABLE (the rmap
 * locks) there.
 */
function waitsForPunch(
  m: Machine,
  t: ThreadRt,
  st: Stmt,
  p: KernelPath['pending'] | undefined,
): boolean {
  if (p?.kind !== 'unmap_mapping') return false;
  const mm = m.s.mms[task(m, t).mm];
  if (!mm) return false;
  if (st.op === 'mmap') return st.file !== null && m.files.get(st.file) === p.inode;
  const mapsFile = mm.vmas.some((v) => v.vm_file === p.inode);
  if (st.op === 'fork' || st.op === 'exit' || st.op === 'exec') return mapsFile;
  if (st.op === 'madvise' && st.advice === 'cleanup_pgtable') return mapsFile;
  if (st.op !== 'munmap' && st.op !== 'mremap' && st.op !== 'mprotect' && st.op !== 'madvise')
    return false;
  const at = m.maps.get(st.ref.map)?.addr;
  const vma = mm.vmas.find((v) => at !== undefined && v.vm_start <= at && at < v.vm_end);
  if (vma?.vm_file !== p.inode) return false;
  return (
    st.op !== 'madvise' ||
    st.advice === 'remove' ||
    st.advice === 'dontfork' ||
    st.advice === 'dofork'
  );
}

/**
 * Is a walker stopped holding the page-table rwsem for reading (pt-rwsem)
 * of `t`'s mm, or with `anyMm` of any mm: another thread's fault, or
 * reclaim's rmap walk? A zap, which takes it for writing, waits: MADV_DONTNEED
 * for its own mm, a hole punch for every mm mapping the file.
 */
function ptRwsemReadHeld(m: Machine, t: ThreadRt, anyMm = false): boolean {
  const mm = task(m, t).mm;
  const faults = m.threads.some((o) => {
    const p = o.kpath?.pending;
    return o !== t && p?.kind === 'pte_map' && p.rwsem && (anyMm || p.mm === mm);
  });
  return faults || (anyMm && m.s.rmap_walk?.rwsem === true);
}

/** Is another thread of `t`'s mm in the middle of a fork() (holding the mmap lock for writing)? */
function forkInProgress(m: Machine, t: ThreadRt): boolean {
  const mm = task(m, t).mm;
  return m.threads.some(
    (o) => o !== t && o.kpath?.pending.kind === 'fork_wrprotect' && o.kpath.pending.mm === mm,
  );
}

/**
 * What a thread may do while another thread of its process forks: GUP-fast
 * (lockless; it may fall back to the slow path and wait) and statements that
 * touch no memory. Everything else takes the mmap lock or may fault, and waits.
 */
function mayRunDuringFork(st: Stmt): boolean {
  return (
    (st.op === 'pin' && st.fast) ||
    st.op === 'signal' ||
    st.op === 'await' ||
    st.op === 'phase' ||
    st.op === 'sched_setaffinity'
  );
}

/** Can thread `i` take a step now (not done, not blocked)? */
export function canStep(m: Machine, i: number): boolean {
  const t = m.threads[i]!;
  const st = nextStmt(m, t);
  if (!st || m.blocked.has(i)) return false;
  if (t.kpath) return t.kpath.pending.kind !== 'uffd_fork_event' || t.kpath.pending.read;
  if (forkInProgress(m, t) && !mayRunDuringFork(st)) return false;
  if (takesMmapWriteLock(st) && mmapReadHeld(m, t)) return false;
  if (st.op === 'madvise' && st.advice === 'dontneed' && ptRwsemReadHeld(m, t)) return false;
  // A hole punch zaps every mm mapping the file (the rwsem of each, for writing).
  if (st.op === 'madvise' && st.advice === 'remove' && ptRwsemReadHeld(m, t, true)) return false;
  if (waitsForRmapWalk(m, t, st)) return false;
  switch (st.op) {
    case 'await':
      return m.events.has(st.event);
    case 'wait': {
      const target = threadByName(m, st.thread);
      return target?.done === true;
    }
    case 'pipe-read': {
      const p = m.s.pipes[m.pipes.get(st.pipe) ?? -1];
      return !p || p.bufs.length > 0 || p.writers === 0;
    }
    case 'uffd-read': {
      const ctx = m.uffds.get(st.uffd) ?? -1;
      return (
        [...m.userfaults.values()].some((u) => u.ctx === ctx && !u.read) || forkEventUnread(m, ctx)
      );
    }
    default:
      return true;
  }
}

/** References kernel paths stopped at lock boundaries hold, per folio (for the accounting invariants). */
export function machineRefs(m: Machine): Map<number, number> {
  const out = new Map<number, number>();
  for (const t of m.threads) {
    const p = t.kpath?.pending;
    const f = p?.kind === 'wp_page_copy' ? p.folio : 0;
    if (f !== 0) out.set(f, (out.get(f) ?? 0) + 1);
  }
  return out;
}

/** Evaluate the scenario's condition on the machine's current state. */
export function conditionHolds(m: Machine): boolean {
  return evalExpr(evalEnv(m, null), m.sc.condition) !== 0;
}

/** After the condition: pins are released and every process still alive exits, so that leaks show. */
export function teardown(m: Machine): void {
  for (const ids of m.pins.values()) for (const id of ids) gupRelease(m.s, id);
  m.pins = new Map();
  for (const inode of m.files.values()) iput(m.s, inode);
  m.files = new Map();
  for (const t of m.s.tasks) if (t && t.state === TASK_RUNNING) do_group_exit(m.s, t, 0);
  for (let i = 0; i < m.threads.length; i++) threadW(m, i).done = true;
  rmap_walk_end(m.s, false); // a stopped rmap walk is abandoned with its folio
  for (const folio of m.s.isolated.slice()) reclaimRelease(m.s, folio);
  // The swap device finishes every write it started.
  for (const folio of foliosUnderWriteback(m.s)) folio_end_writeback(m.s, folio);
  // Every CPU drains its LRU batch sooner or later (lru_add_drain_all()): a folio only a batch held is freed.
  for (let cpu = 0; cpu < m.s.lru_batch.length; cpu++) lru_add_drain_cpu(m.s, cpu);
  // Reclaim drops swap-cache folios no swap entry refers to any more (clean cache, not a leak).
  reclaimOrphanedSwapCache(m.s);
}

/** A long step ended early because a budget (Machine.interrupt) ran out; the step did not finish. */
export class StepInterrupted extends Error {
  override readonly name = 'StepInterrupted';
  constructor(readonly budget: string) {
    super(`the ${budget} budget ran out inside a step`);
  }
}
