/**
 * The symmetry over page contents: the second symmetry `--symmetry` applies
 * (symmetry.ts is the first, over PFN allocation order).
 *
 * The model never computes with what a page holds: a store puts a number
 * there, a copy (COW, swap-out and swap-in, fork, splice) moves it, and the
 * design invariants compare it with what the ghost expects (ghost.ts), all
 * by equality. So two machines that differ only by a one-to-one renaming of
 * the values in memory, in swap and in the ghost have the same futures, up
 * to that renaming, as long as the renaming keeps every value something
 * still to come can name: 0 (a new page, the zero page, a range's count of
 * non-zero pages), each number the condition compares a page's value with,
 * and each number a statement not yet run will store or compare a page's
 * value with. Those are the fixed values
 * (fixedValues()); the others only say which pages hold the same thing. The
 * fingerprint renames them in the order it meets them (canonicalValues()):
 * K threads that each stored their own number into one page, and are done,
 * leave one state where they left K.
 *
 * It is sound only where contents are used that way (valueSymmetryBlocked()):
 * every stored value is a number in the program, and the condition and
 * `observe` only compare a page's value (`value()`, `pin_value()`, or a
 * register a `read` set: renamed with the contents) with `==` or `!=`
 * against a number or another page's value. KSM, which orders pages by their contents and
 * checksums them, already keeps the whole symmetry off (symmetryBlocked()).
 */

import { contentW, swapW } from '../core/mm_types.js';
import type { PfnRenaming, ValueRenaming } from '../core/symmetry.js';
import { renamed } from '../core/symmetry.js';
import type { Ref, Scenario, Stmt } from '../scenario/ast.js';
import { Ghost } from '../scenario/ghost.js';
import type { Machine, ThreadRt } from '../scenario/machine.js';
import { cloneMachine, stmtAt } from '../scenario/machine.js';
import { eachNode, isNode, type Node } from './ast-walk.js';

const STORES: ReadonlySet<string> = new Set(['write', 'pipe-write', 'pin-write']);
const LOADS: ReadonlySet<string> = new Set(['read', 'pipe-read', 'pin-read']);

const loaded = new WeakMap<Scenario, ReadonlySet<string>>();

/** The registers a `read`, `read pipe` or `read pin` sets: each holds a page's contents. */
export function valueRegisters(sc: Scenario): ReadonlySet<string> {
  let regs = loaded.get(sc);
  if (!regs) {
    const out = new Set<string>();
    eachNode([sc.setup, sc.threads], null, (n) => {
      if (typeof n.op === 'string' && LOADS.has(n.op) && typeof n.reg === 'string') out.add(n.reg);
    });
    regs = out;
    loaded.set(sc, regs);
  }
  return regs;
}

/** Is `e` an expression whose value is a page's contents (with `regs`, valueRegisters())? */
function contentValued(e: unknown, regs: ReadonlySet<string>): boolean {
  if (!isNode(e)) return false;
  if (e.kind === 'ident') return regs.has(e.name as string);
  if (e.kind !== 'call') return false;
  if (e.fn === 'pin_value') return true;
  if (e.fn !== 'value') return false;
  const args = e.args as readonly Node[];
  const ref = args[args.length - 1];
  return isNode(ref) && ref.kind === 'ref' && (ref.ref as Node).single === true;
}

/** Why the symmetry over page contents would be unsound for `sc`, or null. */
export function valueSymmetryBlocked(sc: Scenario): string | null {
  const regs = valueRegisters(sc);
  let why: string | null = null;
  eachNode([sc.setup, sc.threads, sc.condition], null, (n, parent) => {
    if (why !== null) return;
    if (typeof n.op === 'string' && STORES.has(n.op)) {
      const v = n.value as Node;
      if (v.kind !== 'num' || !Number.isInteger(v.value) || (v.value as number) < 0)
        why = `a '${n.op}' stores a computed value`;
      else if ((v.value as number) >= 2 ** 32) why = `a '${n.op}' stores a value above 32 bits`;
    } else if (typeof n.reg === 'string' && regs.has(n.reg) && !LOADS.has(n.op as string)) {
      why = `register ${n.reg} holds a value read from memory and another number`;
    } else if (contentValued(n, regs)) {
      const eq = parent?.kind === 'binary' && (parent.op === '==' || parent.op === '!=');
      const other = eq ? (parent!.left === n ? parent!.right : parent!.left) : null;
      if (!eq || !(contentValued(other, regs) || (isNode(other) && other.kind === 'num')))
        why = `the scenario uses a page's value (${n.kind === 'ident' ? `register ${n.name}` : `${n.fn}()`}) other than to compare it with a number or another`;
    }
  });
  return why;
}

/**
 * Each number node in `x` (statements or an expression) that can be a
 * page's contents, in the order of a walk: those stored, and those
 * compared with a page's value. Other numbers (a counter's, a length, an
 * exit code) no renaming of contents touches.
 */
export function eachContentNumber(
  x: unknown,
  regs: ReadonlySet<string>,
  fn: (n: Node) => void,
): void {
  eachNode(x, null, (n) => {
    if (typeof n.op === 'string' && STORES.has(n.op)) {
      const v = n.value as Node;
      if (v.kind === 'num') fn(v);
    } else if (n.kind === 'binary' && (n.op === '==' || n.op === '!=')) {
      const [l, r] = [n.left as Node, n.right as Node];
      if (contentValued(l, regs) && r.kind === 'num') fn(r);
      if (contentValued(r, regs) && l.kind === 'num') fn(l);
    }
  });
}

function numbersIn(x: unknown, regs: ReadonlySet<string>, out: Set<number>): void {
  eachContentNumber(x, regs, (n) => out.add((n.value as number) >>> 0));
}

/**
 * Could a renaming of contents merge two of `sc`'s states? Leaving the
 * contents alone is always sound (only fewer states merge), so this is a
 * test of usefulness, not of soundness. Every value a page holds is 0 or a
 * number a statement stores, and the ones that can be renamed are those
 * the condition does not compare a page with: with fewer than two, the
 * canonical renaming is the same one-to-one map in every state. And where
 * the threads store at most one such number at each address (after setup,
 * which runs before any other thread), with no mremap, no file mapping
 * (two addresses of one page), no pipe or device store, what an address
 * holds follows from which stores ran, which the threads' positions say,
 * up to races that 0 tells apart: no renaming merges states there either
 * (K threads each writing their own page).
 */
export function valuesMayMerge(sc: Scenario): boolean {
  const stored = new Set<number>();
  numbersIn([sc.setup, sc.threads], new Set(), stored);
  const always = fixedTables(sc).always;
  let free = 0;
  for (const x of stored) if (!always.has(x)) free++;
  if (free < 2) return false;
  // The free numbers the threads store at each address (mapping, page).
  const at = new Map<string, Set<number>>();
  let anywhere = false;
  eachNode(sc.threads, null, (n) => {
    if (n.op === 'mremap' || n.op === 'pipe-write' || n.op === 'pin-write') anywhere = true;
    if (n.op === 'mmap' && n.file !== null) anywhere = true;
    if (n.op !== 'write') return;
    if ((n.value as Node).kind !== 'num') anywhere = true;
    const v = ((n.value as Node).value as number) >>> 0;
    if (always.has(v)) return;
    const ref = n.ref as Ref;
    if (ref.to === -1) anywhere = true;
    for (let p = ref.from; p < ref.to; p += ref.step) {
      const k = `${ref.map}:${p}`;
      const vs = at.get(k) ?? new Set<number>();
      vs.add(v);
      at.set(k, vs);
      if (vs.size > 1) anywhere = true;
    }
  });
  return anywhere;
}

interface Fixed {
  /** Numbers of the condition, and 0. */
  readonly always: ReadonlySet<number>;
  /** By decl × 2^20 + pc: the numbers of the statements from there on and of every thread they create. */
  readonly from: Map<number, ReadonlySet<number>>;
  /** By the threads' positions (fixedValues()): the union, made once. */
  readonly byPositions: Map<string, ReadonlySet<number>>;
  readonly declOf: ReadonlyMap<string, number>;
}

const fixedOf = new WeakMap<Scenario, Fixed>();

function fixedTables(sc: Scenario): Fixed {
  let f = fixedOf.get(sc);
  if (!f) {
    const always = new Set<number>([0]);
    numbersIn(sc.condition, valueRegisters(sc), always);
    f = {
      always,
      from: new Map(),
      byPositions: new Map(),
      declOf: new Map(sc.threads.map((d, i) => [d.name, i])),
    };
    fixedOf.set(sc, f);
  }
  return f;
}

/** The numbers of declaration `decl`'s statements from `pc` on, with the threads they create. */
function numbersFrom(
  m: Machine,
  f: Fixed,
  decl: number,
  pc: number,
  seen: Set<number>,
): Set<number> {
  const out = new Set<number>();
  const regs = valueRegisters(m.sc);
  seen.add(decl);
  for (let i = pc; ; i++) {
    const st: Stmt | undefined = stmtAt(m, decl, i);
    if (st === undefined) break;
    numbersIn(st, regs, out);
    if (st.op !== 'spawn' && st.op !== 'fork') continue;
    const d = f.declOf.get(st.thread);
    if (d === undefined) {
      // A thread this table cannot name: every number of the scenario stays.
      numbersIn([m.sc.setup, m.sc.threads], regs, out);
      break;
    }
    if (!seen.has(d)) for (const x of numbersFrom(m, f, d, 0, seen)) out.add(x);
  }
  return out;
}

/**
 * The values no renaming may move in `m` (the module comment): 0, the
 * condition's numbers, and those of every statement still to run, with the
 * threads they create. A machine's fixed values follow from its threads'
 * positions, which its fingerprint holds, so two machines with one
 * fingerprint had the same.
 */
export function fixedValues(m: Machine): ReadonlySet<number> {
  const f = fixedTables(m.sc);
  // Most threads have no number left: the union is then made of one set or none.
  let key = '';
  let only: ReadonlySet<number> | null = null;
  let several = false;
  for (const t of m.threads) {
    if (t.done) continue;
    const nums = numbersLeft(m, f, t);
    if (nums.size === 0) continue;
    key += `${t.decl}.${t.pc},`;
    if (only === null) only = nums;
    else several = true;
  }
  if (only === null) return f.always;
  let out = f.byPositions.get(key);
  if (out) return out;
  const union = new Set(f.always);
  if (several) {
    for (const t of m.threads) if (!t.done) for (const x of numbersLeft(m, f, t)) union.add(x);
  } else for (const x of only) union.add(x);
  out = union;
  f.byPositions.set(key, out);
  return out;
}

/** The numbers thread `t`'s statements from its position on (and the threads they create) name. */
function numbersLeft(m: Machine, f: Fixed, t: ThreadRt): ReadonlySet<number> {
  const k = t.decl * 2 ** 20 + t.pc;
  let nums = f.from.get(k);
  if (!nums) {
    nums = numbersFrom(m, f, t.decl, t.pc, new Set());
    f.from.set(k, nums);
  }
  return nums;
}

/**
 * The canonical renaming of `m`'s page contents, after the PFN renaming
 * `perm` (null: none) and, with `forced` and `order`, a permutation of
 * threads (thread-symmetry.ts: `forced` maps each number the moved
 * threads still store to their slots' own): each value that is neither
 * fixed nor forced, in the order the fingerprint's walk meets it (the
 * memmap by new PFN, the swap slots, the ghost's expectations by address,
 * the pipe buffers', stopped writes by slot, registers by name), gets the
 * next name from the top of the 32-bit range down, skipping every number
 * the scenario names. Null when that renames nothing. The walk depends on
 * no value, so two machines a renaming of contents maps onto each other
 * get one form.
 */
export function canonicalValues(
  m: Machine,
  perm: PfnRenaming | null,
  forced: ReadonlyMap<number, number> | null = null,
  order: readonly number[] | null = null,
  pages: ReadonlyMap<number, number> | null = null,
): ValueRenaming | null {
  let fixed = fixedValues(m);
  // Under a permutation of threads, their remaining numbers are not fixed but forced (thread-symmetry.ts).
  if (forced !== null) fixed = new Set([...fixed].filter((x) => !forced.has(x)));
  const reserved = reservedValues(m.sc);
  const vals = new Map<number, number>(forced ?? []);
  let next = 2 ** 32 - 1;
  const meet = (x: number) => {
    if (x < 0 || fixed.has(x) || vals.has(x)) return;
    while (fixed.has(next) || reserved.has(next)) next--;
    vals.set(x, next--);
  };
  walkStored(m, perm, meet, pages);
  for (let j = 0; j < m.threads.length; j++) {
    const t = m.threads[order?.[j] ?? j]!;
    if (t.kpath?.value !== undefined) meet(t.kpath.value);
  }
  for (const [k, x] of [...m.regs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    if (valueRegisters(m.sc).has(k)) meet(x >>> 0);
  let moved = false;
  for (const [x, y] of vals) if (x !== y) moved = true;
  return moved ? vals : null;
}

let scratchArray: number[] = [];

/** A reused array of at least `n` numbers (walkStored() fills what it reads). */
function scratch(n: number): number[] {
  if (scratchArray.length < n) scratchArray = new Array(n).fill(0);
  return scratchArray;
}

/**
 * Call `meet` with each value `m` stores, in an order that depends on no
 * value: the memmap by PFN after the renaming `perm`, the swap slots, the
 * ghost's expectations by address (after the renaming of pages `pages`,
 * address-symmetry.ts), the pipe buffers' by pipe.
 */
function walkStored(
  m: Machine,
  perm: PfnRenaming | null,
  meet: (x: number) => void,
  pages: ReadonlyMap<number, number> | null = null,
): void {
  const mem = m.s.mem;
  if (perm === null) for (let p = 0; p < mem.end; p++) meet(mem.content[p]!);
  else {
    // The contents by new PFN (a renaming maps PFNs below mem.end onto PFNs below it).
    const byNew = scratch(mem.end);
    for (let p = 0; p < mem.end; p++) byNew[renamed(perm, p)] = mem.content[p]!;
    for (let q = 0; q < mem.end; q++) meet(byNew[q]!);
  }
  for (const x of m.s.swap.data) meet(x);
  m.ghost.forEachValue((v) => meet((v - (v % 2)) / 2), pages);
  for (const [, bufs] of [...m.ghost.pipes].sort(([a], [b]) => a - b))
    for (const b of bufs) meet(b.want);
}

/** Where walkStored() first meets each value: what breaks ties between threads (symmetry.ts). */
export function storedPositions(m: Machine, perm: PfnRenaming | null): Map<number, number> {
  const pos = new Map<number, number>();
  walkStored(m, perm, (x) => {
    if (!pos.has(x)) pos.set(x, pos.size);
  });
  return pos;
}

const reservedOf = new WeakMap<Scenario, ReadonlySet<number>>();

/** Every number `sc` stores or compares a page with: no canonical name is one of them. */
function reservedValues(sc: Scenario): ReadonlySet<number> {
  let r = reservedOf.get(sc);
  if (!r) {
    const out = new Set<number>();
    numbersIn([sc.setup, sc.threads, sc.condition], valueRegisters(sc), out);
    r = out;
    reservedOf.set(sc, r);
  }
  return r;
}

/**
 * A copy of `m` with every page content renamed by `vals` (memory, swap,
 * the ghost's expectations, a stopped write's value): what the fingerprint
 * under `vals` stands for, for the tests.
 */
export function renameMachineValues(m: Machine, vals: ValueRenaming): Machine {
  const r = cloneMachine(m);
  const v = (x: number) => vals.get(x) ?? x;
  const content = contentW(r.s.mem);
  for (let p = 0; p < r.s.mem.end; p++) content[p] = v(content[p]!);
  if (r.s.swap.data.some((x) => v(x) !== x)) {
    const sw = swapW(r.s);
    for (let i = 0; i < sw.data.length; i++) sw.data[i] = v(sw.data[i]!);
  }
  r.ghost = new Ghost(r.ghost);
  r.ghost.renameValues(vals);
  const regs = valueRegisters(m.sc);
  r.regs = new Map([...r.regs].map(([k, x]) => [k, regs.has(k) ? v(x >>> 0) : x]));
  r.threads = r.threads.map((t) =>
    t.kpath?.value === undefined
      ? t
      : { ...t, kpath: { ...t.kpath, value: v(t.kpath.value) }, own: r.cow },
  );
  return r;
}
