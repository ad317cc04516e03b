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

import type { Policy } from '../../core/points.js';
import {
  bio_iov_iter_get_pages_pin,
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
  writable_file_mapping_allowed_v65,
} from '../rules.js';
import { do_swap_page_map_writable, shrink_folio_list_not_pinned } from '../rules-swap.js';
import { do_huge_pmd_wp_page_exclusive, wp_can_reuse_large_anon_folio } from '../rules-thp.js';

export const v6_18: Policy = {
  id: 'v6.18',
  title: 'PG_anon_exclusive, large-folio exclusive reuse, PT_RECLAIM',
  kernels: '6.15–newest',
  complete: true,
  ptStrategy: 'pt-reclaim',
  break_ksm_unshare: true,
  ksm_fork_resets_counters: true,
  ksm_zero_pte_marked: true,
  prctl_memory_merge: true,
  uffd_wp_unpopulated: true,
  copy_present_page_uffd_wp: true,
  huge_zero_wp_alloc: true,
  madv_collapse: true,
  collapse_scan_page_ro: false,
  pte_map_rcu: true,
  madv_collapse_file: true,
  foll_break_cow: false,
  write_protect_seq: true,
  GUP_PIN_COUNTING_BIAS: 1024,
  cites: [
    {
      what: 'khugepaged: collapse read-only anonymous ranges, SCAN_PAGE_RO dropped (Dev Jain)',
      ref: '2025 (linux-mm thread, Sep 2025); MADV_COLLAPSE of a range fork() write-protected succeeds on 6.18.44',
      evidence: 'patch',
    },
    {
      what: 'mm/uffd: UFFD_FEATURE_WP_UNPOPULATED (Peter Xu)',
      ref: 'v6.4; mm/memory.c pte_marker_handle_uffd_wp(), zap_nonpresent_ptes() v6.18',
      evidence: 'src',
    },
    {
      what: 'mm/ksm: fix incorrect KSM counter handling in mm_struct during fork (Donet Tom)',
      ref: '2025, Cc stable 6.6+; include/linux/ksm.h ksm_fork() v6.18',
      evidence: 'src',
    },
    {
      what: 'ksm: support unsharing KSM-placed zero pages; ksm: add ksm zero pages for each process (xu xin)',
      ref: '2023, believed v6.5; include/linux/ksm.h is_ksm_zero_pte() v6.18',
      evidence: 'src',
    },
    {
      what: 'mm: add new api to enable ksm per process (PR_SET_MEMORY_MERGE, Stefan Roesch)',
      ref: 'v6.4; include/linux/ksm.h ksm_execve() and MMF_VM_MERGE_ANY v6.18',
      evidence: 'src',
    },
    {
      what: 'mm: swap: reuse exclusive folio directly instead of wp page faults (Barry Song)',
      ref: '2024, in (6.2, 6.18]; mm/memory.c do_swap_page() v6.18',
      evidence: 'src',
    },
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
  folio_add_new_anon_rmap: folio_add_new_anon_rmap_exclusive,
  bio_iov_iter_get_pages: bio_iov_iter_get_pages_pin,
  do_wp_page: do_wp_page_anon_exclusive,
  wp_can_reuse_large_anon_folio,
  do_huge_pmd_wp_page: do_huge_pmd_wp_page_exclusive,
  // In v6.18 this decision sits in include/linux/rmap.h __folio_try_dup_anon_rmap().
  copy_present_pte: copy_present_pte_try_dup,
  do_swap_page: do_swap_page_map_writable,
  shrink_folio_list: shrink_folio_list_not_pinned,
  should_force_cow_break: should_force_cow_break_never,
  can_follow_write_pte: can_follow_write_pte_exclusive,
  writable_file_mapping_allowed: writable_file_mapping_allowed_v65,
  gup_must_unshare: gup_must_unshare_cow,
  gup_fast_fallback: gup_fast_fallback_unshare(gup_must_unshare_cow),
  pte_is_pinned: pte_is_pinned_maybe_dma,
  may_wrprotect_pte: may_wrprotect_pte_always,
  can_change_pte_writable: can_change_pte_writable_exclusive,
};
