/**
 * mremap() with MREMAP_MAYMOVE | MREMAP_FIXED and an unchanged length
 * (mm/mremap.c mremap_to() → move_vma() → move_page_tables()), as cow.c's
 * partially-mremap()ed THP backing uses it: the destination is unmapped
 * first, the source VMA is split at the range's edges (which splits a huge
 * PMD they cut), a new VMA with the same anon_vma takes the range, and the
 * page-table entries move over: a huge PMD that the range covers whole and
 * that stays 2 MiB-aligned moves as one (move_huge_pmd()), everything else
 * PTE by PTE (move_ptes()). Pages keep their mapcounts and references.
 * Not modelled: growing or shrinking, moving without MREMAP_FIXED, and the
 * soft-dirty bit move_ptes() sets on moved entries.
 */

import { EFAULT, EINVAL } from '../errno.js';
import type { Mm, State } from '../mm_types.js';
import { HPAGE_PMD_SIZE, PAGE_SIZE } from '../pgtable_types.js';
import type { Kernel } from '../points.js';
import { __split_huge_pmd } from './huge_memory.js';
import {
  pmdAllocWalk,
  pmdLeaf,
  pte_clear,
  pte_index,
  pteAllocWalk,
  ptep_get,
  pteTable,
  set_pte_at,
} from './memory/pgtable.js';
import { ptFreeAfterUnmap } from './pt_walk.js';
import { do_vmi_munmap, split_vma, vma_lookup, vmaInsert, vmaMergeAll } from './vma.js';

/** Move [old, old + len) of one VMA to new_addr; returns new_addr or -errno. */
export function mremap_fixed(
  s: State,
  mm: Mm,
  old_addr: number,
  len: number,
  new_addr: number,
  k?: Kernel,
): number {
  if (old_addr % PAGE_SIZE || new_addr % PAGE_SIZE || len <= 0 || len % PAGE_SIZE) return -EINVAL;
  if (new_addr < old_addr + len && old_addr < new_addr + len) return -EINVAL; // overlap
  const vma = vma_lookup(mm, old_addr);
  if (!vma || old_addr + len > vma.vm_end) return -EFAULT;
  do_vmi_munmap(s, mm, new_addr, new_addr + len);
  if (k) ptFreeAfterUnmap(s, k.config, mm, new_addr, new_addr + len);
  split_vma(s, mm, old_addr);
  split_vma(s, mm, old_addr + len);
  const src = mm.vmas.find((v) => v.vm_start === old_addr)!;
  vmaInsert(mm, { ...src, vm_start: new_addr, vm_end: new_addr + len });
  for (let a = old_addr; a < old_addr + len; ) {
    const to = new_addr + (a - old_addr);
    const leaf = pmdLeaf(s, mm, a);
    if (leaf) {
      const whole = a % HPAGE_PMD_SIZE === 0 && a + HPAGE_PMD_SIZE <= old_addr + len;
      if (whole && to % HPAGE_PMD_SIZE === 0) {
        // move_huge_pmd(): the PMD and its deposited table move together.
        const dst = pmdAllocWalk(s, mm, to);
        set_pte_at(s, dst, Math.floor(to / HPAGE_PMD_SIZE) % 512, leaf.pmd);
        pte_clear(s, leaf.table, leaf.index);
        a += HPAGE_PMD_SIZE;
        continue;
      }
      __split_huge_pmd(s, mm, a);
    }
    const t = pteTable(s, mm, a);
    const pte = t === 0 ? 0 : ptep_get(s, t, pte_index(a));
    if (pte !== 0) {
      const dt = pteAllocWalk(s, mm, to);
      set_pte_at(s, dt, pte_index(to), pte);
      pte_clear(s, t, pte_index(a));
    }
    a += PAGE_SIZE;
  }
  // The old range is empty now; unmapping it frees the tables nothing uses.
  do_vmi_munmap(s, mm, old_addr, old_addr + len);
  if (k) ptFreeAfterUnmap(s, k.config, mm, old_addr, old_addr + len);
  vmaMergeAll(s, mm);
  return new_addr;
}
