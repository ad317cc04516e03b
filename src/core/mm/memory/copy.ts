/**
 * Copying page tables at fork: mm/memory.c copy_page_range(),
 * copy_pud_range(), copy_pmd_range(), copy_pte_range(), copy_present_pte(s),
 * copy_present_page() (read in a v6.16-rc6 tree, lordspline/linux).
 *
 * The child gets a table wherever the parent has one in the VMA's range (even
 * an empty PTE table), then a copy of every present PTE: write-protected in
 * both processes for a COW mapping, or, where the era says so (pinned pages),
 * a private copy of the page for the child alone.
 */

import { toolBug } from '../../bug.js';
import type { Mm, State, Vma } from '../../mm_types.js';
import {
  add_mm_counter,
  contentW,
  is_cow_mapping,
  MM_ANONPAGES,
  MM_SWAPENTS,
  VM_SHARED,
  VM_UFFD_WP,
} from '../../mm_types.js';
import type { pte_t } from '../../pgtable_types.js';
import {
  _PAGE_PRESENT,
  _PAGE_UFFD_WP,
  is_swap_entry_pte,
  mk_pte,
  PGDIR_SIZE,
  PMD_SIZE,
  PUD_SIZE,
  pte_clear_uffd_wp,
  pte_marker_uffd_wp,
  pte_mkclean,
  pte_mkdirty,
  pte_mkold,
  pte_present,
  pte_swp_clear_exclusive,
  pte_swp_exclusive,
  pte_uffd_wp,
  pte_write,
  pte_wrprotect,
  pteBits,
  swp_offset,
} from '../../pgtable_types.js';
import type { Kernel } from '../../points.js';
import { copy_huge_pmd } from '../huge_memory.js';
import { alloc_pages, folio_get, folio_put, page_folio } from '../page_alloc.js';
import { ptWalkRules } from '../pt_walk.js';
import { pte_put_after_zap } from '../pte_ref.js';
import {
  folio_add_new_anon_rmap,
  folio_dup_rmap_pte,
  folio_test_anon,
  mm_counter_file,
} from '../rmap.js';
import { folio_add_lru_vma } from '../swap.js';
import { swap_duplicate } from '../swapfile.js';
import {
  pmdAllocWalk,
  pmdLeaf,
  pmdTable,
  pte_index,
  pteAllocWalk,
  ptep_get,
  pteTable,
  pudAllocWalk,
  pudTable,
  set_pte_at,
} from './pgtable.js';
import { maybe_mkwrite, vm_normal_page } from './wp.js';

/** mm/memory.c vma_needs_copy(): only VMAs that may hold anonymous pages (or uffd-wp bits). */
function vma_needs_copy(dst: Vma, src: Vma): boolean {
  return (dst.vm_flags & VM_UFFD_WP) !== 0 || src.anon_vma !== 0;
}

/** mm/memory.c __copy_present_ptes(): install the (shared) entry in the child. */
function CopyPresentPte(
  s: State,
  k: Kernel,
  dst: Vma,
  src: Vma,
  address: number,
  dstSlot: [number, number],
  srcSlot: [number, number],
  pte: pte_t,
): void {
  if (is_cow_mapping(src.vm_flags) && pte_write(pte)) {
    if (k.forkDeferred) k.forkDeferred.push(address);
    else set_pte_at(s, srcSlot[0], srcSlot[1], pte_wrprotect(pte));
    pte = pte_wrprotect(pte);
  }
  if (src.vm_flags & VM_SHARED) pte = pte_mkclean(pte);
  pte = pte_mkold(pte);
  if (!(dst.vm_flags & VM_UFFD_WP)) pte = pte_clear_uffd_wp(pte);
  set_pte_at(s, dstSlot[0], dstSlot[1], pte);
}

/** mm/memory.c copy_present_page(): the child's own copy of a (maybe pinned) page. */
function copy_present_page(
  s: State,
  k: Kernel,
  dst_mm: Mm,
  dst: Vma,
  dstSlot: [number, number],
  srcPte: pte_t,
  page: number,
): void {
  const nw = alloc_pages(s, 0);
  contentW(s.mem)[nw] = s.mem.content[page]!;
  folio_add_new_anon_rmap(s, nw, k.policy.folio_add_new_anon_rmap(s, k, nw).exclusive);
  folio_add_lru_vma(s, k, nw);
  add_mm_counter(dst_mm, MM_ANONPAGES, 1);
  let pte = maybe_mkwrite(pte_mkdirty(mk_pte(nw, _PAGE_PRESENT)), dst);
  if (k.policy.copy_present_page_uffd_wp && dst.vm_flags & VM_UFFD_WP && pte_uffd_wp(srcPte))
    pte = pte_wrprotect(mk_pte(nw, pteBits(pte) | _PAGE_UFFD_WP));
  set_pte_at(s, dstSlot[0], dstSlot[1], pte);
}

/** mm/memory.c copy_present_pte(): one present PTE. */
function copy_present_pte(
  s: State,
  k: Kernel,
  dst_mm: Mm,
  dst: Vma,
  src_mm: Mm,
  src: Vma,
  address: number,
  dstSlot: [number, number],
  srcSlot: [number, number],
  pte: pte_t,
): void {
  const page = vm_normal_page(pte);
  if (page === 0) {
    CopyPresentPte(s, k, dst, src, address, dstSlot, srcSlot, pte);
    return;
  }
  const folio = page_folio(s, page);
  folio_get(s, folio);
  if (folio_test_anon(s, folio)) {
    const d = k.policy.copy_present_pte(s, k, {
      src_mm,
      src_vma: src,
      dst_mm,
      address,
      pte,
      page,
      folio,
    });
    k.decide('copy_present_pte', d.action, d.why);
    if (d.action === 'copy') {
      folio_put(s, folio);
      copy_present_page(s, k, dst_mm, dst, dstSlot, pte, page);
      return;
    }
    folio_dup_rmap_pte(s, folio, page, dst_mm.id);
    add_mm_counter(dst_mm, MM_ANONPAGES, 1);
  } else {
    folio_dup_rmap_pte(s, folio, page, dst_mm.id);
    const c = mm_counter_file(s, folio);
    add_mm_counter(dst_mm, c, 1);
  }
  CopyPresentPte(s, k, dst, src, address, dstSlot, srcSlot, pte);
}

function nextBoundary(addr: number, size: number, end: number): number {
  return Math.min(Math.floor(addr / size) * size + size, end);
}

/**
 * mm/memory.c copy_nonpresent_pte() for a swap entry: the child's PTE refers
 * to the same slot (swap_duplicate()); an exclusive entry becomes shared in
 * both (1493a1913e34); the child keeps uffd-wp only if its VMA is registered.
 */
function copy_nonpresent_pte(
  s: State,
  dst_mm: Mm,
  dst: Vma,
  [dstT, di]: [number, number],
  [srcT, si]: [number, number],
  pte: pte_t,
): void {
  if (pte_marker_uffd_wp(pte)) {
    // copy_pte_marker(): the uffd-wp marker only for a child VMA that stays registered.
    if (dst.vm_flags & VM_UFFD_WP) set_pte_at(s, dstT, di, pte);
    return;
  }
  if (!is_swap_entry_pte(pte))
    toolBug('copy_nonpresent_pte(): migration entries are not modelled yet');
  swap_duplicate(s, swp_offset(pte));
  add_mm_counter(dst_mm, MM_SWAPENTS, 1);
  if (pte_swp_exclusive(pte)) {
    pte = pte_swp_clear_exclusive(pte);
    set_pte_at(s, srcT, si, pte);
  }
  if (!(dst.vm_flags & VM_UFFD_WP)) pte = pte_clear_uffd_wp(pte);
  set_pte_at(s, dstT, di, pte);
}

/** mm/memory.c copy_page_range(): duplicate the page tables of one VMA into the child. */
export function copy_page_range(
  s: State,
  k: Kernel,
  dst_mm: Mm,
  dst: Vma,
  src_mm: Mm,
  src: Vma,
): void {
  if (!vma_needs_copy(dst, src)) return;
  const end = src.vm_end;
  for (let a = src.vm_start; a < end; ) {
    const pgdNext = nextBoundary(a, PGDIR_SIZE, end);
    if (pudTable(s, src_mm, a) === 0) {
      a = pgdNext;
      continue;
    }
    pudAllocWalk(s, dst_mm, a); // copy_pud_range(): pud_alloc() first
    for (; a < pgdNext; ) {
      const pudNext = nextBoundary(a, PUD_SIZE, pgdNext);
      if (pmdTable(s, src_mm, a) === 0) {
        a = pudNext;
        continue;
      }
      pmdAllocWalk(s, dst_mm, a); // copy_pmd_range(): pmd_alloc() first
      for (; a < pudNext; ) {
        const pmdNext = nextBoundary(a, PMD_SIZE, pudNext);
        // copy_pmd_range(): a huge PMD is shared whole, or split (-EAGAIN) and copied by PTEs.
        if (pmdLeaf(s, src_mm, a) && copy_huge_pmd(s, k, dst_mm, dst, src_mm, src, a) === 0) {
          a = pmdNext;
          continue;
        }
        const srcT = pteTable(s, src_mm, a);
        if (srcT !== 0) {
          const dstT = pteAllocWalk(s, dst_mm, a); // copy_pte_range(): pte_alloc_map_lock()
          for (let x = a; x < pmdNext; x += 4096) {
            const i = pte_index(x);
            const pte = ptep_get(s, srcT, i);
            if (pte === 0) continue;
            if (!pte_present(pte)) {
              copy_nonpresent_pte(s, dst_mm, dst, [dstT, i], [srcT, i], pte);
              continue;
            }
            copy_present_pte(s, k, dst_mm, dst, src_mm, src, x, [dstT, i], [srcT, i], pte);
          }
          // pte_refcount: the allocation's own reference is put; a table this
          // VMA's range left empty is freed (Documentation/vm/pte_ref.rst).
          if (ptWalkRules(k.config).pteRefcount) pte_put_after_zap(s, dst_mm, a);
        }
        a = pmdNext;
      }
    }
  }
}
