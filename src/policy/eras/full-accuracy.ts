/**
 * Andrea Arcangeli's "[PATCH 1/1] mm: restore full accuracy in COW page
 * reuse" (Jan 9 2021, on v5.11-rc): reverts 09854ba94c6a, be068f29034f and
 * 1a0cf26323c8, so do_wp_page() decides by mapcount again (reuse_swap_page(),
 * reuse_ksm_page()); fork keeps copying maybe-pinned pages (v5.9+). The
 * vmsplice attack is left to "be tackled first in vmsplice itself", which the
 * patch does not do: CVE-2020-29374 comes back.
 */

import type { Policy } from '../../core/points.js';
import {
  bio_iov_iter_get_pages_get,
  can_change_pte_writable_never,
  can_follow_write_pte_foll_cow,
  copy_present_pte_cow_pinned,
  do_wp_page_mapcount,
  gup_fast_fallback_never,
  gup_must_unshare_never,
  may_wrprotect_pte_always,
  pte_is_pinned_never,
  should_force_cow_break_never,
  writable_file_mapping_allowed_always,
} from '../rules.js';

export const full_accuracy: Policy = {
  id: 'full-accuracy',
  title: 'Andrea Arcangeli: restore full accuracy in COW page reuse (seeds 000–002)',
  kernels: 'proposal',
  complete: true,
  ptStrategy: 'none',
  GUP_PIN_COUNTING_BIAS: 1024,
  cites: [
    {
      what: '[PATCH 1/1] mm: restore full accuracy in COW page reuse',
      ref: 'Andrea Arcangeli, Jan 9 2021 (Message-Id 20210110004435.26382-2-aarcange@redhat.com)',
      evidence: 'patch',
    },
  ],
  folio_add_new_anon_rmap: () => ({ exclusive: false }),
  bio_iov_iter_get_pages: bio_iov_iter_get_pages_get,
  do_wp_page: do_wp_page_mapcount,
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
