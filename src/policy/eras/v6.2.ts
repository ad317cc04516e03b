/**
 * v6.2 (6.2–6.14, modelled as 6.2): v5.19 plus can_follow_write_pte() on
 * exclusive pages instead of FOLL_COW (5535be309971, v6.0), mprotect()
 * mapping exclusive anonymous PTEs writable (can_change_pte_writable(),
 * v6.0), and reliable R/O long-term pins in every COW mapping (84209e87c696):
 * the zero page is unshared before a long-term R/O pin.
 */

import type { Policy } from '../../core/points.js';
import {
  bio_iov_iter_get_pages_get,
  can_change_pte_writable_exclusive,
  can_follow_write_pte_exclusive,
  copy_present_pte_try_dup,
  do_wp_page_anon_exclusive,
  folio_add_new_anon_rmap_exclusive,
  gup_fast_fallback_unshare,
  gup_must_unshare_cow,
  may_wrprotect_pte_always,
  pte_is_pinned_maybe_dma,
  should_force_cow_break_never,
  writable_file_mapping_allowed_always,
} from '../rules.js';
import { do_swap_page_exclusive, shrink_folio_list_not_pinned } from '../rules-swap.js';
import { do_huge_pmd_wp_page_exclusive } from '../rules-thp.js';

export const v6_2: Policy = {
  id: 'v6.2',
  title:
    'reliable R/O long-term pins in all COW mappings; mprotect may map exclusive anon writable',
  kernels: '6.2–6.14',
  complete: true,
  ptStrategy: 'none',
  break_ksm_unshare: true,
  ksm_fork_resets_counters: false,
  ksm_zero_pte_marked: false,
  prctl_memory_merge: false,
  uffd_wp_unpopulated: false,
  copy_present_page_uffd_wp: true,
  huge_zero_wp_alloc: false,
  madv_collapse: true,
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
      what: 'mm/gup: fix FOLL_FORCE COW security issue and remove FOLL_COW',
      ref: '5535be309971 (v6.0)',
      evidence: 'patch',
    },
    {
      what: 'mm/gup: reliable R/O long-term pinning in COW mappings',
      ref: '84209e87c696 (v6.2)',
      evidence: 'patch',
    },
    { what: 'can_change_pte_writable()', ref: 'mm/mprotect.c (v6.0+)', evidence: 'src' },
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
  can_follow_write_pte: can_follow_write_pte_exclusive,
  writable_file_mapping_allowed: writable_file_mapping_allowed_always,
  gup_must_unshare: gup_must_unshare_cow,
  gup_fast_fallback: gup_fast_fallback_unshare(gup_must_unshare_cow),
  pte_is_pinned: pte_is_pinned_maybe_dma,
  may_wrprotect_pte: may_wrprotect_pte_always,
  can_change_pte_writable: can_change_pte_writable_exclusive,
};
