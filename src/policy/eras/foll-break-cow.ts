/**
 * Peter Xu's "mm/gup: Allow real explicit breaking of COW" (Aug 2020, on
 * v5.8, Fixes: 17839856fd58): GUP still breaks COW for every FOLL_GET and
 * FOLL_PIN of a COW mapping, through a new FOLL_BREAK_COW /
 * FAULT_FLAG_BREAK_COW so that userfaultfd sees a read. Until uffd-wp is
 * modelled this is v5.8's COW behaviour (docs/eras.md).
 */

import type { Policy } from '../../core/points.js';
import {
  bio_iov_iter_get_pages_get,
  can_change_pte_writable_never,
  can_follow_write_pte_v58,
  copy_present_pte_share,
  do_wp_page_mapcount,
  gup_fast_fallback_v58,
  gup_must_unshare_never,
  may_wrprotect_pte_always,
  pte_is_pinned_never,
  should_force_cow_break_v58,
  writable_file_mapping_allowed_always,
} from '../rules.js';

export const foll_break_cow: Policy = {
  id: 'foll-break-cow',
  title: "Peter Xu's FOLL_BREAK_COW (seed 000)",
  kernels: 'proposal',
  complete: true,
  ptStrategy: 'none',
  GUP_PIN_COUNTING_BIAS: 1024,
  cites: [
    {
      what: '[PATCH v2] mm/gup: Allow real explicit breaking of COW',
      ref: 'Peter Xu, Aug 2020 (lore 20200811183950.10603-1-peterx@redhat.com)',
      evidence: 'patch',
    },
  ],
  folio_add_new_anon_rmap: () => ({ exclusive: false }),
  bio_iov_iter_get_pages: bio_iov_iter_get_pages_get,
  do_wp_page: do_wp_page_mapcount,
  copy_present_pte: copy_present_pte_share,
  should_force_cow_break: should_force_cow_break_v58,
  can_follow_write_pte: can_follow_write_pte_v58,
  writable_file_mapping_allowed: writable_file_mapping_allowed_always,
  gup_must_unshare: gup_must_unshare_never,
  gup_fast_fallback: gup_fast_fallback_v58,
  pte_is_pinned: pte_is_pinned_never,
  may_wrprotect_pte: may_wrprotect_pte_always,
  can_change_pte_writable: can_change_pte_writable_never,
};
