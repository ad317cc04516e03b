/**
 * Andrea Arcangeli's "[PATCH 1/1] mm: restore full accuracy in COW page
 * reuse" (Jan 9 2021, on v5.11-rc): reverts 09854ba94c6a, be068f29034f and
 * 1a0cf26323c8, so do_wp_page() decides by mapcount again (reuse_swap_page(),
 * reuse_ksm_page()); fork keeps copying maybe-pinned pages (v5.9+). The
 * vmsplice attack is left to "be tackled first in vmsplice itself", which the
 * patch does not do: CVE-2020-29374 comes back.
 */

import type { Policy } from '../../core/points.js';
import { do_wp_page_mapcount } from '../rules.js';
import { v5_9 } from './v5.9.js';

export const full_accuracy: Policy = {
  ...v5_9,
  id: 'full-accuracy',
  title: 'Andrea Arcangeli: restore full accuracy in COW page reuse (seeds 000–002)',
  kernels: 'proposal',
  cites: [
    {
      what: '[PATCH 1/1] mm: restore full accuracy in COW page reuse',
      ref: 'Andrea Arcangeli, Jan 9 2021 (Message-Id 20210110004435.26382-2-aarcange@redhat.com)',
      evidence: 'patch',
    },
  ],
  do_wp_page: do_wp_page_mapcount,
};
