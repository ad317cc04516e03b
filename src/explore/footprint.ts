/**
 * What a thread may still touch, for the independence of accesses
 * (independence.ts): the pages of anonymous private mappings its remaining
 * statements read or write (with the threads it spawns), the folios mapped
 * there now, the registers it sets, and whether it may allocate or free a
 * page. Null where a statement could reach further (the module comment of
 * independence.ts lists what).
 */

import { vma_is_anonymous } from '../core/mm/memory/fault.js';
import { pte_index, ptep_get, pteTable } from '../core/mm/memory/pgtable.js';
import { page_folio } from '../core/mm/page_alloc.js';
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
import { PG_ksm, PG_locked, PG_swapcache, PG_writeback } from '../core/page-flags.js';
import { PAGE_SIZE as PAGE, pte_none, pte_pfn, pte_present } from '../core/pgtable_types.js';
import type { Stmt } from '../scenario/ast.js';
import type { Machine, ThreadRt } from '../scenario/machine.js';
import { nextStmt, stmtAt, task } from '../scenario/machine.js';
import { LOCAL_OPS } from './local-move.js';

/** At most this many pages are looked at for one reduction; a larger program keeps every move. */
const MAX_PAGES = 4096;

/** What the remaining program of one thread may touch; null when it may touch anything. */
export interface Footprint {
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
export function footprint(m: Machine, t: ThreadRt): Footprint | null {
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
export function nextAccess(m: Machine, t: ThreadRt): Footprint | null {
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
