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
import { page_needs_cow_for_dma } from '../../core/mm/gup.js';
import { vm_normal_page } from '../../core/mm/memory/wp.js';
import {
  ClearPageAnonExclusive,
  folio_test_anon,
  PageAnonExclusive,
  SetPageAnonExclusive,
} from '../../core/mm/rmap.js';
import { lru_add_drain } from '../../core/mm/swap.js';
import type { State } from '../../core/mm_types.js';
import { VM_SHARED } from '../../core/mm_types.js';
import { PG_ksm, PG_lru, PG_swapcache } from '../../core/page-flags.js';
import { pte_dirty, pte_protnone, pte_uffd_wp } from '../../core/pgtable_types.js';
import type { Kernel, Policy } from '../../core/points.js';

function test(s: State, folio: number, bit: number): boolean {
  return (s.mem.flags[folio]! & bit) !== 0;
}

/**
 * mm/memory.c wp_can_reuse_anon_folio() for a small folio: the refcount rule.
 * Returns why it may or may not reuse.
 */
export function wp_can_reuse_anon_folio(
  s: State,
  k: Kernel,
  folio: number,
): { reuse: boolean; why: string } {
  if (s.mem.order[folio]! > 0) {
    return toolBug('__wp_can_reuse_large_anon_folio(): large folios are not modelled yet');
  }
  const ref = () => s.mem.refcount[folio]!;
  if (test(s, folio, PG_ksm)) return { reuse: false, why: 'early: KSM folio' };
  if (ref() > 3) return { reuse: false, why: `early: refcount ${ref()} > 3` };
  if (!test(s, folio, PG_lru)) lru_add_drain(s, k);
  const swapcache = test(s, folio, PG_swapcache) ? 1 : 0;
  if (ref() > 1 + swapcache)
    return { reuse: false, why: `refcount ${ref()} > 1 + swapcache ${swapcache}` };
  if (!folio_trylock(s, folio))
    return { reuse: false, why: 'trylock: folio locked by another holder' };
  if (ref() !== 1) {
    folio_unlock(s, folio);
    return { reuse: false, why: `refcount ${ref()} != 1 under the folio lock` };
  }
  folio_unlock(s, folio);
  return { reuse: true, why: 'refcount == 1 (only our mapping)' };
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
    if (folio === 0 || !folio_test_anon(s, folio)) {
      return {
        action: 'copy',
        why: folio === 0 ? 'zero page: copy to a new anon page' : 'not anonymous',
      };
    }
    if (PageAnonExclusive(s, page)) return { action: 'reuse', why: 'PageAnonExclusive' };
    const r = wp_can_reuse_anon_folio(s, k, folio);
    if (!r.reuse) return { action: 'copy', why: r.why };
    SetPageAnonExclusive(s, page);
    return { action: 'reuse', why: r.why };
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

  // mm/mprotect.c can_change_pte_writable() (soft-dirty tracking comes with soft-dirty support).
  can_change_pte_writable: (s, _k, m) => {
    if (pte_protnone(m.pte)) return false;
    if (pte_uffd_wp(m.pte)) return false;
    if (m.vma.vm_flags & VM_SHARED) return pte_dirty(m.pte); // clean shared PTEs need writenotify
    const page = vm_normal_page(m.pte);
    return page !== 0 && folio_test_anon(s, page) && PageAnonExclusive(s, page);
  },
};
