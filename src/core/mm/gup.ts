/**
 * Pin accounting helpers that fork and the fault path consult
 * (include/linux/mm.h GUP_PIN_COUNTING_BIAS, folio_maybe_dma_pinned(),
 * page_needs_cow_for_dma()). get_user_pages()/pin_user_pages() themselves
 * arrive with the GUP model.
 */

import type { Mm, State, Vma } from '../mm_types.js';
import { is_cow_mapping, MMF_HAS_PINNED } from '../mm_types.js';

/** include/linux/mm.h GUP_PIN_COUNTING_BIAS: one FOLL_PIN adds this to a small folio's refcount. */
export const GUP_PIN_COUNTING_BIAS = 1024;

/**
 * include/linux/mm.h folio_maybe_dma_pinned() for a small folio: a refcount
 * of at least GUP_PIN_COUNTING_BIAS (false positives allowed).
 */
export function folio_maybe_dma_pinned(s: State, folio: number): boolean {
  return s.mem.refcount[folio]! >= GUP_PIN_COUNTING_BIAS;
}

/**
 * include/linux/mm.h page_needs_cow_for_dma(): at fork, a page of a COW
 * mapping in an mm that ever pinned (MMF_HAS_PINNED) that may be pinned must
 * be copied for the child.
 */
export function page_needs_cow_for_dma(s: State, mm: Mm, vma: Vma, folio: number): boolean {
  if (!is_cow_mapping(vma.vm_flags)) return false;
  if (!(mm.flags & MMF_HAS_PINNED)) return false;
  return folio_maybe_dma_pinned(s, folio);
}
