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
import { do_wp_page_wait_for_gup } from '../rules.js';
import { v5_9 } from './v5.9.js';

/** v5.9's bundle with one decision point changed: the proposal is a delta on that kernel. */
export const wait_for_gup: Policy = {
  ...v5_9,
  id: 'wait-for-gup',
  title: 'Andy Lutomirski: a COW waits for a short-term R/O GUP to go away (seed 001)',
  kernels: 'proposal',
  cites: [
    {
      what: 'Re: [PATCH 0/1] mm: restore full accuracy in COW page reuse (Andy Lutomirski)',
      ref: 'linux-mm, Jan 12 2021 (seed 001)',
      evidence: 'patch',
    },
    ...v5_9.cites,
  ],
  do_wp_page: do_wp_page_wait_for_gup,
};
