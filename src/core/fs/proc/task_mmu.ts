/**
 * What /proc/PID/pagemap and /proc/PID/status report, computed from the model
 * (fs/proc/task_mmu.c pte_to_pagemap_entry(), task_mem()), so that a scenario
 * condition reads the same observables on the model and on the real kernel.
 */

import { EINVAL } from '../../errno.js';
import { anonHugeBytes, isHugeZeroPfn } from '../../mm/huge_memory.js';
import { ksm_merging_pages, ksm_zero_pages } from '../../mm/ksm.js';
import {
  forEachHugePmd,
  forEachPte,
  pmdLeaf,
  ptep_get,
  pteView,
  set_pte_at,
} from '../../mm/memory/pgtable.js';
import { vm_normal_page } from '../../mm/memory/wp.js';
import { page_folio } from '../../mm/page_alloc.js';
import { page_mapcount } from '../../mm/rmap.js';
import { vma_lookup, vmaReplace } from '../../mm/vma.js';
import type { Mm, State } from '../../mm_types.js';
import {
  MM_ANONPAGES,
  MM_SHMEMPAGES,
  MM_SWAPENTS,
  VM_SOFTDIRTY,
  ZERO_PFN,
} from '../../mm_types.js';
import { PG_anon } from '../../page-flags.js';
import {
  is_swap_entry_pte,
  pte_clear_soft_dirty,
  pte_dirty,
  pte_pfn,
  pte_present,
  pte_soft_dirty,
  pte_special,
  type pte_t,
  pte_uffd_wp,
  pte_write,
  pte_wrprotect,
  pte_young,
  swp_offset,
} from '../../pgtable_types.js';
import type { Kernel } from '../../points.js';

/** The PTE mapping `addr` in `mm` (0 when there is none). */
export function pteAt(s: State, mm: Mm, addr: number): pte_t {
  return pteView(s, mm, addr);
}

/** Decoded pagemap entry, plus what the hardware bits say (not exported by pagemap). */
export interface PagemapEntry {
  readonly present: boolean;
  readonly swapped: boolean;
  /** The swap offset of a swap entry (pagemap bits 5-54 for CAP_SYS_ADMIN; 0 otherwise). */
  readonly swap_offset: number;
  /** PFN (root sees it; 0 when not present). */
  readonly pfn: number;
  readonly soft_dirty: boolean;
  /**
   * PM_MMAP_EXCLUSIVE (bit 56): the page is mapped exactly once (mapcount-based,
   * not PG_anon_exclusive). For a huge PMD the answer is the PMD's first page's,
   * reported for all 512 entries.
   */
  readonly exclusive: boolean;
  readonly uffd_wp: boolean;
  /** PM_FILE (bit 61): page cache or shared anonymous (shmem) page. */
  readonly file: boolean;
  readonly zeropage: boolean;
  readonly writable: boolean;
  readonly dirty: boolean;
  readonly young: boolean;
}

/** fs/proc/task_mmu.c pte_to_pagemap_entry() for one address. */
export function pagemapEntry(s: State, mm: Mm, addr: number): PagemapEntry {
  const pte = pteAt(s, mm, addr);
  const vma = vma_lookup(mm, addr);
  const present = pte_present(pte);
  const pfn = present ? pte_pfn(pte) : 0;
  const normal = present && !pte_special(pte);
  const folio = normal ? page_folio(s, pfn) : 0;
  // pagemap_pmd_range() (pagemap_pmd_range_thp() in v6.18) asks the mapcount
  // question once, of the page the PMD maps first, and copies that bit into all
  // 512 entries; pte_to_pagemap_entry() asks it of each PTE's own page. Same in
  // every era: page_mapcount(page) == 1 before v6.13, its precise per-page
  // mapcount after (checked on 6.18: a PMD mapper reads 0 everywhere while a
  // PTE mapper of the head exists, 1 everywhere once none does).
  const leaf = normal ? pmdLeaf(s, mm, addr) : null;
  const asked = leaf ? pte_pfn(leaf.pmd) : pfn;
  return {
    present,
    swapped: pte !== 0 && !present,
    swap_offset: is_swap_entry_pte(pte) ? swp_offset(pte) : 0,
    pfn,
    // Bit 55 is set for every page of a VM_SOFTDIRTY VMA, mapped or not.
    soft_dirty:
      (pte !== 0 && pte_soft_dirty(pte)) ||
      (vma !== undefined && (vma.vm_flags & VM_SOFTDIRTY) !== 0),
    exclusive: normal && page_mapcount(s, asked, folio) === 1,
    uffd_wp: pte !== 0 && pte_uffd_wp(pte),
    file: normal && (s.mem.flags[folio]! & PG_anon) === 0,
    zeropage: present && (pfn === ZERO_PFN || isHugeZeroPfn(s, pfn)),
    writable: present && pte_write(pte),
    dirty: present && pte_dirty(pte),
    young: present && pte_young(pte),
  };
}

/* fs/proc/task_mmu.c enum clear_refs_types */
export const CLEAR_REFS_ALL = 1;
export const CLEAR_REFS_ANON = 2;
export const CLEAR_REFS_MAPPED = 3;
export const CLEAR_REFS_SOFT_DIRTY = 4;

/**
 * fs/proc/task_mmu.c clear_refs_write() with CLEAR_REFS_SOFT_DIRTY:
 * clear_soft_dirty() write-protects every present PTE and clears its
 * soft-dirty bit (unless the era leaves a maybe-pinned page alone,
 * pte_is_pinned(), or refuses to write-protect it), and VM_SOFTDIRTY is
 * cleared on every VMA, which turns soft-dirty tracking on. Other values are
 * the referenced-bit resets, which the model has no use for. Returns 0 or
 * -EINVAL.
 */
export function clear_refs_write(s: State, k: Kernel, mm: Mm, type: number): number {
  if (type < CLEAR_REFS_ALL || type > 5) return -EINVAL;
  if (type !== CLEAR_REFS_SOFT_DIRTY) return 0;
  for (const vma of mm.vmas.slice()) {
    forEachPte(s, mm, vma.vm_start, vma.vm_end, (t, i) => {
      const pte = ptep_get(s, t, i);
      if (!pte_present(pte)) return;
      const page = vm_normal_page(pte);
      if (page !== 0 && pte_write(pte)) {
        const w = { mm, vma, pte, page, folio: page_folio(s, page) };
        if (k.policy.pte_is_pinned(s, k, w) || !k.policy.may_wrprotect_pte(s, k, w)) return;
      }
      const next = pte_clear_soft_dirty(pte_wrprotect(pte));
      if (next !== pte) set_pte_at(s, t, i, next);
    });
    // clear_soft_dirty_pmd(): a huge PMD is write-protected and cleaned whole
    // (no pte_is_pinned() test at this level).
    forEachHugePmd(s, mm, vma.vm_start, vma.vm_end, (leaf) => {
      const folio = pte_pfn(leaf.pmd);
      if (
        pte_write(leaf.pmd) &&
        !k.policy.may_wrprotect_pte(s, k, { vma, pte: leaf.pmd, page: folio, folio })
      )
        return;
      const next = pte_clear_soft_dirty(pte_wrprotect(leaf.pmd));
      if (next !== leaf.pmd) set_pte_at(s, leaf.table, leaf.index, next);
    });
    vmaReplace(mm, vma, { ...vma, vm_flags: vma.vm_flags & ~VM_SOFTDIRTY });
  }
  return 0;
}

/**
 * fs/proc/task_mmu.c task_mem(): the /proc/PID/status fields the model knows,
 * in kB, /proc/PID/ksm_merging_pages (fs/proc/base.c, a page count) and
 * ksm_zero_pages of /proc/PID/ksm_stat (a page count).
 */
/** The /proc/PID/status (and smaps_rollup) fields the model computes. */
export type TaskMemField =
  | 'VmPTE'
  | 'RssAnon'
  | 'RssShmem'
  | 'VmSwap'
  | 'ksm_merging_pages'
  | 'ksm_zero_pages'
  | 'AnonHugePages';

/** The fields, in the order /proc shows them (a scenario's names for them). */
export const TASK_MEM_FIELDS: readonly TaskMemField[] = [
  'VmPTE',
  'RssAnon',
  'RssShmem',
  'VmSwap',
  'ksm_merging_pages',
  'ksm_zero_pages',
  'AnonHugePages',
];

/** Every field of task_mem() at once. */
export function task_mem(s: State, mm: Mm): Record<TaskMemField, number> {
  const out = {} as Record<TaskMemField, number>;
  for (const f of TASK_MEM_FIELDS) out[f] = task_mem_field(s, mm, f);
  return out;
}

/**
 * One field of fs/proc/task_mmu.c task_mem(): what a scenario reads, with only
 * the walk that field needs (ksm_zero_pages and AnonHugePages walk the page
 * tables; a gigabyte mapping has 262,144 PTEs).
 */
export function task_mem_field(s: State, mm: Mm, field: TaskMemField): number {
  switch (field) {
    case 'VmPTE':
      return mm.pgtables_bytes / 1024;
    case 'RssAnon':
      return mm.rss[MM_ANONPAGES]! * 4;
    case 'RssShmem':
      return mm.rss[MM_SHMEMPAGES]! * 4;
    case 'VmSwap':
      return mm.rss[MM_SWAPENTS]! * 4;
    case 'ksm_merging_pages':
      return ksm_merging_pages(s, mm);
    case 'ksm_zero_pages':
      return ksm_zero_pages(s, mm);
    case 'AnonHugePages':
      // /proc/PID/smaps_rollup AnonHugePages (not in status; the model lists it with these).
      return anonHugeBytes(s, mm) / 1024;
  }
}
