/**
 * The /proc/vmstat counters a scenario reads (in its condition, `observe`
 * statements or any other expression): the explorer keeps only these in its
 * state fingerprints (canon.ts hashState()), each up to a cap.
 *
 * A counter the scenario only ever compares with number literals (`pgfault
 * > 5`, `anon_wp_copy_count == 1`) answers every such comparison the same
 * for all values above the largest literal, so the fingerprint keeps it
 * saturated there: two states that differ only in how far past it a
 * counter went are one state. The kernel model never reads a counter, so
 * their successors differ in the same way. Without the cap, a livelock
 * that raises a counter the condition reads (a write fault retried while
 * reclaim takes its page, forever) is an endless line of states instead of
 * a cycle. A counter used any other way (arithmetic, `observe`, a value
 * written to memory, beside another counter) is kept exact.
 */

import { VM_EVENT_NAMES, vmEventIndex } from '../core/vmstat.js';
import type { Expr, Scenario } from './ast.js';

/** A counter the fingerprint keeps: its index in VM_EVENT_NAMES, and the value it saturates at. */
export interface CounterRead {
  readonly index: number;
  /** Values at or above it are one; +Infinity when the counter is kept exact. */
  readonly cap: number;
}

const cache = new WeakMap<Scenario, readonly CounterRead[]>();

const COMPARISONS = new Set(['==', '!=', '<', '<=', '>', '>=']);

function counterOf(e: unknown): number | undefined {
  const o = e as { kind?: unknown; name?: unknown } | null;
  if (o === null || typeof o !== 'object' || o.kind !== 'ident' || typeof o.name !== 'string')
    return undefined;
  const i = vmEventIndex(o.name);
  return i !== undefined && i < VM_EVENT_NAMES.length ? i : undefined;
}

/** A number literal's value (or a negated one), else undefined. */
function literal(e: Expr): number | undefined {
  if (e.kind === 'num') return e.value;
  if (e.kind === 'unary' && e.op === '-' && e.arg.kind === 'num') return -e.arg.value;
  return undefined;
}

/**
 * The value from which a counter (never negative) compares with `literal`
 * the same whatever the operator: one past the literal.
 */
export function saturationCap(literal: number): number {
  return Math.max(0, Math.floor(literal) + 1);
}

/**
 * Walk the scenario: `caps` gets, per counter met, the largest literal it is
 * compared with plus one, or +Infinity once it is met anywhere else.
 */
function collect(node: unknown, caps: Map<number, number>): void {
  if (Array.isArray(node)) {
    for (const x of node) collect(x, caps);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const o = node as Record<string, unknown>;
  const here = counterOf(o);
  if (here !== undefined) {
    caps.set(here, Number.POSITIVE_INFINITY); // met outside a comparison with a literal
    return;
  }
  if (o.kind === 'binary' && COMPARISONS.has(o.op as string)) {
    const e = o as unknown as Expr & { kind: 'binary' };
    for (const [side, other] of [
      [e.left, e.right],
      [e.right, e.left],
    ] as const) {
      const c = counterOf(side);
      const lit = literal(other);
      if (c === undefined || lit === undefined) continue;
      const cap = saturationCap(lit);
      caps.set(c, Math.max(caps.get(c) ?? 0, cap));
      return;
    }
  }
  for (const v of Object.values(o)) collect(v, caps);
}

/** The counters `sc` reads, by ascending index, each with the value it saturates at. */
export function countersRead(sc: Scenario): readonly CounterRead[] {
  let c = cache.get(sc);
  if (!c) {
    const caps = new Map<number, number>();
    collect(sc, caps);
    c = [...caps].sort((a, b) => a[0] - b[0]).map(([index, cap]) => ({ index, cap }));
    cache.set(sc, c);
  }
  return c;
}
