import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FingerprintSet, hexOf, lanesOf } from '../../src/explore/fingerprint-set.js';

describe('FingerprintSet', () => {
  it('answers as a Set of the hex fingerprints does, through growth', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 3 })), {
          maxLength: 3000,
        }),
        (keys) => {
          const set = new FingerprintSet();
          const model = new Set<string>();
          for (const [x, y] of keys) {
            // Spread the small draws over both lanes, signed and unsigned.
            const a = Math.imul(x, 0x9e3779b1);
            const b = y === 3 ? 0 : Math.imul(y + 7 * x, 0x85ebca6b);
            // The model merges (0, 0) into (0, 1), as the table does.
            const hex = hexOf(...lanesOf(hexOf(a, b)));
            expect(set.has(a, b)).toBe(model.has(hex));
            expect(set.add(a, b)).toBe(!model.has(hex));
            model.add(hex);
          }
          expect(set.size).toBe(model.size);
          expect(new Set(set.hexes())).toEqual(model);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('keeps (0, 0) apart from the empty slot, and round-trips hex', () => {
    const set = new FingerprintSet();
    expect(set.add(0, 0)).toBe(true);
    expect(set.has(0, 0)).toBe(true);
    expect(set.add(0, 0)).toBe(false);
    expect(set.size).toBe(1);
    expect(set.has(0, 1)).toBe(true); // the documented merge
    expect(lanesOf(hexOf(0xdeadbeef, 7))).toEqual([0xdeadbeef | 0, 7]);
    expect(hexOf(-1, 1)).toBe('ffffffff00000001');
  });

  it('grows past a thousand keys and stays at most half full', () => {
    const set = new FingerprintSet();
    for (let i = 1; i <= 5000; i++) expect(set.add(i, -i)).toBe(true);
    expect(set.size).toBe(5000);
    expect(set.bytes).toBeGreaterThanOrEqual(5000 * 2 * 8);
    for (let i = 1; i <= 5000; i++) expect(set.has(i, -i)).toBe(true);
    expect(set.has(5001, -5001)).toBe(false);
  });
});
