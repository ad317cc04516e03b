/**
 * MADV_COLLAPSE (mm/khugepaged.c madvise_collapse() → hpage_collapse_scan_pmd()
 * → collapse_huge_page(), v6.1): replace the PTE-mapped pages of each 2 MiB
 * range by a newly allocated THP holding a copy of them, mapped by one PMD.
 *
 * MADV_COLLAPSE ignores khugepaged's max_ptes_* limits and the sysfs
 * `enabled` mode, but refuses a range
 *  - with a swap PTE (the model does not swap in for it: -EAGAIN),
 *  - with a page that is not anonymous or is a KSM page (-EINVAL),
 *  - with a folio that has references besides its mappings and the swap
 *    cache (is_refcount_suitable(): GUP pins, pipes; SCAN_PAGE_COUNT, -EAGAIN),
 *  - where no PTE is writable (SCAN_PAGE_RO, -EINVAL): why collapsing a fully
 *    shared range fails after fork, until the check was dropped (v6.18).
 * The new THP is exclusive; the old PTE table becomes its deposited table (no
 * change in VmPTE); none and zero-page entries become zero pages of the THP.
 *
 * khugepaged (the background scan, an `env khugepaged` actor) collapses the
 * same way in VM_HUGEPAGE VMAs (THP mode `madvise`), within its sysfs limits
 * (hpage_collapse_scan_pmd(), cc->is_khugepaged): at most max_ptes_none
 * (511) none or zero entries, max_ptes_shared (256) pages mapped elsewhere,
 * and at least one young (referenced) PTE. It swaps nothing in: a range with
 * a swap PTE is left alone (the kernel swaps in up to max_ptes_swap, 64).
 *
 * MADV_COLLAPSE of a shared shmem VMA (6.18, Policy.madv_collapse_file)
 * collapses the page cache instead (collapse_file()), retracts the PTE
 * tables of every mapping (retract_page_tables()) and maps the caller's
 * range by PMD; the background scan collapses anonymous memory only.
 */

import { toolBug } from '../bug.js';
import { EAGAIN, EINVAL } from '../errno.js';
import type { Mm, State, Vma } from '../mm_types.js';
import {
  add_mm_counter,
  contentW,
  flagsW,
  MM_ANONPAGES,
  refcountW,
  VM_HUGEPAGE,
  VM_NOHUGEPAGE,
  VM_SHARED,
  VM_UFFD_WP,
} from '../mm_types.js';
import {
  PG_dirty,
  PG_ksm,
  PG_locked,
  PG_lru,
  PG_shmem,
  PG_swapbacked,
  PG_swapcache,
  PG_uptodate,
} from '../page-flags.js';
import {
  HPAGE_PMD_NR,
  HPAGE_PMD_ORDER,
  HPAGE_PMD_SIZE,
  PAGE_SIZE,
  pmd_trans_huge,
  pte_pfn,
  pte_present,
  pte_special,
  pte_write,
  pte_young,
} from '../pgtable_types.js';
import type { Kernel } from '../points.js';
import { count_vm_event, vmEventIndex } from '../vmstat.js';
import { do_set_pmd, hpageAlign, mapCollapsedThp } from './huge_memory.js';
import { pmdClearAndFreePte, pmdSlot, ptep_get, pteTable, tableEmpty } from './memory/pgtable.js';
import { mappingRanges, unmap_mapping_range } from './memory/zap.js';
import { tlb_remove_table_taken } from './mmu_gather.js';
import { alloc_pages, folio_put, page_folio } from './page_alloc.js';
import { folio_mapcount, folio_remove_rmap_pte, folio_test_anon } from './rmap.js';
import { folio_add_lru_vma, lru_add_drain_all } from './swap.js';

const THP_COLLAPSE_ALLOC = vmEventIndex('thp_collapse_alloc')!;

/* /sys/kernel/mm/transparent_hugepage/khugepaged defaults */
export const KHUGEPAGED_MAX_PTES_NONE = HPAGE_PMD_NR - 1;
export const KHUGEPAGED_MAX_PTES_SHARED = HPAGE_PMD_NR / 2;

/** A 2 MiB range khugepaged would try to collapse. */
export interface KhugepagedRange {
  readonly mm: number;
  readonly haddr: number;
}

/**
 * khugepaged_scan_mm_slot() → hpage_collapse_scan_pmd(): the PTE-mapped
 * 2 MiB ranges of VM_HUGEPAGE anonymous VMAs that pass khugepaged's limits
 * (the collapse itself may still fail, e.g. on a pinned page).
 */
export function khugepagedCandidates(s: State): KhugepagedRange[] {
  const out: KhugepagedRange[] = [];
  for (const mm of s.mms) {
    if (!mm) continue;
    for (const vma of mm.vmas) {
      if (!(vma.vm_flags & VM_HUGEPAGE) || vma.vm_flags & (VM_NOHUGEPAGE | VM_SHARED)) continue;
      if (vma.vm_file !== 0) continue;
      for (
        let haddr = hpageAlign(vma.vm_start + HPAGE_PMD_SIZE - 1);
        haddr + HPAGE_PMD_SIZE <= vma.vm_end;
        haddr += HPAGE_PMD_SIZE
      ) {
        const t = pteTable(s, mm, haddr);
        if (t === 0) continue;
        let none = 0;
        let shared = 0;
        let young = 0;
        let swapped = false;
        for (let i = 0; i < HPAGE_PMD_NR; i++) {
          const pte = ptep_get(s, t, i);
          if (pte === 0 || (pte_present(pte) && pte_special(pte))) {
            none++;
            continue;
          }
          if (!pte_present(pte)) {
            swapped = true;
            break;
          }
          if (pte_young(pte)) young++;
          if (s.mem.mapcount[pte_pfn(pte)]! > 1) shared++;
        }
        if (swapped || young === 0) continue;
        if (none > KHUGEPAGED_MAX_PTES_NONE || shared > KHUGEPAGED_MAX_PTES_SHARED) continue;
        out.push({ mm: mm.id, haddr });
      }
    }
  }
  return out;
}

/** One khugepaged collapse of `r` (collapse_huge_page()); what happened, for the trace. */
export function khugepagedCollapse(s: State, k: Kernel, r: KhugepagedRange): string {
  const mm = s.mms[r.mm];
  const vma = mm?.vmas.find((v) => v.vm_start <= r.haddr && r.haddr < v.vm_end);
  if (!mm || !vma) return `nothing at 0x${r.haddr.toString(16)}`;
  lru_add_drain_all(s);
  const ret = collapse_huge_page(s, k, mm, vma, r.haddr);
  k.decide(
    'khugepaged',
    ret === 0 ? 'collapsed' : 'failed',
    `2 MiB at 0x${r.haddr.toString(16)}: ${ret}`,
  );
  return ret === 0
    ? `collapsed 2 MiB at 0x${r.haddr.toString(16)} of mm ${r.mm} into a THP`
    : `collapse of 2 MiB at 0x${r.haddr.toString(16)} of mm ${r.mm} failed: ${ret === -EAGAIN ? 'the pages have other references (is_refcount_suitable())' : 'no writable PTE or not an anonymous page'}`;
}

/** Collapse the 2 MiB range at `haddr` of `vma`; 0 or -errno. */
function collapse_huge_page(s: State, k: Kernel, mm: Mm, vma: Vma, haddr: number): number {
  const t = pteTable(s, mm, haddr);
  if (t === 0) return 0; // nothing mapped, or already a huge PMD (SCAN_PMD_MAPPED)
  let writable = false;
  const folios = new Set<number>();
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const pte = ptep_get(s, t, i);
    if (pte === 0) continue;
    if (!pte_present(pte)) return -EAGAIN;
    if (pte_special(pte)) continue; // the zero page
    if (pte_write(pte)) writable = true;
    const folio = page_folio(s, pte % 2 ** 32);
    if (!folio_test_anon(s, folio) || s.mem.flags[folio]! & PG_ksm) return -EINVAL;
    folios.add(folio);
  }
  for (const folio of folios) {
    // is_refcount_suitable()
    const swap = s.mem.flags[folio]! & PG_swapcache ? 2 ** s.mem.order[folio]! : 0;
    if (s.mem.refcount[folio] !== folio_mapcount(s, folio) + swap) return -EAGAIN;
  }
  if (!writable && k.policy.collapse_scan_page_ro) return -EINVAL; // SCAN_PAGE_RO
  const thp = alloc_pages(s, HPAGE_PMD_ORDER);
  count_vm_event(s.vmstat, THP_COLLAPSE_ALLOC);
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const pte = ptep_get(s, t, i);
    if (pte === 0 || pte_special(pte)) {
      add_mm_counter(mm, MM_ANONPAGES, 1);
      continue;
    }
    const page = pte % 2 ** 32;
    contentW(s.mem)[thp + i] = s.mem.content[page]!;
    const folio = page_folio(s, page);
    folio_remove_rmap_pte(s, folio, page, mm.id);
    folio_put(s, folio);
  }
  // The old PTE table is deposited for the new THP: freed here, counted as before.
  const at = pmdSlot(s, mm, haddr)!;
  tlb_remove_table_taken(s, t); // after pmdp_collapse_flush(): GUP-fast is out of it
  mapCollapsedThp(s, k, mm, vma, at, thp);
  return 0;
}

/** madvise_collapse()'s SCAN_PTE_MAPPED_HUGEPAGE: the page cache holds the THP; map it by PMD. */
const SCAN_PTE_MAPPED_HUGEPAGE = 1;

/**
 * mm/khugepaged.c hpage_collapse_scan_file() → collapse_file() for shmem
 * (MADV_COLLAPSE, 6.18): the 512 page-cache pages from `start` (holes
 * allowed) become one PMD-sized folio. Each old page must be on the LRU and
 * have no reference but the page cache's and its mappings' (else -EAGAIN,
 * SCAN_PAGE_LRU / SCAN_PAGE_COUNT), and not be locked (SCAN_PAGE_LOCK); it
 * is unmapped from every mapping (try_to_unmap()), copied, and freed; holes
 * become zeroed pages. Then retract_page_tables(). An empty range is
 * SCAN_TRUNCATED (-EINVAL); a range the page cache already holds as one THP
 * is SCAN_PTE_MAPPED_HUGEPAGE at once. Read in torvalds/linux (00f58104).
 */
function collapse_file(s: State, k: Kernel, inode: number, start: number): number {
  const f = s.inodes[inode]!;
  const old: number[] = [];
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const pfn = f.pages[start + i] ?? 0;
    if (pfn === 0) continue;
    const folio = page_folio(s, pfn);
    if (s.mem.order[folio]! > 0)
      return s.mem.order[folio] === HPAGE_PMD_ORDER && folio === f.pages[start]
        ? SCAN_PTE_MAPPED_HUGEPAGE
        : -EINVAL; // SCAN_PAGE_COMPOUND
    const flags = s.mem.flags[folio]!;
    if (!(flags & PG_lru)) return -EAGAIN; // SCAN_PAGE_LRU
    if (s.mem.refcount[folio] !== 1 + folio_mapcount(s, folio)) return -EAGAIN; // SCAN_PAGE_COUNT
    if (flags & PG_locked) return -EAGAIN; // SCAN_PAGE_LOCK
    old.push(start + i);
  }
  if (old.length === 0) return -EINVAL; // SCAN_TRUNCATED
  const details = { even_cows: false, reclaim_pt: false };
  for (const pgoff of old) {
    // try_to_unmap(): every PTE mapping the page goes; private copies are other folios.
    unmap_mapping_range(s, inode, pgoff, pgoff + 1, details, null);
    if (s.mem.refcount[f.pages[pgoff]!] !== 1) return -EAGAIN; // SCAN_PAGE_COUNT, rolled back
  }
  const thp = alloc_pages(s, HPAGE_PMD_ORDER);
  count_vm_event(s.vmstat, THP_COLLAPSE_ALLOC);
  flagsW(s.mem)[thp] = s.mem.flags[thp]! | PG_uptodate | PG_shmem | PG_swapbacked | PG_dirty;
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const pfn = f.pages[start + i] ?? 0;
    contentW(s.mem)[thp + i] = pfn === 0 ? 0 : s.mem.content[pfn]!;
    f.pages[start + i] = thp + i;
    if (pfn !== 0) folio_put(s, pfn); // the old page's page-cache reference: freed
  }
  refcountW(s.mem)[thp] = HPAGE_PMD_NR; // folio_ref_add(): one per page-cache entry
  folio_add_lru_vma(s, k, thp);
  retract_page_tables(s, inode, start);
  return SCAN_PTE_MAPPED_HUGEPAGE;
}

/**
 * mm/khugepaged.c retract_page_tables() (6.5+): for each VMA mapping file
 * page `pgoff` at a 2 MiB-aligned address over a whole PMD, without an
 * anon_vma or userfaultfd-wp, the PTE table there (empty: collapse_file()
 * unmapped its pages, and the new folio stays locked) is unlinked under the
 * PMD and PTE locks (pmdp_collapse_flush()) and freed by RCU
 * (pte_free_defer()), without that mm's mmap lock: a walker that read the
 * PMD entry before holds RCU and rechecks it (Policy.pte_map_rcu).
 */
function retract_page_tables(s: State, inode: number, pgoff: number): void {
  for (const r of mappingRanges(s, inode, pgoff, pgoff + 1)) {
    const { mm, vma } = r;
    if (vma.anon_vma !== 0 || vma.vm_flags & VM_UFFD_WP) continue;
    const addr = vma.vm_start + (pgoff - vma.vm_pgoff) * PAGE_SIZE;
    if (addr % HPAGE_PMD_SIZE !== 0 || vma.vm_end < addr + HPAGE_PMD_SIZE) continue;
    const t = pteTable(s, mm, addr);
    if (t === 0) continue;
    if (!tableEmpty(s, t))
      toolBug('retract_page_tables(): a PTE table collapse_file() emptied is in use');
    pmdClearAndFreePte(s, mm, addr, true);
  }
}

/**
 * MADV_COLLAPSE of one 2 MiB of a shared shmem VMA (madvise_collapse(),
 * 6.18): collapse_file(), then collapse_pte_mapped_thp(install_pmd) maps
 * the caller's range by PMD (set_huge_pmd() → do_set_pmd()). 0 or -errno.
 */
function collapse_file_range(s: State, k: Kernel, mm: Mm, vma: Vma, haddr: number): number {
  const pgoff = vma.vm_pgoff + (haddr - vma.vm_start) / PAGE_SIZE;
  const r = collapse_file(s, k, vma.vm_file, pgoff);
  if (r !== SCAN_PTE_MAPPED_HUGEPAGE) return r;
  const at = pmdSlot(s, mm, haddr);
  if (!at) return -EINVAL; // SCAN_PMD_NULL
  const pmd = ptep_get(s, at.table, at.index);
  const folio = page_folio(s, s.inodes[vma.vm_file]!.pages[pgoff]!);
  if (pmd === 0) return do_set_pmd(s, mm, vma, haddr, at, folio, false) ? 0 : -EINVAL;
  return pmd_trans_huge(pmd) ? 0 : -EINVAL; // already PMD-mapped, or a table left (SCAN_FAIL)
}

/**
 * mm/khugepaged.c madvise_collapse() over [start, end) of one VMA: each
 * 2 MiB inside it, anonymous (collapse_huge_page()) or, where the era has
 * it, shared shmem (collapse_file()); 0 or the errno of the last failure.
 */
export function madvise_collapse(
  s: State,
  k: Kernel,
  mm: Mm,
  vma: Vma,
  start: number,
  end: number,
): number {
  if (vma.vm_flags & VM_NOHUGEPAGE) return -EINVAL;
  const file = vma.vm_file !== 0;
  if (file) {
    const shmem = s.inodes[vma.vm_file]?.fs === 'tmpfs' && (vma.vm_flags & VM_SHARED) !== 0;
    if (!k.policy.madv_collapse_file || !shmem) return -EINVAL;
    if ((vma.vm_start / PAGE_SIZE - vma.vm_pgoff) % HPAGE_PMD_NR !== 0) return -EINVAL;
  } else if (vma.vm_flags & VM_SHARED) return -EINVAL;
  lru_add_drain_all(s);
  let ret = 0;
  for (
    let haddr = hpageAlign(start + HPAGE_PMD_SIZE - 1);
    haddr + HPAGE_PMD_SIZE <= end;
    haddr += HPAGE_PMD_SIZE
  ) {
    if (haddr < vma.vm_start || haddr + HPAGE_PMD_SIZE > vma.vm_end) continue;
    const r = file
      ? collapse_file_range(s, k, mm, vma, haddr)
      : collapse_huge_page(s, k, mm, vma, haddr);
    k.decide(
      'madvise_collapse',
      r === 0 ? 'collapsed' : 'failed',
      `2 MiB at 0x${haddr.toString(16)}: ${r}`,
    );
    if (r < 0) ret = r;
  }
  return ret;
}
