/**
 * A thread's program as written, loops kept, made one statement at a time
 * (docs/adr/0011-workloads.md): `cowherd sim` runs 10^6 rounds of a loop
 * without holding 10^6 statements. Statements that name no loop variable are
 * used as they are; the others are instantiated for the iteration
 * (unroll.ts instantiate()).
 */

import type { Expr, Ref, Scenario, Stmt } from '../scenario/ast.js';
import type { LazyProgram } from '../scenario/machine.js';
import { bounds, instantiate, refResolver } from '../scenario/unroll.js';

interface Frame {
  readonly body: readonly Stmt[];
  i: number;
  readonly var: string | null;
  v: number;
  readonly to: number;
  readonly env: Map<string, number>;
}

/** How far behind the furthest statement made a thread may ask again (a retried statement asks for pc - 1). */
const WINDOW = 4;

/** Does `st` need instantiating (names a variable, an index expression or an array instance)? */
function needsInstance(st: Stmt, cache: WeakMap<Stmt, boolean>): boolean {
  let v = cache.get(st);
  if (v === undefined) {
    const j = JSON.stringify(st);
    v =
      j.includes('"kind":"ident"') ||
      j.includes('"idx":') ||
      j.includes('"index":') ||
      j.includes('"kind":"ref"');
    cache.set(st, v);
  }
  return v;
}

type Maker = (env: ReadonlyMap<string, number>) => Stmt;

/**
 * How a statement is made for an iteration: as it is; or, when only its
 * page reference (and maybe its value) names loop variables, with the
 * reference resolved by closures made once (unroll.ts refResolver()); or
 * instantiated whole.
 */
function makerOf(
  sc: Scenario,
  st: Stmt,
  arrays: ReadonlySet<string>,
  cache: WeakMap<Stmt, boolean>,
): Maker {
  if (!needsInstance(st, cache)) return () => st;
  const o = st as unknown as Record<string, unknown>;
  const ref = o.ref as Ref | undefined;
  const others = Object.keys(o).filter((k) => k !== 'pos' && k !== 'ref' && k !== 'value');
  const plain = others.every((k) => !needsInstance({ [k]: o[k] } as unknown as Stmt, cache));
  if (ref?.idx && plain) {
    const resolve = refResolver(sc, ref);
    const value = o.value as Expr | undefined;
    const valueVaries = value !== undefined && needsInstance({ value } as unknown as Stmt, cache);
    return (env) =>
      ({
        ...o,
        ref: resolve(env),
        ...(valueVaries ? { value: instantiate(sc, value, env, arrays) } : {}),
      }) as unknown as Stmt;
  }
  return (env) => instantiate(sc, st, env, arrays);
}

export class LoopCursor implements LazyProgram {
  private readonly frames: Frame[];
  private made = 0;
  private readonly window = new Map<number, Stmt>();
  private ended = false;
  private readonly cache = new WeakMap<Stmt, boolean>();
  private readonly makers = new WeakMap<Stmt, Maker>();

  constructor(
    private readonly sc: Scenario,
    body: readonly Stmt[],
    env: ReadonlyMap<string, number>,
    private readonly arrays: ReadonlySet<string>,
  ) {
    this.frames = [{ body, i: 0, var: null, v: 0, to: 0, env: new Map(env) }];
  }

  at(pc: number): Stmt | undefined {
    while (!this.ended && this.made <= pc) {
      const st = this.produce();
      if (st === undefined) {
        this.ended = true;
        break;
      }
      this.window.set(this.made, st);
      this.window.delete(this.made - WINDOW);
      this.made++;
    }
    if (pc >= this.made) return undefined;
    const st = this.window.get(pc);
    if (st === undefined)
      throw new Error(`tool bug: statement ${pc} asked after ${this.made} were made`);
    return st;
  }

  private readonly barrenBodies = new WeakMap<readonly Stmt[], boolean>();

  /** Does `body` hold nothing but loops that hold nothing? */
  private barren(body: readonly Stmt[]): boolean {
    let b = this.barrenBodies.get(body);
    if (b === undefined) {
      b = body.every((st) => st.op === 'repeat' && this.barren(st.body));
      this.barrenBodies.set(body, b);
    }
    return b;
  }

  private produce(): Stmt | undefined {
    for (;;) {
      const f = this.frames.at(-1);
      if (!f) return undefined;
      if (f.i >= f.body.length) {
        if (f.var !== null || f.to > 0) {
          if (f.v + 1 < f.to) {
            f.v++;
            if (f.var !== null) f.env.set(f.var, f.v);
            f.i = 0;
            continue;
          }
        }
        this.frames.pop();
        continue;
      }
      const st = f.body[f.i++]!;
      if (st.op === 'repeat') {
        const [from, to] = bounds(this.sc, st, f.env);
        // A loop that makes no statement (only empty loops inside) is skipped whole.
        if (from === to || this.barren(st.body)) continue;
        const env = new Map(f.env);
        if (st.var !== null) env.set(st.var, from);
        // `to` > 0 marks a loop frame (a zero-length one was skipped above).
        this.frames.push({ body: st.body, i: 0, var: st.var, v: from, to, env });
        continue;
      }
      let make = this.makers.get(st);
      if (make === undefined) {
        make = makerOf(this.sc, st, this.arrays, this.cache);
        this.makers.set(st, make);
      }
      return make(f.env);
    }
  }
}
