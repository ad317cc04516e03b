/**
 * v6.18 (kernels 6.15 to the newest): PG_anon_exclusive (v5.19,
 * 6c287605fd56), reuse of exclusive pages without further checks, the
 * page_count() rule with LRU drain and swap-cache freeing for the rest (v5.18,
 * 53a05ad9f21d + d4c470970d45), early COW of maybe-pinned exclusive pages at
 * fork, mprotect() mapping exclusive anonymous PTEs writable
 * (can_change_pte_writable(), v6.0+), and PT_RECLAIM of empty PTE tables on
 * MADV_DONTNEED (v6.14+).
 *
 * Rules read in mm/memory.c of a v6.16-rc6 tree (lordspline/linux @ 5cd152fc):
 * do_wp_page(), wp_can_reuse_anon_folio(), copy_present_ptes(); and
 * mm/pt_reclaim.c (torvalds/linux @ e65d9626).
 */

import { toolBug } from '../../core/bug.js';
import { folio_trylock, folio_unlock } from '../../core/mm/filemap.js';
import {
  FOLL_FORCE,
  FOLL_LONGTERM,
  FOLL_PIN,
  FOLL_WRITE,
  page_needs_cow_for_dma,
} from '../../core/mm/gup.js';
import { vm_normal_page } from '../../core/mm/memory/wp.js';
import {
  ClearPageAnonExclusive,
  folio_test_anon,
  PageAnonExclusive,
  SetPageAnonExclusive,
} from '../../core/mm/rmap.js';
import { lru_add_drain } from '../../core/mm/swap.js';
import type { State } from '../../core/mm_types.js';
import {
  is_cow_mapping,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_SHARED,
  VM_WRITE,
  ZERO_PFN,
} from '../../core/mm_types.js';
import { PG_ksm, PG_lru, PG_swapcache } from '../../core/page-flags.js';
import { pte_dirty, pte_protnone, pte_uffd_wp, pte_write } from '../../core/pgtable_types.js';
import type { GupPte, Kernel, Policy, WpDecision } from '../../core/points.js';

function test(s: State, folio: number, bit: number): boolean {
  return (s.mem.flags[folio]! & bit) !== 0;
}

const COPY_KSM: WpDecision = { action: 'copy', why: 'early: KSM folio', reason: 'early' };
const COPY_REF3: WpDecision = { action: 'copy', why: 'early: refcount > 3', reason: 'early' };
const COPY_REF: WpDecision = {
  action: 'copy',
  why: 'refcount > 1 + swapcache after lru_add_drain()',
  reason: 'early',
};
const COPY_LOCK: WpDecision = {
  action: 'copy',
  why: 'folio_trylock() failed: locked by another holder',
  reason: 'lock',
};
const COPY_REF1: WpDecision = {
  action: 'copy',
  why: 'refcount != 1 under the folio lock',
  reason: 'other',
};
const REUSE_REF1: WpDecision = {
  action: 'reuse',
  why: 'refcount == 1 (only our mapping): PG_anon_exclusive set',
};
const REUSE_EXCL: WpDecision = { action: 'reuse', why: 'PageAnonExclusive' };
const COPY_ZERO: WpDecision = {
  action: 'copy',
  why: 'zero page: copy to a new anonymous page',
  reason: 'other',
};
const COPY_FILE: WpDecision = { action: 'copy', why: 'not anonymous', reason: 'other' };

/**
 * mm/memory.c wp_can_reuse_anon_folio() for a small folio: the refcount rule
 * (v5.18's, kept by every later era for non-exclusive pages). Returns the
 * copy decision, or null when the page may be reused.
 */
export function wp_can_reuse_anon_folio(s: State, k: Kernel, folio: number): WpDecision | null {
  if (s.mem.order[folio]! > 0) {
    return toolBug('__wp_can_reuse_large_anon_folio(): large folios are not modelled yet');
  }
  if (test(s, folio, PG_ksm)) return COPY_KSM;
  if (s.mem.refcount[folio]! > 3) return COPY_REF3;
  if (!test(s, folio, PG_lru)) lru_add_drain(s, k);
  const swapcache = test(s, folio, PG_swapcache) ? 1 : 0;
  if (s.mem.refcount[folio]! > 1 + swapcache) return COPY_REF;
  if (!folio_trylock(s, folio)) return COPY_LOCK;
  if (s.mem.refcount[folio]! !== 1) {
    folio_unlock(s, folio);
    return COPY_REF1;
  }
  folio_unlock(s, folio);
  return null;
}

/**
 * mm/internal.h gup_must_unshare() since v6.2 (84209e87c696 "mm/gup:
 * reliable R/O long-term pinning in COW mappings"): a read-only pin (not
 * FOLL_GET, not FOLL_WRITE) must first unshare an anonymous page that is not
 * exclusive, and a long-term one also any page of a COW mapping (the zero
 * page, KSM pages). GUP-fast (no VMA) falls back to the slow path.
 */
export function gup_must_unshare(s: State, _k: Kernel, g: GupPte): boolean {
  if ((g.flags & (FOLL_WRITE | FOLL_PIN)) !== FOLL_PIN) return false;
  if (g.folio === ZERO_PFN || !folio_test_anon(s, g.folio)) {
    if (!(g.flags & FOLL_LONGTERM)) return false;
    if (!g.vma) return true;
    return is_cow_mapping(g.vma.vm_flags);
  }
  return !PageAnonExclusive(s, g.page);
}

export const v6_18: Policy = {
  id: 'v6.18',
  title: 'PG_anon_exclusive, large-folio exclusive reuse, PT_RECLAIM',
  kernels: '6.15–newest',
  complete: true,
  ptStrategy: 'pt-reclaim',
  cites: [
    {
      what: 'mm: remember exclusively mapped anonymous pages with PG_anon_exclusive',
      ref: '6c287605fd56 (v5.19)',
      evidence: 'src',
    },
    {
      what: 'mm: optimize do_wp_page() for exclusive pages in the swapcache',
      ref: '53a05ad9f21d (v5.18)',
      evidence: 'patch',
    },
    {
      what: 'mm: optimize do_wp_page() for fresh pages in local LRU pagevecs',
      ref: 'd4c470970d45 (v5.18)',
      evidence: 'patch',
    },
    {
      what: 'mm: Copy-on-Write (COW) reuse support for PTE-mapped THP',
      ref: '49fb7a16df90 (v6.15)',
      evidence: 'patch',
    },
    {
      what: 'mm: pgtable: reclaim empty PTE page in madvise(MADV_DONTNEED)',
      ref: 'Qi Zheng, v4 Dec 2024 (believed v6.14)',
      evidence: 'patch',
    },
    {
      what: 'do_wp_page(), wp_can_reuse_anon_folio(), copy_present_ptes(), zap_pte_range()',
      ref: 'mm/memory.c, v6.16-rc6 (lordspline/linux 5cd152fc)',
      evidence: 'src',
    },
    {
      what: 'try_to_free_pte(), reclaim_pt_is_enabled()',
      ref: 'mm/pt_reclaim.c (torvalds/linux e65d9626)',
      evidence: 'src',
    },
  ],

  folio_add_new_anon_rmap: () => ({ exclusive: true }),

  do_wp_page: (s, k, vmf) => {
    const { folio, page } = vmf;
    if (folio === 0) return COPY_ZERO;
    if (!folio_test_anon(s, folio)) return COPY_FILE;
    if (PageAnonExclusive(s, page)) return REUSE_EXCL;
    const copy = wp_can_reuse_anon_folio(s, k, folio);
    if (copy) return copy;
    SetPageAnonExclusive(s, page);
    return REUSE_REF1;
  },

  // In v6.18 this decision sits in include/linux/rmap.h __folio_try_dup_anon_rmap().
  copy_present_pte: (s, _k, f) => {
    if (!PageAnonExclusive(s, f.page))
      return { action: 'share', why: 'not exclusive: already shared' };
    if (page_needs_cow_for_dma(s, f.src_mm, f.src_vma, f.folio)) {
      return {
        action: 'copy',
        why: 'exclusive and maybe pinned (MMF_HAS_PINNED, folio_maybe_dma_pinned)',
      };
    }
    ClearPageAnonExclusive(s, f.page);
    return { action: 'share', why: 'exclusive, not pinned: PG_anon_exclusive cleared' };
  },

  // 5535be309971 removed FOLL_COW (v6.0); since v5.9 no era forces a COW break in GUP.
  should_force_cow_break: () => false,

  // mm/gup.c can_follow_write_pte() since 5535be309971 (v6.0): FOLL_FORCE may write
  // through a read-only PTE only onto an exclusive anonymous page of a private mapping.
  can_follow_write_pte: (s, _k, g) => {
    if (pte_write(g.pte)) return true;
    if (!(g.flags & FOLL_FORCE) || !g.vma) return false;
    const f = g.vma.vm_flags;
    if (f & (VM_MAYSHARE | VM_SHARED) || !(f & VM_MAYWRITE) || f & VM_WRITE) return false;
    if (!folio_test_anon(s, g.folio) || !PageAnonExclusive(s, g.page)) return false;
    return !pte_uffd_wp(g.pte);
  },

  gup_must_unshare,

  // mm/gup.c gup_fast_pte_range(): a page that must be unshared goes to the slow path.
  gup_fast_fallback: (s, k, g) => !pte_write(g.pte) && gup_must_unshare(s, k, g),

  // mm/mprotect.c can_change_pte_writable() (soft-dirty tracking comes with soft-dirty support).
  can_change_pte_writable: (s, _k, m) => {
    if (pte_protnone(m.pte)) return false;
    if (pte_uffd_wp(m.pte)) return false;
    if (m.vma.vm_flags & VM_SHARED) return pte_dirty(m.pte); // clean shared PTEs need writenotify
    const page = vm_normal_page(m.pte);
    return page !== 0 && folio_test_anon(s, page) && PageAnonExclusive(s, page);
  },
};
