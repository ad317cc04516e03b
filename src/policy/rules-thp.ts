/**
 * The THP decision points: mm/huge_memory.c do_huge_pmd_wp_page() (a write
 * or unshare fault on a read-only PMD-mapped anonymous THP), and the v6.15+
 * reuse of a page of a PTE-mapped THP (mm/memory.c
 * __wp_can_reuse_large_anon_folio(), CONFIG_MM_ID). Each rule cites the code
 * it comes from; research/kernel-eras.md §2.3 has the history.
 *
 * THPs are never in the swap cache in this model version (swap-out of a THP
 * is not modelled), so the swapcount and swapcache terms of the kernel's
 * tests are 0.
 */

import { folio_mapcount, PageAnonExclusive, SetPageAnonExclusive } from '../core/mm/rmap.js';
import type { State } from '../core/mm_types.js';
import { folioLarge } from '../core/mm_types.js';
import type { HugeWpDecision, HugeWpFault, Kernel, WpDecision, WpFault } from '../core/points.js';

function ref(s: State, folio: number): number {
  return s.mem.refcount[folio]!;
}

const A_REUSE: HugeWpDecision = {
  action: 'reuse',
  why: 'reuse_swap_page(head): the THP is mapped once (mapcount; other references ignored)',
};
const A_COPY: HugeWpDecision = {
  action: 'copy',
  why: 'reuse_swap_page(head): mapped more than once: copy 2 MiB into a new THP',
};
const B_SPLIT: HugeWpDecision = {
  action: 'split',
  why: 'reuse_swap_page(head): mapped more than once: split the PMD, the PTE fault decides',
};

/**
 * mm/huge_memory.c do_huge_pmd_wp_page() up to v5.7: reuse by mapcount
 * (reuse_swap_page() on the head), else allocate a THP and copy 2 MiB
 * (thp_fault_alloc). GUP and pipe references are invisible.
 */
export function do_huge_pmd_wp_page_copy(s: State, _k: Kernel, f: HugeWpFault): HugeWpDecision {
  return folio_mapcount(s, f.folio) <= 1 ? A_REUSE : A_COPY;
}

/**
 * 3917c80280c9 "thp: change CoW semantics for anon-THP" (v5.8) to v5.17:
 * still reuse by mapcount; otherwise split the PMD and fall back to the PTE
 * level, which copies one 4 KiB page. The mapcount test is why the THP
 * flavour of CVE-2020-29374 outlived 17839856fd58 and 09854ba94c6a.
 */
export function do_huge_pmd_wp_page_split(s: State, _k: Kernel, f: HugeWpFault): HugeWpDecision {
  return folio_mapcount(s, f.folio) <= 1 ? A_REUSE : B_SPLIT;
}

const D_REUSE: HugeWpDecision = {
  action: 'reuse',
  why: 'page_count(head) == 1 (only our mapping)',
};
const D_SPLIT: HugeWpDecision = {
  action: 'split',
  why: 'page_count(head) != 1: split the PMD, the PTE fault decides',
};

/**
 * 3bff7e3f1f16 "mm/huge_memory: streamline COW logic in
 * do_huge_pmd_wp_page()" (v5.18, "COW fixes part 1"): reuse only the sole
 * reference, else split.
 */
export function do_huge_pmd_wp_page_page_count(
  s: State,
  _k: Kernel,
  f: HugeWpFault,
): HugeWpDecision {
  return ref(s, f.folio) === 1 ? D_REUSE : D_SPLIT;
}

const E_REUSE_EXCL: HugeWpDecision = { action: 'reuse', why: 'PageAnonExclusive(head)' };
const E_REUSE: HugeWpDecision = {
  action: 'reuse',
  why: 'page_count(head) == 1: PG_anon_exclusive set on the head',
};

/**
 * do_huge_pmd_wp_page() from v5.19 (6c287605fd56): an exclusive THP is
 * reused; otherwise the v5.18 test, and a reused THP becomes exclusive.
 */
export function do_huge_pmd_wp_page_exclusive(
  s: State,
  _k: Kernel,
  f: HugeWpFault,
): HugeWpDecision {
  if (PageAnonExclusive(s, f.folio)) return E_REUSE_EXCL;
  if (ref(s, f.folio) !== 1) return D_SPLIT;
  SetPageAnonExclusive(s, f.folio);
  return E_REUSE;
}

const F_COPY_ONE: WpDecision = {
  action: 'copy',
  why: 'large folio with a single mapping left: copy and free it up',
  reason: 'other',
};
const F_COPY_SHARED: WpDecision = {
  action: 'copy',
  why: 'large folio maybe mapped shared (FOLIO_MM_IDS_SHARED_BIT)',
  reason: 'other',
};
const F_COPY_REF: WpDecision = {
  action: 'copy',
  why: 'large folio with references besides its mappings',
  reason: 'early',
};
const F_REUSE: WpDecision = {
  action: 'reuse',
  why: 'large folio: every reference is a mapping in this mm: PG_anon_exclusive set',
};

/**
 * mm/memory.c __wp_can_reuse_large_anon_folio() (1da190f4d0a6 "mm:
 * Copy-on-Write (COW) reuse support for PTE-mapped THP", v6.15, CONFIG_MM_ID
 * as on x86-64): a page of a large anonymous folio that is not
 * PG_anon_exclusive is reused when the folio is not "maybe mapped shared"
 * (its _mm_id slots say one mm holds every mapping) and every reference is a
 * mapping; a folio with one mapping left is copied out so that it can be
 * freed. Constant work: the large mapcount and the bit are kept up to date
 * by every rmap change (rmap.ts folio_add_return_large_mapcount()).
 */
export function wp_can_reuse_large_anon_folio(s: State, _k: Kernel, vmf: WpFault): WpDecision {
  const f = folioLarge(s, vmf.folio);
  if (f.mapcount <= 1) return F_COPY_ONE;
  if (f.shared) return F_COPY_SHARED;
  if (f.mapcount !== ref(s, vmf.folio)) return F_COPY_REF;
  SetPageAnonExclusive(s, vmf.page);
  return F_REUSE;
}
