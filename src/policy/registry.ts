/**
 * Every era and proposal id of DESIGN.md, with its kernel range, and the
 * policy bundle where it is modelled. An era listed here without a policy is
 * not modelled yet: asking for it is an input error, never a silent fallback.
 */

import type { EraId, Policy, PtStrategy } from '../core/points.js';
import { foll_break_cow } from './eras/foll-break-cow.js';
import { full_accuracy } from './eras/full-accuracy.js';
import { linus_rules } from './eras/linus-rules.js';
import { v5_7 } from './eras/v5.7.js';
import { v5_8 } from './eras/v5.8.js';
import { v5_9 } from './eras/v5.9.js';
import { v5_18 } from './eras/v5.18.js';
import { v5_19 } from './eras/v5.19.js';
import { v6_2 } from './eras/v6.2.js';
import { v6_18 } from './eras/v6.18.js';
import { wait_for_gup } from './eras/wait-for-gup.js';
import { ptStrategyInfo, splitPolicyId, withPtStrategy } from './pt-strategies.js';

export interface EraInfo {
  readonly id: EraId;
  readonly kernels: string;
  readonly title: string;
  readonly policy: Policy | null;
}

const era = (p: Policy): EraInfo => ({ id: p.id, kernels: p.kernels, title: p.title, policy: p });

export const ERAS: readonly EraInfo[] = [
  era(v5_7),
  era(v5_8),
  era(v5_9),
  era(v5_18),
  era(v5_19),
  era(v6_2),
  era(v6_18),
  era(foll_break_cow),
  era(full_accuracy),
  era(linus_rules),
  era(wait_for_gup),
];

const BY_ID: ReadonlyMap<string, EraInfo> = new Map(ERAS.map((e) => [e.id, e]));

export function eraInfo(id: string): EraInfo | undefined {
  return BY_ID.get(id);
}

/** Ids of the eras whose policy is complete, in table order. */
export function completeEraIds(): EraId[] {
  return ERAS.filter((e) => e.policy?.complete).map((e) => e.id);
}

export function isEraId(id: string): id is EraId {
  return BY_ID.has(id);
}

/**
 * Why `id` (ERA or ERA/STRATEGY, ADR 0013) names no policy that can run:
 * 'era' unknown era, 'era-unmodelled', 'pt' unknown strategy,
 * 'pt-unmodelled'; or the policy.
 */
export function lookupPolicy(
  id: string,
):
  | { readonly policy: Policy }
  | { readonly error: 'era' | 'era-unmodelled' | 'pt' | 'pt-unmodelled'; readonly name: string } {
  const { era, pt } = splitPolicyId(id);
  const info = BY_ID.get(era);
  if (!info) return { error: 'era', name: era };
  if (!info.policy?.complete) return { error: 'era-unmodelled', name: era };
  if (pt === null) return { policy: info.policy };
  const s = ptStrategyInfo(pt);
  if (!s) return { error: 'pt', name: pt };
  if (!s.modelled) return { error: 'pt-unmodelled', name: pt };
  return { policy: withPtStrategy(info.policy, s.id) };
}

/** The policy of a known, modelled ERA or ERA/STRATEGY id (a replay token's, a worker's); throws otherwise. */
export function policyById(id: string): Policy {
  const r = lookupPolicy(id);
  if ('error' in r) throw new Error(`no runnable policy '${id}' (${r.error} ${r.name})`);
  return r.policy;
}

/** Whether `id` names an era or ERA/STRATEGY with a listed strategy (modelled or not): what expectations may name. */
export function isPolicyId(id: string): boolean {
  const { era, pt } = splitPolicyId(id);
  return (era === '*' || BY_ID.has(era)) && (pt === null || ptStrategyInfo(pt) !== undefined);
}

export type { PtStrategy };
