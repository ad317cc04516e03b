/**
 * One state's successors, shared by the sequential explorer and its workers:
 * the moves every runnable thread can make (once per combination of the
 * kernel's choices), the environment actors' steps, the partial-order
 * reduction, and what a final machine is. Also the machine fingerprint.
 */

import { Fingerprint, hashState } from '../core/canon.js';
import { checkInvariants, type Violation } from '../core/invariants.js';
import { ptLive } from '../core/mm/mmu_gather.js';
import { ptPromiseBroken } from '../core/mm/pt_walk.js';
import type { Config } from '../core/points.js';
import { type PfnRenaming, renamed, renamePte, type ValueRenaming } from '../core/symmetry.js';
import { countersRead } from '../scenario/counters.js';
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
import type { Choice, Move } from './moves.js';
import { applyMove } from './moves.js';
import { valueRegisters } from './value-symmetry.js';

function byKey<V>(m: ReadonlyMap<string, V>): [string, V][] {
  return [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

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

/** Digests of persistent name tables, by feeder (one table object could serve two kinds). */
const namedDigests = new Map<unknown, WeakMap<object, readonly [number, number]>>();

/** Feed a persistent name table into `h` by its digest, computed by `feed` once per table. */
function named<T extends object>(
  h: Fingerprint,
  table: T,
  feed: (f: Fingerprint, t: T) => void,
): void {
  let cache = namedDigests.get(feed);
  if (cache === undefined) {
    cache = new WeakMap();
    namedDigests.set(feed, cache);
  }
  let d = cache.get(table);
  if (d === undefined) {
    const f = new Fingerprint();
    feed(f, table);
    d = f.lanes();
    cache.set(table, d);
  }
  h.word(d[0]);
  h.word(d[1]);
}

function text(h: Fingerprint, x: string): void {
  h.word(x.length);
  for (let i = 0; i < x.length; i++) h.word(x.charCodeAt(i));
}

function feedBlocked(h: Fingerprint, blocked: ReadonlySet<number>): void {
  h.word(-1);
  for (const b of [...blocked].sort((a, b) => a - b)) h.word(b);
}

function feedRegs(h: Fingerprint, regs: ReadonlyMap<string, number>): void {
  h.word(-2);
  for (const [k, v] of byKey(regs)) {
    text(h, k);
    h.num(v >>> 0);
  }
}

function feedEvents(h: Fingerprint, events: ReadonlySet<string>): void {
  h.word(-3);
  for (const e of [...events].sort()) text(h, e);
}

function feedPins(h: Fingerprint, pins: Machine['pins']): void {
  h.word(-4);
  for (const [k, ids] of byKey(pins)) {
    text(h, k);
    h.words(ids, ids.length);
  }
}

function feedMaps(h: Fingerprint, maps: Machine['maps']): void {
  h.word(-5);
  for (const [k, v] of byKey(maps)) {
    text(h, k);
    h.num(v.addr);
    h.num(v.len);
  }
}

function feedUserfaults(h: Fingerprint, userfaults: Machine['userfaults']): void {
  h.word(-8);
  for (const [i, u] of [...userfaults].sort(([a], [b]) => a - b)) {
    h.word(i);
    h.word(u.ctx);
    h.num(u.address);
    h.word(u.read ? 1 : 0);
  }
}

function feedIds(h: Fingerprint, ids: ReadonlyMap<string, number>): void {
  h.word(-9);
  for (const [k, v] of byKey(ids)) {
    text(h, k);
    h.word(v);
  }
}

/** Fingerprint of everything that determines a machine's future, as 16 hex digits. */
export function machineKey(m: Machine): string {
  return machineFingerprint(m).hex();
}

/** The same fingerprint as its two 32-bit lanes (the visited set's key). */
export function machineLanes(m: Machine): [number, number] {
  return machineFingerprint(m).lanes();
}

/**
 * The fingerprint of `m` renamed by the PFN renaming `perm` (symmetry.ts)
 * and the renaming of page contents `vals` (value-symmetry.ts), either
 * absent: the same as machineKey() of the renamed copy, without building it.
 */
export function renamedLanes(
  m: Machine,
  perm: PfnRenaming | null,
  vals: ValueRenaming | null = null,
): [number, number] {
  return machineFingerprint(m, perm ?? undefined, vals ?? undefined).lanes();
}

/** renamedLanes() as 16 hex digits (machineKey()'s form). */
export function renamedKey(
  m: Machine,
  perm: PfnRenaming | null,
  vals: ValueRenaming | null = null,
): string {
  return machineFingerprint(m, perm ?? undefined, vals ?? undefined).hex();
}

/** `m`'s registers with the values a `read` set renamed by `vals` (value-symmetry.ts). */
function renamedRegs(m: Machine, vals: ValueRenaming): ReadonlyMap<string, number> {
  const regs = valueRegisters(m.sc);
  if (regs.size === 0) return m.regs;
  return new Map([...m.regs].map(([k, x]) => [k, regs.has(k) ? (vals.get(x >>> 0) ?? x) : x]));
}

function machineFingerprint(m: Machine, perm?: PfnRenaming, vals?: ValueRenaming): Fingerprint {
  const h = new Fingerprint();
  const v = vals ? (x: number) => vals.get(x) ?? x : (x: number) => x;
  hashState(m.s, h, countersRead(m.sc), perm, vals);
  for (const t of m.threads) {
    h.word(t.pid);
    h.word(t.pc);
    h.word(t.cpu);
    h.word(t.done ? 1 : 0);
    const kp = t.kpath;
    if (kp?.pending.kind === 'wp_page_copy') {
      const p = kp.pending;
      h.word(1);
      h.num(p.address);
      h.num(perm ? renamePte(perm, p.orig_pte) : p.orig_pte);
      h.word(perm ? renamed(perm, p.page) : p.page);
      h.word(p.unshare ? 1 : 0);
      h.word(kp.page);
      h.num(kp.value === undefined ? -1 : v(kp.value));
    } else if (kp?.pending.kind === 'fork_wrprotect') {
      h.word(2);
      h.word(kp.pending.child);
      h.words(kp.pending.addresses, kp.pending.addresses.length);
    } else if (kp?.pending.kind === 'pte_map' || kp?.pending.kind === 'gup_fast') {
      // The table ids it read, and whether each is still the table it read (pt.gen is not hashed).
      const p = kp.pending;
      h.word(p.kind === 'pte_map' ? 4 : 5);
      h.num(p.address);
      h.word(p.pmd_table);
      h.word(ptLive(m.s, p.pmd_table, p.pmd_gen) ? 1 : 0);
      h.word(p.table);
      h.word(ptLive(m.s, p.table, p.gen) ? 1 : 0);
      if (p.kind === 'pte_map') {
        h.word(p.pmd_index);
        h.word((p.write ? 1 : 0) | (p.rcu ? 2 : 0) | (p.tryget ? 4 : 0) | (p.rwsem ? 8 : 0));
        h.word(kp.page);
        h.num(kp.value === undefined ? -1 : v(kp.value));
      }
    } else if (kp?.pending.kind === 'unmap_mapping') {
      const p = kp.pending;
      h.word(6);
      h.word(p.inode);
      h.word(p.first);
      h.word(p.last);
      h.word((p.rcu ? 1 : 0) | (p.tryget ? 2 : 0));
      h.word(p.tables.length);
      for (const x of p.tables) {
        h.word(x.mm);
        h.num(x.start);
        h.num(x.end);
        h.word(x.table);
        h.word(ptLive(m.s, x.table, x.gen) ? 1 : 0);
      }
    } else if (kp?.pending.kind === 'uffd_fork_event') {
      h.word(3);
      h.word(kp.pending.child);
      h.word(kp.pending.ctx);
      h.word(kp.pending.child_ctx);
      h.word(kp.pending.read ? 1 : 0);
    } else {
      h.word(0);
    }
  }
  // The name tables, each by its digest: they are persistent (a writer
  // replaces a table, machine.ts withEntry()), so a table's digest is
  // computed once however many machines share it.
  named(h, m.blocked, feedBlocked);
  named(h, vals ? renamedRegs(m, vals) : m.regs, feedRegs);
  named(h, m.events, feedEvents);
  named(h, m.pins, feedPins);
  // Name bindings: two orders of the same mmaps can leave the same VMAs bound to other names.
  named(h, m.maps, feedMaps);
  named(h, m.userfaults, feedUserfaults);
  named(h, m.pipes, feedIds);
  named(h, m.files, feedIds);
  named(h, m.uffds, feedIds);
  // Ghost state of the design invariants: what each process is entitled to see.
  h.word(-6);
  const [d1, d2] = vals ? m.ghost.renamedDigest(vals) : m.ghost.digest();
  h.word(d1);
  h.word(d2);
  for (const [id, o] of [...m.ghost.origin].sort(([a], [b]) => a - b)) {
    h.word(id);
    h.num(o.key);
    h.word(o.pin ? 1 : 0);
  }
  h.word(-7);
  for (const [pipe, bufs] of [...m.ghost.pipes].sort(([a], [b]) => a - b)) {
    h.word(pipe);
    h.word(bufs.length);
    for (const b of bufs) {
      h.num((b.want < 0 ? b.want : v(b.want)) + 1);
      h.num(b.key + 1);
    }
  }
  return h;
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
  if (alone < 0 && por && independence && !actors) alone = independentAccess(node);
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
