/**
 * Environment actors (`env` lines, ast.ts EnvActor): kernel activity that is
 * not one of the scenario's threads. The explorer offers their steps between
 * any two thread steps; the sequential runner never takes them (a quiet
 * machine), so that `run` shows the undisturbed path. One actor needs no
 * `env` line: the swap device, which ends the writes of the folios under
 * writeback (folio_end_writeback()) at any step after pageout() started them;
 * on this kind of machine a 4 KiB swap write takes about 30 µs, longer than
 * the next statement of a test (docs/fidelity.md). The device ends every
 * write in flight at once: a write that started later never ends first (one
 * move instead of one per folio, which would be 2^512 orders for a THP split
 * and swapped out page by page).
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
import { HPAGE_PMD_SIZE } from '../core/pgtable_types.js';
import type { Kernel } from '../core/points.js';
import type { Machine } from './machine.js';

/** One step an actor can take now. */
export type EnvStep =
  | { readonly actor: 'lru_add_drain'; readonly cpu: number }
  | KsmdStep
  /** khugepaged collapses the 2 MiB range at `haddr` of mm `mm`. */
  | { readonly actor: 'khugepaged'; readonly mm: number; readonly haddr: number }
  /** The swap device finishes every write in flight (folio_end_writeback() on each folio). */
  | { readonly actor: 'writeback' }
  | {
      readonly actor: 'reclaim';
      /**
       * take: isolate and lock; keep: unlock and put back; pageout: the next step of
       * swapping it out (shrink_folio_list(): into the swap cache, then unmap and free).
       */
      readonly action: ReclaimAction;
      readonly folio: number;
    };

export type ReclaimAction = 'take' | 'keep' | 'pageout';

/** A ksmd merge, by its index in ksmMerges() of the state it is taken in. */
export interface KsmdStep {
  readonly actor: 'ksmd';
  readonly index: number;
}

/** The steps the enabled actors can take in machine `m`. */
export function envSteps(m: Machine): EnvStep[] {
  const out: EnvStep[] = [];
  if (startsWriteback(m) && foliosUnderWriteback(m.s).length > 0) out.push({ actor: 'writeback' });
  if (m.sc.env.includes('lru_batches')) {
    m.s.lru_batch.forEach((b, cpu) => {
      if (b.length > 0) out.push({ actor: 'lru_add_drain', cpu });
    });
  }
  if (m.sc.env.includes('reclaim')) {
    // One reclaim scan at a time, holding at most one folio (enough for a litmus test).
    const held = m.s.isolated[0];
    if (held !== undefined) {
      // A stopped rmap walk (try_to_unmap()) can only go on.
      if (m.s.rmap_walk === null) out.push({ actor: 'reclaim', action: 'keep', folio: held });
      out.push({ actor: 'reclaim', action: 'pageout', folio: held });
    } else
      for (const folio of reclaimCandidates(m.s))
        out.push({ actor: 'reclaim', action: 'take', folio });
  }
  if (m.sc.env.includes('khugepaged'))
    for (const r of khugepagedCandidates(m.s)) out.push({ actor: 'khugepaged', ...r });
  if (m.sc.env.includes('ksmd')) {
    const merges = ksmMerges(m.s).length;
    for (let index = 0; index < merges; index++) out.push({ actor: 'ksmd', index });
  }
  return out;
}

/**
 * Take one actor step; returns what it did, as a trace note. `k` is the
 * kernel context reclaim's decisions run in (the era, the decision log).
 */
export function stepEnv(m: Machine, e: EnvStep, k: Kernel): string {
  switch (e.actor) {
    case 'lru_add_drain':
      lru_add_drain_cpu(m.s, e.cpu);
      return `lru_add_drain_cpu(${e.cpu}): CPU ${e.cpu}'s LRU add batch goes onto the LRU`;
    case 'khugepaged':
      return `khugepaged: ${khugepagedCollapse(m.s, k, e)}`;
    case 'writeback': {
      const folios = foliosUnderWriteback(m.s);
      for (const folio of folios) folio_end_writeback(m.s, folio);
      return `folio_end_writeback: the swap device wrote folio${folios.length > 1 ? 's' : ''} ${folios.join(', ')}; clean, still in the swap cache`;
    }
    case 'ksmd': {
      const merge = ksmMerges(m.s)[e.index];
      if (!merge) throw new Error(`tool bug: ksmd has no merge ${e.index}`);
      return `ksmd: ${ksmdMerge(m.s, k, merge).text}`;
    }
    case 'reclaim':
      switch (e.action) {
        case 'take':
          reclaimTake(m.s, e.folio);
          return `shrink_folio_list: isolates and locks folio ${e.folio}`;
        case 'keep':
          reclaimRelease(m.s, e.folio);
          return `shrink_folio_list: folio ${e.folio} is referenced: unlocks it and puts it back`;
        case 'pageout': {
          const r = shrink_folio_list(m.s, k, e.folio, true);
          return `shrink_folio_list: folio ${e.folio}: ${r.why}`;
        }
      }
  }
}

/** The actor's name as a trace shows it in the thread column. */
export function envActorName(e: EnvStep): string {
  return e.actor === 'lru_add_drain' ? `lru_add_drain/${e.cpu}` : e.actor;
}

/** A stable text key of a step (replay tokens name env steps by it). */
export function envStepKey(e: EnvStep): string {
  if (e.actor === 'lru_add_drain') return `d${e.cpu}`;
  if (e.actor === 'ksmd') return `k${e.index}`;
  if (e.actor === 'khugepaged') return `h${e.mm}.${e.haddr / HPAGE_PMD_SIZE}`;
  if (e.actor === 'writeback') return 'w';
  return `${RECLAIM_KEY[e.action]}${e.folio}`;
}

const RECLAIM_KEY: Readonly<Record<ReclaimAction, string>> = { take: 'r', keep: 'u', pageout: 'o' };

/** The reclaim action a replay-token letter names. */
export function reclaimActionOf(letter: string): ReclaimAction | undefined {
  return (Object.keys(RECLAIM_KEY) as ReclaimAction[]).find((a) => RECLAIM_KEY[a] === letter);
}

const swapsOut = new WeakMap<object, boolean>();

/**
 * Can a run of this scenario put a folio under writeback (MADV_PAGEOUT, or
 * `env reclaim`)? Only then is the swap device looked for in every state.
 */
export function startsWriteback(m: Machine): boolean {
  let v = swapsOut.get(m.sc);
  if (v === undefined) {
    const all = [...m.sc.setup, ...m.sc.threads.flatMap((t) => t.body)];
    v =
      m.sc.env.includes('reclaim') ||
      all.some((st) => st.op === 'madvise' && st.advice === 'pageout');
    swapsOut.set(m.sc, v);
  }
  return v;
}

/**
 * Can actors ever step in a run of this scenario: an `env` line, or a
 * statement that can start writeback (MADV_PAGEOUT)? The explorer's
 * partial-order reduction holds only without them.
 */
export function actorsPossible(m: Machine): boolean {
  return m.sc.env.length > 0 || startsWriteback(m);
}
