/**
 * Peter Xu's "mm/gup: Allow real explicit breaking of COW" (v3, Aug 2020, on
 * v5.8, Fixes: 17839856fd58), as posted: where v5.8 adds FOLL_WRITE to every
 * FOLL_GET and FOLL_PIN of a COW mapping, it adds FOLL_BREAK_COW, and a fault
 * carries FAULT_FLAG_BREAK_COW, which breaks COW like a write but is no write
 * to userfaultfd-wp; the copy keeps the uffd-wp bit, write-protected. The
 * patch leaves follow_page_pte() testing FOLL_WRITE only, so a present
 * read-only page is taken without a fault, as in v5.7: COW is broken only
 * where GUP has to fault the page in (none, swapped). Everything else is
 * v5.8 (policy constant foll_break_cow; docs/eras.md).
 */

import type { Policy } from '../../core/points.js';
import { v5_8 } from './v5.8.js';

export const foll_break_cow: Policy = {
  ...v5_8,
  id: 'foll-break-cow',
  title: "Peter Xu's FOLL_BREAK_COW (seed 000)",
  kernels: 'proposal',
  foll_break_cow: true,
  cites: [
    {
      what: '[PATCH v2] mm/gup: Allow real explicit breaking of COW',
      ref: 'Peter Xu, Aug 2020, v3 ("inherit UFFD_WP bit for COW too"; lore 20200811183950.10603-1-peterx@redhat.com for v2)',
      evidence: 'patch',
    },
  ],
};
