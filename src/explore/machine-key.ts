/**
 * The fingerprint of a machine (the explorer's visited-set key): the kernel
 * state (core/canon.ts) with the threads, the name tables and the ghost
 * state of the design invariants; under the symmetries, as if renamed by a
 * PFN renaming, a renaming of page contents and a permutation of threads
 * (symmetry.ts), without building the renamed copy.
 */

import { Fingerprint, hashState } from '../core/canon.js';
import { ptLive } from '../core/mm/mmu_gather.js';
import { mk_pte, pte_present, pteBits } from '../core/pgtable_types.js';
import {
  type AddrRenaming,
  type PfnRenaming,
  renamed,
  renamedAddr,
  renamePte,
  type ValueRenaming,
} from '../core/symmetry.js';
import { countersRead } from '../scenario/counters.js';
import { renamedKey as renamedGhostKey } from '../scenario/ghost-mem.js';
import type { Machine, ThreadRt } from '../scenario/machine.js';
import { valueRegisters } from './value-symmetry.js';

function byKey<V>(m: ReadonlyMap<string, V>): [string, V][] {
  return [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
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
 * How a fingerprint renames the machine (symmetry.ts): PFNs (`perm`), page
 * contents (`vals`, value-symmetry.ts), threads (`order[j]`: the thread
 * whose local state slot j takes, thread-symmetry.ts) and the pages those
 * threads own (`addrs`, address-symmetry.ts), each null when not.
 */
export interface Renaming {
  readonly perm: PfnRenaming | null;
  readonly vals: ValueRenaming | null;
  readonly order: readonly number[] | null;
  readonly addrs: AddrRenaming | null;
}

/** The fingerprint of `m` renamed by `r`: machineLanes() of the renamed copy, without building it. */
export function renamedLanes(m: Machine, r: Renaming): [number, number] {
  return machineFingerprint(m, r).lanes();
}

/** renamedLanes() as 16 hex digits (machineKey()'s form). */
export function renamedKey(m: Machine, r: Renaming): string {
  return machineFingerprint(m, r).hex();
}

/** `m`'s registers with the values a `read` set renamed by `vals` (value-symmetry.ts). */
function renamedRegs(m: Machine, vals: ValueRenaming): ReadonlyMap<string, number> {
  const regs = valueRegisters(m.sc);
  if (regs.size === 0) return m.regs;
  return new Map([...m.regs].map(([k, x]) => [k, regs.has(k) ? (vals.get(x >>> 0) ?? x) : x]));
}

/** A PTE without the PFN it maps (its flags, or a non-present entry as it is). */
function blindPte(pte: number): number {
  return pte_present(pte) ? mk_pte(0, pteBits(pte)) : pte;
}

const sameAddr = (x: number): number => x;

/**
 * A thread's local state (all but its pid), its PFNs renamed by `perm`,
 * its values by `v` and its addresses by `a`; with `blind`, without the
 * PFNs.
 */
function feedThread(
  h: Fingerprint,
  m: Machine,
  t: ThreadRt,
  perm: PfnRenaming | undefined,
  v: (x: number) => number,
  a: (x: number) => number,
  blind = false,
): void {
  h.word(t.pc);
  h.word(t.cpu);
  h.word(t.done ? 1 : 0);
  const kp = t.kpath;
  if (kp?.pending.kind === 'wp_page_copy') {
    const p = kp.pending;
    h.word(1);
    h.num(a(p.address));
    // Blind (threadKey()): no PFN, which the threads' order must not depend on.
    h.num(blind ? blindPte(p.orig_pte) : perm ? renamePte(perm, p.orig_pte) : p.orig_pte);
    h.word(blind ? 0 : perm ? renamed(perm, p.page) : p.page);
    h.word(p.unshare ? 1 : 0);
    h.word(kp.page);
    h.num(kp.value === undefined ? -1 : v(kp.value));
  } else if (kp?.pending.kind === 'fork_wrprotect') {
    h.word(2);
    h.word(kp.pending.child);
    h.word(kp.pending.addresses.length);
    for (const x of kp.pending.addresses) h.num(a(x));
  } else if (kp?.pending.kind === 'pte_map' || kp?.pending.kind === 'gup_fast') {
    // The table ids it read, and whether each is still the table it read (pt.gen is not hashed).
    const p = kp.pending;
    h.word(p.kind === 'pte_map' ? 4 : 5);
    h.num(a(p.address));
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

/** The blocked threads' slots under the permutation `order`. */
function slotsOf(blocked: ReadonlySet<number>, order: readonly number[]): ReadonlySet<number> {
  if (blocked.size === 0) return blocked;
  const out = new Set<number>();
  for (const i of blocked) out.add(i < order.length ? order.indexOf(i) : i);
  return out;
}

/**
 * A key of thread `i`'s local state that neither a value nor a PFN enters,
 * whether it is blocked included: how the symmetry over threads sorts them
 * onto their slots (symmetry.ts), before the PFN renaming, which takes
 * the PFNs threads hold in slot order. `a` takes each address to what the
 * key holds of it: the place of an own page among its owner's
 * (address-symmetry.ts ownPageMarks()), which the key must not tell apart.
 */
export function threadKey(m: Machine, i: number, a: (x: number) => number = sameAddr): string {
  const h = new Fingerprint();
  h.word(m.blocked.has(i) ? 1 : 0);
  feedThread(h, m, m.threads[i]!, undefined, () => 0, a, true);
  return h.hex();
}

const NO_RENAMING: Renaming = { perm: null, vals: null, order: null, addrs: null };

function machineFingerprint(m: Machine, r: Renaming = NO_RENAMING): Fingerprint {
  const h = new Fingerprint();
  const perm = r.perm ?? undefined;
  const vals = r.vals ?? undefined;
  const v = vals ? (x: number) => vals.get(x) ?? x : (x: number) => x;
  const addrs = r.addrs ?? undefined;
  const a = addrs ? (x: number) => renamedAddr(addrs, x) : sameAddr;
  const key = addrs ? (k: number) => renamedGhostKey(k, addrs.pages) : sameAddr;
  hashState(m.s, h, countersRead(m.sc), perm, vals, addrs);
  const order = r.order;
  for (let j = 0; j < m.threads.length; j++) {
    // Slot j keeps its pid; its local state is that of the thread `order` moves there.
    h.word(m.threads[j]!.pid);
    feedThread(h, m, m.threads[order?.[j] ?? j]!, perm, v, a);
  }
  // The name tables, each by its digest: they are persistent (a writer
  // replaces a table, machine.ts withEntry()), so a table's digest is
  // computed once however many machines share it.
  named(h, order ? slotsOf(m.blocked, order) : m.blocked, feedBlocked);
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
  const [d1, d2] =
    vals || addrs ? m.ghost.renamedDigest(vals ?? null, addrs?.pages ?? null) : m.ghost.digest();
  h.word(d1);
  h.word(d2);
  for (const [id, o] of [...m.ghost.origin].sort(([a], [b]) => a - b)) {
    h.word(id);
    h.num(key(o.key));
    h.word(o.pin ? 1 : 0);
  }
  h.word(-7);
  for (const [pipe, bufs] of [...m.ghost.pipes].sort(([a], [b]) => a - b)) {
    h.word(pipe);
    h.word(bufs.length);
    for (const b of bufs) {
      h.num((b.want < 0 ? b.want : v(b.want)) + 1);
      h.num((b.key < 0 ? b.key : key(b.key)) + 1);
    }
  }
  return h;
}
