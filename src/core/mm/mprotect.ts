/**
 * mprotect(): mm/mprotect.c do_mprotect_pkey(), mprotect_fixup(),
 * change_pte_range(). A private mapping's PTEs never get write permission from
 * vm_page_prot; when write is added, the era decides per PTE
 * (can_change_pte_writable(), v6.0+) whether to map it writable at once or
 * leave it to a write fault.
 */

import { EACCES, EBUSY, EINVAL, ENOMEM } from '../errno.js';
import type { Mm, State, Vma } from '../mm_types.js';
import {
  is_cow_mapping,
  VM_ACCOUNT,
  VM_EXEC,
  VM_HUGETLB,
  VM_NORESERVE,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
} from '../mm_types.js';
import type { pte_t } from '../pgtable_types.js';
import {
  _PAGE_PRESENT,
  _PAGE_PROTNONE,
  _PAGE_RW,
  HPAGE_PMD_SIZE,
  mk_pte,
  PAGE_SIZE,
  pte_mkwrite,
  pte_pfn,
  pte_present,
  pte_val,
  pte_write,
  pteBits,
} from '../pgtable_types.js';
import type { Kernel } from '../points.js';
import { hpageAlign } from './huge_memory.js';
import { vma_wants_writenotify, vmPageProtBits } from './memory/fault.js';
import { forEachHugePmd, forEachPte, pmdLeaf, ptep_get, set_pte_at } from './memory/pgtable.js';
import { vm_normal_page } from './memory/wp.js';
import { calc_vm_prot_bits } from './mmap.js';
import { page_folio } from './page_alloc.js';
import { split_vma, vmaMergeAll, vmaReplace } from './vma.js';

/** arch/x86 pte_modify(): keep the PFN and _PAGE_CHG_MASK bits, take the protection from newprot. */
function pte_modify(pte: pte_t, prot: number): pte_t {
  const keep = pteBits(pte) & ~(_PAGE_PRESENT | _PAGE_PROTNONE | _PAGE_RW);
  return mk_pte(pte_val(pte), keep | prot);
}

/**
 * mm/mprotect.c vma_wants_manual_pte_write_upgrade(): private writable
 * mappings, and shared ones whose vm_page_prot is read-only for write
 * notification (otherwise newprot makes them writable already).
 */
function vma_wants_manual_pte_write_upgrade(s: State, vma: Vma): boolean {
  if (vma.vm_flags & VM_SHARED) return vma_wants_writenotify(s, vma);
  return (vma.vm_flags & VM_WRITE) !== 0;
}

/** mm/mprotect.c change_pte_range() over one VMA, with newprot = vma->vm_page_prot. */
function change_protection(s: State, k: Kernel, mm: Mm, vma: Vma): void {
  const prot = vmPageProtBits(s, vma);
  const tryWritable = vma_wants_manual_pte_write_upgrade(s, vma);
  forEachPte(s, mm, vma.vm_start, vma.vm_end, (t, i, address) => {
    const old = ptep_get(s, t, i);
    if (!pte_present(old)) return;
    let pte = pte_modify(old, prot);
    if (
      tryWritable &&
      !pte_write(pte) &&
      k.policy.can_change_pte_writable(s, k, { vma, address, pte })
    ) {
      pte = pte_mkwrite(pte);
    }
    if (pte !== old) set_pte_at(s, t, i, pte);
  });
  // change_huge_pmd(): split_vma() has split any huge PMD the range cuts, so
  // each one left is changed whole (can_change_pmd_writable() as for PTEs).
  for (let a = hpageAlign(vma.vm_start); a < vma.vm_end; a += HPAGE_PMD_SIZE) {
    const leaf = pmdLeaf(s, mm, a);
    if (!leaf) continue;
    let pmd = pte_modify(leaf.pmd, prot);
    if (
      tryWritable &&
      !pte_write(pmd) &&
      k.policy.can_change_pte_writable(s, k, { vma, address: a, pte: pmd })
    )
      pmd = pte_mkwrite(pmd);
    if (pmd !== leaf.pmd) set_pte_at(s, leaf.table, leaf.index, pmd);
  }
}

/**
 * Would the era let mprotect() write-protect every writable PTE of this COW
 * VMA? (Every merged kernel: yes. Linus's rule (c): only pages with
 * page_count() == 1.)
 */
function may_wrprotect_vma(s: State, k: Kernel, mm: Mm, vma: Vma): boolean {
  let ok = true;
  forEachPte(s, mm, vma.vm_start, vma.vm_end, (t, i) => {
    const pte = ptep_get(s, t, i);
    if (!ok || !pte_write(pte)) return;
    const page = vm_normal_page(pte);
    if (
      page !== 0 &&
      !k.policy.may_wrprotect_pte(s, k, { vma, pte, page, folio: page_folio(s, page) })
    )
      ok = false;
  });
  forEachHugePmd(s, mm, vma.vm_start, vma.vm_end, (leaf) => {
    const folio = pte_pfn(leaf.pmd);
    if (
      ok &&
      pte_write(leaf.pmd) &&
      !k.policy.may_wrprotect_pte(s, k, { vma, pte: leaf.pmd, page: folio, folio })
    )
      ok = false;
  });
  return ok;
}

/** The mprotect() system call. Returns 0 or a negative errno. */
export function do_mprotect_pkey(
  s: State,
  k: Kernel,
  mm: Mm,
  start: number,
  len: number,
  prot: number,
): number {
  if (start % PAGE_SIZE !== 0) return -EINVAL;
  const end = start + Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
  if (end <= start) return len === 0 ? 0 : -EINVAL;
  split_vma(s, mm, start);
  split_vma(s, mm, end);
  let expect = start;
  let error = 0;
  for (const vma of mm.vmas.slice()) {
    if (vma.vm_end <= start || vma.vm_start >= end) continue;
    if (vma.vm_start !== expect) {
      error = -ENOMEM;
      break;
    }
    let newflags = calc_vm_prot_bits(prot) | (vma.vm_flags & ~(VM_READ | VM_WRITE | VM_EXEC));
    // The VM_MAY* bits sit 4 above their VM_* counterparts.
    if (newflags & ~(newflags >> 4) & (VM_READ | VM_WRITE | VM_EXEC)) {
      error = -EACCES;
      break;
    }
    // mprotect_fixup(): nothing to do when the flags do not change (every era);
    // the PTEs keep their write bits.
    if (newflags === vma.vm_flags) {
      expect = vma.vm_end;
      continue;
    }
    if (
      newflags & VM_WRITE &&
      !(vma.vm_flags & (VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE))
    ) {
      newflags |= VM_ACCOUNT;
    }
    if (
      is_cow_mapping(vma.vm_flags) &&
      !(newflags & VM_WRITE) &&
      !may_wrprotect_vma(s, k, mm, vma)
    ) {
      error = -EBUSY;
      break;
    }
    const next: Vma = { ...vma, vm_flags: newflags };
    vmaReplace(mm, vma, next);
    change_protection(s, k, mm, next);
    expect = vma.vm_end;
  }
  if (error === 0 && expect < end) error = -ENOMEM;
  vmaMergeAll(s, mm);
  return error;
}
