/**
 * v5.18: "COW fixes part 1" (David Hildenbrand): do_wp_page() drains the
 * local LRU batch and frees an unused swap-cache slot before the
 * page_count() test (53a05ad9f21d, d4c470970d45); the THP and swap-in paths
 * use page_count() too (c145e0b47c77, 3bff7e3f1f16; with those models).
 * No PG_anon_exclusive yet.
 */

import type { Policy } from '../../core/points.js';
import {
  bio_iov_iter_get_pages_get,
  can_change_pte_writable_never,
  can_follow_write_pte_foll_cow,
  copy_present_pte_cow_pinned,
  do_wp_page_streamlined,
  folio_add_new_anon_rmap_unmarked,
  gup_fast_fallback_never,
  gup_must_unshare_never,
  may_wrprotect_pte_always,
  pte_is_pinned_maybe_dma,
  should_force_cow_break_never,
  writable_file_mapping_allowed_always,
} from '../rules.js';
import { do_swap_page_page_count, shrink_folio_list_not_pinned } from '../rules-swap.js';
import { do_huge_pmd_wp_page_page_count } from '../rules-thp.js';

export const v5_18: Policy = {
  id: 'v5.18',
  title:
    'COW fixes part 1: page_count reuse on THP and swap paths; swapcache/LRU-batch optimisations',
  kernels: '5.18',
  complete: true,
  ptStrategy: 'none',
  break_ksm_unshare: false,
  ksm_fork_resets_counters: false,
  ksm_zero_pte_marked: false,
  prctl_memory_merge: false,
  uffd_wp_unpopulated: false,
  copy_present_page_uffd_wp: true,
  huge_zero_wp_alloc: false,
  madv_collapse: false,
  collapse_scan_page_ro: true,
  pte_map_rcu: false,
  madv_collapse_file: false,
  foll_break_cow: false,
  write_protect_seq: true,
  GUP_PIN_COUNTING_BIAS: 1024,
  cites: [
    {
      what: 'mm: streamline COW logic in do_swap_page() (should_try_to_free_swap())',
      ref: 'c145e0b47c77 (v5.18)',
      evidence: 'src',
    },
    {
      what: "mm: don't put pinned pages into the swap cache",
      ref: 'feb889fb40fa (v5.11)',
      evidence: 'patch',
    },
    {
      what: 'mm/gup: prevent gup_fast from racing with COW during fork (mm->write_protect_seq)',
      ref: '57efa1fe5957 (believed v5.11; in 5.10.13 stable)',
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
      what: 'do_wp_page() non-exclusive path still carrying the v5.18 logic',
      ref: 'mm/memory.c @ 6c287605fd56',
      evidence: 'src',
    },
  ],
  folio_add_new_anon_rmap: folio_add_new_anon_rmap_unmarked,
  bio_iov_iter_get_pages: bio_iov_iter_get_pages_get,
  do_wp_page: do_wp_page_streamlined,
  wp_can_reuse_large_anon_folio: null,
  do_huge_pmd_wp_page: do_huge_pmd_wp_page_page_count,
  copy_present_pte: copy_present_pte_cow_pinned,
  do_swap_page: do_swap_page_page_count,
  shrink_folio_list: shrink_folio_list_not_pinned,
  should_force_cow_break: should_force_cow_break_never,
  can_follow_write_pte: can_follow_write_pte_foll_cow,
  writable_file_mapping_allowed: writable_file_mapping_allowed_always,
  gup_must_unshare: gup_must_unshare_never,
  gup_fast_fallback: gup_fast_fallback_never,
  pte_is_pinned: pte_is_pinned_maybe_dma,
  may_wrprotect_pte: may_wrprotect_pte_always,
  can_change_pte_writable: can_change_pte_writable_never,
};
