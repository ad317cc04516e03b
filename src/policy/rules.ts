/**
 * The rules eras are made of, one function per rule, named after the kernel
 * code (or proposal) it comes from. An era file picks one rule per decision
 * point; two era files differ exactly where the kernels did.
 */

import { folio_trylock, folio_unlock, folioLockHolder } from '../core/mm/filemap.js';
import {
  FOLL_COW,
  FOLL_FORCE,
  FOLL_GET,
  FOLL_LONGTERM,
  FOLL_PIN,
  FOLL_WRITE,
  page_needs_cow_for_dma,
  shortTermGupRefs,
} from '../core/mm/gup.js';
import { vm_normal_page } from '../core/mm/memory/wp.js';
import {
  ClearPageAnonExclusive,
  folio_test_anon,
  PageAnonExclusive,
  page_mapcount,
  SetPageAnonExclusive,
} from '../core/mm/rmap.js';
import { lru_add_drain } from '../core/mm/swap.js';
import {
  __swap_count,
  folio_free_swap,
  folio_swap_offset,
  page_trans_huge_map_swapcount,
} from '../core/mm/swapfile.js';
import type { Mm, State } from '../core/mm_types.js';
import {
  flagsW,
  is_cow_mapping,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_SHARED,
  VM_WRITE,
  vma_soft_dirty_enabled,
  ZERO_PFN,
} from '../core/mm_types.js';
import { PG_ksm, PG_lru, PG_swapbacked, PG_swapcache } from '../core/page-flags.js';
import {
  pte_dirty,
  pte_protnone,
  pte_soft_dirty,
  pte_uffd_wp,
  pte_write,
} from '../core/pgtable_types.js';
import type {
  ForkDecision,
  ForkPte,
  GupPte,
  Kernel,
  MprotectPte,
  WpDecision,
  WpFault,
  WrprotectPte,
} from '../core/points.js';
import { W_ATOMICS, W_LOCKS, W_PAGE_LINES, workCharge } from '../core/work.js';

function test(s: State, folio: number, bit: number): boolean {
  return (s.mem.flags[folio]! & bit) !== 0;
}

function ref(s: State, folio: number): number {
  return s.mem.refcount[folio]!;
}

/* ---------------- folio_add_new_anon_rmap(): a fresh anonymous page ---------------- */

/** Before v5.19 there is no PG_anon_exclusive: a fresh anonymous page is not marked. */
export function folio_add_new_anon_rmap_unmarked(): { exclusive: boolean } {
  return { exclusive: false };
}

/** From v5.19 (6c287605fd56) a fresh anonymous page is born PG_anon_exclusive (RMAP_EXCLUSIVE). */
export function folio_add_new_anon_rmap_exclusive(): { exclusive: boolean } {
  return { exclusive: true };
}

/* ---------------- do_wp_page(): reuse or copy ---------------- */

const COPY_ZERO: WpDecision = {
  action: 'copy',
  why: 'zero page: copy to a new anonymous page',
  reason: 'other',
};
const COPY_FILE: WpDecision = { action: 'copy', why: 'not anonymous', reason: 'other' };

/** The part every era shares: only anonymous pages can be reused. */
function anonOnly(s: State, vmf: WpFault): WpDecision | null {
  if (vmf.folio === 0) return COPY_ZERO;
  if (!folio_test_anon(s, vmf.folio)) return COPY_FILE;
  return null;
}

const A_COPY_KSM: WpDecision = {
  action: 'copy',
  why: 'KSM page in the swap cache or with page_count() != 1',
  reason: 'early',
};
const A_REUSE_KSM: WpDecision = { action: 'reuse', why: 'reuse_ksm_page(): the only reference' };
const A_REUSE: WpDecision = {
  action: 'reuse',
  why: 'reuse_swap_page(): mapcount + swapcount <= 1 (other references ignored)',
};
const A_COPY: WpDecision = {
  action: 'copy',
  why: 'reuse_swap_page(): mapcount + swapcount > 1',
  reason: 'other',
};

/**
 * mm/memory.c do_wp_page() up to v5.8 (and Andrea Arcangeli's revert to it):
 * reuse decided by mapcount + swapcount (reuse_swap_page()), KSM pages by
 * reuse_ksm_page() (52d1e606ee73). A contended page lock is slept on, not a
 * reason to copy. GUP and pipe references are invisible.
 */
export function do_wp_page_mapcount(s: State, _k: Kernel, vmf: WpFault): WpDecision {
  const not = anonOnly(s, vmf);
  if (not) return not;
  const { folio, page } = vmf;
  if (test(s, folio, PG_ksm)) {
    if (test(s, folio, PG_swapcache) || ref(s, folio) !== 1) return A_COPY_KSM;
    // reuse_ksm_page() → page_move_anon_rmap(): an ordinary anonymous page again.
    flagsW(s.mem)[folio] = s.mem.flags[folio]! & ~PG_ksm;
    return A_REUSE_KSM;
  }
  // trylock_page() (or a sleeping lock_page()) and unlock_page() around the test.
  workCharge(s, W_LOCKS);
  workCharge(s, W_ATOMICS, 2);
  workCharge(s, W_PAGE_LINES);
  // reuse_swap_page(): the swap entries of its slot count as mappings; a sole
  // owner drops the swap-cache copy (the page is then dirty, in memory only).
  // A page of a THP asks page_trans_huge_map_swapcount(): the busiest subpage.
  const slot = folio_swap_offset(s, folio);
  const swapcount = slot === 0 ? 0 : __swap_count(s, slot);
  const count =
    s.mem.order[folio]! > 0
      ? page_trans_huge_map_swapcount(s, folio)
      : page_mapcount(s, page, folio) + swapcount;
  if (count > 1) return A_COPY;
  if (slot !== 0) folio_free_swap(s, folio);
  return A_REUSE;
}

const C_COPY_REF: WpDecision = { action: 'copy', why: 'page_count() != 1', reason: 'early' };
const C_COPY_KSM: WpDecision = {
  action: 'copy',
  why: 'KSM page (reuse_ksm_page() removed)',
  reason: 'early',
};
const COPY_LOCK: WpDecision = {
  action: 'copy',
  why: 'trylock failed: the page is locked by another holder',
  reason: 'lock',
};
const C_COPY_MAP: WpDecision = {
  action: 'copy',
  why: 'mapcount != 1 or page_count() != 1 under the page lock',
  reason: 'other',
};
const C_REUSE: WpDecision = {
  action: 'reuse',
  why: 'page_count() == 1 and mapcount == 1 under the page lock',
};

/**
 * mm/memory.c do_wp_page() after 09854ba94c6a "mm: do_wp_page()
 * simplification" (v5.9–v5.17; also Linus's rule (a)): reuse only the sole
 * reference, under the page lock, which is only tried.
 */
export function do_wp_page_page_count(s: State, k: Kernel, vmf: WpFault): WpDecision {
  const not = anonOnly(s, vmf);
  if (not) return not;
  const { folio, page } = vmf;
  if (test(s, folio, PG_ksm)) return C_COPY_KSM;
  if (ref(s, folio) !== 1) return C_COPY_REF;
  k.raceFolioLock(s, folio);
  if (!folio_trylock(s, folio)) return trylockFailed(s, k, folio);
  const ok = !test(s, folio, PG_ksm) && s.mem.mapcount[page] === 1 && ref(s, folio) === 1;
  folio_unlock(s, folio);
  return ok ? C_REUSE : C_COPY_MAP;
}

/** A failed folio trylock: record who holds the lock (the trace names it), then copy. */
function trylockFailed(s: State, k: Kernel, folio: number): WpDecision {
  k.decide('folio_trylock', 'failed', `folio ${folio} is locked by ${folioLockHolder(s, folio)}`);
  return COPY_LOCK;
}

const W_WAIT: WpDecision = {
  action: 'wait',
  why: 'short-term GUP references: wait until they are gone',
};

/**
 * Andy Lutomirski's proposal (seed 001, Jan 12 2021): a short-term R/O GUP of
 * a R/O COW page is allowed, and a later COW of the page waits for the GUP to
 * go away; then the page_count() rule of 09854ba94c6a decides. Long-term pins
 * are not short-term GUP: they keep the page_count() rule (copy).
 */
export function do_wp_page_wait_for_gup(s: State, k: Kernel, vmf: WpFault): WpDecision {
  const not = anonOnly(s, vmf);
  if (not) return not;
  if (!test(s, vmf.folio, PG_ksm) && shortTermGupRefs(s, vmf.folio) > 0) return W_WAIT;
  return do_wp_page_page_count(s, k, vmf);
}

const D_COPY_KSM: WpDecision = { action: 'copy', why: 'early: KSM folio', reason: 'early' };
const D_COPY_REF3: WpDecision = { action: 'copy', why: 'early: refcount > 3', reason: 'early' };
const D_COPY_REF: WpDecision = {
  action: 'copy',
  why: 'refcount > 1 + swapcache after lru_add_drain()',
  reason: 'early',
};
const D_COPY_REF1: WpDecision = {
  action: 'copy',
  why: 'refcount != 1 under the folio lock',
  reason: 'other',
};

/**
 * The reuse test of v5.18 (53a05ad9f21d, d4c470970d45), kept by every later
 * era for pages that are not PG_anon_exclusive (mm/memory.c
 * wp_can_reuse_anon_folio() for a small folio): drain the local LRU batch,
 * free an unused swap-cache slot, then reuse the sole reference. Returns the
 * copy decision, or null when the page may be reused.
 */
export function wp_can_reuse_anon_folio(s: State, k: Kernel, folio: number): WpDecision | null {
  if (test(s, folio, PG_ksm)) return D_COPY_KSM;
  if (ref(s, folio) > 3) return D_COPY_REF3;
  if (!test(s, folio, PG_lru)) lru_add_drain(s, k);
  const swapcache = test(s, folio, PG_swapcache) ? 1 : 0;
  if (ref(s, folio) > 1 + swapcache) return D_COPY_REF;
  k.raceFolioLock(s, folio);
  if (!folio_trylock(s, folio)) return trylockFailed(s, k, folio);
  if (test(s, folio, PG_swapcache)) folio_free_swap(s, folio);
  if (ref(s, folio) !== 1) {
    folio_unlock(s, folio);
    return D_COPY_REF1;
  }
  folio_unlock(s, folio);
  return null;
}

const D_REUSE: WpDecision = { action: 'reuse', why: 'refcount == 1 (only our mapping)' };

/** mm/memory.c do_wp_page() in v5.18: the streamlined refcount rule, no PG_anon_exclusive. */
export function do_wp_page_streamlined(s: State, k: Kernel, vmf: WpFault): WpDecision {
  const not = anonOnly(s, vmf);
  if (not) return not;
  return wp_can_reuse_anon_folio(s, k, vmf.folio) ?? D_REUSE;
}

const E_REUSE_EXCL: WpDecision = { action: 'reuse', why: 'PageAnonExclusive' };
const E_REUSE: WpDecision = {
  action: 'reuse',
  why: 'refcount == 1 (only our mapping): PG_anon_exclusive set',
};

/**
 * mm/memory.c do_wp_page() from v5.19 (6c287605fd56): an exclusive page is
 * reused without further checks; otherwise the v5.18 test, and a reused page
 * becomes exclusive (page_move_anon_rmap() / SetPageAnonExclusive()).
 */
export function do_wp_page_anon_exclusive(s: State, k: Kernel, vmf: WpFault): WpDecision {
  const not = anonOnly(s, vmf);
  if (not) return not;
  if (PageAnonExclusive(s, vmf.page)) return E_REUSE_EXCL;
  const copy = wp_can_reuse_anon_folio(s, k, vmf.folio);
  if (copy) return copy;
  SetPageAnonExclusive(s, vmf.page);
  return E_REUSE;
}

/* ---------------- copy_present_pte(): share or copy at fork ---------------- */

const SHARE_ALWAYS: ForkDecision = {
  action: 'share',
  why: 'fork shares every anonymous page read-only (no pin check before v5.9)',
};

/** mm/memory.c copy_one_pte() up to v5.8: every page is shared. */
export function copy_present_pte_share(): ForkDecision {
  return SHARE_ALWAYS;
}

const C_COPY_PINNED: ForkDecision = {
  action: 'copy',
  why: 'has_pinned && page_maybe_dma_pinned(): early COW for the child',
};
const C_SHARE: ForkDecision = { action: 'share', why: 'not maybe-pinned: shared read-only' };

/**
 * mm/memory.c copy_present_pte() from v5.9 (70e806e4e645 "mm: Do early cow
 * for pinned pages during fork() for ptes"): a page that may be pinned, in an
 * mm that ever pinned, is copied for the child; the parent keeps its PTE.
 */
export function copy_present_pte_cow_pinned(s: State, _k: Kernel, f: ForkPte): ForkDecision {
  return page_needs_cow_for_dma(s, f.src_mm, f.src_vma, f.folio) ? C_COPY_PINNED : C_SHARE;
}

type Fork = (s: State, k: Kernel, f: ForkPte) => ForkDecision;

const E_SHARE_SHARED: ForkDecision = { action: 'share', why: 'not exclusive: already shared' };
const E_COPY_PINNED: ForkDecision = {
  action: 'copy',
  why: 'exclusive and maybe pinned (MMF_HAS_PINNED, folio_maybe_dma_pinned)',
};
const E_SHARE: ForkDecision = {
  action: 'share',
  why: 'exclusive, not pinned: PG_anon_exclusive cleared',
};

/**
 * include/linux/rmap.h page_try_dup_anon_rmap() (v5.19), later
 * __folio_try_dup_anon_rmap(): an exclusive page that may be pinned is
 * copied; otherwise sharing clears PG_anon_exclusive.
 */
export const copy_present_pte_try_dup: Fork = (s, _k, f) => {
  if (!PageAnonExclusive(s, f.page)) return E_SHARE_SHARED;
  if (page_needs_cow_for_dma(s, f.src_mm, f.src_vma, f.folio)) return E_COPY_PINNED;
  ClearPageAnonExclusive(s, f.page);
  return E_SHARE;
};

const L_COPY: ForkDecision = {
  action: 'copy',
  why: "Linus's rule (c): a writable page with page_count() != 1 is never made read-only",
};
const L_SHARE: ForkDecision = {
  action: 'share',
  why: "Linus's rule (c): page_count() == 1 or already read-only",
};

/**
 * Linus's rule (c) at fork (seed 001): fork() must write-protect the
 * parent's PTE to share the page, which (c) allows only for page_count() == 1;
 * any other writable page is copied for the child. copy_present_pte() has
 * already taken fork's own reference, hence the "- 1".
 */
export const copy_present_pte_linus: Fork = (s, _k, f) =>
  pte_write(f.pte) && ref(s, f.folio) - 1 !== 1 ? L_COPY : L_SHARE;

/* ---------------- GUP ---------------- */

/** mm/gup.c can_follow_write_pte() before v6.0: a FOLL_FORCE write follows the dirty COW copy (FOLL_COW). */
export function can_follow_write_pte_foll_cow(_s: State, _k: Kernel, g: GupPte): boolean {
  return (
    pte_write(g.pte) ||
    ((g.flags & FOLL_FORCE) !== 0 && (g.flags & FOLL_COW) !== 0 && pte_dirty(g.pte))
  );
}

/** mm/gup.c can_follow_write_pte() in v5.8 (17839856fd58 dropped the FOLL_FORCE test). */
export function can_follow_write_pte_v58(_s: State, _k: Kernel, g: GupPte): boolean {
  return pte_write(g.pte) || ((g.flags & FOLL_COW) !== 0 && pte_dirty(g.pte));
}

/**
 * mm/gup.c can_follow_write_pte() since 5535be309971 (v6.0): FOLL_FORCE may
 * write through a read-only PTE only onto an exclusive anonymous page of a
 * private mapping.
 */
export function can_follow_write_pte_exclusive(s: State, _k: Kernel, g: GupPte): boolean {
  if (pte_write(g.pte)) return true;
  if (!(g.flags & FOLL_FORCE) || !g.vma) return false;
  const f = g.vma.vm_flags;
  if (f & (VM_MAYSHARE | VM_SHARED) || !(f & VM_MAYWRITE) || f & VM_WRITE) return false;
  if (!folio_test_anon(s, g.folio) || !PageAnonExclusive(s, g.page)) return false;
  if (vma_soft_dirty_enabled(g.vma) && !pte_soft_dirty(g.pte)) return false;
  return !pte_uffd_wp(g.pte);
}

/** Before v6.5 a long-term write pin of any file mapping is taken. */
export function writable_file_mapping_allowed_always(): boolean {
  return true;
}

/**
 * mm/gup.c writable_file_mapping_allowed() (believed v6.5): a FOLL_LONGTERM |
 * FOLL_WRITE pin of a shared mapping whose filesystem tracks dirty pages
 * (vma_needs_dirty_tracking(): ext4, not tmpfs) fails with -EFAULT; GUP-fast
 * leaves any non-anonymous, non-shmem folio to the slow path to decide.
 */
export function writable_file_mapping_allowed_v65(
  s: State,
  _k: Kernel,
  g: { vma: { vm_flags: number; vm_file: number } | null; flags: number; folio: number },
): boolean {
  if (!(g.flags & FOLL_WRITE && g.flags & FOLL_LONGTERM)) return true;
  if (g.vma === null)
    return g.folio === ZERO_PFN || folio_test_anon(s, g.folio) || test(s, g.folio, PG_swapbacked);
  if (g.vma.vm_file === 0 || !(g.vma.vm_flags & VM_SHARED)) return true;
  return s.inodes[g.vma.vm_file]?.fs !== 'ext4';
}

/** Before v5.19 nothing unshares: a read-only pin takes whatever page is mapped. */
export function gup_must_unshare_never(): boolean {
  return false;
}

/**
 * include/linux/mm.h gup_must_unshare() in v5.19: a read-only pin (FOLL_PIN
 * without FOLL_WRITE) of an anonymous page that is not exclusive.
 */
export function gup_must_unshare_anon(s: State, _k: Kernel, g: GupPte): boolean {
  if ((g.flags & (FOLL_WRITE | FOLL_PIN)) !== FOLL_PIN) return false;
  if (g.folio === ZERO_PFN || !folio_test_anon(s, g.folio)) return false;
  return !PageAnonExclusive(s, g.page);
}

/**
 * mm/internal.h gup_must_unshare() since v6.2 (84209e87c696 "mm/gup:
 * reliable R/O long-term pinning in COW mappings"): also a long-term R/O pin
 * of any page in a COW mapping (the zero page, KSM pages). GUP-fast (no VMA)
 * falls back to the slow path.
 */
export function gup_must_unshare_cow(s: State, k: Kernel, g: GupPte): boolean {
  if ((g.flags & (FOLL_WRITE | FOLL_PIN)) !== FOLL_PIN) return false;
  if (g.folio === ZERO_PFN || !folio_test_anon(s, g.folio)) {
    if (!(g.flags & FOLL_LONGTERM)) return false;
    if (!g.vma) return true;
    return is_cow_mapping(g.vma.vm_flags);
  }
  return gup_must_unshare_anon(s, k, g);
}

/**
 * mm/gup.c (v5.8, 17839856fd58): every FOLL_GET or FOLL_PIN of a COW mapping
 * gets FOLL_WRITE, so that taking the reference breaks COW first.
 */
export function should_force_cow_break_v58(
  _s: State,
  _k: Kernel,
  vma: { vm_flags: number },
  flags: number,
): boolean {
  return is_cow_mapping(vma.vm_flags) && (flags & (FOLL_GET | FOLL_PIN)) !== 0;
}

export function should_force_cow_break_never(): boolean {
  return false;
}

/** GUP-fast in v5.8: "refuses to follow a read-only page, since it might need COW breaking". */
export function gup_fast_fallback_v58(_s: State, _k: Kernel, g: GupPte): boolean {
  return !pte_write(g.pte) && (g.flags & (FOLL_GET | FOLL_PIN)) !== 0;
}

export function gup_fast_fallback_never(): boolean {
  return false;
}

type GupMustUnshare = (s: State, k: Kernel, g: GupPte) => boolean;
/** One rule per gup_must_unshare() rule, so that eras with the same one share it (explore/era-memo.ts). */
const fallbackRules = new Map<GupMustUnshare, GupMustUnshare>();

/** mm/gup.c gup_fast_pte_range() from v5.19: a page that must be unshared goes to the slow path. */
export function gup_fast_fallback_unshare(must: GupMustUnshare): GupMustUnshare {
  const known = fallbackRules.get(must);
  if (known) return known;
  const rule = (s: State, k: Kernel, g: GupPte): boolean => !pte_write(g.pte) && must(s, k, g);
  Object.defineProperty(rule, 'name', { value: `gup_fast_fallback_unshare(${must.name})` });
  fallbackRules.set(must, rule);
  return rule;
}

/** O_DIRECT takes FOLL_GET references (iov_iter_get_pages()), before v6.5. */
export function bio_iov_iter_get_pages_get(): number {
  return FOLL_GET;
}

/** O_DIRECT pins (iov_iter_extract_pages(), BIO_PAGE_PINNED), since a7e689dd1c06 (believed v6.5). */
export function bio_iov_iter_get_pages_pin(): number {
  return FOLL_PIN;
}

/* ---------------- clear_refs (soft-dirty) ---------------- */

/** Before v5.11 clear_refs write-protects every PTE, pinned or not (Andrea's O_DIRECT example). */
export function pte_is_pinned_never(): boolean {
  return false;
}

/**
 * fs/proc/task_mmu.c pte_is_pinned() (believed v5.11): a writable PTE of a
 * COW mapping in an mm that pinned, whose page may be pinned, keeps its write
 * bit.
 */
export function pte_is_pinned_maybe_dma(
  s: State,
  _k: Kernel,
  w: WrprotectPte & { mm: Mm },
): boolean {
  return pte_write(w.pte) && page_needs_cow_for_dma(s, w.mm, w.vma, w.folio);
}

/* ---------------- mprotect() ---------------- */

/** Before v6.0 mprotect() never maps a private PTE writable: the next write faults. */
export function can_change_pte_writable_never(): boolean {
  return false;
}

/**
 * mm/mprotect.c can_change_pte_writable() (v6.0+, "mm/mprotect: try avoiding
 * write faults for exclusive anonymous pages when changing protection"; the
 * v6.2 cow.c tests): only an exclusive anonymous page of a private mapping
 * (soft-dirty tracking comes with soft-dirty support).
 */
export function can_change_pte_writable_exclusive(s: State, _k: Kernel, m: MprotectPte): boolean {
  if (pte_protnone(m.pte)) return false;
  if (vma_soft_dirty_enabled(m.vma) && !pte_soft_dirty(m.pte)) return false;
  if (pte_uffd_wp(m.pte)) return false;
  if (m.vma.vm_flags & VM_SHARED) return pte_dirty(m.pte); // clean shared PTEs need writenotify
  const page = vm_normal_page(m.pte);
  return page !== 0 && folio_test_anon(s, page) && PageAnonExclusive(s, page);
}

/** Every merged kernel write-protects a COW PTE whenever it wants to. */
export function may_wrprotect_pte_always(): boolean {
  return true;
}

/**
 * Linus's rule (c): a writable COW page becomes read-only only with
 * page_count() == 1. A shared mapping has no COW to protect: the rule leaves
 * it alone (its page-cache page always has a second reference).
 */
export function may_wrprotect_pte_linus(s: State, _k: Kernel, w: WrprotectPte): boolean {
  if (w.vma.vm_flags & VM_SHARED) return true;
  return ref(s, w.folio) === 1;
}
