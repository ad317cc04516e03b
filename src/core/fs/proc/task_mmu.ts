/**
 * What /proc/PID/pagemap and /proc/PID/status report, computed from the model
 * (fs/proc/task_mmu.c pte_to_pagemap_entry(), task_mem()), so that a scenario
 * condition reads the same observables on the model and on the real kernel.
 */

import { pte_index, ptep_get, pteTable } from '../../mm/memory/pgtable.js';
import { page_folio } from '../../mm/page_alloc.js';
import type { Mm, State } from '../../mm_types.js';
import { MM_ANONPAGES, MM_SHMEMPAGES, MM_SWAPENTS, ZERO_PFN } from '../../mm_types.js';
import { PG_anon } from '../../page-flags.js';
import {
  pte_dirty,
  pte_pfn,
  pte_present,
  pte_soft_dirty,
  pte_special,
  type pte_t,
  pte_uffd_wp,
  pte_write,
  pte_young,
} from '../../pgtable_types.js';

/** The PTE mapping `addr` in `mm` (0 when there is none). */
export function pteAt(s: State, mm: Mm, addr: number): pte_t {
  const t = pteTable(s, mm, addr);
  return t === 0 ? 0 : ptep_get(s, t, pte_index(addr));
}

/** Decoded pagemap entry, plus what the hardware bits say (not exported by pagemap). */
export interface PagemapEntry {
  readonly present: boolean;
  readonly swapped: boolean;
  /** PFN (root sees it; 0 when not present). */
  readonly pfn: number;
  readonly soft_dirty: boolean;
  /** PM_MMAP_EXCLUSIVE (bit 56): the page is mapped exactly once (mapcount-based, not PG_anon_exclusive). */
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
  const present = pte_present(pte);
  const pfn = present ? pte_pfn(pte) : 0;
  const normal = present && !pte_special(pte);
  const folio = normal ? page_folio(s, pfn) : 0;
  return {
    present,
    swapped: pte !== 0 && !present,
    pfn,
    soft_dirty: pte !== 0 && pte_soft_dirty(pte),
    exclusive: normal && s.mem.mapcount[pfn] === 1,
    uffd_wp: pte !== 0 && pte_uffd_wp(pte),
    file: normal && (s.mem.flags[folio]! & PG_anon) === 0,
    zeropage: present && pfn === ZERO_PFN,
    writable: present && pte_write(pte),
    dirty: present && pte_dirty(pte),
    young: present && pte_young(pte),
  };
}

/** fs/proc/task_mmu.c task_mem(): the /proc/PID/status fields the model knows, in kB. */
export function task_mem(mm: Mm): Record<'VmPTE' | 'RssAnon' | 'RssShmem' | 'VmSwap', number> {
  return {
    VmPTE: mm.pgtables_bytes / 1024,
    RssAnon: mm.rss[MM_ANONPAGES]! * 4,
    RssShmem: mm.rss[MM_SHMEMPAGES]! * 4,
    VmSwap: mm.rss[MM_SWAPENTS]! * 4,
  };
}
