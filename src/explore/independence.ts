/**
 * Independence of accesses to private pages: the partial-order reduction's
 * second kind of persistent set (local-move.ts is the first).
 *
 * A thread's next `read` or `write` of anonymous private pages commutes with
 * every move another thread can make from here when those moves only read
 * and write other pages, backed by other folios, under PTE tables that exist
 * already. The two faults then touch different PTEs and different struct
 * pages; what they share is the PTE lock of a table (taken and dropped inside
 * one step), counters that only add (rss, vmstat, events, the work account)
 * and the page allocator. Which free PFN each allocation takes depends on
 * the order, so the reduction is sound only where the symmetry over PFN
 * allocation order is (explore/symmetry.ts): the caller asks for it then.
 * Two allocations commute up to that renaming, but an allocation and a free
 * do not: a page freed first is taken again, where the other order takes a
 * never-used PFN and leaves the freed one on the free stack (two states of
 * the allocator no renaming maps onto each other). So an access that may
 * allocate is not taken alone while the other threads may free a page, nor
 * one that may free while they may allocate. A page is freed by an access
 * only when it drops the last reference: two threads' faults on one folio
 * (a copy the PTE recheck drops, or the old folio both copies leave), or a
 * COW copy of a folio nothing else holds.
 *
 * Faults of different mms (a forked child and its parent, two children)
 * may share a folio when its fate does not depend on their order
 * (sharedFolios()): the zero page (never freed, read as zeroes, a write to
 * it allocates), and a small folio on the LRU that keeps a mapping no
 * remaining write replaces (the parent that only waits). Every write fault
 * on it then finds mapcount and refcount at least two, so every era's
 * do_wp_page() rule copies (mapcount, page_count(), or refcount after
 * PG_anon_exclusive, which a shared page has lost), with the same reason
 * in each order; no fault frees it, no fault changes its contents, and the
 * counts each fault takes and drops add up the same. Two faults of one mm
 * on such a folio cannot happen: its pages are disjoint, and a small folio
 * has one page. This is the issue's "two faults on different PTE tables of
 * different mms under different locks commute", where they do.
 *
 * A persistent set needs the move to be independent of every move of the
 * other threads on any path that does not take it, so their whole remaining
 * programs are read, with the threads they will spawn. Everything that could
 * reach across pages keeps the set whole: environment actors (the caller),
 * userfaultfd contexts, a PMD that is none or huge (a fault could allocate a
 * PTE table or a THP), a VMA without an anon_vma yet (the first fault
 * prepares the one the VMA shares), a swap entry or other non-present PTE,
 * a folio locked, under writeback, in the swap cache or KSM, a folio the
 * faults share that the last of them may reuse or free, an access that
 * would kill its process (no VMA, no permission), a written value that is
 * not a number, a register another thread also sets, and any statement but
 * `read`, `write`, `spawn` and the local ones. A register that holds a
 * PFN keeps that number under the renaming, so while the page it names is
 * free two allocations do not commute either.
 *
 * The explorer checks the result with the identity suites: the same
 * verdicts, final states and broken invariants with and without it.
 */

import { vma_is_anonymous } from '../core/mm/memory/fault.js';
import { pte_index, ptep_get, pteTable } from '../core/mm/memory/pgtable.js';
import { page_folio } from '../core/mm/page_alloc.js';
import { PageAnonExclusive } from '../core/mm/rmap.js';
import { vma_lookup } from '../core/mm/vma.js';
import type { Mm, State } from '../core/mm_types.js';
import {
  VM_READ,
  VM_SHARED,
  VM_UFFD_MISSING,
  VM_UFFD_WP,
  VM_WRITE,
  ZERO_PFN,
} from '../core/mm_types.js';
import {
  PG_buddy,
  PG_ksm,
  PG_locked,
  PG_lru,
  PG_swapcache,
  PG_writeback,
} from '../core/page-flags.js';
import { PAGE_SIZE as PAGE, pte_none, pte_pfn, pte_present } from '../core/pgtable_types.js';
import type { Stmt } from '../scenario/ast.js';
import type { Machine, ThreadRt } from '../scenario/machine.js';
import { asleepInKernel, canStep, nextStmt, stmtAt, task } from '../scenario/machine.js';
import { LOCAL_OPS } from './local-move.js';
import { pfnRegisterValues } from './symmetry.js';

/** At most this many pages are looked at for one reduction; a larger program keeps every move. */
const MAX_PAGES = 4096;

/** What the remaining program of one thread may touch; null when it may touch anything. */
interface Footprint {
  /** mm id × 2^36 + page number, for each page it may access. */
  readonly pages: Set<number>;
  /** The folio (head PFN) or the zero page (-1) mapped at each of those pages now, if any. */
  readonly folios: Set<number>;
  /** Registers its `read`s set. */
  readonly regs: Set<string>;
  /** The pages it may write (keys as in `pages`), each with what is mapped there now (as mappedAt()). */
  readonly writes: Map<number, number>;
  /** May it allocate a page (a write, or a read of a PTE that is none)? */
  alloc: boolean;
  /** May it free a page on its own (a COW copy of a folio only its PTE and its fault hold, a folio under two of its pages)? */
  free: boolean;
  /** The folio its stopped fault holds a reference to (WpCopyPending.folio), 0 if none. */
  held: number;
}

function emptyFootprint(): Footprint {
  return {
    pages: new Set(),
    folios: new Set(),
    regs: new Set(),
    writes: new Map(),
    alloc: false,
    free: false,
    held: 0,
  };
}

function pageKey(mm: number, addr: number): number {
  return mm * 2 ** 36 + Math.floor(addr / PAGE);
}

/**
 * What is mapped at `addr` of `mm` for an access that may write: the folio's
 * head PFN, -1 for the zero page, 0 for a PTE that is none, or null when the
 * access could reach beyond its page (see the module comment).
 */
function mappedAt(s: State, mm: Mm, addr: number, write: boolean): number | null {
  const vma = vma_lookup(mm, addr);
  if (!vma || !vma_is_anonymous(vma) || vma.anon_vma === 0) return null;
  const f = vma.vm_flags;
  if ((f & VM_SHARED) !== 0 || (f & (VM_UFFD_MISSING | VM_UFFD_WP)) !== 0) return null;
  if ((f & VM_READ) === 0 || (write && (f & VM_WRITE) === 0)) return null;
  const t = pteTable(s, mm, addr);
  if (t === 0) return null;
  const pte = ptep_get(s, t, pte_index(addr));
  if (pte_none(pte)) return 0;
  if (!pte_present(pte)) return null;
  const pfn = pte_pfn(pte);
  if (pfn === ZERO_PFN) return -1;
  const folio = page_folio(s, pfn);
  if ((s.mem.flags[folio]! & (PG_locked | PG_writeback | PG_swapcache | PG_ksm)) !== 0) return null;
  return folio;
}

/** Add the pages of access `st` from page index `from` on, made by a thread of `mm`; false when not eligible. */
function addAccess(m: Machine, mm: Mm, st: Stmt, from: number, fp: Footprint): boolean {
  if (st.op !== 'read' && st.op !== 'write') return false;
  if (st.op === 'write' && st.value.kind !== 'num') return false;
  if (st.op === 'read' && st.reg !== null) fp.regs.add(st.reg);
  const map = m.maps.get(st.ref.map);
  if (!map) return false;
  const to = st.ref.to === -1 ? map.len / PAGE : st.ref.to;
  for (let p = st.ref.from + from * st.ref.step; p < to; p += st.ref.step) {
    if (fp.pages.size >= MAX_PAGES) return false;
    const addr = map.addr + p * PAGE;
    const at = mappedAt(m.s, mm, addr, st.op === 'write');
    if (at === null) return false;
    if (st.op === 'write' || at === 0) fp.alloc = true;
    // A copy frees the old folio when its PTE and this fault held the only references.
    const own = at === fp.held ? 1 : 0;
    if (st.op === 'write' && at > 0 && m.s.mem.refcount[at]! - own <= 1) fp.free = true;
    const key = pageKey(mm.id, addr);
    if (st.op === 'write') fp.writes.set(key, at);
    if (fp.pages.has(key)) continue;
    fp.pages.add(key);
    if (at === 0) continue;
    // One folio under two of its pages: its own faults may drop its last references.
    if (fp.folios.has(at) && at !== fp.held) fp.free = true;
    fp.folios.add(at);
  }
  return true;
}

/** The statements of declaration `decl` from `pc` on, with the threads they spawn; false when one is not eligible. */
function addProgram(
  m: Machine,
  mm: Mm,
  decl: number,
  pc: number,
  fp: Footprint,
  seen: Set<number>,
): boolean {
  for (let st = stmtAt(m, decl, pc); st !== undefined; st = stmtAt(m, decl, ++pc)) {
    if (LOCAL_OPS.has(st.op)) continue;
    if (st.op === 'spawn') {
      const child = m.sc.threads.findIndex((d) => d.name === st.thread);
      if (child < 0) return false;
      if (seen.has(child)) continue;
      seen.add(child);
      if (!addProgram(m, mm, child, 0, fp, seen)) return false;
      continue;
    }
    if (!addAccess(m, mm, st, 0, fp)) return false;
  }
  return true;
}

/** What thread `t` may still touch, or null. Its current statement counts from the page its fault stopped at. */
function footprint(m: Machine, t: ThreadRt): Footprint | null {
  const fp = emptyFootprint();
  if (t.done) return fp;
  const p = t.kpath?.pending.kind;
  if (p !== undefined && p !== 'wp_page_copy' && p !== 'pte_map') return null;
  const mm = m.s.mms[task(m, t).mm];
  if (!mm) return null;
  const st = nextStmt(m, t)!;
  let pc = t.pc;
  hold(m, t, fp);
  if (t.kpath) {
    if (!addAccess(m, mm, st, t.kpath.page, fp)) return null;
    pc += 1;
  }
  return addProgram(m, mm, t.decl, pc, fp, new Set()) ? fp : null;
}

/** The pages, folios and register of thread `t`'s next step, when it is an eligible access. */
function nextAccess(m: Machine, t: ThreadRt): Footprint | null {
  const st = nextStmt(m, t);
  if (!st || (st.op !== 'read' && st.op !== 'write')) return null;
  const p = t.kpath?.pending.kind;
  if (p !== undefined && p !== 'wp_page_copy' && p !== 'pte_map') return null;
  const mm = m.s.mms[task(m, t).mm];
  if (!mm) return null;
  const fp = emptyFootprint();
  hold(m, t, fp);
  return addAccess(m, mm, st, t.kpath?.page ?? 0, fp) ? fp : null;
}

/**
 * The folio thread `t`'s stopped fault holds a reference to: part of what it
 * touches; its continuation may free it when that reference and one mapping
 * are all that is left.
 */
function hold(m: Machine, t: ThreadRt, fp: Footprint): void {
  const p = t.kpath?.pending;
  if (p?.kind !== 'wp_page_copy' || p.folio === 0) return;
  fp.held = p.folio;
  fp.folios.add(p.folio);
  if (m.s.mem.refcount[p.folio]! <= 2) fp.free = true;
}

/** Do `a` and `b` touch no page, folio (but the `shared` ones) or register in common? */
function disjoint(a: Footprint, b: Footprint, shared: ReadonlySet<number>): boolean {
  for (const x of a.pages) if (b.pages.has(x)) return false;
  for (const x of a.folios) if (b.folios.has(x) && !shared.has(x)) return false;
  for (const x of a.regs) if (b.regs.has(x)) return false;
  return true;
}

/**
 * The folios the threads may share (see the module comment): the zero
 * page, and each small anonymous folio on the LRU that keeps a mapping no
 * remaining write replaces. Every write fault on such a folio then finds
 * it mapped twice (its own PTE and that one) and referenced twice, in
 * whatever order the faults come: each era copies, for the same reason,
 * nothing frees the folio, and its contents never change. What the faults
 * do to it (a reference taken, a mapping and two references dropped) adds
 * up the same in any order.
 */
function sharedFolios(m: Machine, fps: readonly Footprint[]): Set<number> {
  const shared = new Set<number>([-1]);
  const writers = new Map<number, number>();
  for (const fp of fps)
    for (const f of fp.writes.values()) if (f > 0) writers.set(f, (writers.get(f) ?? 0) + 1);
  const mem = m.s.mem;
  for (const fp of fps)
    for (const f of fp.folios) {
      if (f <= 0 || shared.has(f) || mem.order[f] !== 0 || (mem.flags[f]! & PG_lru) === 0) continue;
      // A page still marked exclusive would be reused whatever the counts (v5.19 on).
      if (PageAnonExclusive(m.s, f)) continue;
      if (mem.mapcount[f]! - (writers.get(f) ?? 0) >= 1 && mem.refcount[f]! >= mem.mapcount[f]!)
        shared.add(f);
    }
  return shared;
}

/**
 * May the moves of these threads free a page: two of them fault on one
 * page or one folio, one holds a folio its stopped fault took, or one's copy
 * frees a folio on its own?
 */
function mayFree(fps: readonly Footprint[], shared: ReadonlySet<number>): boolean {
  const pages = new Set<number>();
  const folios = new Set<number>();
  for (const fp of fps) {
    if (fp.free) return true;
    for (const x of fp.pages) {
      if (pages.has(x)) return true;
      pages.add(x);
    }
    for (const x of fp.folios) {
      if (folios.has(x) && !shared.has(x)) return true;
      folios.add(x);
    }
  }
  return false;
}

/** The pages a thread's next `read` or `write` has left, when they are a plain range; else null. */
function plainRange(m: Machine, t: ThreadRt): { map: string; from: number; to: number } | null {
  const st = nextStmt(m, t);
  if (!st || (st.op !== 'read' && st.op !== 'write') || st.ref.step !== 1) return null;
  // A fault that stopped goes on from the page it stopped at.
  const from = st.ref.from + (t.kpath?.page ?? 0);
  const to = st.ref.to === -1 ? Infinity : st.ref.to;
  return from < to ? { map: st.ref.map, from, to } : null;
}

/**
 * Does another thread of thread `i`'s mm begin an access to a page thread
 * `i`'s next access begins too? Then their footprints meet, as
 * independentAccess() would find at more cost: a cheap first test for
 * programs where threads write one page. Ranges with a step are left to
 * the full test.
 */
function nextAccessesMeet(m: Machine, i: number): boolean {
  const mine = plainRange(m, m.threads[i]!);
  if (!mine) return false;
  const mm = task(m, m.threads[i]!).mm;
  for (let j = 0; j < m.threads.length; j++) {
    const u = m.threads[j]!;
    if (j === i || u.done || task(m, u).mm !== mm) continue;
    const r = plainRange(m, u);
    if (r && r.map === mine.map && r.from < mine.to && mine.from < r.to) return true;
  }
  return false;
}

/**
 * The index of a thread whose next step is an access independent of every
 * move the other threads can make (see the module comment), or -1. The
 * caller takes that thread's moves alone. Call it only with the partial-order
 * reduction on, no environment actors, and the symmetry over PFN allocation
 * order applied to the scenario.
 */
export function independentAccess(m: Machine): number {
  if (m.s.uffd.some((c) => c !== null)) return -1;
  let rest: (Footprint | null)[] | null = null;
  const pinnedFree = pfnRegisterValues(m).some(
    (p) => p > ZERO_PFN && (p >= m.s.mem.end || (m.s.mem.flags[p]! & PG_buddy) !== 0),
  );
  for (let i = 0; i < m.threads.length; i++) {
    const t = m.threads[i]!;
    if (!canStep(m, i) || asleepInKernel(m, i)) continue;
    if (nextAccessesMeet(m, i)) continue;
    const mine = nextAccess(m, t);
    if (!mine) continue;
    rest ??= m.threads.map((u, j) => (asleepInKernel(m, j) ? null : footprint(m, u)));
    const others = rest.filter((_, j) => j !== i);
    if (others.some((o) => o === null)) continue;
    const fps = others as Footprint[];
    const shared = sharedFolios(m, [mine, ...fps]);
    if (!fps.every((o) => disjoint(mine, o, shared))) continue;
    // An allocation and a free do not commute (the module comment).
    if (mine.alloc && mayFree(fps, shared)) continue;
    if (mine.free && fps.some((o) => o.alloc)) continue;
    // Two allocations commute up to a renaming, unless one may take a PFN a register keeps.
    if (mine.alloc && pinnedFree && fps.some((o) => o.alloc)) continue;
    return i;
  }
  return -1;
}
