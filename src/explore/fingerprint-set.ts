/**
 * The visited set of a search: 64-bit machine fingerprints as pairs of
 * 32-bit lanes in one Int32Array, open addressing with linear probing, kept
 * at most half full (doubled and rehashed past that). (0, 0) marks an empty
 * slot; a fingerprint of (0, 0) is stored as (0, 1), a merge the 64-bit key
 * space makes irrelevant. Eight bytes a slot, where a Set of 16-digit hex
 * strings costs about ten times that and a string per transition.
 */

/** A machine fingerprint: its two 32-bit lanes (canon.ts Fingerprint.lanes()). */
export type Lanes = readonly [number, number];

/** The lanes of a 16-hex-digit fingerprint, as stored (signed 32-bit, (0, 0) made (0, 1)). */
export function lanesOf(hex: string): [number, number] {
  const a = Number.parseInt(hex.slice(0, 8), 16) | 0;
  const b = Number.parseInt(hex.slice(8, 16), 16) | 0;
  return a === 0 && b === 0 ? [0, 1] : [a, b];
}

/** The 16 hex digits of a fingerprint's lanes (what checkpoints and workers carry). */
export function hexOf(a: number, b: number): string {
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

/** The first slot to probe for (a, b) in a table of mask + 1 slots. */
export function fingerprintSlot(a: number, b: number, mask: number): number {
  return (Math.imul(a ^ (b >>> 7), 0x9e3779b1) >>> 0) & mask;
}

export class FingerprintSet {
  private words = new Int32Array(2 * 1024);
  private mask = 1023;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Bytes of the table (what the visited set costs, half of it empty slots or less). */
  get bytes(): number {
    return this.words.byteLength;
  }

  /** Add (a, b); true when it was not there. */
  add(a: number, b: number): boolean {
    a |= 0;
    b = a === 0 && b === 0 ? 1 : b | 0;
    const w = this.words;
    for (let i = fingerprintSlot(a, b, this.mask); ; i = (i + 1) & this.mask) {
      const x = w[2 * i]!;
      const y = w[2 * i + 1]!;
      if (x === a && y === b) return false;
      if (x === 0 && y === 0) {
        w[2 * i] = a;
        w[2 * i + 1] = b;
        if (++this.count * 2 > this.mask + 1) this.grow();
        return true;
      }
    }
  }

  has(a: number, b: number): boolean {
    a |= 0;
    b = a === 0 && b === 0 ? 1 : b | 0;
    const w = this.words;
    for (let i = fingerprintSlot(a, b, this.mask); ; i = (i + 1) & this.mask) {
      const x = w[2 * i]!;
      const y = w[2 * i + 1]!;
      if (x === a && y === b) return true;
      if (x === 0 && y === 0) return false;
    }
  }

  /** Would one more new fingerprint double the table? */
  growsOnAdd(): boolean {
    return (this.count + 1) * 2 > this.mask + 1;
  }

  /** Call `fn` with every fingerprint's lanes, in slot order. */
  eachFingerprint(fn: (a: number, b: number) => void): void {
    const w = this.words;
    for (let i = 0; i < w.length; i += 2) if (w[i] !== 0 || w[i + 1] !== 0) fn(w[i]!, w[i + 1]!);
  }

  clear(): void {
    this.words = new Int32Array(2 * 1024);
    this.mask = 1023;
    this.count = 0;
  }

  /** Every fingerprint as 16 hex digits, in slot order (a checkpoint's `seen`). */
  hexes(): string[] {
    const out: string[] = [];
    this.eachFingerprint((a, b) => {
      out.push(hexOf(a, b));
    });
    return out;
  }

  private grow(): void {
    const old = this.words;
    this.words = new Int32Array(2 * old.length);
    this.mask = old.length - 1;
    const w = this.words;
    for (let j = 0; j < old.length; j += 2) {
      const a = old[j]!;
      const b = old[j + 1]!;
      if (a === 0 && b === 0) continue;
      let i = fingerprintSlot(a, b, this.mask);
      while (w[2 * i] !== 0 || w[2 * i + 1] !== 0) i = (i + 1) & this.mask;
      w[2 * i] = a;
      w[2 * i + 1] = b;
    }
  }
}
