/**
 * Pages of their own for threads that run one program: the part of the
 * symmetry over threads (thread-symmetry.ts) that renames addresses.
 *
 * K threads each writing their own page of one mapping (`write mem[i] = …`
 * in thread i) run the same program on different pages: a state where t0
 * wrote page 0 and t1 waits to write page 1 is a state where t1 wrote page
 * 1 and t0 waits, with the two threads, their pages and their numbers
 * swapped. Swapping pages means moving, in every mm, the PTEs at their
 * addresses (what a forked child maps there moves too), the ghost's
 * expectations there and every address a stopped kernel path holds.
 * Nothing else in the state records where an anonymous page sits: the
 * model finds a folio's mappings by their page tables (no folio->index), and
 * its per-CPU batches, LRU and swap cache hold PFNs.
 *
 * Such a renaming maps the transition system onto itself when nothing that
 * is still to run can tell the pages apart (ownPages(), fixed per
 * scenario): each page is named only by `read` and `write` statements of
 * one page, all in one declaration (its owner), and by nothing else; no
 * thread maps over a name (mmap of a name in use, at a fixed address),
 * moves a mapping (mremap), replaces an mm (exec) or registers with
 * userfaultfd; and no environment actor walks mappings (reclaim's rmap
 * walks, khugepaged's collapse, ksmd's scan), only the per-CPU LRU batches
 * and writeback, which act on folios. Setup has run by then: what it did is
 * in the state, which the renaming moves with everything else.
 *
 * An exit zaps an mm's pages by address, so moved pages are freed in
 * another order and later allocations take other PFNs: the renaming maps
 * each step onto a step up to a renaming of PFNs, which the symmetry over
 * PFNs (always applied with this one) absorbs. So no scenario that reads a
 * PFN's number (`pfn()`, `pin_pfn()`), which that symmetry keeps, renames
 * pages.
 *
 * And where the state has nothing that pins a page to its place
 * (forcedPages(), per state): the pages moved lie in one 2 MiB (one PTE
 * table per mm), in one VMA of each mm that maps them, anonymous, private
 * and without VM_HUGEPAGE (no THP can be faulted in there, and the VMA's
 * flags never change, as no statement names the mapping but the owners'
 * accesses), and no PTE there maps a large folio (whose pages sit at
 * fixed offsets from each other). Setup cannot leave a large folio there
 * without VM_HUGEPAGE, nor can a later step bring one, so a renaming that
 * is sound for a state stays so for every state it reaches.
 */

import { pmdLeaf, pteTable, pteView } from '../core/mm/memory/pgtable.js';
import { vma_lookup } from '../core/mm/vma.js';
import { ptBits, ptVal, VM_HUGEPAGE, VM_SHARED, type Vma } from '../core/mm_types.js';
import { PG_head, PG_tail } from '../core/page-flags.js';
import {
  mk_pte,
  PAGE_SIZE,
  PTRS_PER_PTE,
  pte_pfn,
  pte_present,
  pteBits,
} from '../core/pgtable_types.js';
import { type AddrRenaming, renamedAddr, renameStateAddresses } from '../core/symmetry.js';
import type { Ref, Scenario } from '../scenario/ast.js';
import { MM_SHIFT } from '../scenario/ghost-mem.js';
import type { Machine, ThreadRt } from '../scenario/machine.js';
import { cloneMachine } from '../scenario/machine.js';
import { eachNode, type Node } from './ast-walk.js';

/** Environment actors that find pages by their mappings: with them, no page is renamed. */
const WALKING_ACTORS: readonly string[] = ['reclaim', 'khugepaged', 'ksmd'];

/** Statements that move, replace or watch mappings: with any of them in a thread, no page is renamed. */
const REMAPPING_OPS: ReadonlySet<string> = new Set([
  'mremap',
  'exec',
  'userfaultfd',
  'uffd',
  'uffd-read',
]);

export interface OwnPages {
  /** The mappings whose pages only their owners name. */
  readonly maps: ReadonlySet<string>;
  /** Per declaration, the pages of those mappings it owns, [mapping, page index], in order of first use. */
  readonly pages: readonly (readonly (readonly [string, number])[])[];
}

const ownPagesOf = new WeakMap<Scenario, OwnPages>();

function isRef(n: Node): n is Node & Ref {
  return typeof n.map === 'string' && typeof n.from === 'number' && typeof n.to === 'number';
}

/** The page a `read` or `write` of one page names, or null for any other use of a mapping. */
function ownedPage(n: Node, parent: Node | null): number | null {
  if (!parent || (parent.op !== 'read' && parent.op !== 'write') || parent.ref !== n) return null;
  const r = n as unknown as Ref;
  return r.to === r.from + 1 && r.from >= 0 ? r.from : null;
}

/** The scenario's own pages (the module comment). */
export function ownPages(sc: Scenario): OwnPages {
  let o = ownPagesOf.get(sc);
  if (o) return o;
  const none: OwnPages = { maps: new Set(), pages: sc.threads.map(() => []) };
  o = none;
  if (!sc.env.some((e) => WALKING_ACTORS.includes(e))) {
    const out = new Set<string>();
    const barred = new Set<string>();
    let remaps = false;
    // Who names each page of each mapping: -1 once two declarations or any other use do.
    const owner = new Map<string, number>();
    const visit = (x: unknown, decl: number) =>
      eachNode(x, null, (n, parent) => {
        if (typeof n.op === 'string' && REMAPPING_OPS.has(n.op)) remaps = true;
        // A PFN a register keeps (symmetry.ts pfnRegisters()) is not renamed, and moved
        // pages are freed in another order (an exit zaps by address).
        if (n.kind === 'call' && (n.fn === 'pfn' || n.fn === 'pin_pfn')) remaps = true;
        if (n.op === 'mmap' && (n.at !== null || n.replace === true)) remaps = true;
        if (n.op === 'mmap') barred.add(n.name as string);
        if (!isRef(n)) return;
        out.add(n.map);
        const page = decl > 0 ? ownedPage(n, parent) : null;
        if (page === null) {
          barred.add(n.map);
          return;
        }
        const k = `${n.map}\u0000${page}`;
        const was = owner.get(k);
        owner.set(k, was === undefined || was === decl ? decl : -1);
      });
    sc.threads.forEach((d, i) => {
      visit(d.body, i);
    });
    visit(sc.condition, -1);
    for (const [k, d] of owner) if (d < 0) barred.add(k.split('\u0000')[0]!);
    const maps = new Set([...out].filter((x) => !barred.has(x)));
    if (!remaps && maps.size > 0) {
      const pages = sc.threads.map((d) => {
        const seen = new Set<string>();
        const list: [string, number][] = [];
        eachNode(d.body, null, (n, parent) => {
          if (!isRef(n) || !maps.has(n.map)) return;
          const k = `${n.map}\u0000${n.from}`;
          if (ownedPage(n, parent) !== null && !seen.has(k)) {
            seen.add(k);
            list.push([n.map, n.from]);
          }
        });
        return list;
      });
      o = { maps, pages };
    }
  }
  ownPagesOf.set(sc, o);
  return o;
}

/** Does `n` (a Ref of a `read` or `write`) name an own page? Then a program's shape abstracts it. */
export function isOwnPageRef(n: Node, parent: Node | null, maps: ReadonlySet<string>): boolean {
  return isRef(n) && maps.has(n.map) && ownedPage(n, parent) !== null;
}

/** The page number (address / PAGE_SIZE) of page `index` of mapping `map` in `m`, or null when unbound. */
function pageNumber(m: Machine, map: string, index: number): number | null {
  const b = m.maps.get(map);
  return b ? Math.floor(b.addr / PAGE_SIZE) + index : null;
}

/** May the pages `moved` (page numbers) change places in `m` (the module comment)? Then the tables that map them. */
function movableHere(m: Machine, moved: readonly number[]): Set<number> | null {
  const region = Math.floor(moved[0]! / PTRS_PER_PTE);
  if (moved.some((p) => Math.floor(p / PTRS_PER_PTE) !== region)) return null;
  const s = m.s;
  const tables = new Set<number>();
  for (const mm of s.mms) {
    if (!mm) continue;
    let vma: Vma | undefined | null = null;
    for (const p of moved) {
      const v = vma_lookup(mm, p * PAGE_SIZE);
      if (vma !== null && v !== vma) return null;
      vma = v;
    }
    if (!vma) continue;
    if (vma.vm_file !== 0 || (vma.vm_flags & (VM_SHARED | VM_HUGEPAGE)) !== 0) return null;
    const base = region * PTRS_PER_PTE * PAGE_SIZE;
    if (pmdLeaf(s, mm, base)) return null;
    const t = pteTable(s, mm, base);
    if (t === 0) continue;
    tables.add(t);
  }
  // No large folio there: its pages sit at fixed offsets from each other.
  const mem = s.mem;
  for (const id of tables) {
    const tab = s.pt.tables[id]!;
    for (const p of moved) {
      const i = p % PTRS_PER_PTE;
      const pte = mk_pte(ptVal(tab, i), ptBits(tab, i));
      if (!pte_present(pte)) continue;
      const pfn = pte_pfn(pte);
      if (mem.order[pfn] !== 0 || (mem.flags[pfn]! & (PG_head | PG_tail)) !== 0) return null;
    }
  }
  return tables;
}

/**
 * The renaming of pages a permutation of threads forces (`order[j]`: the
 * thread whose local state goes to slot j): each page the moved thread's
 * declaration owns becomes the page the slot's declaration owns at the same
 * place. Null when no page moves; 'pinned' when one would but `m` holds
 * something that pins it (movableHere()), and the permutation may not be
 * taken.
 */
export function forcedPages(m: Machine, order: readonly number[]): AddrRenaming | null | 'pinned' {
  const own = ownPages(m.sc);
  if (own.maps.size === 0) return null;
  const pages = new Map<number, number>();
  for (let j = 0; j < order.length; j++) {
    const from = own.pages[m.threads[order[j]!]!.decl]!;
    const to = own.pages[m.threads[j]!.decl]!;
    if (from === to) continue;
    if (from.length !== to.length) return 'pinned';
    for (let k = 0; k < from.length; k++) {
      const x = pageNumber(m, from[k]![0], from[k]![1]);
      const y = pageNumber(m, to[k]![0], to[k]![1]);
      if (x === null || y === null) return 'pinned';
      if (x !== y) pages.set(x, y);
    }
  }
  if (pages.size === 0) return null;
  // One-to-one: the pages moved are the pages moved onto.
  const onto = new Set(pages.values());
  if (onto.size !== pages.size || [...pages.keys()].some((x) => !onto.has(x))) return 'pinned';
  return pageRenaming(m, pages);
}

/**
 * The renaming of `m`'s pages by `pages` (page number to page number, one
 * to one), with the tables that map them; 'pinned' when `m` holds
 * something that pins one of them (movableHere()).
 */
export function pageRenaming(
  m: Machine,
  pages: ReadonlyMap<number, number>,
): AddrRenaming | 'pinned' {
  const tables = movableHere(m, [...pages.keys()]);
  if (tables === null) return 'pinned';
  const index = new Map<number, number>();
  for (const [x, y] of pages) index.set(x % PTRS_PER_PTE, y % PTRS_PER_PTE);
  return { pages, tables, index };
}

/**
 * A thread's stopped kernel path with every address it holds renamed by
 * `a`: the fault's address, or the addresses a split fork still has to
 * write-protect.
 */
function renamedThread(t: ThreadRt, a: AddrRenaming, own: object): ThreadRt {
  const kp = t.kpath;
  if (!kp) return t;
  const p = kp.pending;
  const r = (x: number) => renamedAddr(a, x);
  let pending: typeof p;
  if (p.kind === 'wp_page_copy' || p.kind === 'pte_map' || p.kind === 'gup_fast')
    pending = { ...p, address: r(p.address) };
  else if (p.kind === 'fork_wrprotect') pending = { ...p, addresses: p.addresses.map(r) };
  else return t;
  return { ...t, kpath: { ...kp, pending }, own };
}

/**
 * A copy of `m` with its pages renamed by `a`, as a machine that can take
 * steps: the reference the fingerprint under `a` is tested against
 * (symmetry.ts canonicalMachine()).
 */
export function renameMachineAddresses(m: Machine, a: AddrRenaming): Machine {
  const r = cloneMachine(m);
  r.s = renameStateAddresses(r.s, a);
  r.ghost.renamePages(a.pages);
  r.threads = r.threads.map((t) => renamedThread(t, a, r.cow));
  return r;
}

const marksOf = new WeakMap<Machine['maps'], Map<number, number>>();

/**
 * What threadKey() holds of an address in `m`: an own page's place in its
 * owner's list (above every address), so that threads stopped on their own
 * pages key alike; any other address as it is.
 */
export function ownPageMarks(m: Machine): ((x: number) => number) | undefined {
  const own = ownPages(m.sc);
  if (own.maps.size === 0) return undefined;
  let marks = marksOf.get(m.maps);
  if (!marks) {
    marks = new Map();
    for (const list of own.pages)
      list.forEach(([map, index], k) => {
        const p = pageNumber(m, map, index);
        if (p !== null) marks!.set(p, k);
      });
    marksOf.set(m.maps, marks);
  }
  const at = marks;
  return (x) => {
    const k = at.get(Math.floor(x / PAGE_SIZE));
    return k === undefined ? x : 2 ** 52 + k;
  };
}

/**
 * A description of thread `t`'s own pages that no PFN, value or address
 * enters: per page, per mm, its PTE's kind and bits and the mapped folio's
 * flags, counts and places in the per-CPU batches, the isolated list and
 * writeback. Threads whose local states tie are sorted by it, so that a
 * state and its permuted copy, whose pages are each other's, sort alike.
 */
export function ownPagesSignature(m: Machine, t: ThreadRt): number[] {
  const own = ownPages(m.sc);
  const out: number[] = [];
  const s = m.s;
  for (const [map, index] of own.pages[t.decl] ?? []) {
    const page = pageNumber(m, map, index);
    if (page === null) {
      out.push(-1);
      continue;
    }
    for (const mm of s.mms) {
      if (!mm) continue;
      const pte = pteView(s, mm, page * PAGE_SIZE);
      const present = pte_present(pte);
      out.push(present ? 1 : pte === 0 ? 0 : 2, pteBits(pte));
      if (!present) continue;
      const pfn = pte_pfn(pte);
      out.push(s.mem.flags[pfn]!, s.mem.refcount[pfn]!, s.mem.mapcount[pfn]!);
      let at = 0;
      s.lru_batch.forEach((b, cpu) => {
        const k = b.indexOf(pfn);
        if (k >= 0) at = cpu * 4096 + k + 1;
      });
      out.push(at, s.isolated.indexOf(pfn), s.mem.writeback.indexOf(pfn));
    }
  }
  return out;
}

/**
 * Where `pos` (value-symmetry.ts storedPositions()) first met the value
 * each of thread `t`'s own pages holds in its mm (-1: none): a tie-break
 * for threads whose pages differ only in which other page holds the same,
 * where that page comes first in the walk (a shared page set up before).
 */
export function ownPageValuePositions(
  m: Machine,
  t: ThreadRt,
  pos: ReadonlyMap<number, number>,
): number[] {
  const own = ownPages(m.sc);
  const mm = m.s.mms[m.s.tasks[t.pid]?.mm ?? 0];
  const out: number[] = [];
  for (const [map, index] of own.pages[t.decl] ?? []) {
    const page = pageNumber(m, map, index);
    const pte = mm && page !== null ? pteView(m.s, mm, page * PAGE_SIZE) : 0;
    out.push(pte_present(pte) ? (pos.get(m.s.mem.content[pte_pfn(pte)]!) ?? -1) : -1);
  }
  return out;
}

/**
 * For each value the ghost expects at a page no thread owns, the ghost
 * keys (mm and page) that expect it, in ascending order: what
 * ownPageMatches() looks values up in.
 */
export function sharedExpectations(m: Machine): Map<number, number[]> {
  const own = ownPages(m.sc);
  const mine = new Set<number>();
  for (const list of own.pages)
    for (const [map, index] of list) {
      const p = pageNumber(m, map, index);
      if (p !== null) mine.add(p);
    }
  const out = new Map<number, number[]>();
  for (const [key, x] of m.ghost.mem()) {
    if (mine.has(key % MM_SHIFT)) continue;
    const v = Math.floor(x / 2);
    const list = out.get(v);
    if (list) list.push(key);
    else out.set(v, [key]);
  }
  return out;
}

/**
 * Per own page of thread `t`, per mm id, the pages no thread owns that the
 * ghost expects to hold what it expects there (`shared`:
 * sharedExpectations()): the last tie-break of threads, for threads whose
 * pages differ only in which other page holds the same (two threads that
 * also wrote one shared page, the last writer's value staying there). No
 * value or PFN enters it, and the pages it names are not renamed.
 */
export function ownPageMatches(
  m: Machine,
  t: ThreadRt,
  shared: ReadonlyMap<number, readonly number[]>,
): number[] {
  const own = ownPages(m.sc);
  const out: number[] = [];
  for (const [map, index] of own.pages[t.decl] ?? []) {
    const page = pageNumber(m, map, index);
    for (let mm = 1; mm < m.s.mms.length; mm++) {
      const v = page === null ? null : m.ghost.expected(mm * MM_SHIFT + page);
      out.push(-1, ...(v === null ? [] : (shared.get(v) ?? [])));
    }
  }
  return out;
}
