/**
 * sim's environment: the kernel activity between two statements that is not
 * one of the workload's threads (docs/sim.md, "How it runs"). Each actor
 * acts with a stated chance per step, drawn from the run's seeded RNG:
 *
 * - the swap device ends every write in flight (always present once
 *   something was paged out);
 * - with `env lru_batches`, each CPU drains its LRU add batch;
 * - with `env reclaim`, a reclaim scan (mm/vmscan.c shrink_folio_list())
 *   isolates and locks a folio at one wake and keeps it or swaps it out at a
 *   later one, so a fault in between finds the folio locked: the trylock
 *   outcomes of do_wp_page() and the lock_page() sleeps of the swap-in path;
 * - with `env khugepaged`, khugepaged collapses one candidate range;
 * - with `env ksmd`, ksmd does one merge.
 *
 * An actor's candidates are the explorer's (src/scenario/env.ts): the same
 * scans over every folio or range, made when the actor wakes, which suits
 * workloads of litmus-to-megabyte size, not the seeds' full-scale ones.
 */

import { folio_end_writeback, foliosUnderWriteback } from '../core/mm/filemap.js';
import { khugepagedCandidates, khugepagedCollapse } from '../core/mm/khugepaged.js';
import { ksmdMerge, ksmMerges } from '../core/mm/ksm.js';
import { lru_add_drain_cpu } from '../core/mm/swap.js';
import {
  reclaimCandidates,
  reclaimRelease,
  reclaimTake,
  shrink_folio_list,
} from '../core/mm/vmscan.js';
import type { Kernel } from '../core/points.js';
import { P_KHUGEPAGED, P_KSM, P_RECLAIM, workEnter, workLeave, workResume } from '../core/work.js';
import type { EnvActor } from '../scenario/ast.js';
import type { Machine } from '../scenario/machine.js';
import type { Rng } from './rng.js';

/**
 * The swap device ends every write in flight with this chance per step:
 * this machine's device, as `cowherd kernel --compare
 * workloads/forceswap-small.cow` saw 19,779 to 19,966 of 20,000 page-outs
 * done before the next MADV_PAGEOUT came (seven runs, median 19,937), which
 * 0.7 gives (19,944 to 19,958 over seeds 1-3; 0.65 gives 19,862 to 19,908);
 * docs/fidelity.md, "Sim beside the kernel".
 */
export const WRITEBACK_END_PER_STEP = 0.7;

/**
 * The chances per step of the `env` actors: stated parameters, not
 * measurements (a step is a statement, which has no fixed duration; a
 * kernel thread's wake-up interval has no fixed number of statements).
 * `--env-rate ACTOR=P` sets another.
 */
export const ENV_RATE_DEFAULTS: Readonly<Record<EnvActor, number>> = {
  lru_batches: 0.1,
  reclaim: 0.1,
  ksmd: 0.1,
  khugepaged: 0.1,
};

/** The environment's rates for one run. */
export interface EnvRates {
  readonly writebackEnd: number;
  readonly actors: Readonly<Record<EnvActor, number>>;
}

function chance(rng: Rng, p: number): boolean {
  return rng.below(1_000_000) < p * 1_000_000;
}

/**
 * What the kernel does between two statements, in a fixed order (the swap
 * device, LRU batches, reclaim, khugepaged, ksmd), each actor with its
 * chance. `k` is the kernel context the actors' decisions run in. Returns
 * whether a folio lock or a write a thread may sleep on was let go of.
 */
export function environment(m: Machine, rng: Rng, rates: EnvRates, k: Kernel): boolean {
  let woke = false;
  const writing = foliosUnderWriteback(m.s);
  if (writing.length > 0 && chance(rng, rates.writebackEnd)) {
    for (const folio of writing) folio_end_writeback(m.s, folio);
    woke = true;
  }
  const env = m.sc.env;
  if (env.length === 0) return woke;
  const a = rates.actors;
  if (env.includes('lru_batches'))
    m.s.lru_batch.forEach((b, cpu) => {
      if (b.length > 0 && chance(rng, a.lru_batches)) lru_add_drain_cpu(m.s, cpu);
    });
  if (env.includes('reclaim') && chance(rng, a.reclaim)) woke = reclaimStep(m, rng, k) || woke;
  if (env.includes('khugepaged') && chance(rng, a.khugepaged)) {
    const ranges = khugepagedCandidates(m.s);
    if (ranges.length > 0) {
      const prev = workEnter(m.s, P_KHUGEPAGED);
      khugepagedCollapse(m.s, k, ranges[rng.below(ranges.length)]!);
      workLeave(m.s, prev);
    }
  }
  if (env.includes('ksmd') && chance(rng, a.ksmd)) {
    const merges = ksmMerges(m.s);
    if (merges.length > 0) {
      const prev = workEnter(m.s, P_KSM);
      ksmdMerge(m.s, k, merges[rng.below(merges.length)]!);
      workLeave(m.s, prev);
    }
  }
  return woke;
}

/**
 * One wake of the reclaim scan, which holds at most one folio (as the
 * explorer's actor): with none held, isolate and lock a candidate picked at
 * random; with one held, take the next step of shrink_folio_list() on it or,
 * with even chance, find it referenced and put it back (the model keeps no
 * referenced bits for reclaim to test). Returns whether the folio was let go.
 */
function reclaimStep(m: Machine, rng: Rng, k: Kernel): boolean {
  const held = m.s.isolated[0];
  if (held === undefined) {
    const folios = reclaimCandidates(m.s);
    if (folios.length === 0) return false;
    // One call of the reclaim path per folio, as MADV_PAGEOUT's reclaim_pages() counts it.
    const prev = workEnter(m.s, P_RECLAIM);
    reclaimTake(m.s, folios[rng.below(folios.length)]!);
    workLeave(m.s, prev);
    return false;
  }
  const prev = workResume(m.s, P_RECLAIM);
  let gone = true;
  if (rng.below(2) === 0) reclaimRelease(m.s, held);
  else gone = !shrink_folio_list(m.s, k, held).held;
  workLeave(m.s, prev);
  return gone;
}

/**
 * Can the environment still let go of something a sleeping thread waits
 * for: a folio reclaim holds, or a write in flight? (When every thread
 * sleeps, sim runs the environment alone until one wakes.)
 */
export function mayWake(m: Machine, rates: EnvRates): boolean {
  if (rates.writebackEnd > 0 && foliosUnderWriteback(m.s).length > 0) return true;
  return rates.actors.reclaim > 0 && m.sc.env.includes('reclaim') && m.s.isolated.length > 0;
}

/**
 * A thread is about to sleep on the lock of `folio`: if the reclaim scan
 * holds it, run the scan's wakes on it until it lets go (the thread slept
 * meanwhile; Kernel.waitFolioLock). Returns whether it did.
 */
export function finishReclaim(m: Machine, rng: Rng, k: Kernel, folio: number): boolean {
  if (m.s.isolated[0] !== folio) return false;
  while (m.s.isolated[0] === folio) reclaimStep(m, rng, k);
  return true;
}
