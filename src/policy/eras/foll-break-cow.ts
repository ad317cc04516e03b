/**
 * Peter Xu's "mm/gup: Allow real explicit breaking of COW" (Aug 2020, on
 * v5.8, Fixes: 17839856fd58): GUP still breaks COW for every FOLL_GET and
 * FOLL_PIN of a COW mapping, through a new FOLL_BREAK_COW /
 * FAULT_FLAG_BREAK_COW so that userfaultfd sees a read. Until uffd-wp is
 * modelled this is v5.8's COW behaviour: v5.8's bundle under its own name (docs/eras.md).
 */

import type { Policy } from '../../core/points.js';
import { v5_8 } from './v5.8.js';

export const foll_break_cow: Policy = {
  ...v5_8,
  id: 'foll-break-cow',
  title: "Peter Xu's FOLL_BREAK_COW (seed 000)",
  kernels: 'proposal',
  cites: [
    {
      what: '[PATCH v2] mm/gup: Allow real explicit breaking of COW',
      ref: 'Peter Xu, Aug 2020 (lore 20200811183950.10603-1-peterx@redhat.com)',
      evidence: 'patch',
    },
  ],
};
