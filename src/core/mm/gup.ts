/**
 * get_user_pages() and pin_user_pages(): mm/gup.c __get_user_pages(),
 * check_vma_flags(), follow_page_pte(), faultin_page(), try_grab_folio(),
 * the GUP-fast walk (gup_fast_pte_range()), and unpinning; with the pin
 * accounting of include/linux/mm.h (GUP_PIN_COUNTING_BIAS,
 * folio_maybe_dma_pinned(), page_needs_cow_for_dma()).
 *
 * Where eras differ (breaking COW for every GUP in v5.8, which PTEs a write
 * lookup may follow, when a read-only pin must unshare first) the policy
 * decides. A request is one atomic step in this model version.
 */

import { EFAULT, ENOMEM, ERESTARTSYS } from '../errno.js';
import type { GupRef, Mm, State, Vma } from '../mm_types.js';
import {
  folioLarge,
  is_cow_mapping,
  MMF_HAS_PINNED,
  refcountW,
  VM_MAYREAD,
  VM_PFNMAP,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
  ZERO_PFN,
} from '../mm_types.js';
import { pte_present, pte_protnone, pte_special, type pte_t, pte_write } from '../pgtable_types.js';
import type { GupFastPending, GupPte, Kernel } from '../points.js';
import {
  FAULT_FLAG_BREAK_COW,
  FAULT_FLAG_UNSHARE,
  FAULT_FLAG_WRITE,
  handle_mm_fault,
  VM_FAULT_RETRY,
  vma_is_accessible,
} from './memory/fault.js';
import { pmd_present_table, pmdSlot, ptep_get, pteView } from './memory/pgtable.js';
import { vm_normal_page } from './memory/wp.js';
import { pt_walker_enter, pt_walker_exit, ptBug, ptGen, ptLive } from './mmu_gather.js';
import { folio_put, page_folio } from './page_alloc.js';
import { ptWalkWork } from './pt_walk.js';
import { vma_lookup } from './vma.js';

/* include/linux/mm_types.h enum foll_flags (values as in v6.x; only their combinations matter here). */
export const FOLL_WRITE = 1 << 0;
export const FOLL_GET = 1 << 1;
export const FOLL_DUMP = 1 << 2;
export const FOLL_FORCE = 1 << 3;
export const FOLL_NOWAIT = 1 << 4;
export const FOLL_NOFAULT = 1 << 5;
export const FOLL_HWPOISON = 1 << 6;
export const FOLL_ANON = 1 << 7;
export const FOLL_LONGTERM = 1 << 8;
export const FOLL_PIN = 1 << 10;
/**
 * Internal: set by faultin_page() after a write fault on a VMA without
 * VM_WRITE (a FOLL_FORCE write, or v5.8's forced COW break), so that
 * can_follow_write_pte() accepts the dirty read-only PTE the fault left.
 * Removed by 5535be309971 (v6.0); later eras' rules ignore it.
 */
export const FOLL_COW = 1 << 11;
/** Model flag: try the GUP-fast walk first (get_user_pages_fast(), pin_user_pages_fast()). */
export const FOLL_FAST = 1 << 20;
/**
 * FOLL_BREAK_COW of Peter Xu's proposal (0x100000 there, which FOLL_FAST
 * uses here): the forced COW break of policy foll_break_cow.
 */
export const FOLL_BREAK_COW = 1 << 21;

/** include/linux/mm.h GUP_PIN_COUNTING_BIAS: one FOLL_PIN adds this to a small folio's refcount. */
export const GUP_PIN_COUNTING_BIAS = 1024;

/**
 * include/linux/mm.h folio_maybe_dma_pinned() for a small folio: a refcount
 * of at least GUP_PIN_COUNTING_BIAS (false positives allowed).
 */
export function folio_maybe_dma_pinned(s: State, folio: number): boolean {
  if (s.mem.order[folio]! > 0) return folioLarge(s, folio).pincount > 0; // folio->_pincount
  return s.mem.refcount[folio]! >= GUP_PIN_COUNTING_BIAS;
}

/**
 * include/linux/mm.h page_needs_cow_for_dma(): at fork, a page of a COW
 * mapping in an mm that ever pinned (MMF_HAS_PINNED) that may be pinned must
 * be copied for the child.
 */
export function page_needs_cow_for_dma(s: State, mm: Mm, vma: Vma, folio: number): boolean {
  if (!is_cow_mapping(vma.vm_flags)) return false;
  if (!(mm.flags & MMF_HAS_PINNED)) return false;
  return folio_maybe_dma_pinned(s, folio);
}

/** How much one reference of this kind adds to the folio's refcount. */
export function gupRefs(s: State, k: Kernel, folio: number, flags: number): number {
  if (folio === ZERO_PFN) return 0; // the zero page is not refcounted by the model
  if (flags & FOLL_PIN && s.mem.order[folio] === 0) return k.policy.GUP_PIN_COUNTING_BIAS;
  return 1;
}

/**
 * mm/gup.c try_grab_folio(): take one reference. FOLL_GET adds 1; FOLL_PIN
 * adds GUP_PIN_COUNTING_BIAS to a small folio.
 */
export function try_grab_folio(s: State, k: Kernel, folio: number, flags: number): void {
  refcountW(s.mem)[folio]! += gupRefs(s, k, folio, flags);
  // A large folio counts pins in folio->_pincount and takes one reference per pin.
  if (flags & FOLL_PIN && s.mem.order[folio]! > 0) folioLarge(s, folio).pincount += 1;
}

/** mm/gup.c unpin_user_page() / put_page(): drop `refs` taken by try_grab_folio(). */
export function gup_put_page(s: State, page: number, refs: number, pin = false): void {
  const folio = page_folio(s, page);
  if (refs === 0) return;
  if (pin && s.mem.order[folio]! > 0) folioLarge(s, folio).pincount -= 1;
  refcountW(s.mem)[folio]! -= refs - 1;
  folio_put(s, folio);
}

/** mm/gup.c check_vma_flags(): may this request use this VMA at all? */
function check_vma_flags(s: State, k: Kernel, vma: Vma, flags: number): boolean {
  if (vma.vm_flags & VM_PFNMAP) return false;
  if (
    flags & FOLL_WRITE &&
    flags & FOLL_LONGTERM &&
    vma.vm_file !== 0 &&
    vma.vm_flags & VM_SHARED
  ) {
    const ok = k.policy.writable_file_mapping_allowed(s, k, { vma, flags, folio: 0 });
    k.decide(
      'writable_file_mapping_allowed',
      ok ? 'allow' : 'refuse (-EFAULT)',
      ok
        ? 'a long-term write pin of this shared file mapping is allowed'
        : 'the filesystem tracks dirty pages (vma_needs_dirty_tracking)',
    );
    if (!ok) return false;
  }
  if (flags & FOLL_WRITE) {
    if (!(vma.vm_flags & VM_WRITE)) {
      if (!(flags & FOLL_FORCE)) return false;
      // FOLL_FORCE may write only through a COW mapping (ptrace's poke into text).
      if (!is_cow_mapping(vma.vm_flags)) return false;
    }
  } else if (!(vma.vm_flags & VM_READ)) {
    if (!(flags & FOLL_FORCE)) return false;
    if (!(vma.vm_flags & VM_MAYREAD)) return false;
  }
  return true;
}

/** The PTE mapping `addr`, or the page's view of a huge PMD (follow_huge_pmd(), gup_fast_pmd_leaf()). */
function pteAt(s: State, mm: Mm, addr: number): pte_t {
  return pteView(s, mm, addr);
}

type Follow =
  | { kind: 'page'; page: number }
  | { kind: 'fault'; unshare: boolean }
  | { kind: 'efault' };

/** mm/gup.c follow_page_pte(): the page mapped at `addr`, or the fault to take first. */
function follow_page_pte(
  s: State,
  k: Kernel,
  mm: Mm,
  vma: Vma,
  addr: number,
  flags: number,
): Follow {
  const pte = pteAt(s, mm, addr);
  if (!pte_present(pte)) return { kind: 'fault', unshare: false };
  // gup_can_follow_protnone(): a PROT_NONE VMA's entries are followed (FOLL_FORCE
  // got the request this far); only NUMA-hinting entries of accessible VMAs fault.
  if (pte_protnone(pte) && vma_is_accessible(vma)) return { kind: 'fault', unshare: false };
  let page = vm_normal_page(pte);
  if (page === 0 && !pte_special(pte)) return { kind: 'efault' };
  if (page === 0) page = ZERO_PFN; // is_zero_pfn(): follow_page_pte() returns the zero page
  const folio = page_folio(s, page);
  const g: GupPte = { vma, flags, pte, page, folio };
  if (flags & FOLL_WRITE && !k.policy.can_follow_write_pte(s, k, g))
    return { kind: 'fault', unshare: false };
  if (!pte_write(pte) && (flags & (FOLL_WRITE | FOLL_PIN)) === FOLL_PIN) {
    const must = k.policy.gup_must_unshare(s, k, g);
    k.decide(
      'gup_must_unshare',
      must ? 'unshare first' : 'pin the mapped page',
      must ? 'FAULT_FLAG_UNSHARE' : 'the era sees no need to unshare this page',
    );
    if (must) return { kind: 'fault', unshare: true };
  }
  try_grab_folio(s, k, folio, flags);
  return { kind: 'page', page };
}

/**
 * mm/gup.c __get_user_pages(): look up (faulting in as needed) `nr` pages
 * from `start`, taking a FOLL_GET or FOLL_PIN reference on each. Returns the
 * page PFNs, or a negative errno (the references taken so far are dropped).
 */
export function __get_user_pages(
  s: State,
  k: Kernel,
  mm: Mm,
  start: number,
  nr: number,
  gup_flags: number,
): number[] | number {
  // mmap_read_lock() sleeps while fork() holds the lock for writing (its seqcount is odd).
  if (mm.write_protect_seq % 2 === 1) return -ERESTARTSYS;
  if (gup_flags & FOLL_PIN) mm.flags |= MMF_HAS_PINNED; // mm_set_has_pinned_flag()
  const pages: number[] = [];
  const fail = (err: number) => {
    for (const p of pages)
      gup_put_page(s, p, gupRefs(s, k, page_folio(s, p), gup_flags), (gup_flags & FOLL_PIN) !== 0);
    return err;
  };
  for (let i = 0; i < nr; i++) {
    const addr = start + i * 4096;
    const vma = vma_lookup(mm, addr);
    if (!vma || !check_vma_flags(s, k, vma, gup_flags)) return fail(-EFAULT);
    let flags = gup_flags;
    if (k.policy.should_force_cow_break(s, k, vma, flags)) {
      const breakCow = k.policy.foll_break_cow;
      k.decide(
        'should_force_cow_break',
        breakCow ? 'FOLL_BREAK_COW' : 'FOLL_WRITE',
        breakCow
          ? 'a fault breaks COW as if it wrote; a present page is taken as it is (follow_page_pte() tests FOLL_WRITE only)'
          : 'GUP breaks COW before taking the reference',
      );
      flags |= breakCow ? FOLL_BREAK_COW : FOLL_WRITE;
    }
    let got = 0;
    for (let tries = 0; tries < 4 && got === 0; tries++) {
      const v = vma_lookup(mm, addr)!;
      // follow_page_mask(): a locked walk of the page tables, priced per design (pt_walk.ts).
      ptWalkWork(s, k.config);
      const f = follow_page_pte(s, k, mm, v, addr, flags);
      if (f.kind === 'page') {
        got = f.page;
        break;
      }
      if (f.kind === 'efault') break;
      // faultin_page(): a write fault, or an unshare fault (never both); FOLL_BREAK_COW
      // adds FAULT_FLAG_BREAK_COW.
      const fault = f.unshare
        ? FAULT_FLAG_UNSHARE
        : (flags & FOLL_WRITE ? FAULT_FLAG_WRITE : 0) |
          (flags & FOLL_BREAK_COW ? FAULT_FLAG_BREAK_COW : 0);
      const ret = handle_mm_fault(s, k, mm, v, addr, fault);
      if (ret & VM_FAULT_RETRY) return fail(-ERESTARTSYS); // the caller sleeps and retries
      if (ret !== 0) break;
      if (fault & FAULT_FLAG_WRITE && !(v.vm_flags & VM_WRITE)) flags |= FOLL_COW;
    }
    if (got === 0) return fail(-ENOMEM);
    pages.push(got);
  }
  return pages;
}

/**
 * mm/gup.c gup_fast_pte_range(): the lockless walk. Takes the page if the PTE
 * allows it, else returns 0 and the caller falls back to the slow path.
 */
function gup_fast_pte(s: State, k: Kernel, mm: Mm, addr: number, flags: number): number {
  const pte = pteAt(s, mm, addr);
  if (!pte_present(pte) || pte_protnone(pte) || pte_special(pte)) return 0;
  if (flags & FOLL_WRITE && !pte_write(pte)) return 0;
  const page = vm_normal_page(pte);
  const folio = page_folio(s, page);
  if (k.policy.gup_fast_fallback(s, k, { vma: null, flags, pte, page, folio })) return 0;
  if (!k.policy.writable_file_mapping_allowed(s, k, { vma: null, flags, folio })) {
    k.decide('writable_file_mapping_allowed', 'slow path', 'GUP-fast cannot see the mapping');
    return 0;
  }
  try_grab_folio(s, k, folio, flags);
  return page;
}

/**
 * The first half of GUP-fast's walk for the first page (ADR 0013): with
 * interrupts off (local_irq_save() in gup_fast()), read the PMD entry
 * (gup_fast_pmd_range()); null when it names no PTE table, as the walk then
 * never reads one. The caller stops; gup_fast_resume() continues.
 */
function gup_fast_begin(s: State, mm: Mm, address: number): GupFastPending | null {
  const at = pmdSlot(s, mm, address);
  const table = at ? pmd_present_table(ptep_get(s, at.table, at.index)) : 0;
  if (!at || table === 0) return null;
  pt_walker_enter(s);
  return {
    kind: 'gup_fast',
    mm: mm.id,
    address,
    pmd_table: at.table,
    pmd_gen: ptGen(s, at.table),
    table,
    gen: ptGen(s, table),
  };
}

/**
 * The second half: gup_fast_pte_range() reads the PTE through the table it
 * read (PT001 if that table was freed meanwhile), rechecks the PMD entry,
 * and interrupts come back on (local_irq_restore()), which lets a deferred
 * table free proceed. The walk itself is then redone in one step from the
 * mm (get_user_pages_fast()): a table unlinked meanwhile had only none
 * entries left, so its PTE read fails and the walk falls back to the slow
 * path, as the fresh walk does.
 */
export function gup_fast_resume(s: State, p: GupFastPending): void {
  if (!ptLive(s, p.table, p.gen))
    ptBug(s, {
      code: 'PT001',
      detail: `GUP-fast at 0x${p.address.toString(16)} read a PTE in page table ${p.table}, freed after it read the PMD entry`,
    });
  pt_walker_exit(s);
}

/**
 * mm/gup.c get_user_pages_fast() / pin_user_pages_fast(): GUP-fast for every
 * page it can take, the slow path for the rest.
 */
export function get_user_pages_fast(
  s: State,
  k: Kernel,
  mm: Mm,
  start: number,
  nr: number,
  gup_flags: number,
  stepwise = false,
): number[] | number {
  if (stepwise && k.config.ptWalkSteps) {
    const p = gup_fast_begin(s, mm, start);
    if (p) {
      k.pending = p;
      return [];
    }
  }
  if (gup_flags & FOLL_PIN) mm.flags |= MMF_HAS_PINNED;
  // gup_fast(): a FOLL_PIN walk backs off while fork() write-protects (the seqcount is odd).
  if (gup_flags & FOLL_PIN && k.policy.write_protect_seq && mm.write_protect_seq % 2 === 1) {
    k.decide('gup_fast', 'fallback', 'mm->write_protect_seq is odd: fork() in progress');
    return __get_user_pages(s, k, mm, start, nr, gup_flags);
  }
  const pages: number[] = [];
  for (let i = 0; i < nr; i++) {
    const fast = gup_fast_pte(s, k, mm, start + i * 4096, gup_flags);
    if (fast === 0) {
      const rest = __get_user_pages(s, k, mm, start + i * 4096, nr - i, gup_flags);
      if (typeof rest === 'number') {
        for (const p of pages)
          gup_put_page(
            s,
            p,
            gupRefs(s, k, page_folio(s, p), gup_flags),
            (gup_flags & FOLL_PIN) !== 0,
          );
        return rest;
      }
      return pages.concat(rest);
    }
    pages.push(fast);
  }
  return pages;
}

/** Record a reference GUP took (with `flags`) as held by its user; returns its id. */
export function gupHold(s: State, k: Kernel, page: number, flags: number): number {
  const id = s.gup.length;
  const folio = page_folio(s, page);
  const ref: GupRef = {
    id,
    page,
    folio,
    pin: (flags & FOLL_PIN) !== 0,
    refs: gupRefs(s, k, folio, flags),
  };
  s.gup[id] = ref;
  return id;
}

/** The user releases a held reference (unpin_user_page() or put_page()). */
export function gupRelease(s: State, id: number): void {
  const ref = s.gup[id];
  if (!ref) return;
  s.gup[id] = null;
  gup_put_page(s, ref.page, ref.refs, ref.pin);
}

/**
 * How many short-term GUP references (FOLL_GET, as vmsplice, O_DIRECT before
 * v6.5 and get_user_pages() users take) the folio has now, pipe buffers that
 * hold user pages included. Model helper for the wait-for-gup proposal.
 */
export function shortTermGupRefs(s: State, folio: number): number {
  let n = 0;
  for (const g of s.gup) if (g && !g.pin && g.folio === folio) n += g.refs;
  for (const p of s.pipes)
    if (p) for (const b of p.bufs) if (b.ops === 'user' && page_folio(s, b.pfn) === folio) n++;
  return n;
}
