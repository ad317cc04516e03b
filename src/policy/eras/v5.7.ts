/**
 * v5.7 (mainline up to 5.7): write faults reuse a page by mapcount
 * (reuse_swap_page()), so GUP and pipe references are invisible; fork shares
 * every page; a read-only GUP never breaks COW: CVE-2020-29374 (the vmsplice
 * leak). FOLL_PIN and GUP_PIN_COUNTING_BIAS exist ("mm/gup: track FOLL_PIN
 * pages", believed v5.7).
 */

import type { Policy } from '../../core/points.js';
import {
  bio_iov_iter_get_pages_get,
  can_change_pte_writable_never,
  can_follow_write_pte_foll_cow,
  copy_present_pte_share,
  do_wp_page_mapcount,
  folio_add_new_anon_rmap_unmarked,
  gup_fast_fallback_never,
  gup_must_unshare_never,
  may_wrprotect_pte_always,
  pte_is_pinned_never,
  should_force_cow_break_never,
  writable_file_mapping_allowed_always,
} from '../rules.js';
import { do_swap_page_reuse_swap_page, shrink_folio_list_always } from '../rules-swap.js';
import { do_huge_pmd_wp_page_copy } from '../rules-thp.js';

export const v5_7: Policy = {
  id: 'v5.7',
  title: 'reuse by mapcount (reuse_swap_page); R/O GUP never breaks COW (CVE-2020-29374)',
  kernels: 'mainline ≤ 5.7',
  complete: true,
  ptStrategy: 'none',
  break_ksm_unshare: false,
  ksm_fork_resets_counters: false,
  ksm_zero_pte_marked: false,
  prctl_memory_merge: false,
  uffd_wp_unpopulated: false,
  copy_present_page_uffd_wp: false,
  huge_zero_wp_alloc: true,
  madv_collapse: false,
  collapse_scan_page_ro: true,
  pte_map_rcu: false,
  madv_collapse_file: false,
  foll_break_cow: false,
  write_protect_seq: false,
  GUP_PIN_COUNTING_BIAS: 1024,
  cites: [
    {
      what: 'do_swap_page() with reuse_swap_page() on a write fault',
      ref: 'mm/memory.c, mm/swapfile.c v5.7',
      evidence: 'src',
    },
    {
      what: 'do_wp_page() with reuse_swap_page(), copy_one_pte()',
      ref: 'mm/memory.c, mm/swapfile.c v5.7 (AKKamath/linux-5.7)',
      evidence: 'src',
    },
    {
      what: 'mm: reuse only-pte-mapped KSM page in do_wp_page()',
      ref: '52d1e606ee73 (believed v5.1)',
      evidence: 'patch',
    },
    {
      what: 'mm/gup: track FOLL_PIN pages (GUP_PIN_COUNTING_BIAS)',
      ref: 'believed v5.7',
      evidence: 'patch',
    },
  ],
  folio_add_new_anon_rmap: folio_add_new_anon_rmap_unmarked,
  bio_iov_iter_get_pages: bio_iov_iter_get_pages_get,
  do_wp_page: do_wp_page_mapcount,
  wp_can_reuse_large_anon_folio: null,
  do_huge_pmd_wp_page: do_huge_pmd_wp_page_copy,
  copy_present_pte: copy_present_pte_share,
  do_swap_page: do_swap_page_reuse_swap_page,
  shrink_folio_list: shrink_folio_list_always,
  should_force_cow_break: should_force_cow_break_never,
  can_follow_write_pte: can_follow_write_pte_foll_cow,
  writable_file_mapping_allowed: writable_file_mapping_allowed_always,
  gup_must_unshare: gup_must_unshare_never,
  gup_fast_fallback: gup_fast_fallback_never,
  pte_is_pinned: pte_is_pinned_never,
  may_wrprotect_pte: may_wrprotect_pte_always,
  can_change_pte_writable: can_change_pte_writable_never,
};
