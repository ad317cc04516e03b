/**
 * wait-for-gup — Andy Lutomirski, reply of Jan 12 2021 in the thread of seed
 * 001: "a short-term !FOLL_WRITE GUP is permitted on an RO COW page and a
 * subsequent COW on the page will wait for the GUP to go away". Modelled on
 * the kernel the thread argued about (v5.9's rules: page_count() reuse, early
 * COW of pinned pages at fork); only do_wp_page() differs: while the page has
 * short-term (FOLL_GET) GUP references, including pipe buffers from vmsplice(),
 * the faulting thread sleeps, then the page_count() rule decides.
 */

import type { Policy } from '../../core/points.js';
import {
  bio_iov_iter_get_pages_get,
  can_change_pte_writable_never,
  can_follow_write_pte_foll_cow,
  copy_present_pte_cow_pinned,
  do_wp_page_wait_for_gup,
  gup_fast_fallback_never,
  gup_must_unshare_never,
  may_wrprotect_pte_always,
  pte_is_pinned_never,
  should_force_cow_break_never,
  writable_file_mapping_allowed_always,
} from '../rules.js';

export const wait_for_gup: Policy = {
  id: 'wait-for-gup',
  title: 'Andy Lutomirski: a COW waits for a short-term R/O GUP to go away (seed 001)',
  kernels: 'proposal',
  complete: true,
  ptStrategy: 'none',
  GUP_PIN_COUNTING_BIAS: 1024,
  cites: [
    {
      what: 'Re: [PATCH 0/1] mm: restore full accuracy in COW page reuse (Andy Lutomirski)',
      ref: 'linux-mm, Jan 12 2021 (seed 001)',
      evidence: 'patch',
    },
  ],
  folio_add_new_anon_rmap: () => ({ exclusive: false }),
  bio_iov_iter_get_pages: bio_iov_iter_get_pages_get,
  do_wp_page: do_wp_page_wait_for_gup,
  copy_present_pte: copy_present_pte_cow_pinned,
  should_force_cow_break: should_force_cow_break_never,
  can_follow_write_pte: can_follow_write_pte_foll_cow,
  writable_file_mapping_allowed: writable_file_mapping_allowed_always,
  gup_must_unshare: gup_must_unshare_never,
  gup_fast_fallback: gup_fast_fallback_never,
  pte_is_pinned: pte_is_pinned_never,
  may_wrprotect_pte: may_wrprotect_pte_always,
  can_change_pte_writable: can_change_pte_writable_never,
};
