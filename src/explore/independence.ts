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
 * A `fork` is taken alone too (forkAlone()) when its thread is the only one
 * of its mm and every other thread only reads and writes pages of other
 * mms: it adds a mapping and a reference to each folio the parent maps,
 * which keeps those folios shared in the sense above, and what it copies
 * (page tables, VMAs, anon_vmas, the pid) no other move touches.
 *
 * A persistent set needs the move to be independent of every move of the
 * other threads on any path that does not take it, so their whole remaining
 * programs are read, with the threads they will spawn. Everything that could
 * reach across pages keeps the set whole: userfaultfd contexts, a PMD that
 * is none or huge (a fault could allocate a PTE table or a THP), a VMA without an anon_vma yet (the first fault
 * prepares the one the VMA shares), a swap entry or other non-present PTE,
 * a folio locked, under writeback, in the swap cache or KSM, a folio the
 * faults share that the last of them may reuse or free, an access that
 * would kill its process (no VMA, no permission), a written value that is
 * not a number, a register another thread also sets, and any statement but
 * `read`, `write`, `spawn` and the local ones. A register that holds a
 * PFN keeps that number under the renaming, so while the page it names is
 * free two allocations do not commute either.
 *
 * Environment actors act between any two steps, so an access taken alone
 * must commute with theirs too. Reclaim may unmap any page on the LRU and
 * khugepaged and ksmd replace pages: with them nothing is taken alone. The
 * per-CPU LRU batches' drain (`env lru_batches`) moves the folios of a
 * batch to the LRU and drops the batch's reference (a folio nobody else
 * holds is freed, one that somebody does gets PG_lru): an access that
 * allocates (its page joins a batch), frees, or holds a reference depends
 * on it, and so does a fork (a reference to each folio), but a read of a
 * page that is present touches neither a batch nor a count, and is taken
 * alone (unless something may start writeback). Not
 * as its thread's last statement: a machine whose threads are all done is
 * final and takes no actor step, so a path whose actor step came after the
 * other threads' last moves but before this one would be lost
 * (local-move.ts, the same rule for local moves).
 *
 * What each thread may touch is footprint.ts's. The explorer checks the
 * result with the identity suites: the same verdicts, final states and
 * broken invariants with and without it.
 */

import { PageAnonExclusive } from '../core/mm/rmap.js';
import { MMF_HAS_PINNED, ZERO_PFN } from '../core/mm_types.js';
import { PG_buddy, PG_lru } from '../core/page-flags.js';
import { startsWriteback } from '../scenario/env.js';
import type { Machine, ThreadRt } from '../scenario/machine.js';
import { asleepInKernel, canStep, nextStmt, stmtAt, task } from '../scenario/machine.js';
import { type Footprint, footprint, nextAccess } from './footprint.js';
import { othersMayCreate } from './local-move.js';
import { pfnRegisterValues } from './symmetry.js';

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
 * May thread `i`'s next `fork` be taken alone (the module comment)? It is
 * the only live thread of its mm (so the fork is not split, and nothing of
 * its group can end it first), the mm never pinned a page (every era then
 * shares each page it may share, or copies a page only the parent maps),
 * no other thread creates a task (the pids), and every other thread only
 * reads and writes pages of other mms. The fork adds a mapping and a
 * reference to each folio the parent maps, and the others' faults on those
 * folios copy in any order (the parent's mapping stays). It may copy a
 * page (linus-rules): an allocation, kept from the others' frees.
 */
function forkAlone(
  m: Machine,
  i: number,
  rest: readonly (Footprint | null)[],
  pinnedFree: boolean,
): boolean {
  const t = m.threads[i]!;
  const me = task(m, t);
  const mm = m.s.mms[me.mm];
  if (t.kpath || !mm || (mm.flags & MMF_HAS_PINNED) !== 0) return false;
  if (m.threads.some((u, j) => j !== i && !u.done && task(m, u).mm === me.mm)) return false;
  if (othersMayCreate(m, i)) return false;
  const fps: Footprint[] = [];
  for (let j = 0; j < rest.length; j++) {
    if (j === i) continue;
    if (rest[j] === null) return false;
    fps.push(rest[j]!);
  }
  if (mayFree(fps, sharedFolios(m, fps))) return false;
  return !(pinnedFree && fps.some((o) => o.alloc));
}

/**
 * Do the scenario's environment actors leave a read of a present page
 * alone (the module comment)? Only the per-CPU LRU add batches' drain,
 * without writeback: it moves folios from a batch to the LRU and drops the
 * batch's reference, which neither a PTE nor a page's contents see.
 */
function actorsSpareReads(m: Machine): boolean {
  return m.sc.env.every((e) => e === 'lru_batches') && !startsWriteback(m);
}

/**
 * The index of a thread whose next step is an access independent of every
 * move the other threads can make (see the module comment), or -1. The
 * caller takes that thread's moves alone. Call it only with the partial-order
 * reduction on and the symmetry over PFN allocation order applied to the
 * scenario; with `actors` (environment actors may act), only an access
 * that allocates, frees and holds nothing and is not its thread's last
 * statement, and only where the actors are the LRU batches' drain (the
 * module comment).
 */
export function independentAccess(m: Machine, actors = false): number {
  if (m.s.uffd.some((c) => c !== null)) return -1;
  if (actors && !actorsSpareReads(m)) return -1;
  // Every thread's footprint, made once and only when a candidate needs them.
  let all: (Footprint | null)[] | null = null;
  const rest = () => {
    all ??= m.threads.map((u, j) => (asleepInKernel(m, j) ? null : footprint(m, u)));
    return all;
  };
  const pinnedFree = pfnRegisterValues(m).some(
    (p) => p > ZERO_PFN && (p >= m.s.mem.end || (m.s.mem.flags[p]! & PG_buddy) !== 0),
  );
  for (let i = 0; i < m.threads.length; i++) {
    const t = m.threads[i]!;
    if (!canStep(m, i) || asleepInKernel(m, i)) continue;
    if (nextStmt(m, t)!.op === 'fork') {
      // A fork takes a reference to each folio its parent maps, which the LRU drain reads.
      if (!actors && forkAlone(m, i, rest(), pinnedFree)) return i;
      continue;
    }
    if (nextAccessesMeet(m, i)) continue;
    // With actors, not a thread's last move (local-move.ts: a final machine takes no actor step).
    if (actors && (t.kpath !== null || stmtAt(m, t.decl, t.pc + 1) === undefined)) continue;
    const mine = nextAccess(m, t);
    if (!mine) continue;
    if (actors && (mine.alloc || mine.free || mine.held !== 0)) continue;
    const others = rest().filter((_, j) => j !== i);
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
