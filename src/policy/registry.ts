/**
 * Every era and proposal id of DESIGN.md, with its kernel range, and the
 * policy bundle where it is modelled. An era listed here without a policy is
 * not modelled yet: asking for it is an input error, never a silent fallback.
 */

import type { EraId, Policy } from '../core/points.js';
import { v6_18 } from './eras/v6.18.js';

export interface EraInfo {
  readonly id: EraId;
  readonly kernels: string;
  readonly title: string;
  readonly policy: Policy | null;
}

export const ERAS: readonly EraInfo[] = [
  {
    id: 'v5.7',
    kernels: 'mainline ≤ 5.7',
    title: 'reuse by mapcount (reuse_swap_page); R/O GUP never breaks COW (CVE-2020-29374)',
    policy: null,
  },
  {
    id: 'v5.8',
    kernels: '5.8',
    title: 'GUP always breaks COW (17839856fd58); THP write fault splits',
    policy: null,
  },
  {
    id: 'v5.9',
    kernels: '5.9–5.17',
    title: 'reuse only if page_count()==1 (09854ba94c6a); early COW of pinned pages at fork',
    policy: null,
  },
  {
    id: 'v5.18',
    kernels: '5.18',
    title:
      'COW fixes part 1: page_count reuse on THP and swap paths; swapcache/LRU-batch optimisations',
    policy: null,
  },
  {
    id: 'v5.19',
    kernels: '5.19–6.1',
    title: 'PG_anon_exclusive; R/O pins unshare; swap entries carry an exclusive bit',
    policy: null,
  },
  {
    id: 'v6.2',
    kernels: '6.2–6.14',
    title:
      'reliable R/O long-term pins in all COW mappings; mprotect may map exclusive anon writable',
    policy: null,
  },
  { id: 'v6.18', kernels: v6_18.kernels, title: v6_18.title, policy: v6_18 },
  {
    id: 'foll-break-cow',
    kernels: 'proposal',
    title: "Peter Xu's FOLL_BREAK_COW (seed 000)",
    policy: null,
  },
  {
    id: 'full-accuracy',
    kernels: 'proposal',
    title: 'Andrea Arcangeli: restore full accuracy in COW page reuse (seeds 000–002)',
    policy: null,
  },
  {
    id: 'linus-rules',
    kernels: 'proposal',
    title: "Linus's rules (a)–(d), no GUP_PIN_COUNTING_BIAS (seed 001)",
    policy: null,
  },
  {
    id: 'wait-for-gup',
    kernels: 'proposal',
    title: 'Andy Lutomirski: a COW waits for a short-term R/O GUP to go away (seed 001)',
    policy: null,
  },
];

const BY_ID: ReadonlyMap<string, EraInfo> = new Map(ERAS.map((e) => [e.id, e]));

export function eraInfo(id: string): EraInfo | undefined {
  return BY_ID.get(id);
}

/** Ids of the eras whose policy is complete, in table order. */
export function completeEraIds(): EraId[] {
  return ERAS.filter((e) => e.policy?.complete).map((e) => e.id);
}

export function isEraId(id: string): id is EraId {
  return BY_ID.has(id);
}
