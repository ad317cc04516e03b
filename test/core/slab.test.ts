import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compactTyped, copyTyped } from '../../src/core/slab.js';

type Kind = 'u32' | 'i32' | 'u8';
const make = (kind: Kind, n: number) =>
  kind === 'u32' ? new Uint32Array(n) : kind === 'i32' ? new Int32Array(n) : new Uint8Array(n);
const copy = (a: Uint32Array | Int32Array | Uint8Array) => copyTyped(a);

describe('slab copies', () => {
  it('equal their source, and no two copies share a byte, across many buffers', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.constantFrom<Kind>('u32', 'i32', 'u8'), fc.integer({ min: 1, max: 3000 })),
          // Enough copies to fill several 64 KiB buffers in one run.
          { minLength: 40, maxLength: 200, size: 'max' },
        ),
        (specs) => {
          const copies = specs.map(([kind, n], j) => {
            const src = make(kind, n);
            for (let i = 0; i < n; i++) src[i] = (i * 7 + j) & 0x7f;
            const c = copy(src);
            expect(c.constructor).toBe(src.constructor);
            expect(Array.from(c)).toEqual(Array.from(src));
            return c;
          });
          // Each copy filled with its own mark: no other copy may see it.
          copies.forEach((c, j) => {
            c.fill((j % 250) + 1);
          });
          copies.forEach((c, j) => {
            expect(c.every((x) => x === (j % 250) + 1)).toBe(true);
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a copy that starts a new buffer is in the new buffer', () => {
    for (const kind of ['u32', 'i32', 'u8'] as const) {
      const copies = Array.from({ length: 300 }, (_, j) => {
        // Sizes that vary, so that a misplaced copy overlaps a neighbour.
        const n = 100 + ((j * 397) % 1900);
        const c = copy(make(kind, kind === 'u8' ? 4 * n : n));
        c.fill((j % 250) + 1);
        return c;
      });
      copies.forEach((c, j) => {
        expect([j, c[0], c[c.length - 1]]).toEqual([j, (j % 250) + 1, (j % 250) + 1]);
      });
    }
  });

  it('keeps what fits in V8 heap, and the large, as copies of their own', () => {
    const small = copyTyped(new Int32Array(16));
    expect(small.buffer.byteLength).toBe(64);
    const large = copyTyped(new Uint32Array(4096));
    expect(large.buffer.byteLength).toBe(16384);
    const mid = copyTyped(new Int32Array([1, 2, 3, ...new Array(61).fill(4)]));
    expect(mid.buffer.byteLength).toBeGreaterThan(mid.byteLength);
    const own = compactTyped(mid);
    expect(own.buffer.byteLength).toBe(own.byteLength);
    expect(Array.from(own)).toEqual(Array.from(mid));
    expect(compactTyped(large)).toBe(large);
  });
});
