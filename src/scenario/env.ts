/**
 * Environment actors (`env` lines, ast.ts EnvActor): kernel activity that is
 * not one of the scenario's threads. The explorer offers their steps between
 * any two thread steps; the sequential runner never takes them (a quiet
 * machine), so that `run` shows the undisturbed path.
 */

import { lru_add_drain_cpu } from '../core/mm/swap.js';
import { reclaimCandidates, reclaimRelease, reclaimTake } from '../core/mm/vmscan.js';
import type { Machine } from './machine.js';

/** One step an actor can take now. */
export type EnvStep =
  | { readonly actor: 'lru_add_drain'; readonly cpu: number }
  | { readonly actor: 'reclaim'; readonly take: boolean; readonly folio: number };

/** The steps the enabled actors can take in machine `m`. */
export function envSteps(m: Machine): EnvStep[] {
  const out: EnvStep[] = [];
  if (m.sc.env.includes('lru_batches')) {
    m.s.lru_batch.forEach((b, cpu) => {
      if (b.length > 0) out.push({ actor: 'lru_add_drain', cpu });
    });
  }
  if (m.sc.env.includes('reclaim')) {
    // One reclaim scan at a time, holding at most one folio (enough for a litmus test).
    const held = m.s.isolated[0];
    if (held !== undefined) out.push({ actor: 'reclaim', take: false, folio: held });
    else
      for (const folio of reclaimCandidates(m.s)) out.push({ actor: 'reclaim', take: true, folio });
  }
  return out;
}

/** Take one actor step; returns what it did, as a trace note. */
export function stepEnv(m: Machine, e: EnvStep): string {
  switch (e.actor) {
    case 'lru_add_drain':
      lru_add_drain_cpu(m.s, e.cpu);
      return `lru_add_drain_cpu(${e.cpu}): CPU ${e.cpu}'s LRU add batch goes onto the LRU`;
    case 'reclaim':
      if (e.take) {
        reclaimTake(m.s, e.folio);
        return `shrink_folio_list: isolates and locks folio ${e.folio}`;
      }
      reclaimRelease(m.s, e.folio);
      return `shrink_folio_list: folio ${e.folio} is referenced: unlocks it and puts it back`;
  }
}

/** The actor's name as a trace shows it in the thread column. */
export function envActorName(e: EnvStep): string {
  return e.actor === 'lru_add_drain' ? `lru_add_drain/${e.cpu}` : 'reclaim';
}

/** A stable text key of a step (replay tokens name env steps by it). */
export function envStepKey(e: EnvStep): string {
  return e.actor === 'lru_add_drain' ? `d${e.cpu}` : `${e.take ? 'r' : 'u'}${e.folio}`;
}
