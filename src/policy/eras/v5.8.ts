/**
 * v5.8: 17839856fd58 "gup: document and work around 'COW can break either
 * way' issue": every FOLL_GET/FOLL_PIN of a COW mapping takes a write fault
 * first (FOLL_WRITE), GUP-fast refuses read-only PTEs, can_follow_write_pte()
 * loses its FOLL_FORCE test. do_wp_page() is still v5.7's (mapcount).
 */

import type { Policy } from '../../core/points.js';
import {
  bio_iov_iter_get_pages_get,
  can_change_pte_writable_never,
  can_follow_write_pte_v58,
  copy_present_pte_share,
  do_wp_page_mapcount,
  folio_add_new_anon_rmap_unmarked,
  gup_fast_fallback_v58,
  gup_must_unshare_never,
  may_wrprotect_pte_always,
  pte_is_pinned_never,
  should_force_cow_break_v58,
  writable_file_mapping_allowed_always,
} from '../rules.js';
import { do_swap_page_reuse_swap_page, shrink_folio_list_always } from '../rules-swap.js';
import { do_huge_pmd_wp_page_split } from '../rules-thp.js';

export const v5_8: Policy = {
  id: 'v5.8',
  title: 'GUP always breaks COW (17839856fd58); THP write fault splits',
  kernels: '5.8',
  complete: true,
  ptStrategy: 'none',
  break_ksm_unshare: false,
  ksm_fork_resets_counters: false,
  ksm_zero_pte_marked: false,
  prctl_memory_merge: false,
  uffd_wp_unpopulated: false,
  copy_present_page_uffd_wp: false,
  huge_zero_wp_alloc: false,
  madv_collapse: false,
  collapse_scan_page_ro: true,
  pte_map_rcu: false,
  madv_collapse_file: false,
  foll_break_cow: false,
  write_protect_seq: false,
  GUP_PIN_COUNTING_BIAS: 1024,
  cites: [
    {
      what: "gup: document and work around 'COW can break either way' issue",
      ref: '17839856fd58 (v5.8)',
      evidence: 'patch',
    },
    {
      what: 'thp: change CoW semantics for anon-THP',
      ref: '3917c80280c9 (v5.8)',
      evidence: 'patch',
    },
  ],
  folio_add_new_anon_rmap: folio_add_new_anon_rmap_unmarked,
  bio_iov_iter_get_pages: bio_iov_iter_get_pages_get,
  do_wp_page: do_wp_page_mapcount,
  wp_can_reuse_large_anon_folio: null,
  do_huge_pmd_wp_page: do_huge_pmd_wp_page_split,
  copy_present_pte: copy_present_pte_share,
  do_swap_page: do_swap_page_reuse_swap_page,
  shrink_folio_list: shrink_folio_list_always,
  should_force_cow_break: should_force_cow_break_v58,
  can_follow_write_pte: can_follow_write_pte_v58,
  writable_file_mapping_allowed: writable_file_mapping_allowed_always,
  gup_must_unshare: gup_must_unshare_never,
  gup_fast_fallback: gup_fast_fallback_v58,
  pte_is_pinned: pte_is_pinned_never,
  may_wrprotect_pte: may_wrprotect_pte_always,
  can_change_pte_writable: can_change_pte_writable_never,
};
