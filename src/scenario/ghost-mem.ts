/**
 * The ghost's expected page contents (scenario/ghost.ts): per page of each
 * mm, the value the process last wrote or inherited there (value * 2, + 1
 * when a device wrote it through a GUP reference), with an order-independent
 * running digest for the fingerprint.
 *
 * Kept per 2 MiB of one mm (a PTE table's span) in chunks shared with copies
 * of the ghost and copied by their first writer, so a step that writes one
 * page copies one chunk, not every expectation of the process. A chunk holds
 * only the slots from its lowest expectation to its highest (-1 where there
 * is none): a page touched alone costs one slot, and the design-invariant
 * check walks each chunk against one page table.
 */

export const PAGE = 4096;
/** Pages per mm in a ghost key: user addresses are below 2^48. */
export const MM_SHIFT = 2 ** 36;
const CHUNK_PAGES = 512;
/** Chunks per mm (2^36 pages / 512): small-integer chunk keys. */
const CHUNK_SHIFT = 2 ** 27;

/** The ghost key of one page of one mm. */
export function ghostKey(mm: number, addr: number): number {
  return mm * MM_SHIFT + Math.floor(addr / PAGE);
}

export function keyMm(key: number): number {
  return Math.floor(key / MM_SHIFT);
}

export function keyAddr(key: number): number {
  return (key % MM_SHIFT) * PAGE;
}

/** A ghost key with its page renamed by `pages` (page number to page number), its mm kept. */
export function renamedKey(key: number, pages: ReadonlyMap<number, number>): number {
  const page = key % MM_SHIFT;
  const to = pages.get(page);
  return to === undefined ? key : key - page + to;
}

function chunkKey(key: number): number {
  return keyMm(key) * CHUNK_SHIFT + Math.floor((key % MM_SHIFT) / CHUNK_PAGES);
}

/** The ghost key of slot `i` (0..511) of chunk `ck`. */
function slotKey(ck: number, i: number): number {
  return Math.floor(ck / CHUNK_SHIFT) * MM_SHIFT + (ck % CHUNK_SHIFT) * CHUNK_PAGES + i;
}

function slotOf(key: number): number {
  return (key % MM_SHIFT) % CHUNK_PAGES;
}

interface Chunk {
  readonly own: object;
  /** The slot v[0] stands for. */
  lo: number;
  /** Slots lo, lo + 1, …: an expectation, or -1. */
  v: number[];
  /** Slots that hold an expectation. */
  n: number;
}

/** A chunk as plain data: its first slot and the slots from there. */
export type ChunkData = readonly [lo: number, v: readonly number[]];

/** A per-entry hash (two lanes) for the running digest. */
function entry(key: number, v: number): [number, number] {
  let a = Math.imul((key % 2 ** 32) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.floor(key / 2 ** 32);
  a = Math.imul(a ^ (a >>> 15), 0xc2b2ae35) ^ Math.imul(v % 2 ** 32, 0x27d4eb2f);
  a ^= a >>> 13;
  let b = Math.imul(a ^ Math.floor(v / 2 ** 32), 0x165667b1) ^ 0x5bd1e995;
  b ^= b >>> 16;
  return [a, b];
}

export class GhostMem {
  private chunks: Map<number, Chunk>;
  /** May `chunks` itself be written in place (false right after a copy)? */
  private ownsMap: boolean;
  /** The token of chunks this table may write in place; both sides of a copy get new ones. */
  private token: object = {};
  private d1: number;
  private d2: number;

  constructor(from?: GhostMem) {
    if (from) {
      this.chunks = from.chunks;
      from.ownsMap = false;
      from.token = {};
      this.ownsMap = false;
      this.d1 = from.d1;
      this.d2 = from.d2;
    } else {
      this.chunks = new Map();
      this.ownsMap = true;
      this.d1 = 0;
      this.d2 = 0;
    }
  }

  digest(): readonly [number, number] {
    return [this.d1, this.d2];
  }

  /**
   * The digest as if each expected value were renamed by `vals` (a device
   * write stays one; explore/value-symmetry.ts) and each page of every mm
   * by `pages` (page number to page number; explore/address-symmetry.ts),
   * for the fingerprint under the symmetries.
   */
  renamedDigest(
    vals: ReadonlyMap<number, number> | null,
    pages: ReadonlyMap<number, number> | null = null,
  ): readonly [number, number] {
    let d1 = 0;
    let d2 = 0;
    for (const [ck, c] of this.chunks) {
      for (let j = 0; j < c.v.length; j++) {
        const v = c.v[j]!;
        if (v < 0) continue;
        const dma = v % 2;
        const y = vals?.get((v - dma) / 2);
        const key = slotKey(ck, c.lo + j);
        const [a, b] = entry(
          pages ? renamedKey(key, pages) : key,
          y === undefined ? v : y * 2 + dma,
        );
        d1 = (d1 + a) | 0;
        d2 = (d2 + b) | 0;
      }
    }
    return [d1, d2];
  }

  /** Call `fn(v)` for every expectation (value * 2 + dma), by key in ascending order. */
  forEachValue(fn: (v: number) => void): void {
    const cks = [...this.chunks.keys()];
    if (cks.length > 1) cks.sort((a, b) => a - b);
    for (const ck of cks) {
      const v = this.chunks.get(ck)!.v;
      for (let j = 0; j < v.length; j++) if (v[j]! >= 0) fn(v[j]!);
    }
  }

  private mix(key: number, v: number, sign: 1 | -1): void {
    const [a, b] = entry(key, v);
    this.d1 = (this.d1 + sign * a) | 0;
    this.d2 = (this.d2 + sign * b) | 0;
  }

  private mapW(): Map<number, Chunk> {
    if (!this.ownsMap) {
      this.chunks = new Map(this.chunks);
      this.ownsMap = true;
    }
    return this.chunks;
  }

  /** Chunk `ck`, writable (copied first when shared); created empty when missing. */
  private chunkW(ck: number): Chunk {
    const c = this.chunks.get(ck);
    if (c?.own === this.token) return c;
    const w: Chunk = c
      ? { own: this.token, lo: c.lo, v: c.v.slice(), n: c.n }
      : { own: this.token, lo: 0, v: [], n: 0 };
    this.mapW().set(ck, w);
    return w;
  }

  /** The expectation at `key` (value * 2, + 1 when a device wrote it), or -1. */
  get(key: number): number {
    const c = this.chunks.get(chunkKey(key));
    if (c === undefined) return -1;
    const j = slotOf(key) - c.lo;
    return j >= 0 && j < c.v.length ? c.v[j]! : -1;
  }

  /** Expect `v` (value * 2 + dma) at `key`. */
  set(key: number, v: number): void {
    const c = this.chunkW(chunkKey(key));
    const i = slotOf(key);
    if (c.v.length === 0) c.lo = i;
    else if (i < c.lo) {
      const grown = new Array<number>(c.lo - i).fill(-1);
      grown.push(...c.v);
      c.v = grown;
      c.lo = i;
    }
    const j = i - c.lo;
    while (c.v.length <= j) c.v.push(-1);
    const old = c.v[j]!;
    if (old >= 0) this.mix(key, old, -1);
    else c.n++;
    c.v[j] = v;
    this.mix(key, v, 1);
  }

  /** No expectation at `key` any more. */
  delete(key: number): void {
    if (this.get(key) < 0) return;
    const ck = chunkKey(key);
    const c = this.chunkW(ck);
    const j = slotOf(key) - c.lo;
    this.mix(key, c.v[j]!, -1);
    c.v[j] = -1;
    if (--c.n === 0) this.mapW().delete(ck);
  }

  /** No expectations left in keys [lo, hi). */
  deleteRange(lo: number, hi: number): void {
    if (hi <= lo) return;
    const clo = chunkKey(lo);
    const chi = chunkKey(hi - 1);
    for (const ck of [...this.chunks.keys()]) {
      if (ck < clo || ck > chi) continue;
      const c = this.chunks.get(ck)!;
      const first = slotKey(ck, c.lo);
      const from = Math.max(lo - first, 0);
      const to = Math.min(hi - first, c.v.length);
      let inRange = 0;
      for (let j = from; j < to; j++) if (c.v[j]! >= 0) inRange++;
      if (inRange === 0) continue;
      if (inRange === c.n) {
        // Every expectation of the chunk goes: drop it without a copy.
        for (let j = from; j < to; j++) if (c.v[j]! >= 0) this.mix(first + j, c.v[j]!, -1);
        this.mapW().delete(ck);
        continue;
      }
      const w = this.chunkW(ck);
      for (let j = from; j < to; j++)
        if (w.v[j]! >= 0) {
          this.mix(first + j, w.v[j]!, -1);
          w.v[j] = -1;
          w.n--;
        }
    }
  }

  /** Every expectation as [key, value * 2 + dma], by key in ascending order. */
  *entries(): Generator<readonly [number, number]> {
    for (const ck of [...this.chunks.keys()].sort((a, b) => a - b)) {
      const c = this.chunks.get(ck)!;
      for (let j = 0; j < c.v.length; j++) if (c.v[j]! >= 0) yield [slotKey(ck, c.lo + j), c.v[j]!];
    }
  }

  /**
   * Call `fn(mm, addr, first, v)` for every chunk, in no particular order:
   * `v[j]` is the expectation for the page at `addr + (first + j) * 4096`
   * (-1: none), slot `first + j` of the PTE table that maps from `addr`.
   */
  forEachChunk(fn: (mm: number, addr: number, first: number, v: readonly number[]) => void): void {
    for (const [ck, c] of this.chunks)
      fn(Math.floor(ck / CHUNK_SHIFT), (ck % CHUNK_SHIFT) * CHUNK_PAGES * PAGE, c.lo, c.v);
  }

  /** Plain data for another thread (structured clone). */
  toData(): ReadonlyMap<number, ChunkData> {
    const out = new Map<number, ChunkData>();
    for (const [ck, c] of this.chunks) out.set(ck, [c.lo, c.v]);
    return out;
  }

  static fromData(d: ReadonlyMap<number, ChunkData>, d1: number, d2: number): GhostMem {
    const g = new GhostMem();
    for (const [ck, [lo, v]] of d) {
      let n = 0;
      for (const x of v) if (x >= 0) n++;
      g.chunks.set(ck, { own: g.token, lo, v: v.slice(), n });
    }
    g.d1 = d1;
    g.d2 = d2;
    return g;
  }
}
