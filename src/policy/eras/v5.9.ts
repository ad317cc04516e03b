/**
 * v5.9 (5.9–5.17): do_wp_page() reuses only the sole reference
 * (09854ba94c6a: page_count() == 1 and mapcount == 1 under a trylocked page
 * lock); the v5.8 forced COW break is gone (a308c71bf1e6); fork copies pages
 * that may be pinned (70e806e4e645, has_pinned). THP and swap-in still decide
 * by mapcount (with the THP/swap model).
 */

import type { Policy } from '../../core/points.js';
import {
  bio_iov_iter_get_pages_get,
  can_change_pte_writable_never,
  can_follow_write_pte_foll_cow,
  copy_present_pte_cow_pinned,
  do_wp_page_page_count,
  folio_add_new_anon_rmap_unmarked,
  gup_fast_fallback_never,
  gup_must_unshare_never,
  may_wrprotect_pte_always,
  pte_is_pinned_never,
  should_force_cow_break_never,
  writable_file_mapping_allowed_always,
} from '../rules.js';
import { do_swap_page_reuse_swap_page, shrink_folio_list_always } from '../rules-swap.js';
import { do_huge_pmd_wp_page_split } from '../rules-thp.js';

export const v5_9: Policy = {
  id: 'v5.9',
  title: 'reuse only if page_count()==1 (09854ba94c6a); early COW of pinned pages at fork',
  kernels: '5.9–5.17',
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
      what: 'do_swap_page() still with reuse_swap_page() (removed in v5.18)',
      ref: 'mm/memory.c v5.9',
      evidence: 'src',
    },
    { what: 'mm: do_wp_page() simplification', ref: '09854ba94c6a (v5.9-rc4)', evidence: 'src' },
    {
      what: 'mm/gup: Remove enfornced COW mechanism',
      ref: 'a308c71bf1e6 (v5.9-rc4)',
      evidence: 'patch',
    },
    {
      what: 'mm: Do early cow for pinned pages during fork() for ptes',
      ref: '70e806e4e645 (v5.9)',
      evidence: 'patch',
    },
    { what: 'mm: Introduce mm_struct.has_pinned', ref: '008cfe4418b3 (v5.9)', evidence: 'patch' },
  ],
  folio_add_new_anon_rmap: folio_add_new_anon_rmap_unmarked,
  bio_iov_iter_get_pages: bio_iov_iter_get_pages_get,
  do_wp_page: do_wp_page_page_count,
  wp_can_reuse_large_anon_folio: null,
  do_huge_pmd_wp_page: do_huge_pmd_wp_page_split,
  copy_present_pte: copy_present_pte_cow_pinned,
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
