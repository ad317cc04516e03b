/**
 * A user-space load or store: the MMU's page walk, then, when it faults,
 * arch/x86/mm/fault.c do_user_addr_fault() → access_error() →
 * handle_mm_fault(), and the retried access. The hardware sets the accessed
 * bit on every access and the dirty bit on a store.
 */

import { toolBug } from '../../../bug.js';
import {
  FAULT_FLAG_STEPWISE,
  FAULT_FLAG_WRITE,
  handle_mm_fault,
  VM_FAULT_OOM,
  VM_FAULT_RETRY,
  VM_FAULT_SIGBUS,
  VM_FAULT_SIGSEGV,
  VM_FAULT_STEPPED,
} from '../../../mm/memory/fault.js';
import {
  pmd_index,
  pmd_present_table,
  pmdTable,
  pte_index,
  ptep_get,
  pteSetHwBits,
} from '../../../mm/memory/pgtable.js';
import { vma_lookup } from '../../../mm/vma.js';
import type { Mm, State } from '../../../mm_types.js';
import { contentW, VM_EXEC, VM_READ, VM_WRITE } from '../../../mm_types.js';
import {
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_PRESENT,
  mk_pte,
  PMD_SIZE,
  pmd_trans_huge,
  pte_pfn,
  pte_write,
  pteBits,
} from '../../../pgtable_types.js';
import type { Kernel } from '../../../points.js';

export const SIGBUS = 7;
export const SIGKILL = 9;
export const SIGSEGV = 11;

export type AccessResult =
  | { readonly ok: true; readonly value: number; readonly pfn: number; readonly faults: number }
  | { readonly ok: false; readonly signal: number }
  /** The fault sleeps (VM_FAULT_RETRY): the access has not happened; retry it later. */
  | { readonly ok: false; readonly signal: 0; readonly blocked: true }
  /** The fault stopped at a lock boundary (k.pending); continue it, then retry the access. */
  | { readonly ok: false; readonly signal: 0; readonly stepped: true };

/**
 * Load (value === undefined) or store `value` at `addr` in `mm`. Returns the
 * value loaded (or stored), the PFN accessed, and how many faults it took.
 */
export function userAccess(
  s: State,
  k: Kernel,
  mm: Mm,
  addr: number,
  value?: number,
): AccessResult {
  const write = value !== undefined;
  for (let faults = 0; faults < 4; faults++) {
    // The MMU's walk: one PMD entry, then a huge leaf or the PTE below it.
    const pmdT = pmdTable(s, mm, addr);
    if (pmdT !== 0) {
      const pi = pmd_index(addr);
      const pmd = ptep_get(s, pmdT, pi);
      const huge = pmd_trans_huge(pmd);
      const t = huge ? pmdT : pmd_present_table(pmd);
      const i = huge ? pi : pte_index(addr);
      const pte = huge ? pmd : t === 0 ? 0 : ptep_get(s, t, i);
      const b = pteBits(pte);
      if (b & _PAGE_PRESENT && (!write || pte_write(pte))) {
        const nb = b | _PAGE_ACCESSED | (write ? _PAGE_DIRTY : 0);
        if (nb !== b) pteSetHwBits(s, t, i, mk_pte(pte_pfn(pte), nb));
        // A huge PMD maps the page: the MMU uses it directly.
        const pfn = pte_pfn(pte) + (huge ? Math.floor((addr % PMD_SIZE) / 4096) : 0);
        if (write) contentW(s.mem)[pfn] = value >>> 0;
        return { ok: true, value: s.mem.content[pfn]!, pfn, faults };
      }
    }
    const vma = vma_lookup(mm, addr);
    if (!vma) return { ok: false, signal: SIGSEGV };
    // access_error()
    if (write && !(vma.vm_flags & VM_WRITE)) return { ok: false, signal: SIGSEGV };
    if (!write && !(vma.vm_flags & (VM_READ | VM_WRITE | VM_EXEC)))
      return { ok: false, signal: SIGSEGV };
    const flags = (write ? FAULT_FLAG_WRITE : 0) | (k.config.lockBreaks ? FAULT_FLAG_STEPWISE : 0);
    const ret = handle_mm_fault(s, k, mm, vma, addr, flags);
    if (ret & VM_FAULT_STEPPED) return { ok: false, signal: 0, stepped: true };
    if (ret & VM_FAULT_RETRY) return { ok: false, signal: 0, blocked: true };
    // No path of the model's handle_mm_fault() fails with these yet; the
    // explorer's reduction (explore/local-move.ts) counts on an access being
    // killed only by the VMA checks above: a path that returns one must widen it.
    if (ret & VM_FAULT_SIGSEGV) return { ok: false, signal: SIGSEGV };
    if (ret & VM_FAULT_SIGBUS) return { ok: false, signal: SIGBUS };
    if (ret & VM_FAULT_OOM) return { ok: false, signal: SIGKILL };
  }
  return toolBug(`access to ${addr.toString(16)} still faults after 4 faults`);
}
