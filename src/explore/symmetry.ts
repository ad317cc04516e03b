/**
 * The explorer's side of the symmetry over PFN allocation order
 * (core/symmetry.ts): which scenarios it is sound for, and the machine the
 * fingerprint is taken of. The search itself keeps the machines it reached
 * (paths replay as they were taken); only the visited set sees the renamed
 * ones, so a state whose renaming was already visited is not explored again.
 */

import { ZERO_PFN } from '../core/mm_types.js';
import type { AddrRenaming, PfnRenaming } from '../core/symmetry.js';
import { pfnRenaming, renamed, renamePte, renameState } from '../core/symmetry.js';
import type { Scenario } from '../scenario/ast.js';
import type { Machine, ThreadRt } from '../scenario/machine.js';
import { cloneMachine } from '../scenario/machine.js';
import {
  forcedPages,
  ownPageMarks,
  ownPageMatches,
  ownPagesSignature,
  ownPageValuePositions,
  renameMachineAddresses,
  sharedExpectations,
} from './address-symmetry.js';
import { eachNode, isNode } from './ast-walk.js';
import {
  machineKey,
  machineLanes,
  type Renaming,
  renamedKey,
  renamedLanes,
  threadKey,
} from './machine-key.js';
import { forcedValues, permutable, remainingPositions, threadClasses } from './thread-symmetry.js';
import {
  canonicalValues,
  renameMachineValues,
  storedPositions,
  valueSymmetryBlocked,
  valuesMayMerge,
} from './value-symmetry.js';

/** Expression functions whose value is a PFN's number. */
const PFN_FUNCS: ReadonlySet<string> = new Set(['pfn', 'pin_pfn']);

function scenarioRoots(sc: Scenario): unknown[] {
  return [sc.setup, sc.threads, sc.condition];
}

function isPfnValued(e: unknown, regs: ReadonlySet<string>): boolean {
  return (
    isNode(e) &&
    ((e.kind === 'call' && PFN_FUNCS.has(e.fn as string)) ||
      (e.kind === 'ident' && regs.has(e.name as string)))
  );
}

/** The registers that may hold a PFN: set by an `observe` of a PFN-valued expression. */
export function pfnRegisters(sc: Scenario): ReadonlySet<string> {
  const regs = new Set<string>();
  for (let size = -1; size !== regs.size; ) {
    size = regs.size;
    eachNode(scenarioRoots(sc), null, (n) => {
      if (n.op === 'observe' && isPfnValued(n.expr, regs)) regs.add(n.reg as string);
    });
  }
  return regs;
}

/**
 * Why the symmetry would be unsound for `sc`, or null when it is sound.
 * KSM picks the lowest-numbered equal page to merge into (ksm.ts). A PFN's
 * number (`pfn()`, `pin_pfn()`, and a register an `observe` of one set) may
 * only be compared by `==` or `!=` with another, with 0 or with the zero
 * page's PFN, stored by `observe`, or handed to a `kpf_*` function (whose
 * argument must be such a register, not a value read from memory): a
 * renaming maps distinct PFNs to distinct PFNs and keeps a register's value
 * and the page it names, so none of these answers otherwise. Any other use
 * (arithmetic, `<`, another literal, a written value) would.
 */
export function symmetryBlocked(sc: Scenario): string | null {
  if (sc.env.includes('ksmd')) return 'ksmd picks KSM pages by PFN order';
  const roots = scenarioRoots(sc);
  let ksm = false;
  eachNode(roots, null, (n) => {
    if (n.op === 'ksm_scan') ksm = true;
  });
  if (ksm) return 'a KSM scan picks KSM pages by PFN order';
  const regs = pfnRegisters(sc);
  const pfnValued = (e: unknown) => isPfnValued(e, regs);
  let why: string | null = null;
  eachNode(roots, null, (n, parent) => {
    // A kpf_*() of a register that holds no PFN (a value read from memory): the checker lets it through.
    if (why === null && n.kind === 'call' && String(n.fn).startsWith('kpf_')) {
      const arg = (n.args as unknown[] | undefined)?.[0];
      if (!pfnValued(arg))
        why = `the scenario uses a PFN number (${n.fn}() of a register that holds none)`;
    }
    if (why !== null || !pfnValued(n) || parent === null) return;
    if (parent.op === 'observe' && parent.expr === n) return;
    if (parent.kind === 'call' && String(parent.fn).startsWith('kpf_')) return;
    if (parent.kind === 'binary' && (parent.op === '==' || parent.op === '!=')) {
      const other = parent.left === n ? parent.right : parent.left;
      // 0 ("no page") and the zero page's PFN: no renaming moves them or onto them.
      const fixed =
        isNode(other) && other.kind === 'num' && (other.value === 0 || other.value === ZERO_PFN);
      if (pfnValued(other) || fixed) return;
    }
    const what = n.kind === 'call' ? `${n.fn}()` : `register ${n.name}`;
    why = `the scenario uses a PFN number (${what}) other than to compare it with another`;
  });
  return why;
}

/** What became of a request for the symmetry: used, or why not. */
export interface SymmetryReport {
  readonly applied: boolean;
  /** Why it would be unsound for this scenario (symmetryBlocked()); null when applied. */
  readonly blocked: string | null;
  /**
   * Whether the symmetry over page contents is applied too
   * (value-symmetry.ts): null when it is (or when nothing is), else why not.
   */
  readonly valuesBlocked: string | null;
  /** The groups of threads that run the same program (thread-symmetry.ts) whose places it swaps. */
  readonly threads: readonly (readonly string[])[];
}

/** The level ExploreOptions.symmetry asks for, null for none. */
export function symmetryLevel(option: boolean | SymmetryLevel | undefined): SymmetryLevel | null {
  return option === true ? 'threads' : option === false || option === undefined ? null : option;
}

/** The symmetries for `sc` up to `level` (ExploreOptions.symmetry). */
export function symmetryReport(sc: Scenario, level: SymmetryLevel = 'threads'): SymmetryReport {
  const blocked = symmetryBlocked(sc);
  const valuesBlocked =
    blocked !== null ? null : level === 'pfns' ? 'not asked for' : valueSymmetryBlocked(sc);
  const c = threadClasses(sc);
  const threads =
    blocked === null && valuesBlocked === null && level === 'threads'
      ? c.members.map((ds) => ds.map((d) => sc.threads[d]!.name))
      : [];
  return { applied: blocked === null, blocked, valuesBlocked, threads };
}

const valuesApply = new WeakMap<Scenario, 'off' | 'skip' | 'on'>();

/**
 * The symmetry over page contents for `m`'s scenario (with the one over
 * PFNs): 'off' where unsound, 'skip' where it is sound but no renaming of
 * contents alone could merge two states (valuesMayMerge()), else 'on'.
 */
function valueSymmetry(m: Machine): 'off' | 'skip' | 'on' {
  let on = valuesApply.get(m.sc);
  if (on === undefined) {
    // Threads of one program swap with their numbers: the renaming of contents they force is needed then.
    const merge = valuesMayMerge(m.sc) || threadClasses(m.sc).members.length > 0;
    on = valueSymmetryBlocked(m.sc) !== null || m.lazy ? 'off' : merge ? 'on' : 'skip';
    valuesApply.set(m.sc, on);
  }
  return on;
}

/** PFNs a thread's stopped fault holds (wp_page_copy()'s old page). */
function threadPfns(t: ThreadRt, out: number[]): void {
  const p = t.kpath?.pending;
  if (p?.kind === 'wp_page_copy') out.push(p.page, p.folio);
}

/**
 * A copy of `m` with every PFN renamed by `perm`, as a machine that can take
 * steps; with `regs` (pfnRegisters()), the values of those registers too.
 * The explorer's canonical renaming keeps the value of every register that
 * may hold a PFN, so it needs no `regs`; a renaming that moves a PFN a
 * register will hold later (a property's random one) does.
 */
export function renameMachine(
  m: Machine,
  perm: PfnRenaming,
  regs: ReadonlySet<string> = new Set(),
): Machine {
  const r = cloneMachine(m);
  r.s = renameState(r.s, perm);
  if (regs.size > 0)
    r.regs = new Map([...r.regs].map(([k, v]) => [k, regs.has(k) ? renamed(perm, v) : v]));
  r.threads = r.threads.map((t) => {
    const p = t.kpath?.pending;
    if (p?.kind !== 'wp_page_copy') return t;
    const pending = {
      ...p,
      page: renamed(perm, p.page),
      folio: renamed(perm, p.folio),
      orig_pte: renamePte(perm, p.orig_pte),
    };
    return { ...t, kpath: { ...t.kpath!, pending }, own: r.cow };
  });
  return r;
}

const pfnRegs = new WeakMap<Scenario, ReadonlySet<string>>();

/** The values of `m`'s registers that may hold a PFN (pfnRegisters()). */
export function pfnRegisterValues(m: Machine): number[] {
  let regs = pfnRegs.get(m.sc);
  if (!regs) {
    regs = pfnRegisters(m.sc);
    pfnRegs.set(m.sc, regs);
  }
  const out: number[] = [];
  if (regs.size > 0) for (const [k, v] of m.regs) if (regs.has(k)) out.push(v);
  return out;
}

/**
 * The canonical renaming of `m`'s PFNs (with `order`, a permutation of
 * threads, taken first), null when it is the identity. A register
 * that may hold a PFN (pfnRegisters()) keeps its value's number: it names
 * the page it was read from. Other registers hold data, which no renaming
 * touches and nothing reads as a PFN (symmetryBlocked()).
 */
export function canonicalRenaming(
  m: Machine,
  order: readonly number[] | null = null,
  addrs: AddrRenaming | null = null,
): PfnRenaming | null {
  const held: number[] = [];
  // In slot order under a permutation of threads: the PFNs a slot's thread holds.
  for (let j = 0; j < m.threads.length; j++) threadPfns(m.threads[order?.[j] ?? j]!, held);
  return pfnRenaming(m.s, pfnRegisterValues(m), held, addrs);
}

/** Which symmetries a fingerprint applies: PFNs alone, with page contents, or with threads too. */
export type SymmetryLevel = 'pfns' | 'values' | 'threads';

/**
 * The canonical renamings of `m` up to `level`: a permutation of the
 * threads that run the same program (thread-symmetry.ts, each group sorted
 * by threadKey(), ties by their own pages and where their numbers are
 * stored), with the renaming of their own pages it forces
 * (address-symmetry.ts; no permutation where a page is pinned), then of
 * its PFNs, then of its page contents (value-symmetry.ts), each where it
 * applies.
 */
function canonicalForm(m: Machine, level: SymmetryLevel): Renaming {
  const values = level === 'pfns' ? 'off' : valueSymmetry(m);
  if (values === 'off') return { perm: canonicalRenaming(m), vals: null, order: null, addrs: null };
  let order: number[] | null = null;
  let forced: Map<number, number> | null = null;
  let addrs: AddrRenaming | null = null;
  const groups = level === 'threads' ? permutable(m) : null;
  if (groups !== null) {
    order = m.threads.map((_, i) => i);
    let pos: Map<number, number> | null = null;
    const marks = ownPageMarks(m);
    let shared: Map<number, number[]> | null = null;
    for (const g of groups) {
      const keys = new Map(g.map((i) => [i, threadKey(m, i, marks)]));
      // Ties: by their own pages (ownPagesSignature()), then by where their
      // own numbers are stored (remainingPositions()), then by which other
      // pages hold what theirs do (ownPageValuePositions(), ownPageMatches()).
      const ties = new Set(keys.values()).size < g.length;
      if (ties) pos ??= storedPositions(m, null);
      if (ties && marks) shared ??= sharedExpectations(m);
      const at = new Map(
        g.map((i) => {
          if (!ties) return [i, []];
          const t = m.threads[i]!;
          return [
            i,
            [
              ...ownPagesSignature(m, t),
              -1,
              ...remainingPositions(m, t, pos!),
              -1,
              ...(shared ? ownPageValuePositions(m, t, pos!) : []),
              -1,
              ...(shared ? ownPageMatches(m, t, shared) : []),
            ],
          ];
        }),
      );
      const sorted = [...g].sort((a, b) => {
        const ka = keys.get(a)!;
        const kb = keys.get(b)!;
        if (ka !== kb) return ka < kb ? -1 : 1;
        const pa = at.get(a)!;
        const pb = at.get(b)!;
        for (let k = 0; k < Math.min(pa.length, pb.length); k++)
          if (pa[k] !== pb[k]) return pa[k]! - pb[k]!;
        return a - b;
      });
      g.forEach((slot, j) => {
        order![slot] = sorted[j]!;
      });
    }
    forced = forcedValues(m, order);
    const pages = forced === null ? null : forcedPages(m, order);
    // Where contents are left alone ('skip'), only a permutation that forces no renaming is taken.
    const renames = forced !== null && [...forced].some(([x, y]) => x !== y);
    if (
      forced === null ||
      pages === 'pinned' ||
      order.every((i, j) => i === j) ||
      (values === 'skip' && renames)
    ) {
      order = null;
      forced = null;
    } else addrs = pages;
  }
  const perm = canonicalRenaming(m, order, addrs);
  const vals =
    values === 'on' ? canonicalValues(m, perm, forced, order, addrs?.pages ?? null) : null;
  return { perm, vals, order, addrs };
}

/**
 * `m` with the threads' local states moved by `order` (slot j takes those
 * of thread order[j], or its own past the end of `order`; names,
 * declarations and pids stay with the slots):
 * what the fingerprint under a permutation of threads stands for.
 */
export function permuteThreads(m: Machine, order: readonly number[]): Machine {
  const r = cloneMachine(m);
  const at = (j: number) => order[j] ?? j;
  r.threads = m.threads.map((slot, j) => {
    const t = m.threads[at(j)]!;
    return { ...t, name: slot.name, decl: slot.decl, pid: slot.pid, own: r.cow };
  });
  const blocked = new Set<number>();
  m.threads.forEach((_, j) => {
    if (m.blocked.has(at(j))) blocked.add(j);
  });
  r.blocked = m.blocked.size === 0 ? m.blocked : blocked;
  return r;
}

/**
 * The member of `m`'s orbit the fingerprint is taken of, as a machine: `m`
 * renamed by its canonical renamings, or `m` itself (the reference
 * canonicalLanes() is checked against).
 */
export function canonicalMachine(m: Machine, level: SymmetryLevel = 'threads'): Machine {
  const { perm, vals, order, addrs } = canonicalForm(m, level);
  let r = perm === null ? m : renameMachine(m, perm);
  if (order !== null) r = permuteThreads(r, order);
  if (addrs !== null) r = renameMachineAddresses(r, addrs);
  return vals === null ? r : renameMachineValues(r, vals);
}

/** The fingerprint of canonicalMachine(m) as 16 hex digits (what workers send). */
export function canonicalKey(m: Machine, level: SymmetryLevel = 'threads'): string {
  const r = canonicalForm(m, level);
  return r.perm === null && r.vals === null && r.order === null && r.addrs === null
    ? machineKey(m)
    : renamedKey(m, r);
}

/** The fingerprint of canonicalMachine(m), without building it. */
export function canonicalLanes(m: Machine, level: SymmetryLevel = 'threads'): [number, number] {
  const r = canonicalForm(m, level);
  return r.perm === null && r.vals === null && r.order === null && r.addrs === null
    ? machineLanes(m)
    : renamedLanes(m, r);
}
