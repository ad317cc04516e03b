/**
 * LRU insertion through per-CPU batches (mm/swap.c folio_add_lru(),
 * folio_add_lru_vma(), lru_add_drain()).
 *
 * With Config.lruBatching off (the default) a fresh folio goes straight onto
 * the LRU, as if every batch were drained at once. With it on, the folio sits
 * in the batch of the CPU that faulted it in, holding one extra reference and
 * without PG_lru, until that CPU drains its batch or the batch fills up.
 */

import type { State } from '../mm_types.js';
import { flagsW } from '../mm_types.js';
import { PG_lru } from '../page-flags.js';
import type { Kernel } from '../points.js';
import { folio_get, folio_put } from './page_alloc.js';

/** FOLIO_BATCH_SIZE (include/linux/pagevec.h, 31 in v6.x [unconf for every era]). */
export const FOLIO_BATCH_SIZE = 31;

function batchOf(s: State, cpu: number): number[] {
  let b = s.lru_batch[cpu];
  if (!b) {
    for (let c = s.lru_batch.length; c <= cpu; c++) s.lru_batch[c] = [];
    b = s.lru_batch[cpu]!;
  }
  return b;
}

/** lru_add(): put one folio on the LRU and drop the batch's reference. */
function lru_add(s: State, folio: number): void {
  flagsW(s.mem)[folio] = s.mem.flags[folio]! | PG_lru;
}

/** mm/swap.c folio_add_lru_vma() → folio_add_lru() */
export function folio_add_lru_vma(s: State, k: Kernel, folio: number): void {
  if (!k.config.lruBatching) {
    lru_add(s, folio);
    return;
  }
  const batch = batchOf(s, k.cpu);
  folio_get(s, folio);
  batch.push(folio);
  // folio_batch_add_and_move(): a large folio moves the batch to the LRU at once.
  if (batch.length >= FOLIO_BATCH_SIZE || s.mem.order[folio]! > 0) lru_add_drain_cpu(s, k.cpu);
}

/** mm/swap.c lru_add_drain_cpu(): empty one CPU's add batch onto the LRU. */
export function lru_add_drain_cpu(s: State, cpu: number): void {
  const batch = s.lru_batch[cpu];
  if (!batch || batch.length === 0) return;
  s.lru_batch[cpu] = [];
  for (const folio of batch) {
    // A folio freed by its mapper while in the batch is freed here by the last put.
    if (s.mem.refcount[folio]! > 1) lru_add(s, folio);
    folio_put(s, folio);
  }
}

/** mm/swap.c lru_add_drain(): drain the batch of the CPU the task runs on. */
export function lru_add_drain(s: State, k: Kernel): void {
  lru_add_drain_cpu(s, k.cpu);
}

/** Number of references per-CPU batches hold on `folio`. */
export function lruBatchRefs(s: State, folio: number): number {
  let n = 0;
  for (const b of s.lru_batch) for (const f of b) if (f === folio) n++;
  return n;
}

/** mm/swap.c lru_add_drain_all(): every CPU's add batch goes onto the LRU. */
export function lru_add_drain_all(s: State): void {
  for (let cpu = 0; cpu < s.lru_batch.length; cpu++) lru_add_drain_cpu(s, cpu);
}
