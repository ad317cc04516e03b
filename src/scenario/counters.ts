/**
 * The /proc/vmstat counters a scenario reads (in its condition, `observe`
 * statements or any other expression): the explorer keeps only these in its
 * state fingerprints (canon.ts hashState()).
 */

import { VM_EVENT_NAMES, vmEventIndex } from '../core/vmstat.js';
import type { Scenario } from './ast.js';

const cache = new WeakMap<Scenario, readonly number[]>();

function collect(node: unknown, out: Set<number>): void {
  if (Array.isArray(node)) {
    for (const x of node) collect(x, out);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const o = node as Record<string, unknown>;
  if (o.kind === 'ident' && typeof o.name === 'string') {
    const i = vmEventIndex(o.name);
    if (i !== undefined) out.add(i);
  }
  for (const v of Object.values(o)) collect(v, out);
}

/** Indices into VM_EVENT_NAMES of the counters `sc` reads, ascending. */
export function countersRead(sc: Scenario): readonly number[] {
  let c = cache.get(sc);
  if (!c) {
    const found = new Set<number>();
    collect(sc, found);
    c = [...found].filter((i) => i < VM_EVENT_NAMES.length).sort((a, b) => a - b);
    cache.set(sc, c);
  }
  return c;
}
