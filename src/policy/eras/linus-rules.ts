/**
 * Linus's rules of Jan 11 2021 (seed 001): (a) anonymous pages are made
 * writable only with page_count() == 1; (c) a writable page of a COW mapping
 * is never made read-only unless page_count() == 1, so fork copies such a
 * page for the child and mprotect() refuses; (d) no swap-cache page from a
 * writable COW page (with the swap model); and no GUP_PIN_COUNTING_BIAS: a
 * pin counts 1, like any reference. Choices where the mail is silent are in
 * docs/eras.md.
 */

import type { Policy } from '../../core/points.js';
import {
  bio_iov_iter_get_pages_get,
  can_change_pte_writable_never,
  can_follow_write_pte_foll_cow,
  copy_present_pte_linus,
  do_wp_page_page_count,
  folio_add_new_anon_rmap_unmarked,
  gup_fast_fallback_never,
  gup_must_unshare_never,
  may_wrprotect_pte_linus,
  pte_is_pinned_never,
  should_force_cow_break_never,
  writable_file_mapping_allowed_always,
} from '../rules.js';
import { do_swap_page_page_count, shrink_folio_list_linus } from '../rules-swap.js';
import { do_huge_pmd_wp_page_page_count } from '../rules-thp.js';

export const linus_rules: Policy = {
  id: 'linus-rules',
  title: "Linus's rules (a)–(d), no GUP_PIN_COUNTING_BIAS (seed 001)",
  kernels: 'proposal',
  complete: true,
  ptStrategy: 'none',
  // Linus wrote these rules against a tree that had 57efa1fe5957 (Dec 2020): fork's seqcount stays.
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
  write_protect_seq: true,
  GUP_PIN_COUNTING_BIAS: 1,
  cites: [
    {
      what: 'Re: [PATCH 0/1] mm: restore full accuracy in COW page reuse (rules (a)-(d))',
      ref: 'Linus Torvalds, Jan 11 2021, quoted in seed 001 (Message-ID CALCETrWEAOj28Y6SaBVuxahuRmk9exp1fqcJO0ibGKbFw4HQ4A@mail.gmail.com)',
      evidence: 'patch',
    },
  ],
  folio_add_new_anon_rmap: folio_add_new_anon_rmap_unmarked,
  bio_iov_iter_get_pages: bio_iov_iter_get_pages_get,
  do_wp_page: do_wp_page_page_count,
  wp_can_reuse_large_anon_folio: null,
  do_huge_pmd_wp_page: do_huge_pmd_wp_page_page_count,
  copy_present_pte: copy_present_pte_linus,
  do_swap_page: do_swap_page_page_count,
  shrink_folio_list: shrink_folio_list_linus,
  should_force_cow_break: should_force_cow_break_never,
  can_follow_write_pte: can_follow_write_pte_foll_cow,
  writable_file_mapping_allowed: writable_file_mapping_allowed_always,
  gup_must_unshare: gup_must_unshare_never,
  gup_fast_fallback: gup_fast_fallback_never,
  pte_is_pinned: pte_is_pinned_never,
  may_wrprotect_pte: may_wrprotect_pte_linus,
  can_change_pte_writable: can_change_pte_writable_never,
};
