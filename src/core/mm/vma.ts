/**
 * VMA list surgery: mm/vma.c split_vma(), the merge of compatible neighbours
 * (vma_merge_new_range / vma_modify), and do_vmi_munmap() with
 * vms_clear_ptes() → unmap_vmas() + free_pgtables().
 */

import { igrab, iput } from '../fs/inode.js';
import type { Mm, State, Vma } from '../mm_types.js';
import { VM_SOFTDIRTY } from '../mm_types.js';
import { HPAGE_PMD_SIZE } from '../pgtable_types.js';
import { __split_huge_pmd } from './huge_memory.js';
import { free_pgtables } from './memory/pgtable.js';
import { unmap_vmas } from './memory/zap.js';

/** mm/mmap.c find_vma(): the first VMA ending above `addr`. */
export function find_vma(mm: Mm, addr: number): Vma | undefined {
  for (const v of mm.vmas) if (v.vm_end > addr) return v;
  return undefined;
}

/** The VMA containing `addr`, if any. */
export function vma_lookup(mm: Mm, addr: number): Vma | undefined {
  const v = find_vma(mm, addr);
  return v && v.vm_start <= addr ? v : undefined;
}

/**
 * Two adjacent VMAs the kernel would merge: same flags, same backing, and
 * compatible anon_vmas (is_mergeable_anon_vma(): equal, or one not set yet).
 */
export function can_vma_merge(a: Vma, b: Vma): boolean {
  // VM_SOFTDIRTY is in VM_IGNORE_MERGE.
  const flags = (v: Vma) => v.vm_flags & ~VM_SOFTDIRTY;
  if (a.vm_end !== b.vm_start || flags(a) !== flags(b) || a.vm_file !== b.vm_file) return false;
  if (a.vm_file !== 0 && a.vm_pgoff + (a.vm_end - a.vm_start) / 4096 !== b.vm_pgoff) return false;
  return a.anon_vma === 0 || b.anon_vma === 0 || a.anon_vma === b.anon_vma;
}

/** Merge every mergeable neighbour pair in mm.vmas (after mmap, mprotect, madvise). */
export function vmaMergeAll(s: State, mm: Mm): void {
  const out: Vma[] = [];
  for (const v of mm.vmas) {
    const prev = out[out.length - 1];
    if (prev && can_vma_merge(prev, v)) {
      out[out.length - 1] = {
        ...prev,
        vm_end: v.vm_end,
        vm_flags: prev.vm_flags | (v.vm_flags & VM_SOFTDIRTY),
        anon_vma: prev.anon_vma || v.anon_vma,
      };
      if (v.vm_file !== 0) iput(s, v.vm_file);
    } else {
      out.push(v);
    }
  }
  mm.vmas = out;
}

/** mm/vma.c split_vma(): split the VMA containing `addr` at `addr` (no-op at a boundary). */
export function split_vma(s: State, mm: Mm, addr: number): void {
  const i = mm.vmas.findIndex((v) => v.vm_start < addr && addr < v.vm_end);
  if (i < 0) return;
  // vma_adjust_trans_huge(): a huge PMD the new boundary cuts through is split first.
  if (addr % HPAGE_PMD_SIZE !== 0) __split_huge_pmd(s, mm, addr);
  const v = mm.vmas[i]!;
  const lo: Vma = { ...v, vm_end: addr };
  const hi: Vma = { ...v, vm_start: addr, vm_pgoff: v.vm_pgoff + (addr - v.vm_start) / 4096 };
  if (v.vm_file !== 0) igrab(s, v.vm_file);
  mm.vmas = mm.vmas.toSpliced(i, 1, lo, hi);
}

/** Insert a VMA keeping mm.vmas sorted. */
export function vmaInsert(mm: Mm, vma: Vma): void {
  let i = 0;
  while (i < mm.vmas.length && mm.vmas[i]!.vm_start < vma.vm_start) i++;
  mm.vmas = mm.vmas.toSpliced(i, 0, vma);
}

/** Replace VMA `old` (by identity) with `next`. */
export function vmaReplace(mm: Mm, old: Vma, next: Vma): void {
  const i = mm.vmas.indexOf(old);
  if (i >= 0) mm.vmas = mm.vmas.with(i, next);
}

/**
 * mm/vma.c do_vmi_munmap(): remove [start, end): split at the edges, zap the
 * pages, free the page tables no remaining VMA can use, drop the VMAs.
 */
export function do_vmi_munmap(s: State, mm: Mm, start: number, end: number): void {
  split_vma(s, mm, start);
  split_vma(s, mm, end);
  const gone = mm.vmas.filter((v) => v.vm_start >= start && v.vm_end <= end);
  if (gone.length === 0) return;
  const first = mm.vmas.indexOf(gone[0]!);
  const prev = mm.vmas[first - 1];
  const next = mm.vmas[first + gone.length];
  unmap_vmas(s, mm, gone);
  free_pgtables(s, mm, gone, prev ? prev.vm_end : 0, next ? next.vm_start : 0);
  mm.vmas = mm.vmas.toSpliced(first, gone.length);
  for (const v of gone) if (v.vm_file !== 0) iput(s, v.vm_file);
}
