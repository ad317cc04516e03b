/**
 * Page-table lifetime strategies (seed 004; ADR 0013): when an empty page
 * table may be freed, and what keeps a walker from following a freed one.
 * A dimension beside the era: `ERA/STRATEGY` names an era with another
 * strategy than its own. A strategy listed here but not modelled is an input
 * error when asked for, never a silent fallback.
 */

import type { EraId, Policy, PtStrategy } from '../core/points.js';

export interface PtStrategyInfo {
  readonly id: PtStrategy;
  readonly title: string;
  /** Where it comes from: a kernel release or a mail. */
  readonly source: string;
  /** Whether cowherd models it yet (the others are refused, CLI003). */
  readonly modelled: boolean;
  /**
   * An unsafe variant: the design named by `design` without one detail
   * (`without`), to show with a shortest trace why the detail is there.
   */
  readonly unsafe?: { readonly design: PtStrategy; readonly without: string };
}

export const PT_STRATEGIES: readonly PtStrategyInfo[] = [
  {
    id: 'none',
    title: 'empty page tables stay until munmap or exit (free_pgtables())',
    source: 'mainline before 6.14',
    modelled: true,
  },
  {
    id: 'pte-refcount',
    title:
      'a pte_refcount on every PTE table, taken around each PTE map; the last put frees the table',
    source: 'Qi Zheng, "[PATCH v3 00/15] Free user PTE page table pages", Nov 2021 (seed 004)',
    modelled: true,
  },
  {
    id: 'pt-rwsem',
    title:
      'a page-table rwsem beside the PTL: zap takes it for write and frees empty tables at every level, walkers take it for read',
    source: 'Jason Gunthorpe, reply in the same thread (seed 004), a proposal without code',
    modelled: true,
  },
  {
    id: 'madv-cleanup',
    title:
      'madvise(MADV_CLEANUP_PGTABLE): user space asks for the empty tables of a range to be freed',
    source: 'David Hildenbrand, reply in the same thread (seed 004), a proposal without code',
    modelled: true,
  },
  {
    id: 'pt-reclaim',
    title:
      'MADV_DONTNEED frees each whole PTE table it emptied, the free deferred through RCU (mm/pt_reclaim.c)',
    source: 'CONFIG_PT_RECLAIM, Linux 6.14+',
    modelled: true,
  },
  {
    id: 'pt-reclaim-norecheck',
    title: 'unsafe: PT_RECLAIM, but pte_offset_map_lock() does not recheck the PMD entry',
    source:
      'pt-reclaim without pmd_same() in __pte_offset_map_lock() (mm/pgtable-generic.c, v6.5+)',
    modelled: true,
    unsafe: { design: 'pt-reclaim', without: 'the PMD recheck under the PTE lock' },
  },
  {
    id: 'pt-reclaim-norcu',
    title: 'unsafe: PT_RECLAIM, but the emptied table is freed at once, not through RCU',
    source: 'pt-reclaim without tlb_remove_table() (mm/pt_reclaim.c free_pte(), mm/mmu_gather.c)',
    modelled: true,
    unsafe: { design: 'pt-reclaim', without: 'the RCU-deferred free' },
  },
  {
    id: 'pte-refcount-notryget',
    title:
      'unsafe: pte_refcount, but walkers (the fault, the rmap walk) take no pte_tryget() reference',
    source:
      'pte-refcount without the visitor reference of Documentation/vm/pte_ref.rst (v3 series)',
    modelled: true,
    unsafe: { design: 'pte-refcount', without: "the walkers' pte_tryget()" },
  },
];

const BY_ID: ReadonlyMap<string, PtStrategyInfo> = new Map(PT_STRATEGIES.map((s) => [s.id, s]));

export function ptStrategyInfo(id: string): PtStrategyInfo | undefined {
  return BY_ID.get(id);
}

/** Split `ERA/STRATEGY` (or `ERA`): the era and the strategy named, if any. */
export function splitPolicyId(id: string): { era: string; pt: string | null } {
  const i = id.indexOf('/');
  return i < 0 ? { era: id, pt: null } : { era: id.slice(0, i), pt: id.slice(i + 1) };
}

/**
 * The era's policy with strategy `pt`, named `ERA/pt` (ADR 0013): every rule
 * of the era, the page tables of the strategy.
 */
export function withPtStrategy(p: Policy, pt: PtStrategy): Policy {
  return { ...p, id: `${p.id}/${pt}` as EraId, ptStrategy: pt };
}
