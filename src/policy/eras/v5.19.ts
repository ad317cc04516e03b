/**
 * v5.19 (5.19–6.1, modelled as 5.19): PG_anon_exclusive (6c287605fd56):
 * new anonymous pages are exclusive, an exclusive page is reused without
 * further checks, fork clears the flag or copies a maybe-pinned exclusive
 * page (page_try_dup_anon_rmap()); a read-only pin of a non-exclusive
 * anonymous page unshares it first (FAULT_FLAG_UNSHARE). FOLL_COW and no
 * mprotect() write upgrade yet (both changed in v6.0).
 */

import type { Policy } from '../../core/points.js';
import {
  bio_iov_iter_get_pages_get,
  can_change_pte_writable_never,
  can_follow_write_pte_foll_cow,
  copy_present_pte_try_dup,
  do_wp_page_anon_exclusive,
  folio_add_new_anon_rmap_exclusive,
  gup_fast_fallback_unshare,
  gup_must_unshare_anon,
  may_wrprotect_pte_always,
  pte_is_pinned_maybe_dma,
  should_force_cow_break_never,
  writable_file_mapping_allowed_always,
} from '../rules.js';
import { do_swap_page_exclusive, shrink_folio_list_not_pinned } from '../rules-swap.js';
import { do_huge_pmd_wp_page_exclusive } from '../rules-thp.js';

export const v5_19: Policy = {
  id: 'v5.19',
  title: 'PG_anon_exclusive; R/O pins unshare; swap entries carry an exclusive bit',
  kernels: '5.19–6.1',
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
      what: 'mm/swap: remember PG_anon_exclusive via a swp pte bit',
      ref: '1493a1913e34 (v5.19)',
      evidence: 'patch',
    },
    {
      what: "mm: don't put pinned pages into the swap cache",
      ref: 'feb889fb40fa (v5.11)',
      evidence: 'patch',
    },
    {
      what: 'mm: remember exclusively mapped anonymous pages with PG_anon_exclusive',
      ref: '6c287605fd56 (v5.19)',
      evidence: 'src',
    },
    {
      what: 'mm/rmap: split page_dup_rmap() into page_dup_file_rmap() and page_try_dup_anon_rmap()',
      ref: 'fb3d824d1a46 (v5.19)',
      evidence: 'patch',
    },
    {
      what: 'page_move_anon_rmap() ends with SetPageAnonExclusive()',
      ref: 'mm/rmap.c, PG_anon_exclusive era',
      evidence: 'src',
    },
    {
      what: 'gup_must_unshare(): FOLL_PIN without FOLL_WRITE on a non-exclusive anonymous page',
      ref: 'include/linux/mm.h (v5.19)',
      evidence: 'src',
    },
  ],
  folio_add_new_anon_rmap: folio_add_new_anon_rmap_exclusive,
  bio_iov_iter_get_pages: bio_iov_iter_get_pages_get,
  do_wp_page: do_wp_page_anon_exclusive,
  wp_can_reuse_large_anon_folio: null,
  do_huge_pmd_wp_page: do_huge_pmd_wp_page_exclusive,
  copy_present_pte: copy_present_pte_try_dup,
  do_swap_page: do_swap_page_exclusive,
  shrink_folio_list: shrink_folio_list_not_pinned,
  should_force_cow_break: should_force_cow_break_never,
  can_follow_write_pte: can_follow_write_pte_foll_cow,
  writable_file_mapping_allowed: writable_file_mapping_allowed_always,
  gup_must_unshare: gup_must_unshare_anon,
  gup_fast_fallback: gup_fast_fallback_unshare(gup_must_unshare_anon),
  pte_is_pinned: pte_is_pinned_maybe_dma,
  may_wrprotect_pte: may_wrprotect_pte_always,
  can_change_pte_writable: can_change_pte_writable_never,
};
