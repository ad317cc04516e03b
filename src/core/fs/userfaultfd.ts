/**
 * userfaultfd write-protect mode (fs/userfaultfd.c): the userfaultfd()
 * context, UFFDIO_REGISTER with UFFDIO_REGISTER_MODE_WP, handle_userfault()
 * for a write to a uffd-wp protected page, and what fork does with the
 * registrations (dup_userfaultfd()).
 *
 * The model keeps one context per mm. A fault waits for its handler the way
 * the kernel's does (the faulting task sleeps and retries the fault once
 * woken); the scenario machine keeps the message queue, because a sleeping
 * attempt leaves no trace in the kernel state; so does the wait of fork()
 * for its UFFD_EVENT_FORK message to be read (scenario/machine.ts
 * UffdForkPending). Not modelled: missing and minor modes,
 * UFFDIO_COPY/ZEROPAGE, async mode, uffd-wp markers of shmem (left by a
 * zap). Markers of unpopulated anonymous addresses
 * (UFFD_FEATURE_WP_UNPOPULATED) are modelled.
 */

import { EINVAL, ENOENT } from '../errno.js';
import { uffd_wp_range } from '../mm/userfaultfd.js';
import { split_vma, vmaMergeAll, vmaReplace } from '../mm/vma.js';
import type { Mm, State, Vma } from '../mm_types.js';
import { VM_SHARED, VM_UFFD_WP } from '../mm_types.js';
import { type pte_t, pte_uffd_wp } from '../pgtable_types.js';
import type { Kernel } from '../points.js';

/** The userfaultfd() system call with UFFDIO_API features: a new context for `mm`. */
export function userfaultfd(s: State, mm: Mm, event_fork: boolean, wp_unpopulated = false): number {
  const id = s.uffd.length;
  s.uffd[id] = { id, mm: mm.id, event_fork, wp_unpopulated };
  return id;
}

/** The context registered for `mm`, 0 if none. */
export function uffdCtxOf(s: State, mm: Mm): number {
  for (const u of s.uffd) if (u && u.mm === mm.id) return u.id;
  return 0;
}

/**
 * fs/userfaultfd.c vma_can_userfault() for WP mode: anonymous and shmem
 * mappings (the model has no hugetlb).
 */
function vma_can_userfault(vma: Vma): boolean {
  return vma.vm_file === 0 || (vma.vm_flags & VM_SHARED) !== 0;
}

/** UFFDIO_REGISTER with UFFDIO_REGISTER_MODE_WP over [start, end). Returns 0 or -errno. */
export function userfaultfd_register(
  s: State,
  ctx: number,
  mm: Mm,
  start: number,
  end: number,
): number {
  const u = s.uffd[ctx];
  if (!u || u.mm !== mm.id) return -EINVAL;
  const vmas = mm.vmas.filter((v) => v.vm_start < end && v.vm_end > start);
  if (vmas.length === 0 || !vmas.every(vma_can_userfault)) return -EINVAL;
  split_vma(s, mm, start);
  split_vma(s, mm, end);
  for (const v of mm.vmas.filter((x) => x.vm_start >= start && x.vm_end <= end))
    vmaReplace(mm, v, { ...v, vm_flags: v.vm_flags | VM_UFFD_WP });
  vmaMergeAll(s, mm);
  return 0;
}

/**
 * UFFDIO_WRITEPROTECT (mm/userfaultfd.c mwriteprotect_range()): set or
 * clear the uffd-wp bit of [start, end), which must be registered in WP mode
 * (-ENOENT otherwise). Clearing it wakes the waiting faults (they retry).
 */
export function userfaultfd_writeprotect(
  s: State,
  k: Kernel,
  mm: Mm,
  start: number,
  end: number,
  enable: boolean,
): number {
  const vmas = mm.vmas.filter((v) => v.vm_start < end && v.vm_end > start);
  if (vmas.length === 0 || !vmas.every((v) => v.vm_flags & VM_UFFD_WP)) return -ENOENT;
  const u = s.uffd[uffdCtxOf(s, mm)];
  uffd_wp_range(s, k, mm, start, end, enable, u?.wp_unpopulated === true);
  return 0;
}

/** include/linux/userfaultfd_k.h userfaultfd_pte_wp(): is this write fault the handler's? */
export function userfaultfd_pte_wp(vma: Vma, pte: pte_t): boolean {
  return (vma.vm_flags & VM_UFFD_WP) !== 0 && pte_uffd_wp(pte);
}

/**
 * fs/userfaultfd.c handle_userfault(VM_UFFD_WP): queue a message for the
 * context's reader and sleep until woken; the fault is retried then
 * (VM_FAULT_RETRY). Returns false when no context would read it (the
 * registration's mm has none: the fault proceeds as a normal write fault).
 */
export function handle_userfault(s: State, k: Kernel, mm: Mm, address: number): boolean {
  const ctx = uffdCtxOf(s, mm);
  if (ctx === 0) return false;
  k.userfault = { ctx, address };
  return true;
}

/**
 * kernel/fork.c dup_mmap() → dup_userfaultfd(): without UFFD_FEATURE_EVENT_FORK
 * the child's VMAs lose their registration (and with it the PTEs' uffd-wp
 * bits, which copy_page_range() keeps only for registered VMAs); with it the
 * child gets a context of its own (UFFD_EVENT_FORK).
 */
export function dup_userfaultfd(s: State, oldmm: Mm, mm: Mm, dst: Vma): Vma {
  if (!(dst.vm_flags & VM_UFFD_WP)) return dst;
  const ctx = s.uffd[uffdCtxOf(s, oldmm)];
  if (!ctx?.event_fork) return { ...dst, vm_flags: dst.vm_flags & ~VM_UFFD_WP };
  // The child's context gets the parent's features (ctx->features).
  if (uffdCtxOf(s, mm) === 0) userfaultfd(s, mm, true, ctx.wp_unpopulated);
  return dst;
}
