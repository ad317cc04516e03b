/**
 * A set of 64-bit machine fingerprints in shared memory, readable by every
 * worker thread: open addressing with linear probing over pairs of 32-bit
 * words ((0, 0) marks an empty slot; a fingerprint of (0, 0) is stored as
 * (0, 1), a collision the 64-bit key space makes irrelevant). Only the main
 * thread adds, between search levels, so readers need no locks.
 */

import { fingerprintSlot, lanesOf } from './fingerprint-set.js';

export class SharedSeen {
  readonly words: Int32Array;
  private readonly mask: number;

  /** A table for up to `capacity` keys (kept at most half full); or over an existing buffer. */
  constructor(capacity: number | SharedArrayBuffer) {
    if (typeof capacity === 'number') {
      let slots = 1024;
      while (slots < 2 * capacity) slots *= 2;
      this.words = new Int32Array(new SharedArrayBuffer(8 * slots));
    } else {
      this.words = new Int32Array(capacity);
    }
    this.mask = this.words.length / 2 - 1;
  }

  get buffer(): SharedArrayBuffer {
    return this.words.buffer as SharedArrayBuffer;
  }

  has(hex: string): boolean {
    const [a, b] = lanesOf(hex);
    for (let i = fingerprintSlot(a, b, this.mask); ; i = (i + 1) & this.mask) {
      const x = this.words[2 * i]!;
      const y = this.words[2 * i + 1]!;
      if (x === 0 && y === 0) return false;
      if (x === a && y === b) return true;
    }
  }

  add(hex: string): void {
    const [a, b] = lanesOf(hex);
    for (let i = fingerprintSlot(a, b, this.mask); ; i = (i + 1) & this.mask) {
      const x = this.words[2 * i]!;
      const y = this.words[2 * i + 1]!;
      if (x === a && y === b) return;
      if (x === 0 && y === 0) {
        this.words[2 * i] = a;
        this.words[2 * i + 1] = b;
        return;
      }
    }
  }
}
