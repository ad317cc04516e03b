/**
 * Creating, duplicating and tearing down address spaces: mm/mmap.c do_mmap(),
 * get_unmapped_area() (top-down), __mm_populate(); dup_mmap() (kernel/fork.c
 * up to v6.15, mm/mmap.c since v6.16 [unconf]); exit_mmap().
 */

import { EEXIST, EINVAL, ENOMEM } from '../errno.js';
import { igrab, iput } from '../fs/inode.js';
import { dup_userfaultfd } from '../fs/userfaultfd.js';
import type { Mm, State, Vma } from '../mm_types.js';
import {
  MMF_VM_MERGE_ANY,
  VM_ACCOUNT,
  VM_DONTCOPY,
  VM_EXEC,
  VM_LOCKED,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_MERGEABLE,
  VM_NORESERVE,
  VM_READ,
  VM_SHARED,
  VM_SOFTDIRTY,
  VM_WRITE,
} from '../mm_types.js';
import { PAGE_SIZE, PMD_SIZE, TASK_SIZE } from '../pgtable_types.js';
import type { Kernel } from '../points.js';
import {
  P_COPY_PAGE_RANGE,
  P_UNMAP,
  W_TLB_FLUSH,
  workCharge,
  workEnter,
  workLeave,
} from '../work.js';
import { copy_page_range } from './memory/copy.js';
import { FAULT_FLAG_WRITE, handle_mm_fault } from './memory/fault.js';
import { free_pgtables } from './memory/pgtable.js';
import { unmap_vmas } from './memory/zap.js';
import { tlb_remove_table } from './mmu_gather.js';
import { ptFreeAfterUnmap } from './pt_walk.js';
import { shmem_zero_setup } from './shmem.js';
import { do_vmi_munmap, vmaInsert, vmaMergeAll } from './vma.js';

/* include/uapi/asm-generic/mman-common.h */
export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;
export const MAP_POPULATE = 0x8000;
export const MAP_FIXED_NOREPLACE = 0x100000;

/**
 * mmap_base of every model process: fixed, no randomisation, so that default
 * placement is deterministic (the kernel's is TASK_SIZE minus the stack gap
 * and a random offset).
 */
export const MMAP_BASE = 0x7f0000000000;
/** mmap_min_addr default (include/linux/mm.h / security: 64 KiB). */
export const MMAP_MIN_ADDR = 0x10000;

/** include/linux/mman.h calc_vm_prot_bits() */
export function calc_vm_prot_bits(prot: number): number {
  return (
    (prot & PROT_READ ? VM_READ : 0) |
    (prot & PROT_WRITE ? VM_WRITE : 0) |
    (prot & PROT_EXEC ? VM_EXEC : 0)
  );
}

function alignDown(x: number, a: number): number {
  return Math.floor(x / a) * a;
}

/**
 * mm/mmap.c get_unmapped_area() → vm_unmapped_area() top-down: the highest
 * gap below MMAP_BASE that fits. Anonymous mappings whose length is a multiple
 * of PMD_SIZE are PMD-aligned, as __get_unmapped_area() does for THP-capable
 * anonymous mappings since v6.7 [unconf in detail].
 */
export function get_unmapped_area(mm: Mm, len: number): number {
  const align = len % PMD_SIZE === 0 ? PMD_SIZE : PAGE_SIZE;
  let cursor = MMAP_BASE;
  const below = mm.vmas.filter((v) => v.vm_start < MMAP_BASE).reverse();
  for (const v of below) {
    if (v.vm_end <= cursor) {
      const addr = alignDown(cursor - len, align);
      if (addr >= v.vm_end) return addr;
    }
    cursor = Math.min(cursor, v.vm_start);
  }
  const addr = alignDown(cursor - len, align);
  return addr >= MMAP_MIN_ADDR ? addr : -ENOMEM;
}

/**
 * mm/mmap.c do_mmap() of anonymous memory (`inode` 0) or of a file (a memfd,
 * a tmpfile). Returns the address, or a negative errno. A shared anonymous
 * mapping gets a fresh shmem file (shmem_zero_setup()).
 */
export function do_mmap(
  s: State,
  k: Kernel,
  mm: Mm,
  addr: number,
  len: number,
  prot: number,
  flags: number,
  inode = 0,
): number {
  if (len <= 0 || len % PAGE_SIZE !== 0) return -EINVAL;
  if (((flags & MAP_ANONYMOUS) !== 0) === (inode !== 0)) return -EINVAL;
  const shared = (flags & MAP_SHARED) !== 0;
  if (shared === ((flags & MAP_PRIVATE) !== 0)) return -EINVAL;
  if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
    if (addr % PAGE_SIZE !== 0 || addr + len > TASK_SIZE || addr < MMAP_MIN_ADDR) return -EINVAL;
    const overlaps = mm.vmas.some((v) => v.vm_start < addr + len && addr < v.vm_end);
    if (overlaps && flags & MAP_FIXED_NOREPLACE) return -EEXIST;
    if (overlaps) {
      do_vmi_munmap(s, mm, addr, addr + len);
      ptFreeAfterUnmap(s, k.config, mm, addr, addr + len);
    }
  } else {
    addr = get_unmapped_area(mm, len);
    if (addr < 0) return addr;
  }
  // mmap_region(): a new VMA is VM_SOFTDIRTY ("newly created VMAs are soft-dirty").
  let vm_flags = calc_vm_prot_bits(prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_SOFTDIRTY;
  if (shared) vm_flags |= VM_SHARED | VM_MAYSHARE;
  if (flags & MAP_NORESERVE) vm_flags |= VM_NORESERVE;
  else if (!shared && vm_flags & VM_WRITE) vm_flags |= VM_ACCOUNT; // accountable_mapping()
  // ksm_vma_flags(): a process with MMF_VM_MERGE_ANY gets mergeable VMAs.
  if (mm.flags & MMF_VM_MERGE_ANY && inode === 0 && !shared) vm_flags |= VM_MERGEABLE;
  const vma: Vma = {
    vm_start: addr,
    vm_end: addr + len,
    vm_flags,
    anon_vma: 0,
    vm_file: inode !== 0 ? inode : shared ? shmem_zero_setup(s, len / PAGE_SIZE) : 0,
    vm_pgoff: 0,
  };
  if (inode !== 0) igrab(s, inode); // the VMA's reference (vma->vm_file = get_file(file))
  vmaInsert(mm, vma);
  vmaMergeAll(s, mm);
  if (flags & MAP_POPULATE) __mm_populate(s, k, mm, addr, len);
  return addr;
}

/**
 * mm/gup.c __mm_populate() → populate_vma_page_range(): fault in every page,
 * with FOLL_WRITE for private writable mappings (so they get real pages, not
 * the zero page).
 */
export function __mm_populate(s: State, k: Kernel, mm: Mm, start: number, len: number): void {
  for (let a = start; a < start + len; a += PAGE_SIZE) {
    const vma = mm.vmas.find((v) => v.vm_start <= a && a < v.vm_end);
    if (!vma || !(vma.vm_flags & (VM_READ | VM_WRITE))) continue;
    const write = (vma.vm_flags & (VM_WRITE | VM_SHARED)) === VM_WRITE;
    handle_mm_fault(s, k, mm, vma, a, write ? FAULT_FLAG_WRITE : 0);
  }
}

/**
 * dup_mmap(): give the child a copy of every VMA except VM_DONTCOPY ones,
 * each with its own anon_vma (anon_vma_fork()), and copy the page tables
 * (copy_page_range()). VM_LOCKED is not inherited.
 */
export function dup_mmap(s: State, k: Kernel, mm: Mm, oldmm: Mm): void {
  const prev = workEnter(s, P_COPY_PAGE_RANGE);
  // flush_tlb_mm(oldmm) once the parent's COW PTEs are write-protected.
  workCharge(s, W_TLB_FLUSH);
  for (const src of oldmm.vmas) {
    if (src.vm_flags & VM_DONTCOPY) continue;
    const dst: Vma = dup_userfaultfd(s, oldmm, mm, {
      ...src,
      vm_flags: src.vm_flags & ~VM_LOCKED,
      anon_vma: src.anon_vma === 0 ? 0 : s.next_anon_vma++,
    });
    if (dst.vm_file !== 0) igrab(s, dst.vm_file);
    mm.vmas = [...mm.vmas, dst];
    copy_page_range(s, k, mm, dst, oldmm, src);
  }
  workLeave(s, prev);
}

/**
 * mm/mmap.c exit_mmap(): zap every VMA, free all page tables (floor and
 * ceiling 0: the whole address space) and the PGD.
 */
export function exit_mmap(s: State, mm: Mm): void {
  const prev = workEnter(s, P_UNMAP);
  workCharge(s, W_TLB_FLUSH); // tlb_finish_mmu()
  const vmas = mm.vmas;
  unmap_vmas(s, mm, vmas);
  free_pgtables(s, mm, vmas, 0, 0);
  for (const v of vmas) if (v.vm_file !== 0) iput(s, v.vm_file);
  mm.vmas = [];
  tlb_remove_table(s, mm.pgd);
  mm.pgd = 0;
  workLeave(s, prev);
}

/**
 * The munmap() system call: -EINVAL for a bad range, else 0. With a kernel
 * context, the page-table design frees what free_pgtables() leaves to a
 * neighbouring VMA (ADR 0013): pte_refcount's put of the last entry frees an
 * emptied PTE table, the rwsem design every emptied table of the range at
 * every level.
 */
export function vm_munmap(s: State, mm: Mm, start: number, len: number, k?: Kernel): number {
  if (start % PAGE_SIZE !== 0 || len <= 0 || start + len > TASK_SIZE) return -EINVAL;
  const end = start + Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
  const prev = workEnter(s, P_UNMAP);
  workCharge(s, W_TLB_FLUSH); // tlb_finish_mmu()
  do_vmi_munmap(s, mm, start, end);
  if (k) ptFreeAfterUnmap(s, k.config, mm, start, end);
  workLeave(s, prev);
  return 0;
}
