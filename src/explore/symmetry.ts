/**
 * The explorer's side of the symmetry over PFN allocation order
 * (core/symmetry.ts): which scenarios it is sound for, and the machine the
 * fingerprint is taken of. The search itself keeps the machines it reached
 * (paths replay as they were taken); only the visited set sees the renamed
 * ones, so a state whose renaming was already visited is not explored again.
 */

import type { PfnRenaming } from '../core/symmetry.js';
import { pfnRenaming, renamed, renamePte, renameState } from '../core/symmetry.js';
import type { Scenario } from '../scenario/ast.js';
import { KPF_BITS } from '../scenario/expr.js';
import type { Machine, ThreadRt } from '../scenario/machine.js';
import { cloneMachine } from '../scenario/machine.js';
import { machineKey, machineLanes, renamedKey, renamedLanes } from './expand.js';

/** Expression functions whose value is a PFN's number, or that take one. */
const PFN_FUNCS: ReadonlySet<string> = new Set(['pfn', 'pin_pfn', ...Object.keys(KPF_BITS)]);

/**
 * Why the symmetry would be unsound for `sc`, or null when it is sound: the
 * scenario reads PFN numbers (a renamed state answers otherwise), or KSM
 * runs (ksm.ts picks the lowest-numbered equal page to merge into).
 */
export function symmetryBlocked(sc: Scenario): string | null {
  if (sc.env.includes('ksmd')) return 'ksmd picks KSM pages by PFN order';
  let why: string | null = null;
  const walk = (x: unknown): void => {
    if (why !== null || x === null || typeof x !== 'object') return;
    if (Array.isArray(x)) {
      for (const y of x) walk(y);
      return;
    }
    const o = x as Record<string, unknown>;
    if (o.op === 'ksm_scan') why = 'a KSM scan picks KSM pages by PFN order';
    else if (o.kind === 'call' && typeof o.fn === 'string' && PFN_FUNCS.has(o.fn))
      why = `the scenario reads PFN numbers (${o.fn})`;
    else for (const k of Object.keys(o)) if (k !== 'pos') walk(o[k]);
  };
  walk(sc.setup);
  walk(sc.threads);
  walk(sc.condition);
  return why;
}

/** What became of a request for the symmetry: used, or why not. */
export interface SymmetryReport {
  readonly applied: boolean;
  /** Why it would be unsound for this scenario (symmetryBlocked()); null when applied. */
  readonly blocked: string | null;
}

export function symmetryReport(sc: Scenario): SymmetryReport {
  const blocked = symmetryBlocked(sc);
  return { applied: blocked === null, blocked };
}

/** PFNs a thread's stopped fault holds (wp_page_copy()'s old page). */
function threadPfns(t: ThreadRt, out: number[]): void {
  const p = t.kpath?.pending;
  if (p?.kind === 'wp_page_copy') out.push(p.page, p.folio);
}

/** A copy of `m` with every PFN renamed by `perm`, as a machine that can take steps. */
export function renameMachine(m: Machine, perm: PfnRenaming): Machine {
  const r = cloneMachine(m);
  r.s = renameState(r.s, perm);
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

/**
 * The canonical renaming of `m`, null when it is the identity. Register
 * values keep their number (a register may hold a PFN read before).
 */
export function canonicalRenaming(m: Machine): PfnRenaming | null {
  const held: number[] = [];
  for (const t of m.threads) threadPfns(t, held);
  return pfnRenaming(m.s, m.regs.values(), held);
}

/**
 * The member of `m`'s orbit the fingerprint is taken of, as a machine: `m`
 * renamed by its canonical renaming, or `m` itself (the reference
 * canonicalLanes() is checked against).
 */
export function canonicalMachine(m: Machine): Machine {
  const perm = canonicalRenaming(m);
  return perm === null ? m : renameMachine(m, perm);
}

/** The fingerprint of canonicalMachine(m) as 16 hex digits (what workers send). */
export function canonicalKey(m: Machine): string {
  const perm = canonicalRenaming(m);
  return perm === null ? machineKey(m) : renamedKey(m, perm);
}

/** The fingerprint of canonicalMachine(m), without building it. */
export function canonicalLanes(m: Machine): [number, number] {
  const perm = canonicalRenaming(m);
  return perm === null ? machineLanes(m) : renamedLanes(m, perm);
}
