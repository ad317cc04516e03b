/**
 * Symmetry over PFN allocation order (issue 19; docs/adr/0015, fourth
 * "Decided" section). Which free PFN an allocation takes depends on the
 * order the threads ran in: two threads copying their own COW page leave the
 * same pages mapped in either order, with the two new PFNs swapped. Nothing
 * the kernel does depends on a page's number (the model compares PFNs only
 * to pick a KSM page, which the explorer's gate keeps out), so two states
 * that differ only by such a renaming have the same futures, renamed.
 *
 * A renaming moves only order-0 pages below mem.end (in use or free), never
 * the zero page, reserved memory or a large folio's pages, whose alignment
 * the allocator relies on, and never a PFN the caller keeps fixed (a value a
 * register holds). It maps this set onto itself, so the allocator's
 * never-used PFNs (from mem.end up) and its choice of the next one are
 * untouched; the free stack is renamed with its links.
 *
 * renameState() renames every PFN the state holds; pfnRenaming() picks the
 * canonical renaming, in which PFNs are numbered in the order a walk of the
 * state that never looks at a PFN's number meets them. The fingerprint of the
 * renamed state is then the same for every member of an orbit.
 */

import type { GupRef, Inode, MemMap, Pipe, State, SwapInfo } from './mm_types.js';
import {
  cloneState,
  NO_MEM_DIGESTS,
  OWN_MEMMAP,
  PT_DENSE_WORDS,
  ptEntries,
  ptSet,
  ZERO_PFN,
} from './mm_types.js';
import { PG_buddy, PG_head, PG_reserved, PG_tail } from './page-flags.js';
import {
  _PAGE_PRESENT,
  _PAGE_PROTNONE,
  mk_pte,
  PAGE_SIZE,
  PT_LEVEL_PTE,
  pte_present,
  pte_val,
  pteBits,
} from './pgtable_types.js';
import { copyTyped } from './slab.js';

/**
 * A PFN renaming: `perm[p]` is p's new number, for p below its length (the
 * rest stay). A plain array: a typed one this size would be allocated
 * outside V8's heap, which costs more than the renaming (core/slab.ts).
 */
export type PfnRenaming = readonly number[];

/**
 * A renaming of page contents (explore/value-symmetry.ts): each value the
 * map holds is replaced by the value it maps to; every other value stays.
 * The fingerprint is taken as if the state held the renamed values.
 */
export type ValueRenaming = ReadonlyMap<number, number>;

/**
 * A renaming of pages of anonymous mappings (explore/address-symmetry.ts):
 * threads that run one program on pages of their own swap places, and with
 * them the pages. It acts the same in every mm: page number `p` (address /
 * PAGE_SIZE) becomes `pages.get(p)`, and the PTE at index `i` of each table
 * in `tables` (each mm's PTE table for the 2 MiB the pages lie in) moves to
 * `index.get(i)`. Pages and indices it does not name stay.
 */
export interface AddrRenaming {
  readonly pages: ReadonlyMap<number, number>;
  readonly tables: ReadonlySet<number>;
  readonly index: ReadonlyMap<number, number>;
}

/** `addr` under `a`: its page renamed, its offset in the page kept. */
export function renamedAddr(a: AddrRenaming, addr: number): number {
  const page = Math.floor(addr / PAGE_SIZE);
  const to = a.pages.get(page);
  return to === undefined ? addr : to * PAGE_SIZE + (addr - page * PAGE_SIZE);
}

/** The populated entries of `t` as [index, val, bits] with each index renamed by `index`, in new index order. */
export function renamedEntries(
  t: Uint32Array,
  index: ReadonlyMap<number, number>,
): [number, number, number][] {
  const out: [number, number, number][] = [];
  ptEntries(t, (i, v, b) => {
    out.push([index.get(i) ?? i, v, b]);
  });
  return out.sort((x, y) => x[0] - y[0]);
}

/** Above this many PFNs the canonical renaming is not looked for (the walk would cost more than it saves). */
export const SYMMETRY_MAX_PFNS = 1 << 14;

/** Could a renaming move `p`? An order-0 page below mem.end, not the zero page, reserved or part of a large folio. */
function movable(s: State, p: number): boolean {
  const m = s.mem;
  return (
    p > ZERO_PFN &&
    p < m.end &&
    m.order[p] === 0 &&
    (m.flags[p]! & (PG_head | PG_tail | PG_reserved)) === 0 &&
    p !== s.huge_zero
  );
}

/** The new number of `p` under `perm`. */
export function renamed(perm: PfnRenaming, p: number): number {
  return p >= 0 && p < perm.length ? perm[p]! : p;
}

const PRESENT = _PAGE_PRESENT | _PAGE_PROTNONE;

/**
 * Every PFN a present PTE maps, table by table in id order, entries in
 * index order (in a table `addrs` renames, in the renamed order).
 */
function eachMappedPfn(s: State, fn: (pfn: number) => void, addrs: AddrRenaming | null): void {
  const { tables, level } = s.pt;
  for (let id = 1; id < tables.length; id++) {
    const t = tables[id];
    if (!t || level[id] !== PT_LEVEL_PTE) continue;
    if (addrs?.tables.has(id)) {
      for (const [, v, b] of renamedEntries(t, addrs.index)) if ((b & PRESENT) !== 0) fn(v);
      continue;
    }
    if (t.length === PT_DENSE_WORDS) {
      for (let i = 0; i < t.length; i += 2) if ((t[i + 1]! & PRESENT) !== 0) fn(t[i]!);
    } else {
      const n = t[0]!;
      for (let k = 0; k < n; k++) if ((t[3 + 3 * k]! & PRESENT) !== 0) fn(t[2 + 3 * k]!);
    }
  }
}

/** Every PFN the state holds outside the page tables and the memmap, in an order that never looks at a number. */
function eachHeldPfn(s: State, fn: (pfn: number) => void): void {
  for (const slot of s.swap.cache) if (slot !== 0) fn(slot);
  for (const p of s.pipes) if (p) for (const b of p.bufs) fn(b.pfn);
  for (const f of s.inodes) if (f) for (const x of f.pages) if (x) fn(x);
  for (const g of s.gup) if (g) fn(g.page);
  for (const b of s.lru_batch) for (const x of b) fn(x);
  for (const x of s.isolated) fn(x);
  for (const x of s.mem.writeback) fn(x);
  if (s.rmap_walk) fn(s.rmap_walk.folio);
  for (const mm of s.mms)
    if (mm) for (let i = 1; i < mm.ksm_rmap.length; i += 2) fn(mm.ksm_rmap[i]!);
}

/** The PFNs a renaming of `s` may move, in ascending order: movable() ones but `fixed`. */
export function movablePfns(s: State, fixed: Iterable<number>): number[] {
  const keep = [...fixed];
  const out: number[] = [];
  for (let p = ZERO_PFN + 1; p < s.mem.end; p++)
    if (movable(s, p) && (keep.length === 0 || !keep.includes(p))) out.push(p);
  return out;
}

/**
 * The canonical renaming of `s`, or null when it is the identity (or the
 * memmap is larger than SYMMETRY_MAX_PFNS). `fixed` are PFNs that keep their
 * number; `held` are the PFNs the caller's own records hold (a fault stopped
 * between two steps), met right after the page tables; `addrs`, when the
 * state is taken with its pages renamed, orders the page tables' PFNs as
 * the renamed state holds them.
 */
export function pfnRenaming(
  s: State,
  fixed: Iterable<number>,
  held: readonly number[],
  addrs: AddrRenaming | null = null,
): PfnRenaming | null {
  const end = s.mem.end;
  if (end > SYMMETRY_MAX_PFNS) return null;
  const targets = movablePfns(s, fixed);
  if (targets.length < 2) return null;
  // 0: not movable; 1: movable, not met yet; 2: met.
  const mark: number[] = [];
  for (let p = 0; p < end; p++) mark.push(0);
  for (const p of targets) mark[p] = 1;
  const order: number[] = [];
  const meet = (p: number) => {
    if (p > 0 && p < end && mark[p] === 1) {
      mark[p] = 2;
      order.push(p);
    }
  };
  eachMappedPfn(s, meet, addrs);
  for (const p of held) meet(p);
  eachHeldPfn(s, meet);
  // The free stack, from the top (each free page links to the next in its mapcount word).
  for (let p = s.mem.free, n = 0; p !== 0 && n <= s.mem.nr_free; p = s.mem.mapcount[p]!, n++)
    meet(p);
  for (const p of targets) meet(p);
  const perm: number[] = [];
  let identity = true;
  for (let p = 0; p < end; p++) perm.push(p);
  for (let i = 0; i < order.length; i++) {
    perm[order[i]!] = targets[i]!;
    if (order[i] !== targets[i]) identity = false;
  }
  return identity ? null : perm;
}

/** A packed PTE with its PFN renamed when it maps one. */
export function renamePte(perm: PfnRenaming, pte: number): number {
  return pte_present(pte) ? mk_pte(renamed(perm, pte_val(pte)), pteBits(pte)) : pte;
}

function renameMem(m: MemMap, perm: PfnRenaming): MemMap {
  const cap = m.flags.length;
  const flags = new Uint32Array(cap);
  const refcount = new Int32Array(cap);
  const mapcount = new Int32Array(cap);
  const content = new Uint32Array(cap);
  const order = new Uint8Array(cap);
  for (let p = 0; p < cap; p++) {
    const q = renamed(perm, p);
    const f = m.flags[p]!;
    flags[q] = f;
    refcount[q] = m.refcount[p]!;
    // A free page's mapcount word links the free stack: a PFN.
    mapcount[q] = (f & PG_buddy) !== 0 ? renamed(perm, m.mapcount[p]!) : m.mapcount[p]!;
    content[q] = m.content[p]!;
    order[q] = m.order[p]!;
  }
  return {
    ...m,
    flags,
    refcount,
    mapcount,
    content,
    order,
    own: OWN_MEMMAP,
    ...NO_MEM_DIGESTS,
    free: renamed(perm, m.free),
    writeback: m.writeback.map((x) => renamed(perm, x)),
  };
}

/** A PTE table with the PFNs of its present entries renamed, or the table itself when none changes. */
export function renameTable(t: Uint32Array, perm: PfnRenaming): Uint32Array {
  const dense = t.length === PT_DENSE_WORDS;
  let out: Uint32Array | null = null;
  const step = dense ? 2 : 3;
  const first = dense ? 0 : 2;
  const last = dense ? t.length : 1 + 3 * t[0]!;
  for (let i = first; i < last; i += step) {
    if ((t[i + 1]! & PRESENT) === 0) continue;
    const q = renamed(perm, t[i]!);
    if (q === t[i]) continue;
    out ??= copyTyped(t); // in a shared buffer: a copy per state the fingerprint renames
    out[i] = q;
  }
  return out ?? t;
}

/**
 * A copy of `s` with every PFN it holds renamed by `perm` (a renaming of
 * movable PFNs onto movable PFNs). `s` itself is left as it was, but for its
 * copy-on-write tokens (as after cloneState()).
 */
export function renameState(s: State, perm: PfnRenaming): State {
  const r = cloneState(s);
  const p = (x: number) => renamed(perm, x);
  r.mem = renameMem(r.mem, perm);
  const { tables, level, owner } = r.pt;
  for (let id = 1; id < tables.length; id++) {
    const t = tables[id];
    if (!t || level[id] !== PT_LEVEL_PTE) continue;
    const u = renameTable(t, perm);
    if (u !== t) {
      tables[id] = u;
      owner[id] = r.cow;
    }
  }
  if (s.swap.cache.some((x) => x !== 0)) {
    const sw: SwapInfo = {
      ...s.swap,
      cache: s.swap.cache.map(p),
      slot_of: new Map([...s.swap.slot_of].map(([folio, slot]) => [p(folio), slot])),
      own: r.cow,
    };
    r.swap = sw;
  }
  r.pipes = r.pipes.map((x): Pipe | null =>
    x === null ? null : { ...x, bufs: x.bufs.map((b) => ({ ...b, pfn: p(b.pfn) })) },
  );
  r.inodes = r.inodes.map((f): Inode | null =>
    f === null ? null : { ...f, pages: f.pages.map((x) => (x ? p(x) : x)) },
  );
  r.gup = r.gup.map((g): GupRef | null =>
    g === null ? null : { ...g, page: p(g.page), folio: p(g.folio) },
  );
  r.lru_batch = r.lru_batch.map((b) => b.map(p));
  r.isolated = r.isolated.map(p);
  if (r.rmap_walk) r.rmap_walk = { ...r.rmap_walk, folio: p(r.rmap_walk.folio) };
  r.mms = r.mms.map((mm) =>
    mm === null || mm.ksm_rmap.length === 0
      ? mm
      : { ...mm, ksm_rmap: mm.ksm_rmap.map((x, i) => (i % 2 === 1 ? p(x) : x)) },
  );
  return r;
}

/**
 * A copy of `s` with its pages renamed by `a` (each table of `a.tables`
 * with its entries moved): the state the fingerprint under `a` stands for.
 */
export function renameStateAddresses(s: State, a: AddrRenaming): State {
  const r = cloneState(s);
  for (const id of a.tables) {
    const t = r.pt.tables[id];
    if (!t) continue;
    const moved: [number, number, number][] = [];
    ptEntries(t, (i, v, b) => {
      if (a.index.has(i)) moved.push([a.index.get(i)!, v, b]);
    });
    for (const i of a.index.keys()) ptSet(r, id, i, 0, 0);
    for (const [i, v, b] of moved) ptSet(r, id, i, v, b);
  }
  return r;
}
