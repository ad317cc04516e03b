/**
 * Compile a checked scenario into a probe program (docs/adr/0009-kernel-probe.md):
 * the line-oriented text probe/probe.c interprets. Names become indices,
 * expressions become RPN over numbers, registers and primitives, and every
 * statement maps to the system call the model's statement stands for. A
 * statement or observable without a faithful real-kernel equivalent makes the
 * whole scenario unsupported, with the reason.
 */

import type { Expr, Ref, Scenario, Stmt } from '../scenario/ast.js';
import { assignedReg } from '../scenario/check.js';
import { InputError } from '../scenario/errors.js';
import { COUNTERS, KPF_BITS } from '../scenario/expr.js';
import {
  bounds,
  expandedCount,
  hasLoops,
  instantiate,
  threadArrays,
  threadInstances,
} from '../scenario/unroll.js';
import {
  type Arg,
  argOp,
  argText,
  exprArg,
  instanceOf,
  mentions,
  NotCompiled,
  type Scope,
  substNums,
} from './program-loops.js';

const PAGE = 4096;

/* include/uapi: mman-common.h, mman.h, prctl.h */
const PROT: Readonly<Record<string, number>> = { none: 0, r: 1, w: 2, rw: 3, x: 4, rx: 5, rwx: 7 };
const MAP_SHARED = 0x01;
const MAP_PRIVATE = 0x02;
const MAP_FIXED = 0x10;
const MAP_ANONYMOUS = 0x20;
const MAP_NORESERVE = 0x4000;
const MAP_POPULATE = 0x8000;
const MAP_FIXED_NOREPLACE = 0x100000;
const MADV: Readonly<Record<string, number>> = {
  dontneed: 4,
  dontfork: 10,
  dofork: 11,
  mergeable: 12,
  unmergeable: 13,
  hugepage: 14,
  nohugepage: 15,
  pageout: 21,
  collapse: 25,
  remove: 9,
};
const PR_SET_MEMORY_MERGE = 67;
const PR_GET_MEMORY_MERGE = 68;

/** Observables the probe reads, and where from. */
const PAGE_PRIMS = new Set([
  'pfn',
  'present',
  'swapped',
  'softdirty',
  'exclusive',
  'uffd_wp',
  'zeropage',
  'value',
  'distinct_pfns',
  'file',
  'swap_offset',
  'address',
]);
const PROCESS_PRIMS = new Set([
  'VmPTE',
  'RssAnon',
  'RssShmem',
  'VmSwap',
  'AnonHugePages',
  'ksm_merging_pages',
  'ksm_zero_pages',
  'exitcode',
  'alive',
]);
/** Why an observable of the model cannot be read on the real kernel. */
const NOT_OBSERVABLE: Readonly<Record<string, string>> = {
  writable: 'PTE write bit (not in pagemap)',
  dirty: 'PTE dirty bit (not in pagemap)',
  young: 'PTE young bit (not in pagemap)',
  anon_exclusive: 'PageAnonExclusive (not exported to user space)',
  refcount: 'page refcount (not exported to user space)',
  mapcount: 'mapcount (kpagecount needs a PFN walk the probe does not do)',
  maybe_dma_pinned: 'folio_maybe_dma_pinned() (not exported to user space)',
  pin_pfn: 'the page a GUP pin holds',
  pin_value: 'the contents of the page a GUP pin holds',
};
/** The seed's own counters (seed 003's kernel patch), not in /proc/vmstat. */
const SEED_COUNTERS = new Set([
  'anon_wp_copy_count',
  'anon_wp_copy_count_early',
  'anon_wp_copy_lock',
  'anon_wp_reuse',
]);

/** A primitive observable: `kind` of thread `thread` at page `page` of mapping `map`. */
export interface Prim {
  readonly kind: string;
  readonly thread: number;
  readonly map: number;
  readonly page: number;
  /** The /proc/vmstat counter, for kind `vm`. */
  readonly name: string;
  /** A page primitive over a range: `count` pages, `step` apart (counted, or distinct_pfns). */
  readonly count?: number;
  readonly step?: number;
}

export interface ProbeProgram {
  /** The program text probe/probe.c reads. */
  readonly text: string;
  readonly regs: readonly string[];
  readonly threads: readonly string[];
  readonly prims: readonly Prim[];
  /** Indices into `prims` the final condition reads. */
  readonly finals: readonly number[];
  /** The final condition (a workload's with its thread arrays' instances named), whose leaves leafPrims keys. */
  readonly condition: Expr;
  /** The primitive each identifier or call of the final condition reads. */
  readonly leafPrims: ReadonlyMap<Expr, number>;
  /** Observables that see the whole machine (other processes too). */
  readonly systemWide: readonly string[];
  /** Indices into `prims` of those observables. */
  readonly systemWidePrims: ReadonlySet<number>;
  /**
   * The KSM counters among them: exact in a run where no process outside the
   * scenario had KSM-merged pages (ProbeRun.ksmNoisy false).
   */
  readonly ksmPrims: ReadonlySet<number>;
  /**
   * Registers an `observe` filled from a system-wide observable: `sum` when
   * the expression adds up primitives only (the scenario's own share is
   * between 0 and the value read), `ksm` when the system-wide ones among them
   * are KSM counters (exact when KSM is quiet elsewhere), `any` when nothing is
   * known of its share.
   */
  readonly noisyRegs: ReadonlyMap<string, 'ksm' | 'sum' | 'any'>;
  /** What the host must offer or be set to for this scenario. */
  readonly needs: Needs;
  /** Pages the statements touch or map (reads, writes, mmaps): how long a run may take. */
  readonly pages: number;
}

/**
 * The counts probe/probe.c keeps per name in its control page (MAXT,
 * MAXMAP, MAXEV, MAXPIPE, MAXPIN); everything else (statements, registers,
 * primitives, expression length) is bounded only by memory.
 */
export const PROBE_LIMITS = {
  threads: 128,
  mappings: 32,
  events: 256,
  pipes: 8,
  pins: 8,
  userfaultfds: 8,
  files: 32,
} as const;

/** Statements that use a file descriptor the probe keeps by name (not carried into an exec'd image). */
const FD_OPS = new Set<Stmt['op']>([
  'pipe-read',
  'pipe-write',
  'vmsplice',
  'uffd',
  'uffd-read',
  'unpin',
  'pin-read',
  'pin-write',
]);

/**
 * What the probe's exec (an execve() of the probe itself that goes on with
 * the thread's next statement) cannot do: de_thread() of a process with other
 * threads, and the descriptors of pipes, userfaultfds, pins and files made
 * before it, which the new image does not know by name.
 */
function spawns(sc: Scenario): boolean {
  return sc.threads.some((t) => t.body.some((st) => st.op === 'spawn'));
}

function checkExec(sc: Scenario, list: readonly Stmt[]): void {
  const at = list.findIndex((st) => st.op === 'exec');
  if (at < 0) return;
  if (spawns(sc))
    unsupported(
      'exec in a scenario with spawn: de_thread() of a multi-threaded process is not in the probe',
    );
  const after = list.slice(at + 1);
  if (after.some((st) => FD_OPS.has(st.op) || (st.op === 'mmap' && st.file !== null)))
    unsupported(
      'a pipe, userfaultfd, pin or file used after exec: the probe does not carry them into the new image',
    );
}

export interface Needs {
  /** A swap device (MADV_PAGEOUT, reclaim, swapped(), VmSwap). */
  swap: boolean;
  /** KSM's knobs (ksm_scan). */
  ksm: boolean;
  /** A khugepaged that scans without sleeping (env khugepaged). */
  khugepaged: boolean;
  /** Soft-dirty tracking (CONFIG_MEM_SOFT_DIRTY): clear_refs 4, softdirty(). */
  softdirty: boolean;
  /** A tmpfile on ext4 (`tmpfile F fs=ext4`): /tmp must be ext4. */
  ext4: boolean;
  /** io_uring (R/W long-term pins). */
  io_uring: boolean;
  /** userfaultfd with write-protect mode. */
  userfaultfd: boolean;
}

export type Compiled =
  | { readonly ok: true; readonly program: ProbeProgram }
  | { readonly ok: false; readonly reason: string };

class Unsupported extends Error {}

function unsupported(why: string): never {
  throw new Unsupported(why);
}

/** The most loop variables a probe thread holds (probe.c MAXLOC). */
const MAX_SLOTS = 16;

/** A loop of at most this many statements in all is unrolled (its variable then indexes anything). */
const UNROLL = 64;

/**
 * Compile `sc` (which passed checkScenario()) for the probe. A workload (a
 * scenario with loops or thread arrays, as parseWorkload() reads it) keeps
 * its long loops: the probe runs them.
 */
export function compileProbe(sc: Scenario): Compiled {
  try {
    return { ok: true, program: new Compiler(sc, hasLoops(sc)).compile() };
  } catch (e) {
    if (e instanceof Unsupported || e instanceof NotCompiled)
      return { ok: false, reason: e.message };
    if (e instanceof InputError) return { ok: false, reason: e.message };
    throw e;
  }
}

/** The primitive key the final condition's evaluation looks values up by. */
export function primKey(p: Prim): string {
  return `${p.kind}:${p.thread}:${p.map}:${p.page}:${p.name}:${p.count ?? 1}:${p.step ?? 1}`;
}

/** An argument's value with loop variable `v` (a token `lN`) at `value`: + - * / only. */
function evalRpn(rpn: readonly string[], v: string, value: number): number {
  const st: number[] = [];
  for (const t of rpn) {
    if (t === v) st.push(value);
    else if (t.startsWith('#')) st.push(Number(t.slice(1)));
    else {
      const r = st.pop()!;
      const l = st.pop()!;
      st.push(
        t === '+'
          ? l + r
          : t === '-'
            ? l - r
            : t === '*'
              ? l * r
              : t === '%'
                ? l % r
                : Math.trunc(l / r),
      );
    }
  }
  return st.pop() ?? 0;
}

class Compiler {
  private readonly threads: string[];
  private readonly maps = new Map<string, { index: number; pages: number }>();
  private readonly regs: string[] = [];
  private readonly events: string[] = [];
  private readonly pipes: string[] = [];
  private readonly pins: string[] = [];
  private readonly files: string[] = [];
  private readonly uffds: string[] = [];
  private readonly prims: Prim[] = [];
  private readonly systemWide = new Set<string>();
  private readonly systemWidePrims = new Set<number>();
  private readonly ksmPrims = new Set<number>();
  private readonly noisyRegs = new Map<string, 'ksm' | 'sum' | 'any'>();
  private readonly leafPrims = new Map<Expr, number>();
  private pages = 0;
  /** O_DIRECT statements completed by the next statement (see compile()). */
  private readonly syncOdirect = new Set<Stmt>();
  private readonly needs: Needs = {
    swap: false,
    ksm: false,
    khugepaged: false,
    softdirty: false,
    ext4: false,
    io_uring: false,
    userfaultfd: false,
  };

  /** Workload mode: the threads' instances, each with its thread-array index. */
  private readonly instances: { name: string; body: readonly Stmt[]; nums: Map<string, number> }[] =
    [];
  /** Loop variables of the statement being compiled. */
  private scope: Scope = { nums: new Map(), slots: new Map() };
  /** Iterations of the loops around the statement being compiled (for the time budget). */
  private mult = 1;
  private readonly arrays: Set<string>;
  /** Workload mode: uses of each event array (as name → indices used) for placing its block. */
  private readonly eventArrays = new Map<string, { min: number; max: number }>();

  constructor(
    private readonly sc: Scenario,
    private readonly loops = false,
  ) {
    this.arrays = threadArrays(sc);
    if (loops)
      for (const t of threadInstances(sc))
        this.instances.push({ name: t.name, body: t.decl.body, nums: t.env });
    this.threads = loops ? this.instances.map((t) => t.name) : sc.threads.map((t) => t.name);
    if (this.threads.length > PROBE_LIMITS.threads)
      unsupported(
        `${this.threads.length} threads: the probe holds at most ${PROBE_LIMITS.threads}`,
      );
    const walk = (list: readonly Stmt[]): void => {
      for (const st of list) {
        if (st.op === 'repeat') walk(st.body);
        const r = assignedReg(st);
        if (r !== null) this.reg(r);
      }
    };
    walk([...sc.setup, ...sc.threads.flatMap((t) => t.body)]);
  }

  compile(): ProbeProgram {
    if (this.sc.env.includes('ksmd'))
      unsupported('env ksmd: the real ksmd runs only while /sys/kernel/mm/ksm/run is 1');
    if (this.sc.env.includes('reclaim')) this.needs.swap = true;
    if (this.sc.env.includes('khugepaged')) this.needs.khugepaged = true;
    const bodies = this.loops ? this.workloadBodies() : this.scenarioBodies();
    const condition = this.loops
      ? instantiate(this.sc, this.sc.condition, new Map(), this.arrays)
      : this.sc.condition;
    const finals = this.condPrims(condition);
    if (this.loops) this.placeEvents(bodies);
    return { ...this.program(bodies, finals), condition };
  }

  private scenarioBodies(): string[][] {
    return this.sc.threads.map((t, i) => {
      const list = [...(i === 0 ? this.sc.setup : []), ...t.body];
      checkExec(this.sc, list);
      this.markSyncOdirect(list);
      return list
        .filter((st) => st.op !== 'unpin' || !this.syncOdirect.has(st))
        .flatMap((st) => this.stmt(st, i));
    });
  }

  /**
   * An O_DIRECT transfer its own thread completes at once (`unpin` next) is a
   * real synchronous O_DIRECT read or write; one held in flight is not.
   */
  private markSyncOdirect(list: readonly Stmt[]): void {
    list.forEach((st, j) => {
      const next = list[j + 1];
      if (st.op === 'pin' && st.odirect && next?.op === 'unpin' && next.name === st.name) {
        this.syncOdirect.add(st);
        this.syncOdirect.add(next);
      }
    });
  }

  /** Workload mode: each instance's operations, long loops kept as `loop`/`next`. */
  private workloadBodies(): string[][] {
    return this.instances.map((t, i) => {
      const out: string[] = [];
      this.scope = { nums: t.nums, slots: new Map() };
      this.mult = 1;
      this.block([...(i === 0 ? this.sc.setup : []), ...t.body], i, out);
      return out;
    });
  }

  /** The operations of `list` in the current scope, appended to `out`. */
  private block(list: readonly Stmt[], self: number, out: string[]): void {
    const slotNames = new Set(this.scope.slots.keys());
    // Statements without a loop variable of the probe are instantiated as unroll.ts does.
    const sts = list.map((st) =>
      st.op === 'repeat' || mentions(st, slotNames)
        ? st
        : instantiate(this.sc, st, this.scope.nums, this.arrays),
    );
    if (sts.some((st) => st.op === 'exec') && this.scope.slots.size > 0)
      unsupported('exec inside a loop: the new image would not know the loop variables');
    checkExec(this.sc, sts);
    this.markSyncOdirect(sts);
    for (const st of sts) {
      if (st.op === 'repeat') this.loop(st, self, out);
      else if (st.op !== 'unpin' || !this.syncOdirect.has(st)) {
        const ops = this.stmt(mentions(st, slotNames) ? substNums(st, this.scope.nums) : st, self);
        out.push(...(typeof ops === 'string' ? [ops] : ops));
      }
    }
  }

  /** A `repeat`: unrolled when short, else a `loop VAR FROM TO END` … `next VAR TO START` pair. */
  private loop(st: Extract<Stmt, { op: 'repeat' }>, self: number, out: string[]): void {
    const slotNames = new Set(this.scope.slots.keys());
    if (mentions(st.from, slotNames) || mentions(st.to, slotNames))
      unsupported("a loop bound that depends on an enclosing loop's variable");
    const [from, to] = bounds(this.sc, st, this.scope.nums);
    const outer = this.scope;
    const outerMult = this.mult;
    if ((to - from) * this.bodySize(st.body, outer.nums) <= UNROLL) {
      for (let v = from; v < to; v++) {
        const nums = new Map(outer.nums);
        if (st.var !== null) nums.set(st.var, v);
        this.scope = { nums, slots: outer.slots };
        this.block(st.body, self, out);
      }
      this.scope = outer;
      return;
    }
    const slot = outer.slots.size;
    if (slot >= MAX_SLOTS)
      unsupported(`loops nested ${slot + 1} deep: the probe holds ${MAX_SLOTS} loop variables`);
    const slots = new Map(outer.slots);
    slots.set(st.var ?? `\u0000loop${slot}`, { slot, from, to });
    this.scope = { nums: outer.nums, slots };
    this.mult *= to - from;
    const at = out.push('') - 1;
    this.block(st.body, self, out);
    const end = out.push(`next ${slot} ${to} ${at}`) - 1;
    out[at] = `loop ${slot} ${from} ${to} ${end}`;
    this.scope = outer;
    this.mult = outerMult;
  }

  /** Statements one pass of `body` expands to, or more than UNROLL when a bound is a probe loop variable. */
  private bodySize(body: readonly Stmt[], nums: ReadonlyMap<string, number>): number {
    try {
      return expandedCount(this.sc, body, nums, UNROLL);
    } catch (e) {
      if (e instanceof InputError) return UNROLL + 1;
      throw e;
    }
  }

  /** The index of thread `name` (an array's instance `index`), as a probe argument. */
  private threadArg(name: string, index: Expr | undefined): string {
    if (index === undefined) return String(this.threads.indexOf(name));
    const decl = this.sc.threads.find((t) => t.name === name);
    if (!decl?.array) return unsupported(`'${name}' is not a thread array`);
    const [from] = bounds(this.sc, decl.array, new Map());
    const base = this.threads.indexOf(`${name}[${from}]`);
    return argText(argOp(exprArg(index, this.scope), base - from, '+'));
  }

  /**
   * An event as a probe argument. A workload's events are placed once every
   * thread is compiled (placeEvents()), so that an event array's instances
   * are consecutive: until then the text holds a placeholder.
   */
  private eventArg(name: string, index: Expr | undefined): string {
    if (!this.loops) return String(this.index(this.events, name));
    const inst = index === undefined ? instanceOf(name) : null;
    if (index === undefined && inst === null) {
      this.index(this.events, name);
      return `\u0001e:${name}\u0001`;
    }
    const [array, at] = inst ?? [name, exprArg(index!, this.scope)];
    const range = this.argRange(at);
    const seen = this.eventArrays.get(array);
    this.eventArrays.set(array, {
      min: Math.min(seen?.min ?? range[0], range[0]),
      max: Math.max(seen?.max ?? range[1], range[1]),
    });
    return argText(argOp(at, { rpn: [`#\u0001a:${array}\u0001`] }, '+'));
  }

  /** The least and greatest value of an index over the loops in scope (one loop variable at most). */
  private argRange(a: Arg): [number, number] {
    if (typeof a === 'number') return [a, a];
    const vars = [...new Set(a.rpn.filter((t) => /^l\d+$/.test(t)))];
    const slot = [...this.scope.slots.values()].find((s) => `l${s.slot}` === vars[0]);
    if (vars.length !== 1 || !slot)
      return unsupported('an event index that depends on more than one loop variable');
    const at = (v: number): number => evalRpn(a.rpn, vars[0]!, v);
    const values = [at(slot.from), at(slot.to - 1)];
    return [Math.min(...values), Math.max(...values)];
  }

  /** Number the events: plain names first, then each array's instances, consecutive. */
  private placeEvents(bodies: string[][]): void {
    const plain = new Map(this.events.map((n, i) => [n, i]));
    const base = new Map<string, number>();
    let next = this.events.length;
    for (const [name, r] of [...this.eventArrays].sort(([a], [b]) => (a < b ? -1 : 1))) {
      base.set(name, next - r.min);
      for (let v = r.min; v <= r.max; v++) this.events.push(`${name}[${v}]`);
      next += r.max - r.min + 1;
    }
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the placeholders' own delimiter
    const re = /\u0001([ea]):([^\u0001]*)\u0001/g;
    for (const ops of bodies)
      ops.forEach((o, i) => {
        ops[i] = o.replace(re, (_, kind: string, name: string) =>
          String(kind === 'e' ? plain.get(name)! : base.get(name)!),
        );
      });
  }

  private program(
    bodies: readonly (readonly string[])[],
    finals: readonly number[],
  ): Omit<ProbeProgram, 'condition'> {
    const counts: Record<keyof typeof PROBE_LIMITS, number> = {
      threads: this.threads.length,
      mappings: this.maps.size,
      events: this.events.length,
      pipes: this.pipes.length,
      pins: this.pins.length,
      userfaultfds: this.uffds.length,
      files: this.files.length,
    };
    for (const [what, n] of Object.entries(counts) as [keyof typeof PROBE_LIMITS, number][])
      if (n > PROBE_LIMITS[what])
        unsupported(`${n} ${what}: the probe holds at most ${PROBE_LIMITS[what]}`);
    const lines = [
      'cowherd-probe 1',
      `; ${this.sc.name} (${this.sc.file})`,
      `regs ${this.regs.length}`,
      `threads ${this.threads.length}`,
      ...this.prims.map(
        (p) =>
          `prim ${p.kind} ${p.thread} ${p.map} ${p.page} ${p.name === '' ? '-' : p.name} ${p.count ?? 1} ${p.step ?? 1}`,
      ),
      `final ${finals.join(' ')}`,
    ];
    bodies.forEach((ops, i) => {
      lines.push(`thread ${i} ${this.threads[i]}`, ...ops.map((o) => `op ${o}`), 'end');
    });
    return {
      text: `${lines.join('\n')}\n`,
      regs: this.regs,
      threads: this.threads,
      prims: this.prims,
      finals,
      leafPrims: this.leafPrims,
      needs: this.needs,
      systemWide: [...this.systemWide].sort(),
      systemWidePrims: this.systemWidePrims,
      ksmPrims: this.ksmPrims,
      noisyRegs: this.noisyRegs,
      pages: this.pages,
    };
  }

  private reg(name: string): number {
    let i = this.regs.indexOf(name);
    if (i < 0) i = this.regs.push(name) - 1;
    return i;
  }

  private index(list: string[], name: string): number {
    let i = list.indexOf(name);
    if (i < 0) i = list.push(name) - 1;
    return i;
  }

  private map(name: string): { index: number; pages: number } {
    const m = this.maps.get(name);
    if (!m) return unsupported(`mapping '${name}' is used before its mmap`);
    return m;
  }

  /** [map index, first page, end page, step] of a reference (numbers: see dynRef()). */
  private ref(r: Ref): [number, number, number, number] {
    const [m, from, to, step] = this.dynRef(r);
    if (typeof from !== 'number' || typeof to !== 'number' || typeof step !== 'number')
      return unsupported(`a page range that a loop variable decides, in '${r.map}[…]' here`);
    return [m, from, to, step];
  }

  /**
   * [map index, first page, end page, step] of a reference; in a workload, a
   * page index may be a loop variable's expression the probe computes.
   */
  private dynRef(r: Ref): [number, Arg, Arg, Arg] {
    const m = this.map(r.map);
    if (r.idx === undefined) {
      const to = r.to === -1 ? m.pages : r.to;
      this.pages += this.mult * Math.ceil(Math.max(0, to - r.from) / Math.max(1, r.step));
      return [m.index, r.from, to, r.step];
    }
    const from = exprArg(r.idx.from, this.scope);
    const to = r.idx.to === null ? argOp(from, 1, '+') : exprArg(r.idx.to, this.scope);
    const step = r.idx.step === null ? 1 : exprArg(r.idx.step, this.scope);
    this.pages += this.mult;
    return [m.index, from, to, step];
  }

  private ret(name: string | null): number {
    return name === null ? -1 : this.reg(name);
  }

  /** The probe operation(s) of one statement. */
  private stmt(st: Stmt, self: number): string | string[] {
    switch (st.op) {
      case 'mmap': {
        const file = st.file === null ? -1 : this.index(this.files, st.file);
        const index = this.maps.size;
        this.maps.set(st.name, { index, pages: st.len / PAGE });
        if (st.populate) this.pages += st.len / PAGE;
        const flags =
          (st.shared ? MAP_SHARED : MAP_PRIVATE) |
          (st.file === null ? MAP_ANONYMOUS : 0) |
          (st.at === null ? 0 : st.replace ? MAP_FIXED : MAP_FIXED_NOREPLACE) |
          (st.noreserve ? MAP_NORESERVE : 0) |
          (st.populate ? MAP_POPULATE : 0);
        return `mmap ${index} ${st.len} ${PROT[st.prot]} ${flags} ${st.at ?? 0} ${this.ret(st.ret)} ${file}`;
      }
      case 'munmap':
      case 'mprotect':
      case 'madvise': {
        const [m, f, t, step] = this.dynRef(st.ref);
        const range = `${m} ${argText(argOp(f, PAGE, '*'))} ${argText(argOp(argOp(t, f, '-'), PAGE, '*'))}`;
        if (st.op === 'munmap') return `munmap ${range} ${this.ret(st.ret)}`;
        if (st.op === 'mprotect') return `mprotect ${range} ${PROT[st.prot]} ${this.ret(st.ret)}`;
        if (st.advice === 'pageout') this.needs.swap = true;
        if (step === 1) return `madvise ${range} ${MADV[st.advice]} ${this.ret(st.ret)}`;
        // One madvise() per page, `step` apart, as in the model.
        const [, from, to] = this.ref(st.ref);
        const ops: string[] = [];
        for (let p = from; p < to; p += st.ref.step)
          ops.push(`madvise ${m} ${p * PAGE} ${PAGE} ${MADV[st.advice]} ${this.ret(st.ret)}`);
        return ops;
      }
      case 'mremap': {
        const [m, from, to] = this.ref(st.ref);
        return `mremap ${m} ${from * PAGE} ${(to - from) * PAGE} ${this.map(st.onto).index} ${this.ret(st.ret)}`;
      }
      case 'write': {
        const [m, from, to, step] = this.dynRef(st.ref).map((a) => argText(a));
        return `write ${m} ${from} ${to} ${step} = ${this.rpn(st.value, self)}`;
      }
      case 'read': {
        const [m, from, to, step] = this.dynRef(st.ref).map((a) => argText(a));
        return `read ${m} ${from} ${to} ${step} ${this.ret(st.reg)}`;
      }
      case 'fork':
      case 'spawn':
        return `${st.op} ${this.threadArg(st.thread, st.index)}`;
      case 'wait':
        return `wait ${this.threadArg(st.thread, st.index)} ${this.ret(st.reg)}`;
      case 'exit':
        return `exit = ${st.code ? this.rpn(st.code, self) : '#0'}`;
      case 'signal':
      case 'await':
        return `${st.op} ${this.eventArg(st.event, st.index)}`;
      case 'observe': {
        const text = `observe ${this.reg(st.reg)} = ${this.rpn(st.expr, self)}`;
        this.noteNoise(st.reg, st.expr, self);
        return text;
      }
      case 'pipe':
        return `pipe ${this.index(this.pipes, st.name)}`;
      case 'pipe-write':
        return `pipewrite ${this.index(this.pipes, st.pipe)} = ${this.rpn(st.value, self)}`;
      case 'pipe-read':
        return `piperead ${this.index(this.pipes, st.pipe)} ${this.ret(st.reg)}`;
      case 'vmsplice': {
        const [m, from, to] = this.ref(st.ref);
        return `vmsplice ${m} ${from * PAGE} ${(to - from) * PAGE} ${this.index(this.pipes, st.pipe)} ${this.ret(st.ret)}`;
      }
      case 'clear_refs':
        if (st.value === 4) this.needs.softdirty = true;
        return `clear_refs ${st.value} ${this.ret(st.ret)}`;
      case 'prctl':
        return st.option === 'set_memory_merge'
          ? `prctl ${PR_SET_MEMORY_MERGE} ${st.arg} ${this.ret(st.ret)}`
          : `prctl ${PR_GET_MEMORY_MERGE} 0 ${this.ret(st.ret)}`;
      case 'sched_setaffinity':
        return `affinity ${st.cpu}`;
      case 'pin': {
        if (st.odirect && this.syncOdirect.has(st)) {
          // pread()/pwrite() with O_DIRECT between the pages and a file in /tmp: the
          // block layer pins the pages for the transfer (FOLL_PIN from v6.5; FOLL_WRITE
          // for a read, which writes memory).
          const [m, from, to] = this.ref(st.ref);
          this.needs.ext4 = true;
          return `odirect ${m} ${from * PAGE} ${(to - from) * PAGE} ${st.odirect === 'read' ? 1 : 0} ${this.ret(st.ret)}`;
        }
        if (st.odirect)
          unsupported('an O_DIRECT transfer held in flight cannot be paused on the real kernel');
        // io_uring's buffer registration is pin_user_pages_fast(FOLL_WRITE | FOLL_LONGTERM)
        // (io_uring/memmap.c io_pin_pages(), 6.x): a GUP-fast pin that takes the slow
        // path where GUP-fast cannot. It stands for `pin ... rw longterm` with or
        // without `fast` (the two differ only in a race with fork()).
        if (!st.pin || !st.write || !st.longterm || st.force)
          unsupported(
            `a ${st.pin ? 'FOLL_PIN' : 'FOLL_GET'} ${st.write ? 'R/W' : 'R/O'}${st.longterm ? ' long-term' : ''}${st.fast ? ' GUP-fast' : ''}${st.force ? ' FOLL_FORCE' : ''} reference needs CONFIG_GUP_TEST (not built here); only R/W long-term pins have a user-space way in (io_uring fixed buffers)`,
          );
        const [m, from, to] = this.ref(st.ref);
        this.needs.io_uring = true;
        return `iouring ${m} ${from * PAGE} ${(to - from) * PAGE} ${this.index(this.pins, st.name)} ${this.ret(st.ret)}`;
      }
      case 'unpin':
        return `unpin ${this.index(this.pins, st.name)}`;
      case 'pin-read':
        return `pinread ${this.index(this.pins, st.name)} ${this.ret(st.reg)}`;
      case 'pin-write':
        return `pinwrite ${this.index(this.pins, st.name)} = ${this.rpn(st.value, self)}`;
      case 'ksm_scan':
        this.needs.ksm = true;
        return `ksm_scan ${st.use_zero_pages ? 1 : 0}`;
      case 'userfaultfd':
        this.needs.userfaultfd = true;
        return `userfaultfd ${this.index(this.uffds, st.name)} ${st.wp_unpopulated ? 1 : 0} ${st.event_fork ? 1 : 0}`;
      case 'uffd': {
        const [m, from, to] = this.ref(st.ref);
        const sub = st.sub === 'register' ? 0 : st.sub === 'wp' ? 1 : 2;
        return `uffd ${m} ${from * PAGE} ${(to - from) * PAGE} ${this.index(this.uffds, st.uffd)} ${sub} ${this.ret(st.ret)}`;
      }
      case 'uffd-read':
        return `uffdread ${this.index(this.uffds, st.uffd)} ${st.fork === null ? -1 : this.index(this.uffds, st.fork)} ${this.ret(st.reg)}`;
      case 'file':
        if (st.fs === 'ext4') this.needs.ext4 = true;
        return `file ${this.index(this.files, st.name)} ${st.pages} ${st.fs === 'ext4' ? 1 : 0}`;
      case 'exec':
        return 'exec';
      case 'repeat':
        return unsupported('loops are expanded before the probe sees them');
      case 'phase':
        return [];
      case 'wait_writeback':
        this.needs.swap = true;
        return 'wait_writeback';
      case 'lru_add_drain_all':
        return 'lru_add_drain_all';
    }
  }

  private prim(p: Prim): number {
    if (p.kind === 'swapped' || p.kind === 'VmSwap') this.needs.swap = true;
    if (p.kind === 'softdirty') this.needs.softdirty = true;
    const key = primKey(p);
    const i = this.prims.findIndex((x) => primKey(x) === key);
    return i >= 0 ? i : this.prims.push(p) - 1;
  }

  /** The primitive an identifier names (a counter), or null for a register. */
  private identPrim(name: string, self: number): Prim | null {
    if (this.regs.includes(name)) return null;
    if (
      name === 'ksm_pages_shared' ||
      name === 'ksm_pages_sharing' ||
      name === 'ksm_pages_unshared'
    ) {
      this.systemWide.add(name);
      const p = { kind: name, thread: -1, map: -1, page: 0, name: '' };
      this.systemWidePrims.add(this.prim(p));
      this.ksmPrims.add(this.prim(p));
      return p;
    }
    if (COUNTERS.includes(name)) {
      if (SEED_COUNTERS.has(name))
        unsupported(`${name} is seed 003's own counter, not in a mainline /proc/vmstat`);
      // pgfault and pgmajfault are counted per scenario process (/proc/PID/stat).
      const p = { kind: 'vm', thread: -1, map: -1, page: 0, name };
      if (name !== 'pgfault' && name !== 'pgmajfault') {
        this.systemWide.add(name);
        this.systemWidePrims.add(this.prim(p));
      }
      return p;
    }
    if (PROCESS_PRIMS.has(name)) return { kind: name, thread: self, map: -1, page: 0, name: '' };
    return unsupported(`'${name}' is not observable by the probe`);
  }

  private callPrim(e: Extract<Expr, { kind: 'call' }>, self: number): Prim {
    const why = NOT_OBSERVABLE[e.fn];
    if (why) unsupported(`${e.fn}(): ${why}`);
    const args = e.args;
    const first = args[0];
    const named = first?.kind === 'ident' && this.threads.includes(first.name);
    const thread = named ? this.threads.indexOf((first as { name: string }).name) : self;
    const rest = named ? args.slice(1) : args;
    if ((e.fn === 'RssAnon' || e.fn === 'RssShmem') && spawns(this.sc))
      unsupported(
        `${e.fn}() in a scenario with spawn: the stacks of real threads count in it, and the per-CPU RSS counters of a threaded process are read approximately`,
      );
    if (PROCESS_PRIMS.has(e.fn)) return { kind: e.fn, thread, map: -1, page: 0, name: '' };
    if (Object.hasOwn(KPF_BITS, e.fn)) {
      // probe.c reads /proc/kpageflags of the PFN the register holds when the value is needed.
      const a = e.args[0];
      if (a?.kind !== 'ident' || !this.regs.includes(a.name))
        return unsupported(`${e.fn}() needs a register holding a PFN`);
      return {
        kind: 'kpf',
        thread: -1,
        map: -1,
        page: this.reg(a.name),
        name: String(KPF_BITS[e.fn]),
      };
    }
    if (!PAGE_PRIMS.has(e.fn)) return unsupported(`${e.fn}() is not observable by the probe`);
    const r = rest[0];
    if (r?.kind !== 'ref') return unsupported(`${e.fn}() needs a page`);
    if (r.ref.idx !== undefined)
      return unsupported(
        `${e.fn}() of a page a long loop's variable decides: the probe reads observables of fixed pages (a loop of at most ${UNROLL} statements in all is unrolled)`,
      );
    const m = this.map(r.ref.map);
    const p = { kind: e.fn, thread, map: m.index, page: r.ref.from, name: '' };
    if (r.ref.single && e.fn !== 'distinct_pfns') return p;
    // A range: probe.c counts the pages the primitive holds for (or distinct PFNs).
    const to = r.ref.to === -1 ? m.pages : r.ref.to;
    const count = Math.max(1, Math.ceil((to - r.ref.from) / r.ref.step));
    return { ...p, count, step: r.ref.step };
  }

  /** RPN text of an expression evaluated by thread `self`. */
  private rpn(e: Expr, self: number): string {
    switch (e.kind) {
      case 'num':
        return `#${e.value}`;
      case 'bool':
        return e.value ? '#1' : '#0';
      case 'ident': {
        const slot = this.scope.slots.get(e.name);
        if (slot !== undefined) return `l${slot.slot}`;
        const p = this.identPrim(e.name, self);
        return p ? `p${this.prim(p)}` : `r${this.reg(e.name)}`;
      }
      case 'ref':
        return unsupported('a bare memory reference');
      case 'call':
        return `p${this.prim(this.callPrim(e, self))}`;
      case 'unary':
        return `${this.rpn(e.arg, self)} ${e.op === '!' ? '!' : 'n'}`;
      case 'binary': {
        const op = e.op === '&&' ? '&' : e.op === '||' ? '|' : e.op === '==' ? '=' : e.op;
        return `${this.rpn(e.left, self)} ${this.rpn(e.right, self)} ${op}`;
      }
    }
  }

  /** Record whether `reg = e` carries a system-wide observable's noise. */
  private noteNoise(reg: string, e: Expr, self: number): void {
    let noisy = false;
    let sum = true;
    let ksmOnly = true;
    const walk = (x: Expr): void => {
      if (x.kind === 'binary' && x.op === '+') {
        walk(x.left);
        walk(x.right);
        return;
      }
      if (x.kind === 'ident' && this.noisyRegs.has(x.name)) {
        noisy = true;
        sum = false;
        return;
      }
      const p =
        x.kind === 'ident'
          ? this.identPrim(x.name, self)
          : x.kind === 'call'
            ? this.callPrim(x, self)
            : null;
      if (p === null) {
        sum = false;
        if (x.kind === 'unary') walk(x.arg);
        else if (x.kind === 'binary') {
          walk(x.left);
          walk(x.right);
        }
        return;
      }
      const i = this.prim(p);
      if (this.systemWidePrims.has(i)) noisy = true;
      if (this.systemWidePrims.has(i) && !this.ksmPrims.has(i)) ksmOnly = false;
    };
    walk(e);
    if (!noisy) return;
    // A register assigned twice keeps the weaker of what is known.
    const rank = { ksm: 0, sum: 1, any: 2 } as const;
    const now = !sum ? 'any' : ksmOnly ? 'ksm' : 'sum';
    const was = this.noisyRegs.get(reg);
    this.noisyRegs.set(reg, was !== undefined && rank[was] > rank[now] ? was : now);
  }

  /** The primitives of the final condition (registers are read from the probe's output). */
  private condPrims(e: Expr): number[] {
    const out: number[] = [];
    const walk = (x: Expr): void => {
      if (x.kind === 'ident') {
        const p = this.identPrim(x.name, 0);
        if (p) this.leafPrims.set(x, out[out.push(this.prim(p)) - 1]!);
      } else if (x.kind === 'call')
        this.leafPrims.set(x, out[out.push(this.prim(this.callPrim(x, 0))) - 1]!);
      else if (x.kind === 'unary') walk(x.arg);
      else if (x.kind === 'binary') {
        walk(x.left);
        walk(x.right);
      }
    };
    walk(e);
    return [...new Set(out)];
  }
}
