/**
 * Conditions and `observe` expressions: the observables a scenario can name
 * (registers, /proc/vmstat counters, /proc/PID/status fields, pagemap-like
 * page bits, refcounts) and their static check and evaluation. Booleans are
 * numbers (true = 1); a condition holds when it evaluates to non-zero.
 */

import { pagemapEntry, TASK_MEM_FIELDS, task_mem_field } from '../core/fs/proc/task_mmu.js';
import { folio_maybe_dma_pinned } from '../core/mm/gup.js';
import { ksmPagesSharing } from '../core/mm/ksm.js';
import { page_folio } from '../core/mm/page_alloc.js';
import { page_mapcount } from '../core/mm/rmap.js';
import type { State } from '../core/mm_types.js';
import { mmOf } from '../core/mm_types.js';
import {
  PG_anon,
  PG_anon_exclusive,
  PG_buddy,
  PG_ksm,
  PG_locked,
  PG_lru,
  PG_swapcache,
  PG_writeback,
} from '../core/page-flags.js';
import { VM_EVENT_NAMES, vmEventIndex } from '../core/vmstat.js';
import type { Expr, Pos, Ref } from './ast.js';
import { InputError } from './errors.js';

type Param = 'thread' | 'ref' | 'pin' | 'pfn';

interface FuncDef {
  readonly params: readonly Param[];
  readonly doc: string;
}

const STATUS = TASK_MEM_FIELDS;

/** Global KSM counters of /sys/kernel/mm/ksm, named with a ksm_ prefix. */
const KSM_SYSFS: Readonly<Record<string, 'pages_shared' | 'pages_sharing' | 'pages_unshared'>> = {
  ksm_pages_shared: 'pages_shared',
  ksm_pages_sharing: 'pages_sharing',
  ksm_pages_unshared: 'pages_unshared',
};
/**
 * /proc/kpageflags bits of a PFN, mapped or not (a register that holds a PFN
 * read earlier): whether the page is still in the swap cache, under writeback,
 * mapped, after it left a page table.
 */
const KPF_FUNCS: Record<string, string> = {
  kpf_locked: 'kpageflags LOCKED (bit 0) of the PFN: PG_locked',
  kpf_lru: 'kpageflags LRU (bit 5) of the PFN: on an LRU list',
  kpf_writeback: 'kpageflags WRITEBACK (bit 8) of the PFN: a write to swap is in flight',
  kpf_mmap: 'kpageflags MMAP (bit 11) of the PFN: mapped in some page table',
  kpf_anon: 'kpageflags ANON (bit 12) of the PFN: an anonymous page',
  kpf_swapcache: 'kpageflags SWAPCACHE (bit 13) of the PFN: in the swap cache',
  kpf_ksm: 'kpageflags KSM (bit 21) of the PFN: a KSM page',
};

/** The kpageflags bit each kpf_ function reads. */
export const KPF_BITS: Readonly<Record<string, number>> = {
  kpf_locked: 0,
  kpf_lru: 5,
  kpf_writeback: 8,
  kpf_mmap: 11,
  kpf_anon: 12,
  kpf_swapcache: 13,
  kpf_ksm: 21,
};

const PAGE_FUNCS: Record<string, string> = {
  pfn: 'PFN mapped at the address (pagemap bits 0-54; 0 when not present)',
  present: 'pagemap bit 63: a page is mapped',
  swapped: 'pagemap bit 62: a swap entry',
  softdirty: 'pagemap bit 55: soft-dirty',
  exclusive:
    'pagemap bit 56 (PM_MMAP_EXCLUSIVE): mapped exactly once (mapcount, not PG_anon_exclusive)',
  uffd_wp: 'pagemap bit 57: uffd-wp protected',
  zeropage: 'the shared zero page is mapped (PFN == zero_pfn)',
  writable: 'the PTE is writable (not in pagemap; PAGEMAP_SCAN PAGE_IS_WPALLOWED-like)',
  dirty: 'the PTE is dirty',
  young: 'the PTE is young (accessed)',
  anon_exclusive: 'PageAnonExclusive of the mapped page (kpageflags KPF_ANON_EXCLUSIVE)',
  refcount: "the mapped folio's refcount (kpagecount-like: page_count)",
  mapcount: "the mapped page's mapcount",
  maybe_dma_pinned:
    'folio_maybe_dma_pinned() of the mapped folio (refcount >= GUP_PIN_COUNTING_BIAS; false positives allowed)',
  value: 'what a read at the address returns now (0 for the zero page or nothing mapped)',
  distinct_pfns:
    'how many different PFNs the pages of a range map (pagemap bits 0-54 of the present ones)',
  file: 'pagemap bit 61 (PM_FILE): a page-cache or shared anonymous (shmem) page is mapped',
  swap_offset:
    "the swap offset of a swap entry (pagemap bits 5-54; 0 when not swapped): compare two of them, the numbers are not the kernel's",
  address:
    "the page's virtual address in the thread's process: compare it with another (what uffd read returned), the model's addresses are not the kernel's",
};

/**
 * Page functions that take a range as well (`present(T, a[0..512])`): the
 * number of pages of the range they hold for.
 */
export const COUNTABLE: ReadonlySet<string> = new Set([
  'file',
  'present',
  'swapped',
  'softdirty',
  'exclusive',
  'uffd_wp',
  'zeropage',
  'writable',
  'dirty',
  'young',
  'anon_exclusive',
  'maybe_dma_pinned',
]);

export const FUNCS: Readonly<Record<string, FuncDef>> = {
  ...Object.fromEntries(
    STATUS.map((f) => [
      f,
      {
        params: ['thread'],
        doc:
          f === 'ksm_merging_pages'
            ? "/proc/PID/ksm_merging_pages: the process's rmap_items in KSM's stable tree (pages merged at the last scans)"
            : f === 'ksm_zero_pages'
              ? '/proc/PID/ksm_stat ksm_zero_pages: zero pages KSM placed (use_zero_pages) still mapped'
              : f === 'AnonHugePages'
                ? '/proc/PID/smaps_rollup AnonHugePages in kB: anonymous memory mapped by huge PMDs'
                : `/proc/PID/status ${f} in kB`,
      },
    ]),
  ),
  ...Object.fromEntries(
    Object.entries(PAGE_FUNCS).map(([f, doc]) => [f, { params: ['thread', 'ref'], doc }]),
  ),
  exitcode: {
    params: ['thread'],
    doc: "exit status of the thread's process (128+signal when killed)",
  },
  alive: { params: ['thread'], doc: "1 while the thread's process has not exited" },
  pin_pfn: {
    params: ['pin'],
    doc: 'PFN of the (first) page the pin holds, 0 when it holds none; pin_pfn(P) == pfn(T, a[0]) is pin coherence',
  },
  pin_value: { params: ['pin'], doc: 'contents of the (first) page the pin holds, 0 when none' },
  ...Object.fromEntries(Object.entries(KPF_FUNCS).map(([f, doc]) => [f, { params: ['pfn'], doc }])),
};

export const COUNTERS: readonly string[] = VM_EVENT_NAMES;

/** Names known to the static checker. */
export interface Names {
  readonly file: string;
  readonly threads: ReadonlySet<string>;
  readonly maps: ReadonlyMap<string, number>;
  readonly regs: ReadonlySet<string>;
  readonly pins: ReadonlySet<string>;
  /** In `observe`, the thread argument may be left out (it is the observing thread). */
  readonly inThread: boolean;
}

function err(names: Names, pos: Pos, code: 'SC003' | 'SC004', message: string): never {
  throw new InputError(code, message, names.file, pos);
}

export function checkRef(names: Names, ref: Ref, needSingle: boolean): void {
  const pages = names.maps.get(ref.map);
  if (pages === undefined) err(names, ref.pos, 'SC003', `unknown mapping '${ref.map}'`);
  if (ref.to > pages)
    err(names, ref.pos, 'SC004', `page ${ref.to - 1} is outside '${ref.map}' (${pages} pages)`);
  if (needSingle && !ref.single)
    err(names, ref.pos, 'SC004', `here '${ref.map}' needs one page: write ${ref.map}[N]`);
}

function checkIdent(names: Names, e: Extract<Expr, { kind: 'ident' }>): void {
  if (names.regs.has(e.name) || COUNTERS.includes(e.name) || Object.hasOwn(KSM_SYSFS, e.name))
    return;
  if (names.inThread && (STATUS as readonly string[]).includes(e.name)) return;
  const hint = names.threads.has(e.name)
    ? ` (a thread name goes inside a function, e.g. VmPTE(${e.name}))`
    : '';
  err(
    names,
    e.pos,
    'SC003',
    `unknown name '${e.name}': not a register, a /proc/vmstat counter or a function${hint}`,
  );
}

function checkCall(names: Names, e: Extract<Expr, { kind: 'call' }>): void {
  const f = FUNCS[e.fn];
  if (!f)
    err(
      names,
      e.pos,
      'SC003',
      `unknown function '${e.fn}': known are ${Object.keys(FUNCS).join(', ')}`,
    );
  let params = f.params;
  if (names.inThread && params[0] === 'thread' && e.args.length === params.length - 1)
    params = params.slice(1);
  if (e.args.length !== params.length) {
    err(
      names,
      e.pos,
      'SC004',
      `${e.fn} takes (${f.params.join(', ')}), got ${e.args.length} argument(s)`,
    );
  }
  params.forEach((p, i) => {
    const a = e.args[i]!;
    if (p === 'thread') {
      if (a.kind !== 'ident' || !names.threads.has(a.name)) {
        err(names, a.pos, 'SC003', `${e.fn}: argument ${i + 1} must be a thread name`);
      }
    } else if (p === 'pfn') {
      // A PFN read earlier, in a register (the model's PFNs are not the kernel's).
      if (a.kind !== 'ident' || !names.regs.has(a.name))
        err(
          names,
          a.pos,
          'SC004',
          `${e.fn}: the argument is a register holding a PFN, e.g. pfn(T, a[0]) -> p`,
        );
    } else if (p === 'pin') {
      if (a.kind !== 'ident' || !names.pins.has(a.name)) {
        err(
          names,
          a.pos,
          'SC003',
          `${e.fn}: argument ${i + 1} must be the name of a pin (pin/gup/iouring register ... -> NAME)`,
        );
      }
    } else if (a.kind === 'ref') {
      checkRef(names, a.ref, !COUNTABLE.has(e.fn) && e.fn !== 'distinct_pfns');
    } else if (a.kind === 'ident' && names.maps.has(a.name)) {
      err(names, a.pos, 'SC004', `${e.fn}: give one page, e.g. ${a.name}[0]`);
    } else {
      err(names, a.pos, 'SC004', `${e.fn}: argument ${i + 1} must be a page such as a[0]`);
    }
  });
}

/** Static check of an expression: every name resolves, every call has the right arguments. */
export function checkExpr(names: Names, e: Expr): void {
  switch (e.kind) {
    case 'num':
    case 'bool':
      break;
    case 'ident':
      checkIdent(names, e);
      break;
    case 'ref':
      err(
        names,
        e.pos,
        'SC004',
        `a memory reference '${e.ref.map}[...]' is only an argument, e.g. value(T, ${e.ref.map}[0])`,
      );
      break;
    case 'unary':
      checkExpr(names, e.arg);
      break;
    case 'binary':
      checkExpr(names, e.left);
      checkExpr(names, e.right);
      break;
    case 'call':
      checkCall(names, e);
      break;
  }
}

/** What evaluation needs from the running machine. */
export interface EvalEnv {
  readonly s: State;
  readonly regs: ReadonlyMap<string, number>;
  /** The pid running a thread, or 0 when it never started. */
  pidOf(thread: string): number;
  /** The address of page `page` of mapping `name`. */
  addrOf(name: string, page: number): number;
  /** The observing thread, in `observe`. */
  readonly current: string | null;
  /** The page a named pin holds first, 0 when none. */
  pinPage(name: string): number;
}

function taskMm(env: EvalEnv, thread: string) {
  const t = env.s.tasks[env.pidOf(thread)];
  return t && t.mm !== 0 ? mmOf(env.s, t.mm) : null;
}

function callValue(env: EvalEnv, e: Extract<Expr, { kind: 'call' }>): number {
  const f = FUNCS[e.fn]!;
  const args = e.args.length < f.params.length ? [null, ...e.args] : e.args;
  const threadArg = args[0];
  const thread = threadArg && threadArg.kind === 'ident' ? threadArg.name : env.current!;
  if (f.params[0] === 'pfn') {
    const a = e.args[0]!;
    const pfn = a.kind === 'ident' ? (env.regs.get(a.name) ?? 0) : 0;
    return kpageflag(env.s, pfn, e.fn);
  }
  if (f.params[0] === 'pin') {
    const a = e.args[0]!;
    const page = a.kind === 'ident' ? env.pinPage(a.name) : 0;
    if (e.fn === 'pin_pfn') return page;
    return page === 0 ? 0 : env.s.mem.content[page]!;
  }
  if (e.fn === 'exitcode') return env.s.tasks[env.pidOf(thread)]?.exit_code ?? 0;
  if (e.fn === 'alive') return taskMm(env, thread) ? 1 : 0;
  const mm = taskMm(env, thread);
  if ((STATUS as readonly string[]).includes(e.fn))
    return mm ? task_mem_field(env.s, mm, e.fn as (typeof STATUS)[number]) : 0;
  const refArg = args[1]!;
  if (refArg.kind !== 'ref') return 0;
  if (!mm) return 0;
  const r = refArg.ref;
  if (!r.single || e.fn === 'distinct_pfns') {
    // A range: how many pages the function holds for, or how many distinct PFNs.
    const pfns = new Set<number>();
    let n = 0;
    const end = r.to === -1 ? r.from + 1 : r.to;
    for (let page = r.from; page < end; page += r.step) {
      const v = pageValue(env, mm, e.fn === 'distinct_pfns' ? 'pfn' : e.fn, r.map, page);
      if (e.fn === 'distinct_pfns') {
        if (v !== 0) pfns.add(v);
      } else if (v !== 0) n++;
    }
    return e.fn === 'distinct_pfns' ? pfns.size : n;
  }
  return pageValue(env, mm, e.fn, r.map, r.from);
}

/** The page flag behind each kpf_ function but kpf_mmap (fs/proc/page.c stable_page_flags()). */
const KPF_PG: Readonly<Record<string, number>> = {
  kpf_locked: PG_locked,
  kpf_lru: PG_lru,
  kpf_writeback: PG_writeback,
  kpf_anon: PG_anon,
  kpf_swapcache: PG_swapcache,
  kpf_ksm: PG_ksm,
};

/** One /proc/kpageflags bit of `pfn` as the model knows it (0 for a free page). */
function kpageflag(s: State, pfn: number, fn: string): number {
  if (pfn <= 0 || pfn >= s.mem.end) return 0;
  const folio = page_folio(s, pfn);
  const flags = s.mem.flags[folio]!;
  if (flags & PG_buddy) return 0;
  if (fn === 'kpf_mmap') return page_mapcount(s, pfn, folio) > 0 ? 1 : 0;
  return flags & (KPF_PG[fn] ?? 0) ? 1 : 0;
}

/** A page function of one page. */
function pageValue(
  env: EvalEnv,
  mm: NonNullable<ReturnType<typeof taskMm>>,
  fn: string,
  map: string,
  page: number,
): number {
  const addr = env.addrOf(map, page);
  if (fn === 'address') return addr;
  const pm = pagemapEntry(env.s, mm, addr);
  const folio = pm.present && !pm.zeropage ? page_folio(env.s, pm.pfn) : 0;
  switch (fn) {
    case 'pfn':
      return pm.pfn;
    case 'present':
    case 'swapped':
    case 'exclusive':
    case 'zeropage':
    case 'writable':
    case 'dirty':
    case 'young':
    case 'uffd_wp':
      return pm[fn] ? 1 : 0;
    case 'softdirty':
      return pm.soft_dirty ? 1 : 0;
    case 'file':
      return pm.file ? 1 : 0;
    case 'swap_offset':
      return pm.swap_offset;
    case 'anon_exclusive':
      return folio !== 0 && env.s.mem.flags[pm.pfn]! & PG_anon_exclusive ? 1 : 0;
    case 'refcount':
      return folio === 0 ? 0 : env.s.mem.refcount[folio]!;
    case 'mapcount':
      return folio === 0 ? 0 : env.s.mem.mapcount[pm.pfn]!;
    case 'maybe_dma_pinned':
      return folio !== 0 && folio_maybe_dma_pinned(env.s, folio) ? 1 : 0;
    case 'value':
      return pm.present ? env.s.mem.content[pm.pfn]! : 0;
    default:
      return 0;
  }
}

/** A leaf of an expression: a name or a call (numbers and operators are evalWith()'s). */
export type Leaf = Extract<Expr, { kind: 'ident' | 'call' | 'ref' }>;

/**
 * Evaluate an expression whose leaves `leaf` values: the operators' meaning,
 * shared by the model (evalExpr()) and the real-kernel runner. Booleans are
 * 0 and 1; division by zero is 0.
 */
export function evalWith(e: Expr, leaf: (x: Leaf) => number): number {
  const ev = (x: Expr) => evalWith(x, leaf);
  switch (e.kind) {
    case 'num':
      return e.value;
    case 'bool':
      return e.value ? 1 : 0;
    case 'ident':
    case 'call':
    case 'ref':
      return leaf(e);
    case 'unary': {
      const v = ev(e.arg);
      return e.op === '!' ? (v === 0 ? 1 : 0) : -v;
    }
    case 'binary': {
      if (e.op === '&&') return ev(e.left) !== 0 && ev(e.right) !== 0 ? 1 : 0;
      if (e.op === '||') return ev(e.left) !== 0 || ev(e.right) !== 0 ? 1 : 0;
      const l = ev(e.left);
      const r = ev(e.right);
      switch (e.op) {
        case '==':
          return l === r ? 1 : 0;
        case '!=':
          return l !== r ? 1 : 0;
        case '<':
          return l < r ? 1 : 0;
        case '<=':
          return l <= r ? 1 : 0;
        case '>':
          return l > r ? 1 : 0;
        case '>=':
          return l >= r ? 1 : 0;
        case '+':
          return l + r;
        case '-':
          return l - r;
        case '*':
          return l * r;
        case '/':
          return r === 0 ? 0 : Math.trunc(l / r);
        case '%':
          return r === 0 ? 0 : l % r;
      }
    }
  }
  return 0;
}

/** Evaluate an expression that passed checkExpr(). */
export function evalExpr(env: EvalEnv, e: Expr): number {
  return evalWith(e, (x) => {
    switch (x.kind) {
      case 'ident': {
        if (env.regs.has(x.name)) return env.regs.get(x.name)!;
        const i = vmEventIndex(x.name);
        if (i !== undefined) return env.s.vmstat[i]!;
        const ksm = Object.hasOwn(KSM_SYSFS, x.name) ? KSM_SYSFS[x.name] : undefined;
        if (ksm) return ksmPagesSharing(env.s)[ksm];
        if (env.current) {
          const mm = taskMm(env, env.current);
          return mm ? task_mem_field(env.s, mm, x.name as (typeof STATUS)[number]) : 0;
        }
        return 0;
      }
      case 'ref':
        return 0;
      case 'call':
        return callValue(env, x);
    }
  });
}

/**
 * What is known of a value: it lies in [lo, hi] (±Infinity for no bound). A
 * system-wide counter read on the real kernel is one: other processes add to
 * it, so the scenario's own count is somewhere between 0 and what was read.
 */
export type Bounds = readonly [lo: number, hi: number];

const TRUE: Bounds = [1, 1];
const FALSE: Bounds = [0, 0];
const UNKNOWN_BOOL: Bounds = [0, 1];
const ANY: Bounds = [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY];

/** Truth of bounds: 1, 0, or undefined when both are possible. */
export function truthOf([lo, hi]: Bounds): 0 | 1 | undefined {
  if (lo === 0 && hi === 0) return 0;
  if (lo > 0 || hi < 0) return 1;
  return undefined;
}

function fromTruth(t: 0 | 1 | undefined): Bounds {
  return t === undefined ? UNKNOWN_BOOL : t ? TRUE : FALSE;
}

function cmp(op: string, [a, b]: Bounds, [c, d]: Bounds): Bounds {
  switch (op) {
    case '==':
      if (a === b && c === d && a === c) return TRUE;
      return b < c || d < a ? FALSE : UNKNOWN_BOOL;
    case '!=': {
      const eq = cmp('==', [a, b], [c, d]);
      return eq === UNKNOWN_BOOL ? eq : eq === TRUE ? FALSE : TRUE;
    }
    case '<':
      return b < c ? TRUE : a >= d ? FALSE : UNKNOWN_BOOL;
    case '<=':
      return b <= c ? TRUE : a > d ? FALSE : UNKNOWN_BOOL;
    case '>':
      return cmp('<', [c, d], [a, b]);
    default: // '>='
      return cmp('<=', [c, d], [a, b]);
  }
}

/** min and max of `f` at the corners, treating 0 * ±Infinity as 0. */
function corners(f: (x: number, y: number) => number, [a, b]: Bounds, [c, d]: Bounds): Bounds {
  const v = [f(a, c), f(a, d), f(b, c), f(b, d)].map((x) => (Number.isNaN(x) ? 0 : x));
  return [Math.min(...v), Math.max(...v)];
}

/**
 * evalWith() over bounds (Kleene's three-valued logic for the booleans): the
 * result contains evalWith()'s for every choice of leaf values within the
 * leaves' bounds, and is exact where every leaf is.
 */
export function evalBounds(e: Expr, leaf: (x: Leaf) => Bounds): Bounds {
  const ev = (x: Expr) => evalBounds(x, leaf);
  switch (e.kind) {
    case 'num':
      return [e.value, e.value];
    case 'bool':
      return e.value ? TRUE : FALSE;
    case 'ident':
    case 'call':
    case 'ref':
      return leaf(e);
    case 'unary': {
      const v = ev(e.arg);
      if (e.op !== '!') return [-v[1], -v[0]];
      const t = truthOf(v);
      return fromTruth(t === undefined ? t : t ? 0 : 1);
    }
    case 'binary': {
      if (e.op === '&&' || e.op === '||') {
        const l = truthOf(ev(e.left));
        const stop = e.op === '&&' ? 0 : 1;
        if (l === stop) return fromTruth(stop);
        const r = truthOf(ev(e.right));
        if (r === stop) return fromTruth(stop);
        return fromTruth(l === undefined || r === undefined ? undefined : l);
      }
      const l = ev(e.left);
      const r = ev(e.right);
      switch (e.op) {
        case '+':
          return [l[0] + r[0], l[1] + r[1]];
        case '-':
          return [l[0] - r[1], l[1] - r[0]];
        case '*':
          return corners((x, y) => x * y, l, r);
        case '/':
          // Division by zero is 0; truncating division by a known non-zero
          // divisor is monotonic in the dividend; anything else may divide by
          // zero or flip signs.
          if (r[0] === 0 && r[1] === 0) return FALSE;
          if (r[0] === r[1] && Number.isFinite(l[0]) && Number.isFinite(l[1]))
            return corners((x, y) => Math.trunc(x / y), l, r);
          return ANY;
        case '%':
          // C's remainder (the dividend's sign); by zero, 0.
          if (l[0] === l[1] && r[0] === r[1] && Number.isFinite(l[0]) && Number.isFinite(r[0]))
            return r[0] === 0 ? FALSE : [l[0] % r[0], l[0] % r[0]];
          if (l[0] >= 0 && r[0] === r[1] && r[0] !== 0 && Number.isFinite(r[0]))
            return [0, Math.min(l[1], Math.abs(r[0]) - 1)];
          return ANY;
        default:
          return cmp(e.op, l, r);
      }
    }
  }
  return ANY;
}
