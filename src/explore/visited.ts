/**
 * The visited set of a search, in one of three modes (issue 19, ADR 0015):
 *
 * - hash-compact (the default): every state's 64-bit fingerprint, exact
 *   (FingerprintSet). Two states merge only when their fingerprints are
 *   equal; the chance that any two did is printed with the result.
 * - bitstate (`--bitstate MIB`, SPIN's -DBITSTATE): a bit array, three bits
 *   per state. A new state whose three bits are already set is taken for a
 *   visited one and not expanded; the expected number of such misses is
 *   kept as the search goes, and printed as a coverage estimate.
 * - capped (`--memory MIB`): hash-compact while its table fits in MIB, then
 *   a bitstate array of MIB, filled from the fingerprints stored so far.
 *
 * The search keeps its paths (8 bytes a state, search.ts Edges) in every
 * mode: witnesses and findings are replayed from them.
 */

import { FingerprintSet } from './fingerprint-set.js';

/** Bits a bitstate search sets per state (SPIN's default -k3). */
export const BITSTATE_HASHES = 3;

/** What the visited set says of the search's coverage (ExploreStats.visited). */
export type VisitedReport =
  | {
      readonly mode: 'hash-compact';
      readonly bytes: number;
      /**
       * Chance that two of the states shared a fingerprint, were fingerprints
       * uniform over 2^64: 1 - exp(-n(n-1)/2^65).
       */
      readonly collision: number;
    }
  | {
      readonly mode: 'bitstate';
      readonly bytes: number;
      /** Bits of the array per state stored (SPIN's hash factor; best over 100). */
      readonly hashFactor: number;
      /** Expected number of new states taken for visited ones (their successors not counted). */
      readonly missed: number;
      /** States stored over states stored plus `missed`. */
      readonly coverage: number;
      /** With --memory: the number of states stored exactly before the switch to bitstate. */
      readonly switchedAt: number | null;
    };

export interface VisitedSet {
  readonly size: number;
  readonly bytes: number;
  has(a: number, b: number): boolean;
  /** Add (a, b); true when it was not there. */
  add(a: number, b: number): boolean;
  clear(): void;
  /** Every fingerprint as hex (checkpoints); null when the set does not keep them. */
  hexes(): string[] | null;
  report(): VisitedReport;
}

/** How the caller asks for the visited set (ExploreOptions.visited). */
export interface VisitedOptions {
  /** A bitstate array of this many bytes (a power of two, 1 KiB to 512 MiB). */
  readonly bitstateBytes?: number;
  /** Hash-compact up to this many bytes of table, then bitstate of this size (a power of two). */
  readonly capBytes?: number;
}

/** Largest and smallest bit arrays: 2^32 bits (indices stay 32-bit), 2^13 bits. */
export const BITSTATE_MAX_BYTES = 2 ** 29;
export const BITSTATE_MIN_BYTES = 2 ** 10;

/** The largest power of two at most `bytes`, within the bitstate bounds. */
export function bitstateSize(bytes: number): number {
  let b = BITSTATE_MIN_BYTES;
  while (b * 2 <= Math.min(bytes, BITSTATE_MAX_BYTES)) b *= 2;
  return b;
}

export function newVisitedSet(o: VisitedOptions = {}): VisitedSet {
  if (o.bitstateBytes !== undefined) return new BitstateSet(o.bitstateBytes);
  if (o.capBytes !== undefined) return new CappedSet(o.capBytes);
  return new HashCompactSet();
}

/** 1 - exp(-x), accurate for small x. */
function oneMinusExp(x: number): number {
  return -Math.expm1(-x);
}

/** What a table of exact fingerprints reports. */
function hashCompactReport(set: FingerprintSet): VisitedReport {
  const n = set.size;
  return {
    mode: 'hash-compact',
    bytes: set.bytes,
    collision: oneMinusExp((n * (n - 1)) / 2 ** 65),
  };
}

class HashCompactSet extends FingerprintSet implements VisitedSet {
  report(): VisitedReport {
    return hashCompactReport(this);
  }
}

/**
 * A bit array of 2^k bits (k ≤ 32). State (a, b) sets bits g_i = a + i·b'
 * for i = 0..2 (b' = b made odd), each taken from its top k bits: double
 * hashing over a fingerprint that is already a hash.
 */
export class BitstateSet implements VisitedSet {
  private readonly words: Uint32Array;
  private readonly shift: number;
  private count = 0;
  private bitsSet = 0;
  private missed = 0;
  switchedAt: number | null = null;

  constructor(bytes: number) {
    const size = bitstateSize(bytes);
    this.words = new Uint32Array(size / 4);
    this.shift = 32 - Math.log2(size * 8);
  }

  get size(): number {
    return this.count;
  }

  get bytes(): number {
    return this.words.byteLength;
  }

  private bit(a: number, b: number, i: number): number {
    const g = (a + Math.imul(i, b | 1)) | 0;
    return this.shift === 0 ? g >>> 0 : g >>> this.shift;
  }

  has(a: number, b: number): boolean {
    const w = this.words;
    for (let i = 0; i < BITSTATE_HASHES; i++) {
      const x = this.bit(a, b, i);
      if ((w[x >>> 5]! & (1 << (x & 31))) === 0) return false;
    }
    return true;
  }

  add(a: number, b: number): boolean {
    if (this.has(a, b)) return false;
    // The chance that this state would have been taken for a visited one:
    // all its bits already set. Each state stored stands for 1/(1-p) tries.
    const p = (this.bitsSet / (this.words.length * 32)) ** BITSTATE_HASHES;
    this.missed += p / (1 - p);
    this.set(a, b);
    this.count++;
    return true;
  }

  /** Set a stored state's bits (no miss estimate: it was stored exactly). */
  set(a: number, b: number): void {
    const w = this.words;
    for (let i = 0; i < BITSTATE_HASHES; i++) {
      const x = this.bit(a, b, i);
      const m = 1 << (x & 31);
      if ((w[x >>> 5]! & m) === 0) {
        w[x >>> 5] = w[x >>> 5]! | m;
        this.bitsSet++;
      }
    }
  }

  /** Take on states stored elsewhere (the switch from hash-compact). */
  adopt(n: number): void {
    this.count += n;
  }

  clear(): void {
    this.words.fill(0);
    this.count = 0;
    this.bitsSet = 0;
    this.missed = 0;
  }

  hexes(): null {
    return null;
  }

  report(): VisitedReport {
    const n = this.count;
    return {
      mode: 'bitstate',
      bytes: this.bytes,
      hashFactor: n === 0 ? Number.POSITIVE_INFINITY : (this.words.length * 32) / n,
      missed: this.missed,
      coverage: n === 0 ? 1 : n / (n + this.missed),
      switchedAt: this.switchedAt,
    };
  }
}

/** Hash-compact until its table would pass the cap, then bitstate of the cap's size. */
class CappedSet implements VisitedSet {
  private exact: FingerprintSet | null = new FingerprintSet();
  private bits: BitstateSet | null = null;

  constructor(private readonly cap: number) {}

  get size(): number {
    return this.exact ? this.exact.size : this.bits!.size;
  }

  get bytes(): number {
    return this.exact ? this.exact.bytes : this.bits!.bytes;
  }

  has(a: number, b: number): boolean {
    return this.exact ? this.exact.has(a, b) : this.bits!.has(a, b);
  }

  add(a: number, b: number): boolean {
    const exact = this.exact;
    if (exact === null) return this.bits!.add(a, b);
    if (!exact.growsOnAdd() || 2 * exact.bytes <= this.cap) return exact.add(a, b);
    if (exact.has(a, b)) return false;
    // The next new fingerprint would double the table past the cap.
    const bits = new BitstateSet(this.cap);
    exact.eachFingerprint((x, y) => {
      bits.set(x, y);
    });
    bits.adopt(exact.size);
    bits.switchedAt = exact.size;
    this.exact = null;
    this.bits = bits;
    return bits.add(a, b);
  }

  clear(): void {
    this.exact = new FingerprintSet();
    this.bits = null;
  }

  hexes(): string[] | null {
    return this.exact ? this.exact.hexes() : null;
  }

  report(): VisitedReport {
    return this.bits ? this.bits.report() : hashCompactReport(this.exact!);
  }
}
