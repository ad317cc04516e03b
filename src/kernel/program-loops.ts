/**
 * What the probe compiler needs to run a workload's loops on the real
 * kernel (docs/adr/0011-workloads.md, "on the real kernel"): arguments the
 * probe computes when an operation runs, from the thread's loop variables,
 * and the substitution of the indices that are known when compiling (a
 * thread array's instance, a short loop unrolled).
 */

import type { Expr } from '../scenario/ast.js';

/**
 * A probe argument: a number, or an RPN expression over the thread's loop
 * variables (`lN`) that probe.c evaluates when the operation runs (`$T,T,…`).
 */
export type Arg = number | { readonly rpn: readonly string[] };

export function argTokens(a: Arg): readonly string[] {
  return typeof a === 'number' ? [`#${a}`] : a.rpn;
}

export function argText(a: Arg): string {
  return typeof a === 'number' ? String(a) : `$${a.rpn.join(',')}`;
}

export function argOp(a: Arg, b: Arg, op: '+' | '-' | '*' | '/' | '%'): Arg {
  if (typeof a === 'number' && typeof b === 'number') {
    if (op === '+') return a + b;
    if (op === '-') return a - b;
    if (op === '*') return a * b;
    if (op === '/' && b !== 0) return Math.trunc(a / b);
    if (op === '%' && b !== 0) return a % b;
  }
  return { rpn: [...argTokens(a), ...argTokens(b), op] };
}

/** A loop the probe runs: its variable's slot and bounds. */
export interface Slot {
  readonly slot: number;
  readonly from: number;
  readonly to: number;
}

/** Loop variables in scope: numbers (thread-array indices, unrolled loops) and the probe's slots. */
export interface Scope {
  readonly nums: ReadonlyMap<string, number>;
  readonly slots: ReadonlyMap<string, Slot>;
}

export class NotCompiled extends Error {}

/** An index expression as a probe argument (numbers, loop variables, + - * / %). */
export function exprArg(e: Expr, scope: Scope): Arg {
  switch (e.kind) {
    case 'num':
      return e.value;
    case 'ident': {
      const n = scope.nums.get(e.name);
      if (n !== undefined) return n;
      const s = scope.slots.get(e.name);
      if (s !== undefined) return { rpn: [`l${s.slot}`] };
      break;
    }
    case 'unary':
      if (e.op === '-') return argOp(0, exprArg(e.arg, scope), '-');
      break;
    case 'binary':
      if (e.op === '+' || e.op === '-' || e.op === '*' || e.op === '/' || e.op === '%')
        return argOp(exprArg(e.left, scope), exprArg(e.right, scope), e.op);
      break;
  }
  throw new NotCompiled('an index takes numbers, loop variables and + - * / %');
}

/** Does `x` (a statement or an expression) name any of `names` as an identifier? */
export function mentions(x: unknown, names: ReadonlySet<string>): boolean {
  if (names.size === 0 || x === null || typeof x !== 'object') return false;
  if (Array.isArray(x)) return x.some((y) => mentions(y, names));
  const o = x as Record<string, unknown>;
  if (o.kind === 'ident' && typeof o.name === 'string' && names.has(o.name)) return true;
  return Object.entries(o).some(([k, v]) => k !== 'pos' && mentions(v, names));
}

/** `x` with the identifiers of `nums` replaced by numbers; references left as written. */
export function substNums<T>(x: T, nums: ReadonlyMap<string, number>): T {
  if (Array.isArray(x)) return x.map((y) => substNums(y, nums)) as T;
  if (x === null || typeof x !== 'object') return x;
  const o = x as Record<string, unknown>;
  if (o.kind === 'ident' && typeof o.name === 'string' && nums.has(o.name))
    return { kind: 'num', pos: o.pos, value: nums.get(o.name)! } as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = k === 'pos' ? v : substNums(v, nums);
  return out as T;
}

/** `name[k]` of an event or thread-array instance: [name, k], or null for a plain name. */
export function instanceOf(name: string): [string, number] | null {
  const m = /^(.*)\[(\d+)\]$/.exec(name);
  return m ? [m[1]!, Number(m[2])] : null;
}
