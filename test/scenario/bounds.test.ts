import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Expr } from '../../src/scenario/ast.js';
import { type Bounds, evalBounds, evalWith, truthOf } from '../../src/scenario/expr.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { exprText } from '../../src/scenario/print.js';

const pos = { file: 't', line: 1, col: 1 };
const OPS = ['&&', '||', '==', '!=', '<', '<=', '>', '>=', '+', '-', '*', '/'] as const;

/** Expressions over the leaves x0..x2 and small numbers. */
const exprArb: fc.Arbitrary<Expr> = fc.letrec<{ e: Expr }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer({ min: -3, max: 3 }).map((value): Expr => ({ kind: 'num', pos, value })),
    fc.constantFrom('x0', 'x1', 'x2').map((name): Expr => ({ kind: 'ident', pos, name })),
    fc
      .record({ op: fc.constantFrom('!' as const, '-' as const), arg: tie('e') })
      .map(({ op, arg }): Expr => ({ kind: 'unary', pos, op, arg })),
    fc
      .record({ op: fc.constantFrom(...OPS), left: tie('e'), right: tie('e') })
      .map(({ op, left, right }): Expr => ({ kind: 'binary', pos, op, left, right })),
  ),
})).e;

/** Bounds per leaf, and a value inside each. */
const leavesArb = fc.array(
  fc.tuple(fc.integer({ min: -4, max: 4 }), fc.nat(4), fc.nat(4)).map(([lo, width, at]) => ({
    bounds: [lo, lo + width] as Bounds,
    value: lo + (at % (width + 1)),
  })),
  { minLength: 3, maxLength: 3 },
);

const name = (x: Expr) => Number((x as { name: string }).name.slice(1));

describe('evalBounds()', () => {
  it('contains what evalWith() gives for every choice of leaves within their bounds', () => {
    fc.assert(
      fc.property(exprArb, leavesArb, (e, leaves) => {
        const [lo, hi] = evalBounds(e, (x) => leaves[name(x)]!.bounds);
        const v = evalWith(e, (x) => leaves[name(x)]!.value);
        expect(v).toBeGreaterThanOrEqual(lo);
        expect(v).toBeLessThanOrEqual(hi);
        const t = truthOf([lo, hi]);
        if (t !== undefined) expect(v !== 0 ? 1 : 0).toBe(t);
      }),
      { numRuns: 2000 },
    );
  });

  it('is exact where every leaf is', () => {
    fc.assert(
      fc.property(exprArb, leavesArb, (e, leaves) => {
        const v = evalWith(e, (x) => leaves[name(x)]!.value);
        const b = evalBounds(e, (x) => {
          const w = leaves[name(x)]!.value;
          return [w, w];
        });
        expect(b).toEqual([v, v]);
      }),
      { numRuns: 2000 },
    );
  });

  it('decides a comparison when the bounds do not overlap, and leaves it open when they do', () => {
    const x0: Expr = { kind: 'ident', pos, name: 'x0' };
    const eq1: Expr = {
      kind: 'binary',
      pos,
      op: '==',
      left: x0,
      right: { kind: 'num', pos, value: 1 },
    };
    expect(truthOf(evalBounds(eq1, () => [0, 3]))).toBeUndefined();
    expect(truthOf(evalBounds(eq1, () => [0, 0]))).toBe(0);
    expect(truthOf(evalBounds(eq1, () => [1, 1]))).toBe(1);
  });
});

describe('exprText()', () => {
  it('writes an expression that parses back to the same value, with only the parentheses it needs', () => {
    fc.assert(
      fc.property(exprArb, leavesArb, (e, leaves) => {
        const text = exprText(e);
        const sc = parseScenario(
          `scenario p\nthread t { observe ${text} -> r }\nexists (${text})\n`,
          'p.cow',
        );
        const back = sc.condition;
        const value = (x: Expr) => evalWith(x, (l) => leaves[name(l)]!.value);
        expect(value(back)).toBe(value(e));
        expect(exprText(back)).toBe(text);
      }),
      { numRuns: 1000 },
    );
    const sum = parseScenario(
      'scenario s\nthread t { read a[0] }\nexists (a1 + a2 + a3 == 3 && !(b || c))\n',
      's.cow',
    );
    expect(exprText(sum.condition)).toBe('a1 + a2 + a3 == 3 && !(b || c)');
  });
});
