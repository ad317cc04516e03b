/**
 * Loops and thread arrays, expanded (docs/adr/0011-workloads.md): `repeat`
 * becomes its body once per value of the loop variable, `thread child[i in
 * A..B]` becomes the threads `child[A]` … `child[B-1]`, and every index or
 * value that names a loop variable becomes a number. What check, run, explore
 * and the kernel runner take is the expanded scenario, with the positions of
 * the statements as written; `cowherd sim` runs the loops without expanding.
 */

import type { Expr, Ref, Scenario, Stmt, ThreadDecl } from './ast.js';
import { InputError } from './errors.js';

/** The most statements an expansion may give: explore and run hold every one. */
export const MAX_EXPANDED = 20_000;

/** A sampled expansion (expandScenario's `sample`) runs loops up to this long whole. */
const SAMPLE_WHOLE = 4096;
/** The iterations a sampled expansion visits in all before it runs only each loop's first. */
const SAMPLE_VISITS = 200_000;

type Env = ReadonlyMap<string, number>;

/** A loop bound or a page index: numbers, loop variables and + - * / % (integer division, C's remainder). */
export function evalIndex(sc: Pick<Scenario, 'file'>, e: Expr, env: Env): number {
  switch (e.kind) {
    case 'num':
      return e.value;
    case 'ident': {
      const v = env.get(e.name);
      if (v === undefined)
        throw new InputError(
          'SC003',
          `'${e.name}' is not a loop variable or a const here: a page index or a loop bound takes numbers, consts and loop variables`,
          sc.file,
          e.pos,
        );
      return v;
    }
    case 'unary':
      if (e.op === '-') return -evalIndex(sc, e.arg, env);
      break;
    case 'binary': {
      const a = evalIndex(sc, e.left, env);
      const b = evalIndex(sc, e.right, env);
      if (e.op === '+') return a + b;
      if (e.op === '-') return a - b;
      if (e.op === '*') return a * b;
      if (e.op === '/') {
        if (b === 0) throw new InputError('SC004', 'division by zero', sc.file, e.pos);
        return Math.trunc(a / b);
      }
      if (e.op === '%') {
        if (b === 0)
          throw new InputError('SC004', 'remainder of a division by zero', sc.file, e.pos);
        return a % b;
      }
      break;
    }
  }
  throw new InputError(
    'SC004',
    'a page index or a loop bound takes numbers, consts, loop variables and + - * / %',
    sc.file,
    e.pos,
  );
}

/**
 * evalIndex() made once for an expression, for a loop that evaluates it
 * every iteration (`cowherd sim`): the same values, and for anything it
 * cannot compute (an unknown name, a division by zero) the same error.
 */
export function compileIndex(sc: Pick<Scenario, 'file'>, e: Expr): (env: Env) => number {
  const slow = (env: Env) => evalIndex(sc, e, env);
  switch (e.kind) {
    case 'num': {
      const v = e.value;
      return () => v;
    }
    case 'ident': {
      const name = e.name;
      return (env) => env.get(name) ?? slow(env);
    }
    case 'unary': {
      if (e.op !== '-') return slow;
      const a = compileIndex(sc, e.arg);
      return (env) => -a(env);
    }
    case 'binary': {
      const l = compileIndex(sc, e.left);
      const r = compileIndex(sc, e.right);
      switch (e.op) {
        case '+':
          return (env) => l(env) + r(env);
        case '-':
          return (env) => l(env) - r(env);
        case '*':
          return (env) => l(env) * r(env);
        case '/':
          return (env) => {
            const b = r(env);
            return b === 0 ? slow(env) : Math.trunc(l(env) / b);
          };
        case '%':
          return (env) => {
            const b = r(env);
            return b === 0 ? slow(env) : l(env) % b;
          };
      }
      return slow;
    }
  }
  return slow;
}

/** resolveRef() made once for a reference with index expressions (see compileIndex()). */
export function refResolver(sc: Scenario, r: Ref): (env: Env) => Ref {
  const idx = r.idx!;
  const from = compileIndex(sc, idx.from);
  const to = idx.to === null ? null : compileIndex(sc, idx.to);
  const step = idx.step === null ? null : compileIndex(sc, idx.step);
  return (env) => {
    const f = from(env);
    const t = to === null ? f + 1 : to(env);
    const st = step === null ? 1 : step(env);
    if (f < 0 || st < 1 || (to !== null && t <= f)) return resolveRef(sc, r, env);
    return { pos: r.pos, map: r.map, from: f, to: t, step: st, single: to === null };
  };
}

/** The values a loop or a thread array runs over: [from, to), to ≥ from. */
export function bounds(sc: Scenario, r: { from: Expr; to: Expr }, env: Env): [number, number] {
  const from = evalIndex(sc, r.from, env);
  const to = evalIndex(sc, r.to, env);
  for (const [v, e] of [
    [from, r.from],
    [to, r.to],
  ] as const)
    if (!Number.isSafeInteger(v) || v < 0)
      throw new InputError('SC004', `loop bound ${v} is not a whole number ≥ 0`, sc.file, e.pos);
  return [from, Math.max(from, to)];
}

/** Does anything in the scenario need expanding? */
export function hasLoops(sc: Scenario): boolean {
  const loops = (body: readonly Stmt[]): boolean =>
    body.some((st) => st.op === 'repeat' || JSON.stringify(st).includes('"idx":'));
  return (
    loops(sc.setup) ||
    sc.threads.some((t) => t.array !== undefined || loops(t.body)) ||
    JSON.stringify(sc.condition).includes('"idx":')
  );
}

/** How many statements `body` expands to (stops counting past `limit`). */
export function expandedCount(
  sc: Scenario,
  body: readonly Stmt[],
  env: Env,
  limit: number,
): number {
  let n = 0;
  for (const st of body) {
    if (n > limit) return n;
    if (st.op !== 'repeat') {
      n++;
      continue;
    }
    const [from, to] = bounds(sc, st, env);
    if (from === to) continue;
    const inner = new Map(env);
    if (st.var !== null) inner.set(st.var, from);
    // Each iteration counts its statements, and at least 1: an iteration
    // that makes no statement still costs the expansion a visit, so that
    // nested empty loops cannot make it run for ever.
    if (st.var === null || !boundsMention(st.body, st.var))
      n += Math.max(1, expandedCount(sc, st.body, inner, limit - n)) * (to - from);
    // A body whose size depends on the loop variable: count every iteration.
    else
      for (let v = from; v < to && n <= limit; v++) {
        inner.set(st.var, v);
        n += Math.max(1, expandedCount(sc, st.body, inner, limit - n));
      }
  }
  return n;
}

/** Does a loop nested in `body` take its bounds from `name`? */
function boundsMention(body: readonly Stmt[], name: string): boolean {
  return body.some(
    (st) =>
      st.op === 'repeat' &&
      (mentions(st.from, name) || mentions(st.to, name) || boundsMention(st.body, name)),
  );
}

/** Does expression `x` read the name `name` anywhere? */
function mentions(x: unknown, name: string): boolean {
  if (Array.isArray(x)) return x.some((y) => mentions(y, name));
  if (x === null || typeof x !== 'object') return false;
  const o = x as Record<string, unknown>;
  if (o.kind === 'ident' && o.name === name) return true;
  return Object.entries(o).some(([k, v]) => k !== 'pos' && mentions(v, name));
}

/** A copy of `x` with loop variables replaced by their values and index expressions evaluated. */
function subst<T>(sc: Scenario, x: T, env: Env, arrays: ReadonlySet<string>): T {
  if (Array.isArray(x)) return x.map((y) => subst(sc, y, env, arrays)) as T;
  if (x === null || typeof x !== 'object') return x;
  const o = x as Record<string, unknown>;
  if (o.kind === 'ident' && typeof o.name === 'string' && env.has(o.name))
    return { kind: 'num', pos: o.pos, value: env.get(o.name)! } as T;
  if (o.kind === 'ref') {
    const ref = subst(sc, o.ref as Ref, env, arrays);
    // child[3] in a condition or observe: an instance of a thread array, not a page.
    if (arrays.has(ref.map) && ref.single)
      return { kind: 'ident', pos: o.pos, name: `${ref.map}[${ref.from}]` } as T;
    return { ...o, ref } as T;
  }
  if ('map' in o && 'single' in o && o.idx) return resolveRef(sc, o as unknown as Ref, env) as T;
  if ((o.op === 'fork' || o.op === 'spawn' || o.op === 'wait') && o.index) {
    const { index, ...rest } = o;
    const k = evalIndex(sc, index as Expr, env);
    return { ...subst(sc, rest, env, arrays), thread: `${o.thread as string}[${k}]` } as T;
  }
  if ((o.op === 'signal' || o.op === 'await') && o.index) {
    const { index, ...rest } = o;
    const k = evalIndex(sc, index as Expr, env);
    return { ...subst(sc, rest, env, arrays), event: `${o.event as string}[${k}]` } as T;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = k === 'pos' ? v : subst(sc, v, env, arrays);
  // `i + 1` with i = 2 reads 3 in traces (+ - * only: / is the expression's own).
  if (out.kind === 'binary' && ['+', '-', '*'].includes(out.op as string)) {
    const l = out.left as Expr;
    const r = out.right as Expr;
    if (l.kind === 'num' && r.kind === 'num') {
      const v =
        out.op === '+' ? l.value + r.value : out.op === '-' ? l.value - r.value : l.value * r.value;
      if (Number.isSafeInteger(v) && v >= 0) return { kind: 'num', pos: out.pos, value: v } as T;
    }
  }
  return out as T;
}

/**
 * A statement or an expression with the loop variables of `env` replaced
 * (indices and values evaluated, `child[k]` read as a thread's name): what a
 * loop's body runs as in one iteration, or a condition over thread arrays.
 */
export function instantiate<T extends Stmt | Expr>(
  sc: Scenario,
  x: T,
  env: ReadonlyMap<string, number>,
  arrays: ReadonlySet<string>,
): T {
  return subst(sc, x, env, arrays);
}

/**
 * The threads a scenario starts, in declaration order: a plain thread as
 * itself, a thread array `child[i in A..B]` as `child[A]` … `child[B-1]`,
 * each with its index bound (what expansion, sim and the probe compiler
 * each run a body under).
 */
export function threadInstances(
  sc: Scenario,
): { readonly decl: ThreadDecl; readonly name: string; readonly env: Map<string, number> }[] {
  const out: { decl: ThreadDecl; name: string; env: Map<string, number> }[] = [];
  for (const t of sc.threads) {
    if (!t.array) {
      out.push({ decl: t, name: t.name, env: new Map() });
      continue;
    }
    const [from, to] = bounds(sc, t.array, new Map());
    for (let k = from; k < to; k++)
      out.push({ decl: t, name: `${t.name}[${k}]`, env: new Map([[t.array.var, k]]) });
  }
  return out;
}

/** The names of the scenario's thread arrays. */
export function threadArrays(sc: Scenario): Set<string> {
  return new Set(sc.threads.filter((t) => t.array).map((t) => t.name));
}

function resolveRef(sc: Scenario, r: Ref, env: Env): Ref {
  const idx = r.idx!;
  const from = evalIndex(sc, idx.from, env);
  const to = idx.to === null ? from + 1 : evalIndex(sc, idx.to, env);
  const step = idx.step === null ? 1 : evalIndex(sc, idx.step, env);
  if (from < 0) throw new InputError('SC004', `page index ${from} is negative`, sc.file, r.pos);
  if (step < 1) throw new InputError('SC004', 'step must be at least one page', sc.file, r.pos);
  if (idx.to !== null && to <= from)
    throw new InputError('SC004', `empty range ${from}..${to}`, sc.file, r.pos);
  return { pos: r.pos, map: r.map, from, to, step, single: idx.to === null };
}

function expandBody(
  sc: Scenario,
  body: readonly Stmt[],
  env: Env,
  arrays: ReadonlySet<string>,
  out: Stmt[],
  sample: { visits: number } | null,
): void {
  for (const st of body) {
    if (st.op !== 'repeat') {
      out.push(subst(sc, st, env, arrays));
      continue;
    }
    const [from, to] = bounds(sc, st, env);
    const inner = new Map(env);
    for (const v of sample ? sampled(from, to, sample) : range(from, to)) {
      if (st.var !== null) inner.set(st.var, v);
      expandBody(sc, st.body, inner, arrays, out, sample);
    }
  }
}

function* range(from: number, to: number): Generator<number> {
  for (let v = from; v < to; v++) yield v;
}

/**
 * The iterations a sampled expansion runs: a short loop (the forks of a
 * thread array) whole, so that every instance is started; a long one its
 * first and last; and, once SAMPLE_VISITS iterations were visited in all
 * (nested loops multiply), only the first.
 */
function sampled(from: number, to: number, budget: { visits: number }): number[] {
  if (from >= to) return [];
  const n = to - from;
  const values =
    n <= SAMPLE_WHOLE && budget.visits + n <= SAMPLE_VISITS
      ? [...range(from, to)]
      : n > 1 && budget.visits + 2 <= SAMPLE_VISITS
        ? [from, to - 1]
        : [from];
  budget.visits += values.length;
  return values;
}

/**
 * The scenario with its loops and thread arrays expanded; the scenario itself
 * when it has none. SC009 when the expansion would exceed `limit` statements.
 * With `sample`, each loop longer than 4096 iterations runs its first and
 * last only (for checking a workload's names and ranges without expanding it).
 */
export function expandScenario(sc: Scenario, limit = MAX_EXPANDED, sample = false): Scenario {
  if (!hasLoops(sc)) return sc;
  const none: Env = new Map();
  if (sc.threads[0]?.array)
    throw new InputError(
      'SC007',
      `the initial thread '${sc.threads[0].name}' cannot be a thread array`,
      sc.file,
      sc.threads[0].pos,
    );
  const arrays = new Set(sc.threads.filter((t) => t.array).map((t) => t.name));
  const decls = threadInstances(sc);
  let total = sample ? 0 : expandedCount(sc, sc.setup, none, limit);
  for (const d of decls) {
    if (sample || total > limit) break;
    total += expandedCount(sc, d.decl.body, d.env, limit - total);
  }
  if (total > limit) {
    const first = [sc.setup, ...sc.threads.map((t) => t.body)]
      .flat()
      .find((st) => st.op === 'repeat');
    throw new InputError(
      'SC009',
      `the loops expand to more than ${limit} statements, more than check, run, explore and kernel take: cowherd sim runs them as loops`,
      sc.file,
      first?.pos ?? sc.threads.find((t) => t.array)?.pos ?? null,
    );
  }
  const setup: Stmt[] = [];
  const budget = sample ? { visits: 0 } : null;
  expandBody(sc, sc.setup, none, arrays, setup, budget);
  const threads: ThreadDecl[] = decls.map(({ decl, env, name }) => {
    const body: Stmt[] = [];
    expandBody(sc, decl.body, env, arrays, body, budget);
    return { pos: decl.pos, name, body };
  });
  return {
    ...sc,
    setup,
    threads,
    condition: subst(sc, sc.condition, none, arrays),
  };
}
