/**
 * mm/userfaultfd.c uffd_wp_range() (mwriteprotect_range()): set or clear the
 * uffd-wp bit of every mapped entry of a range. Setting it write-protects
 * present PTEs; swap PTEs carry the bit until swap-in, which keeps the page
 * read-only. Clearing it leaves the PTE read-only, except that from v6.0
 * change_protection(MM_CP_TRY_CHANGE_WRITABLE) maps an exclusive anonymous
 * page writable again (can_change_pte_writable(), which refuses while the
 * bit is set). A huge PMD is changed whole when the range covers it, and
 * split first otherwise.
 */

import type { Mm, State } from '../mm_types.js';
import { VM_SHARED, VM_UFFD_WP, VM_WRITE } from '../mm_types.js';
import {
  _PAGE_UFFD_WP,
  HPAGE_PMD_SIZE,
  make_pte_marker_uffd_wp,
  mk_pte,
  PAGE_SIZE,
  pte_marker_uffd_wp,
  pte_mkwrite,
  pte_none,
  pte_present,
  type pte_t,
  pte_val,
  pte_write,
  pte_wrprotect,
  pteBits,
} from '../pgtable_types.js';
import type { Kernel } from '../points.js';
import { __split_huge_pmd } from './huge_memory.js';
import {
  forEachHugePmd,
  forEachPte,
  pmdLeaf,
  pte_index,
  pteAllocWalk,
  ptep_get,
  set_pte_at,
} from './memory/pgtable.js';
import { vma_lookup } from './vma.js';

function withUffdWp(pte: pte_t, enable: boolean): pte_t {
  const bits = enable ? pteBits(pte) | _PAGE_UFFD_WP : pteBits(pte) & ~_PAGE_UFFD_WP;
  const next = mk_pte(pte_val(pte), bits);
  return enable && pte_present(next) ? pte_wrprotect(next) : next;
}

export function uffd_wp_range(
  s: State,
  k: Kernel,
  mm: Mm,
  start: number,
  end: number,
  enable: boolean,
  wp_unpopulated = false,
): void {
  // A huge PMD that the range cuts is split first.
  for (const edge of [start, end])
    if (edge % HPAGE_PMD_SIZE !== 0) __split_huge_pmd(s, mm, edge - (edge === end ? 1 : 0));
  const retry = (address: number, pte: pte_t): pte_t => {
    if (enable || !pte_present(pte) || pte_write(pte)) return pte;
    const vma = vma_lookup(mm, address);
    if (!vma || vma.vm_flags & VM_SHARED || !(vma.vm_flags & VM_WRITE)) return pte;
    return k.policy.can_change_pte_writable(s, k, { vma, address, pte }) ? pte_mkwrite(pte) : pte;
  };
  // userfaultfd_wp_use_markers(): with UFFD_FEATURE_WP_UNPOPULATED, protecting an
  // unpopulated anonymous address installs a marker (change_pmd_prepare() allocates
  // the PTE table first).
  if (enable && wp_unpopulated)
    for (let address = start; address < end; address += PAGE_SIZE) {
      const vma = vma_lookup(mm, address);
      if (!vma || !(vma.vm_flags & VM_UFFD_WP) || vma.vm_file !== 0 || pmdLeaf(s, mm, address))
        continue;
      const t = pteAllocWalk(s, mm, address);
      const i = pte_index(address);
      if (pte_none(ptep_get(s, t, i))) set_pte_at(s, t, i, make_pte_marker_uffd_wp());
    }
  forEachPte(s, mm, start, end, (t, i, address) => {
    const old = ptep_get(s, t, i);
    // Unprotecting a marker drops it: the address is unpopulated again.
    if (!enable && pte_marker_uffd_wp(old)) {
      set_pte_at(s, t, i, 0);
      return;
    }
    const next = retry(address, withUffdWp(old, enable));
    if (next !== old) set_pte_at(s, t, i, next);
  });
  forEachHugePmd(s, mm, start, end, (leaf, address) => {
    const next = retry(address, withUffdWp(leaf.pmd, enable));
    if (next !== leaf.pmd) set_pte_at(s, leaf.table, leaf.index, next);
  });
}
