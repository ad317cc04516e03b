/**
 * What one step of a thread does: the semantics of every scenario statement
 * in terms of the kernel model (system calls, user accesses, GUP users), and
 * the continuation of a kernel path stopped at a lock boundary.
 */

import { userAccess } from '../core/arch/x86/mm/fault.js';
import { EAGAIN, ERESTARTSYS, ESRCH, errnoName } from '../core/errno.js';
import { do_execve } from '../core/fs/exec.js';
import { new_inode } from '../core/fs/inode.js';
import { do_pipe2, pipe_read, pipe_write, vmsplice_to_pipe } from '../core/fs/pipe.js';
import { clear_refs_write } from '../core/fs/proc/task_mmu.js';
import {
  uffdCtxOf,
  userfaultfd,
  userfaultfd_register,
  userfaultfd_writeprotect,
} from '../core/fs/userfaultfd.js';
import { do_group_exit, release_task } from '../core/kernel/exit.js';
import { copy_process, fork_wrprotect_finish } from '../core/kernel/fork.js';
import { PR_GET_MEMORY_MERGE, PR_SET_MEMORY_MERGE, prctl } from '../core/kernel/sys.js';
import { folio_end_writeback, foliosUnderWriteback } from '../core/mm/filemap.js';
import {
  __get_user_pages,
  FOLL_FORCE,
  FOLL_GET,
  FOLL_LONGTERM,
  FOLL_PIN,
  FOLL_WRITE,
  get_user_pages_fast,
  gup_fast_resume,
  gupHold,
  gupRelease,
} from '../core/mm/gup.js';
import { ksm_do_scan, MADV_MERGEABLE, MADV_UNMERGEABLE } from '../core/mm/ksm.js';
import {
  do_madvise,
  MADV_CLEANUP_PGTABLE,
  MADV_COLLAPSE,
  MADV_DOFORK,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MADV_PAGEOUT,
  MADV_REMOVE,
} from '../core/mm/madvise.js';
import { do_pte_missing_resume } from '../core/mm/memory/fault.js';
import { wp_page_copy_abort, wp_page_copy_resume } from '../core/mm/memory/wp.js';
import {
  do_mmap,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  vm_munmap,
} from '../core/mm/mmap.js';
import { pt_walker_exit } from '../core/mm/mmu_gather.js';
import { do_mprotect_pkey } from '../core/mm/mprotect.js';
import { mremap_fixed } from '../core/mm/mremap.js';
import { pte_offset_map_end } from '../core/mm/pgtable-generic.js';
import {
  memfd_create,
  shmem_punch_hole_abandon,
  shmem_punch_hole_resume,
} from '../core/mm/shmem.js';
import { lru_add_drain_all } from '../core/mm/swap.js';
import { contentW, EXIT_DEAD, mmOf, TASK_RUNNING } from '../core/mm_types.js';
import type { ForkPending, Kernel } from '../core/points.js';
import type { Prot, Ref, Stmt } from './ast.js';
import { InputError } from './errors.js';
import type { EvalEnv } from './expr.js';
import { evalExpr } from './expr.js';
import { ghostKey, isPrivate } from './ghost.js';

import type {
  KernelPath,
  Machine,
  Mapping,
  StepResult,
  ThreadRt,
  ThreadW,
  UffdForkPending,
} from './machine.js';
import {
  forkEventUnread,
  forkEventWaiter,
  nextStmt,
  StepInterrupted,
  stmtAt,
  task,
  threadByName,
  threadW,
  withEntry,
  withMember,
  withoutEntry,
} from './machine.js';

const PAGE = 4096;

export function evalEnv(m: Machine, current: string | null): EvalEnv {
  return {
    s: m.s,
    regs: m.regs,
    current,
    pidOf: (name) => threadByName(m, name)?.pid ?? 0,
    addrOf: (name, page) => (m.maps.get(name)?.addr ?? 0) + page * PAGE,
    pinPage: (name) => {
      const id = m.pins.get(name)?.[0];
      return id === undefined ? 0 : (m.s.gup[id]?.page ?? 0);
    },
  };
}

function protBits(p: Prot): number {
  return (p.includes('r') ? 1 : 0) | (p.includes('w') ? 2 : 0) | (p.includes('x') ? 4 : 0);
}

const ADVICE = {
  dontneed: MADV_DONTNEED,
  dontfork: MADV_DONTFORK,
  dofork: MADV_DOFORK,
  pageout: MADV_PAGEOUT,
  mergeable: MADV_MERGEABLE,
  unmergeable: MADV_UNMERGEABLE,
  hugepage: MADV_HUGEPAGE,
  nohugepage: MADV_NOHUGEPAGE,
  collapse: MADV_COLLAPSE,
  cleanup_pgtable: MADV_CLEANUP_PGTABLE,
  remove: MADV_REMOVE,
} as const;

/** Pages [from, to) every `step` of a reference, as addresses. */
/**
 * The pages of a reference as an arithmetic sequence (first address, stride,
 * count): a write over a 1 GiB mapping makes no array of 262,144 addresses.
 */
function refPages(
  m: Machine,
  ref: Ref,
  st: Stmt,
): { readonly first: number; readonly stride: number; readonly length: number } {
  const map = mappingOf(m, ref.map, st);
  const to = ref.to === -1 ? map.len / PAGE : ref.to;
  const length = to > ref.from ? Math.ceil((to - ref.from) / ref.step) : 0;
  return { first: map.addr + ref.from * PAGE, stride: ref.step * PAGE, length };
}

function mappingOf(m: Machine, name: string, st: Stmt): Mapping {
  const map = m.maps.get(name);
  if (!map)
    throw new InputError(
      'SC101',
      `mapping '${name}' does not exist (its mmap has not run or failed)`,
      m.sc.file,
      st.pos,
    );
  return map;
}

function refRange(m: Machine, ref: Ref, st: Stmt): [number, number] {
  const map = mappingOf(m, ref.map, st);
  const to = ref.to === -1 ? map.len / PAGE : ref.to;
  return [map.addr + ref.from * PAGE, (to - ref.from) * PAGE];
}

/**
 * Every thread of `tgid` (but `except`, the thread that execs) is done: the
 * process exited or was killed (a stopped fault is abandoned). `mm` is the
 * mm the group had (do_group_exit() clears the tasks' own): when it is
 * gone, so are the ghost's expectations of it.
 */
export function markGroupDone(
  m: Machine,
  tgid: number,
  except: ThreadRt | null = null,
  mm = m.s.tasks[tgid]?.mm ?? 0,
): void {
  if (mm !== 0 && !m.s.mms[mm]) m.ghost.dropMm(mm);
  for (let i = 0; i < m.threads.length; i++) {
    const r = m.threads[i]!;
    if (m.s.tasks[r.pid]!.tgid !== tgid || r === except) continue;
    const t = threadW(m, i);
    t.done = true;
    if (t.kpath?.pending.kind === 'wp_page_copy') wp_page_copy_abort(m.s, t.kpath.pending);
    if (t.kpath?.pending.kind === 'pte_map') pte_offset_map_end(m.s, null, t.kpath.pending);
    if (t.kpath?.pending.kind === 'gup_fast') pt_walker_exit(m.s);
    if (t.kpath?.pending.kind === 'unmap_mapping') shmem_punch_hole_abandon(m.s, t.kpath.pending);
    if (t.kpath?.pending.kind === 'fork_wrprotect') {
      const p = t.kpath.pending;
      fork_wrprotect_finish(m.s, p.mm, p.addresses);
    }
    // Killed while fork() waited for its UFFD_EVENT_FORK to be read: the fork fails, the child goes.
    if (t.kpath?.pending.kind === 'uffd_fork_event') {
      const child = m.s.tasks[t.kpath.pending.child];
      if (child?.state === TASK_RUNNING) do_group_exit(m.s, child, 128 + 9);
    }
    t.kpath = null;
  }
}

/** A kernel path slept (VM_FAULT_RETRY, -ERESTARTSYS): the statement is retried later. */
class Sleeps {
  constructor(
    readonly why: string,
    /** Set when the thread sleeps in handle_userfault(): the message it leaves for the handler. */
    readonly userfault: { readonly ctx: number; readonly address: number } | null = null,
  ) {}
}

/** A fault stopped at a lock boundary: the statement continues in the thread's next step. */
class Stops {
  constructor(readonly path: KernelPath) {}
}

function kill(m: Machine, t: ThreadRt, signal: number): string {
  const mm = task(m, t).mm;
  do_group_exit(m.s, task(m, t), 128 + signal);
  markGroupDone(m, task(m, t).tgid, null, mm);
  return `killed by signal ${signal}${signal === 11 ? ' (SIGSEGV)' : ''}`;
}

/** Run the next statement of thread `i`. The kernel context carries the era and the decision log. */
export function stepThread(m: Machine, i: number, k: Kernel): StepResult {
  const t = threadW(m, i);
  const st = nextStmt(m, t);
  if (!st) throw new Error(`tool bug: thread ${t.name} has no statement to run`);
  t.pc += 1;
  let note: string;
  /** What a continued kernel path did before the statement stopped again, for the step's note. */
  let continued = '';
  const path = t.kpath;
  try {
    if (path?.pending.kind === 'fork_wrprotect') {
      t.kpath = null;
      const p = path.pending;
      fork_wrprotect_finish(m.s, p.mm, p.addresses);
      const event = forkEvent(m, p.mm, p.child);
      if (event) throw new Stops({ pending: event, page: 0, value: undefined, faults: 0 });
      startThread(m, t, st, p.child);
      note = `fork() continues: write-protects ${p.addresses.length} parent PTE(s); pid ${p.child}`;
    } else if (path?.pending.kind === 'uffd_fork_event') {
      t.kpath = null;
      startThread(m, t, st, path.pending.child);
      note = `fork() returns: its UFFD_EVENT_FORK message was read; pid ${path.pending.child}`;
    } else if (path?.pending.kind === 'pte_map') {
      t.kpath = null;
      const mapped = do_pte_missing_resume(m.s, k, path.pending);
      const how = mapped ? 'maps the page' : 'maps nothing, the access faults again';
      continued = `pte_offset_map_lock() continues: ${how}; `;
      note = continued + access(m, t, st, k, path.page, path.value, path.faults);
    } else if (path?.pending.kind === 'gup_fast') {
      t.kpath = null;
      gup_fast_resume(m.s, path.pending);
      note = `GUP-fast continues: reads the PTE, rechecks, restores interrupts; ${execute(m, t, st, k, true)}`;
    } else if (path?.pending.kind === 'unmap_mapping') {
      t.kpath = null;
      shmem_punch_hole_resume(m.s, k, path.pending);
      if (st.op !== 'madvise') throw new Error(`tool bug: a hole punch resumed by ${st.op}`);
      note = `the hole punch continues: takes the PTE locks, zaps, truncates the page cache; ${errnoName(0)}${setReg(m, st.ret, 0)}`;
    } else if (path?.pending.kind === 'wp_page_copy') {
      t.kpath = null;
      const mapped = wp_page_copy_resume(m.s, k, path.pending);
      const how = mapped ? 'maps the copy' : 'PTE changed: drops the copy, the access faults again';
      note = `wp_page_copy() continues: ${how}; ${access(m, t, st, k, path.page, path.value, path.faults)}`;
    } else {
      note = execute(m, t, st, k);
    }
  } catch (e) {
    if (e instanceof InputError) return { kind: 'error', error: e };
    if (e instanceof Sleeps) {
      // The caller drops the attempt's state changes: a continuation is still pending then.
      t.pc -= 1;
      t.kpath = path;
      if (e.userfault) {
        const before = m.userfaults.get(i);
        const read = before?.address === e.userfault.address && before.ctx === e.userfault.ctx;
        m.userfaults = withEntry(m.userfaults, i, { ...e.userfault, read: read && before.read });
      } else m.userfaults = withoutEntry(m.userfaults, i);
      return { kind: 'blocked', note: e.why };
    }
    if (e instanceof Stops) {
      t.pc -= 1;
      t.kpath = e.path;
      return {
        kind: 'ok',
        note:
          continued +
          (e.path.pending.kind === 'fork_wrprotect'
            ? `fork() copied the page tables; ${e.path.pending.addresses.length} parent PTE(s) still writable (write-protected in a later step)`
            : e.path.pending.kind === 'pte_map'
              ? `the fault read the PMD entry (PTE table ${e.path.pending.table}) and stops before taking its PTE lock`
              : e.path.pending.kind === 'gup_fast'
                ? `GUP-fast, interrupts off, read the PMD entry (PTE table ${e.path.pending.table}) and stops before reading the PTE`
                : e.path.pending.kind === 'unmap_mapping'
                  ? `the hole punch, under the i_mmap lock, read the PMD entries of ${e.path.pending.tables.length} mapping(s) (PTE table ${e.path.pending.tables.map((x) => x.table).join(', ')}) and stops before taking their PTE locks`
                  : e.path.pending.kind === 'uffd_fork_event'
                    ? `fork() copied the mm (child context ${e.path.pending.child_ctx}) and waits in dup_userfaultfd_complete() until a reader of context ${e.path.pending.ctx} reads UFFD_EVENT_FORK`
                    : 'do_wp_page() decided to copy and dropped the PTE lock (wp_page_copy() continues in a later step)'),
      };
    }
    throw e;
  }
  m.userfaults = withoutEntry(m.userfaults, i); // the statement ran: a fault it waited in is resolved
  if (!t.done && stmtAt(m, t.decl, t.pc) === undefined) t.done = true;
  return { kind: 'ok', note };
}

/**
 * kernel/fork.c dup_mmap() → dup_userfaultfd_complete(): the UFFD_EVENT_FORK
 * message a fork queues when the parent's context has
 * UFFD_FEATURE_EVENT_FORK and dup_userfaultfd() gave the child a context
 * (some VMA was registered); null when fork() returns at once.
 */
function forkEvent(m: Machine, parentMm: number, child: number): UffdForkPending | null {
  const ctx = uffdCtxOf(m.s, mmOf(m.s, parentMm));
  if (!m.s.uffd[ctx]?.event_fork) return null;
  const childCtx = uffdCtxOf(m.s, mmOf(m.s, m.s.tasks[child]!.mm));
  if (childCtx === 0) return null;
  return { kind: 'uffd_fork_event', ctx, child_ctx: childCtx, child, read: false };
}

/** Register the thread a fork or spawn started (the child runs once the fork is complete). */
function startThread(m: Machine, t: ThreadRt, st: Stmt, pid: number): void {
  if (st.op !== 'fork' && st.op !== 'spawn') throw new Error(`tool bug: startThread for ${st.op}`);
  const decl = m.sc.threads.findIndex((d) => d.name === st.thread);
  m.threads.push({
    name: st.thread,
    decl,
    pid,
    pc: 0,
    cpu: t.cpu,
    kpath: null,
    done: stmtAt(m, decl, 0) === undefined,
    own: m.cow,
  });
}

/**
 * The user accesses of a `read` or `write`, from page index `from` on: a load
 * (value undefined) or a store of `value` on every page of the reference.
 */
function access(
  m: Machine,
  t: ThreadRt,
  st: Stmt,
  k: Kernel,
  from: number,
  value: number | undefined,
  faultsBefore: number,
): string {
  if (st.op !== 'read' && st.op !== 'write') throw new Error(`tool bug: access for ${st.op}`);
  const mm = mmOf(m.s, task(m, t).mm);
  const pages = refPages(m, st.ref, st);
  let faults = faultsBefore;
  let last = 0;
  for (let i = from; i < pages.length; i++) {
    if ((i & 4095) === 4095 && m.interrupt) {
      const budget = m.interrupt();
      if (budget !== null) throw new StepInterrupted(budget);
    }
    const addr = pages.first + i * pages.stride;
    const r = userAccess(m.s, k, mm, addr, value);
    if (!r.ok && 'stepped' in r) {
      const pending = k.pending!;
      k.pending = null;
      throw new Stops({ pending, page: i, value, faults: faults + 1 });
    }
    if (!r.ok && 'blocked' in r) {
      if (k.userfault)
        throw new Sleeps(
          `the ${st.op} fault waits for the userfaultfd handler (handle_userfault)`,
          k.userfault,
        );
      throw new Sleeps(`the ${st.op} fault sleeps (VM_FAULT_RETRY)`);
    }
    if (!r.ok) return kill(m, t, r.signal);
    faults += r.faults;
    last = r.value;
    if (value !== undefined && m.ghost.tracking && isPrivate(m.s, mm.id, addr))
      m.ghost.wrote(m.s, ghostKey(mm.id, addr), value, r.pfn);
  }
  if (st.op === 'write') return `${pages.length} page(s), ${faults} fault(s)`;
  return `${faults} fault(s)${setReg(m, st.reg, last)}`;
}

/** read() returns a UFFD_EVENT_FORK message: the fork it held returns; `name` gets the child's context. */
function readForkEvent(m: Machine, ctx: number, name: string | null, reg: string | null): string {
  const waiter = forkEventWaiter(m, ctx);
  if (waiter?.kpath?.pending.kind !== 'uffd_fork_event')
    throw new Error('tool bug: uffd read with no message');
  const p = waiter.kpath.pending;
  const t = threadW(m, m.threads.indexOf(waiter));
  t.kpath = { ...waiter.kpath, pending: { ...p, read: true } };
  if (name !== null) m.uffds = withEntry(m.uffds, name, p.child_ctx);
  return `UFFD_EVENT_FORK from ${t.name}: the child's context ${p.child_ctx}${name === null ? '' : ` is ${name}`}${setReg(m, reg, 0)}`;
}

function setReg(m: Machine, reg: string | null, value: number): string {
  if (reg === null) return '';
  m.regs = withEntry(m.regs, reg, value);
  return ` -> ${reg} = ${value}`;
}

function execute(m: Machine, t: ThreadW, st: Stmt, k: Kernel, resumed = false): string {
  const s = m.s;
  const me = task(m, t);
  const mm = () => mmOf(s, s.tasks[me.pid]!.mm); // read again: an exec replaces the task (taskW())
  switch (st.op) {
    case 'mmap': {
      const flags =
        (st.shared ? MAP_SHARED : MAP_PRIVATE) |
        MAP_ANONYMOUS |
        (st.at === null ? 0 : st.replace ? MAP_FIXED : MAP_FIXED_NOREPLACE) |
        (st.noreserve ? MAP_NORESERVE : 0) |
        (st.populate ? MAP_POPULATE : 0);
      const inode = st.file === null ? 0 : (m.files.get(st.file) ?? 0);
      if (st.file !== null && inode === 0) {
        throw new InputError('SC101', `file '${st.file}' does not exist yet`, m.sc.file, st.pos);
      }
      const ret = do_mmap(
        s,
        k,
        mm(),
        st.at ?? 0,
        st.len,
        protBits(st.prot),
        inode === 0 ? flags : flags & ~MAP_ANONYMOUS,
        inode,
      );
      if (ret < 0 && st.ret === null)
        throw new InputError(
          'SC101',
          `mmap ${st.name} failed: ${errnoName(ret)}`,
          m.sc.file,
          st.pos,
        );
      if (ret >= 0) {
        m.maps = withEntry(m.maps, st.name, { addr: ret, len: st.len });
        m.ghost.remap(me.mm, ret, st.len);
      }
      return `${ret < 0 ? errnoName(ret) : `at 0x${ret.toString(16)}`}${setReg(m, st.ret, ret)}`;
    }
    case 'mremap': {
      const [addr, len] = refRange(m, st.ref, st);
      const onto = mappingOf(m, st.onto, st);
      const ret = mremap_fixed(s, mm(), addr, len, onto.addr, k);
      if (ret >= 0) {
        // The moved range is now the mapping `onto`; a moved tail shortens its old mapping.
        const from = mappingOf(m, st.ref.map, st);
        if (addr + len === from.addr + from.len)
          m.maps = withEntry(m.maps, st.ref.map, { addr: from.addr, len: addr - from.addr });
        m.maps = withEntry(m.maps, st.onto, { addr: onto.addr, len });
        m.ghost.remap(me.mm, addr, len);
        m.ghost.remap(me.mm, onto.addr, len);
      }
      return `${ret < 0 ? errnoName(ret) : `at 0x${ret.toString(16)}`}${setReg(m, st.ret, ret)}`;
    }
    case 'munmap': {
      const [addr, len] = refRange(m, st.ref, st);
      const ret = vm_munmap(s, mm(), addr, len, k);
      if (ret === 0) m.ghost.remap(me.mm, addr, len);
      return `${errnoName(ret)}${setReg(m, st.ret, ret)}`;
    }
    case 'mprotect': {
      const [addr, len] = refRange(m, st.ref, st);
      const ret = do_mprotect_pkey(s, k, mm(), addr, len, protBits(st.prot));
      return `${errnoName(ret)}${setReg(m, st.ret, ret)}`;
    }
    case 'madvise': {
      const [addr, len] = refRange(m, st.ref, st);
      // With a step: one madvise() per page; the register gets the last return.
      const calls: [number, number][] = [];
      if (st.ref.step === 1) calls.push([addr, len]);
      else for (let a = addr; a < addr + len; a += st.ref.step * PAGE) calls.push([a, PAGE]);
      let ret = 0;
      for (const [a, l] of calls) {
        ret = do_madvise(s, k, mm(), a, l, ADVICE[st.advice], calls.length === 1);
        if (ret === 0 && st.advice === 'dontneed') m.ghost.remap(me.mm, a, l);
      }
      if (k.pending?.kind === 'unmap_mapping') {
        const pending = { ...k.pending, mm: me.mm };
        k.pending = null;
        throw new Stops({ pending, page: 0, value: undefined, faults: 0 });
      }
      return `${errnoName(ret)}${setReg(m, st.ret, ret)}`;
    }
    case 'write':
      return access(m, t, st, k, 0, evalExpr(evalEnv(m, t.name), st.value) >>> 0, 0);
    case 'read':
      return access(m, t, st, k, 0, undefined, 0);
    case 'fork':
    case 'spawn': {
      // A fork while another thread shares the mm is split where GUP-fast can race with it.
      const split =
        st.op === 'fork' &&
        k.config.lockBreaks &&
        m.threads.some((o) => o !== t && !o.done && task(m, o).mm === me.mm);
      k.forkDeferred = split ? [] : null;
      const child = copy_process(s, k, me, st.op === 'spawn');
      const deferred = k.forkDeferred;
      k.forkDeferred = null;
      if (st.op === 'fork') m.ghost.fork(s, me.mm, child.mm);
      if (deferred && deferred.length > 0) {
        const pending: ForkPending = {
          kind: 'fork_wrprotect',
          mm: me.mm,
          addresses: deferred,
          child: child.pid,
        };
        throw new Stops({ pending, page: 0, value: undefined, faults: 0 });
      }
      const event = st.op === 'fork' ? forkEvent(m, me.mm, child.pid) : null;
      if (event) throw new Stops({ pending: event, page: 0, value: undefined, faults: 0 });
      startThread(m, t, st, child.pid);
      return `pid ${child.pid}`;
    }
    case 'wait': {
      const target = threadByName(m, st.thread)!;
      const tt = s.tasks[target.pid]!;
      if (tt.state === TASK_RUNNING) {
        throw new InputError(
          'SC101',
          `wait ${st.thread}: it ended without exit, so it never exits`,
          m.sc.file,
          st.pos,
        );
      }
      const code = tt.state === EXIT_DEAD ? tt.exit_code : release_task(s, tt.pid);
      return `exit status ${code}${setReg(m, st.reg, code)}`;
    }
    case 'exit': {
      const given = st.code ? evalExpr(evalEnv(m, t.name), st.code) : 0;
      // kernel/exit.c sys_exit_group(): only the low 8 bits of the status survive.
      const code = ((Math.trunc(given) % 256) + 256) % 256;
      const mm = me.mm;
      do_group_exit(s, me, code);
      markGroupDone(m, me.tgid, null, mm);
      return code === given ? `status ${code}` : `status ${given} & 0xff = ${code}`;
    }
    case 'phase':
      return `phase ${st.name}`;
    case 'repeat':
      throw new Error('tool bug: a loop reached the machine unexpanded (unroll.ts)');
    case 'exec': {
      const killed = m.threads.filter(
        (o) => o !== t && !o.done && task(m, o).tgid === me.tgid,
      ).length;
      const old = do_execve(s, me);
      if (!s.mms[old]) m.ghost.dropMm(old);
      markGroupDone(m, me.tgid, t);
      return `new mm ${s.tasks[me.pid]!.mm}${killed > 0 ? `; de_thread() killed ${killed} other thread(s)` : ''}`;
    }
    case 'signal':
      m.events = withMember(m.events, st.event);
      return '';
    case 'await':
      return '';
    case 'pipe': {
      const id = do_pipe2(s, s.tasks[me.tgid] ?? me);
      m.pipes = withEntry(m.pipes, st.name, id);
      return `pipe ${id}`;
    }
    case 'pipe-write': {
      const value = evalExpr(evalEnv(m, t.name), st.value) >>> 0;
      const pipe = pipeOf(m, st.pipe, st);
      const ret = pipe_write(s, s.tasks[me.tgid] ?? me, pipe, value);
      if (ret >= 0)
        m.ghost.setPipe(pipe, [...(m.ghost.pipes.get(pipe) ?? []), { want: -1, key: -1 }]);
      return errnoName(ret);
    }
    case 'pipe-read': {
      const pipe = pipeOf(m, st.pipe, st);
      const ret = pipe_read(s, s.tasks[me.tgid] ?? me, pipe);
      if (ret >= 0) m.ghost.setPipe(pipe, (m.ghost.pipes.get(pipe) ?? []).slice(1));
      // An empty pipe with no writer left reads end-of-file.
      const value = ret === -11 ? -1 : ret;
      if (st.reg !== null) m.regs = withEntry(m.regs, st.reg, value);
      return st.reg === null ? `value ${value}` : `${st.reg} = ${value}`;
    }
    case 'observe': {
      const v = evalExpr(evalEnv(m, t.name), st.expr);
      m.regs = withEntry(m.regs, st.reg, v);
      return `${st.reg} = ${v}`;
    }
    case 'pin': {
      const [addr, len] = refRange(m, st.ref, st);
      const kind = st.odirect
        ? k.policy.bio_iov_iter_get_pages(s, k)
        : st.pin
          ? FOLL_PIN
          : FOLL_GET;
      const flags =
        kind |
        (st.write ? FOLL_WRITE : 0) |
        (st.longterm ? FOLL_LONGTERM : 0) |
        (st.force ? FOLL_FORCE : 0);
      const pages = st.fast
        ? get_user_pages_fast(s, k, mm(), addr, len / PAGE, flags, !resumed)
        : __get_user_pages(s, k, mm(), addr, len / PAGE, flags);
      if (k.pending?.kind === 'gup_fast') {
        const pending = k.pending;
        k.pending = null;
        throw new Stops({ pending, page: 0, value: undefined, faults: 0 });
      }
      if (pages === -ERESTARTSYS)
        throw new Sleeps('GUP faulted and sleeps (VM_FAULT_RETRY)', k.userfault);
      if (typeof pages === 'number') {
        m.pins = withEntry(m.pins, st.name, []);
        return `${errnoName(pages)}${setReg(m, st.ret, pages)}`;
      }
      const ids = pages.map((p) => gupHold(s, k, p, flags));
      m.pins = withEntry(m.pins, st.name, ids);
      ids.forEach((id, i) => {
        m.ghost.setOrigin(id, {
          key: ghostKey(me.mm, addr + i * PAGE),
          pin: (kind & FOLL_PIN) !== 0,
        });
      });
      return `${pages.length} page(s): pfn ${pages.join(' ')}${setReg(m, st.ret, pages.length)}`;
    }
    case 'file': {
      const inode = st.kind === 'memfd' ? memfd_create(s, st.pages) : new_inode(s, st.fs, st.pages);
      m.files = withEntry(m.files, st.name, inode);
      return `inode ${inode} (${s.inodes[inode]!.fs})`;
    }
    case 'userfaultfd': {
      // UFFDIO_API refuses a feature the era does not know; the model goes on without it.
      const unpopulated = st.wp_unpopulated && k.policy.uffd_wp_unpopulated;
      const id = userfaultfd(s, mm(), st.event_fork, unpopulated);
      m.uffds = withEntry(m.uffds, st.name, id);
      const features = [
        st.event_fork ? 'UFFD_FEATURE_EVENT_FORK' : '',
        unpopulated ? 'UFFD_FEATURE_WP_UNPOPULATED' : '',
        st.wp_unpopulated && !unpopulated
          ? 'UFFD_FEATURE_WP_UNPOPULATED unknown to this era: ignored'
          : '',
      ].filter(Boolean);
      return `userfaultfd ${id}${features.length ? ` (${features.join(', ')})` : ''}`;
    }
    case 'uffd': {
      const ctx = m.uffds.get(st.uffd);
      if (ctx === undefined)
        throw new InputError(
          'SC101',
          `userfaultfd '${st.uffd}' does not exist yet`,
          m.sc.file,
          st.pos,
        );
      const [addr, len] = refRange(m, st.ref, st);
      // The ioctl acts on the context's mm (ctx->mm), whoever calls it; mmget_not_zero() fails once it exited.
      const owner = s.mms[s.uffd[ctx]!.mm];
      const ret = !owner
        ? -ESRCH
        : st.sub === 'register'
          ? userfaultfd_register(s, ctx, owner, addr, addr + len)
          : // mm/userfaultfd.c mwriteprotect_range(): -EAGAIN while ctx->mmap_changing (a fork event unread)
            forkEventUnread(m, ctx)
            ? -EAGAIN
            : userfaultfd_writeprotect(s, k, owner, addr, addr + len, st.sub === 'wp');
      return `${errnoName(ret)}${setReg(m, st.ret, ret)}`;
    }
    case 'uffd-read': {
      const ctx = m.uffds.get(st.uffd) ?? -1;
      const waiting = [...m.userfaults].filter(([, u]) => u.ctx === ctx && !u.read);
      const first = waiting.sort(([a], [b]) => a - b)[0];
      // fs/userfaultfd.c userfaultfd_ctx_read(): pending faults first, then events.
      if (!first) return readForkEvent(m, ctx, st.fork, st.reg);
      m.userfaults = withEntry(m.userfaults, first[0], { ...first[1], read: true });
      const who = m.threads[first[0]]!.name;
      return `UFFD_EVENT_PAGEFAULT (WP) at 0x${first[1].address.toString(16)} from ${who}${setReg(m, st.reg, first[1].address)}`;
    }
    case 'wait_writeback': {
      // folio_wait_writeback() on each: the thread sleeps until the device is done.
      const folios = foliosUnderWriteback(s);
      for (const folio of folios) folio_end_writeback(s, folio);
      return folios.length
        ? `folio_end_writeback: folio(s) ${folios.join(', ')} written`
        : 'nothing under writeback';
    }
    case 'lru_add_drain_all':
      lru_add_drain_all(s);
      return "every CPU's LRU add batch is on the LRU";
    case 'ksm_scan': {
      const n = ksm_do_scan(s, k, st.use_zero_pages);
      return `ksmd merged ${n} page(s)`;
    }
    case 'prctl': {
      const option = st.option === 'set_memory_merge' ? PR_SET_MEMORY_MERGE : PR_GET_MEMORY_MERGE;
      const ret = prctl(s, k, mm(), option, st.arg);
      return `${errnoName(ret)}${setReg(m, st.ret, ret)}`;
    }
    case 'clear_refs': {
      const ret = clear_refs_write(s, k, mm(), st.value);
      return `${errnoName(ret)}${setReg(m, st.ret, ret)}`;
    }
    case 'unpin': {
      const ids = m.pins.get(st.name) ?? [];
      for (const id of ids) {
        gupRelease(s, id);
        m.ghost.deleteOrigin(id);
      }
      m.pins = withEntry(m.pins, st.name, []);
      return `${ids.length} reference(s) released`;
    }
    case 'pin-read': {
      const page = pinnedPages(m, st.name, st)[0]!;
      const v = s.mem.content[page]!;
      if (st.reg !== null) m.regs = withEntry(m.regs, st.reg, v);
      return `pfn ${page}: ${st.reg ?? 'value'} = ${v}`;
    }
    case 'pin-write': {
      const value = evalExpr(evalEnv(m, t.name), st.value) >>> 0;
      const pages = pinnedPages(m, st.name, st);
      for (const page of pages) contentW(s.mem)[page] = value;
      for (const id of m.pins.get(st.name) ?? []) {
        const o = m.ghost.origin.get(id);
        if (o && isPrivate(s, Math.floor(o.key / 2 ** 36), (o.key % 2 ** 36) * PAGE))
          m.ghost.expect(o.key, value, true);
      }
      return `pfn ${pages.join(' ')} = ${value}`;
    }
    case 'sched_setaffinity':
      t.cpu = st.cpu;
      return `runs on CPU ${st.cpu}`;
    case 'vmsplice': {
      const [addr, len] = refRange(m, st.ref, st);
      const pipe = pipeOf(m, st.pipe, st);
      const ret = vmsplice_to_pipe(s, k, s.tasks[me.tgid] ?? me, mm(), pipe, addr, len);
      if (ret > 0) {
        const bufs = s.pipes[pipe]!.bufs;
        const n = ret / PAGE;
        const mine = [...(m.ghost.pipes.get(pipe) ?? [])];
        for (let i = 0; i < n; i++) {
          const a = addr + i * PAGE;
          const b = bufs[bufs.length - n + i]!;
          const priv = isPrivate(s, me.mm, a);
          mine.push({
            want: priv ? s.mem.content[b.pfn]! : -1,
            key: priv ? ghostKey(me.mm, a) : -1,
          });
        }
        m.ghost.setPipe(pipe, mine);
      }
      return `${ret < 0 ? errnoName(ret) : `${ret / PAGE} page(s) referenced by the pipe`}${setReg(m, st.ret, ret)}`;
    }
  }
}

function pinnedPages(m: Machine, name: string, st: Stmt): number[] {
  const pages = (m.pins.get(name) ?? []).map((id) => m.s.gup[id]?.page ?? 0).filter((p) => p !== 0);
  if (pages.length === 0)
    throw new InputError(
      'SC101',
      `'${name}' holds no pinned page (never pinned, failed, or unpinned)`,
      m.sc.file,
      st.pos,
    );
  return pages;
}

function pipeOf(m: Machine, name: string, st: Stmt): number {
  const id = m.pipes.get(name);
  if (id === undefined)
    throw new InputError('SC101', `pipe '${name}' does not exist yet`, m.sc.file, st.pos);
  return id;
}
