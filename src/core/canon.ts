/**
 * Canonical encoding and 64-bit fingerprint of a State (the explorer's
 * visited-set key). Fields go into the hash in one fixed order; arrays are
 * walked by index; nothing depends on object key order or allocation history
 * beyond the ids the state itself records. The hash is two 32-bit lanes of a
 * Murmur3-style mix (Math.imul, no BigInt), returned as a 16-hex-digit string
 * or as the pair of lanes.
 */

import type { MemDigest, State, SwapInfo, Task, Vma } from './mm_types.js';
import { ptEntries } from './mm_types.js';
import { PG_buddy } from './page-flags.js';
import { PT_LEVEL_PTE } from './pgtable_types.js';
import {
  type AddrRenaming,
  type PfnRenaming,
  renamed,
  renamedAddr,
  renamedEntries,
  renameTable,
  type ValueRenaming,
} from './symmetry.js';

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** Streaming two-lane hasher (the lanes use different seeds and rotations). */
export class Fingerprint {
  private a = 0x9747b28c;
  private b = 0x5bd1e995;
  private n = 0;

  word(x: number): void {
    let k = Math.imul(x | 0, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    this.a ^= k;
    this.a = (this.a << 13) | (this.a >>> 19);
    this.a = (Math.imul(this.a, 5) + 0xe6546b64) | 0;
    let j = Math.imul((x ^ 0x5bd1e995) | 0, C2);
    j = (j << 17) | (j >>> 15);
    j = Math.imul(j, C1);
    this.b ^= j;
    this.b = (this.b << 11) | (this.b >>> 21);
    this.b = (Math.imul(this.b, 9) + 0x52dce729) | 0;
    this.n++;
  }

  /** A non-negative number below 2^53 as two words. */
  num(x: number): void {
    this.word(x % 2 ** 32);
    this.word(Math.floor(x / 2 ** 32));
  }

  words(arr: ArrayLike<number>, count: number): void {
    this.word(count);
    for (let i = 0; i < count; i++) this.word(arr[i]!);
  }

  lanes(): [number, number] {
    const fmix = (h: number) => {
      h ^= this.n;
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
      return h >>> 0;
    };
    return [fmix(this.a ^ this.b), fmix(this.b + this.a)];
  }

  hex(): string {
    const [x, y] = this.lanes();
    return x.toString(16).padStart(8, '0') + y.toString(16).padStart(8, '0');
  }
}

/** Feed the populated entries of one page table into `h`: (index, val, bits). */
function tableEntries(h: Fingerprint, t: Uint32Array): void {
  // The same words for a dense and a sparse table with the same entries.
  ptEntries(t, (i, v, b) => {
    h.word(i + 1);
    h.word(v);
    h.word(b);
  });
  h.word(0);
}

/**
 * Digests of records no state writes again: VMA lists (a writer replaces
 * the list) always, and a task or the swap record once the state that made
 * it has been copied (its `own` token is no longer the state's own, as for
 * frozen page tables): most of a state's tasks and VMAs are its parent's.
 */
const recordDigests = new WeakMap<object, readonly [number, number]>();

function feedRecord<T extends object>(
  h: Fingerprint,
  record: T,
  frozen: boolean,
  feedFn: (f: Fingerprint, x: T) => void,
): void {
  let d = frozen ? recordDigests.get(record) : undefined;
  if (d === undefined) {
    const f = new Fingerprint();
    feedFn(f, record);
    d = f.lanes();
    if (frozen) recordDigests.set(record, d);
  }
  h.word(d[0]);
  h.word(d[1]);
}

function feedVmas(h: Fingerprint, vmas: readonly Vma[]): void {
  h.word(vmas.length);
  for (const v of vmas) {
    h.num(v.vm_start);
    h.num(v.vm_end);
    h.num(v.vm_flags >>> 0);
    h.word(v.anon_vma);
    h.word(v.vm_file);
    h.num(v.vm_pgoff);
  }
}

function feedTask(h: Fingerprint, t: Task): void {
  h.word(t.pid);
  h.word(t.tgid);
  h.word(t.parent);
  h.word(t.mm);
  h.word(t.state);
  h.word(t.exit_code);
  h.words(t.files, t.files.length);
}

function feedSwapSlots(h: Fingerprint, sw: SwapInfo): void {
  h.word(sw.map.length);
  h.words(sw.map, sw.map.length);
  h.words(sw.data, sw.data.length);
}

/** The swap slots' words as feedRecord() feeds them, with the contents swap-out wrote renamed by `vals`. */
function feedRenamedSwapSlots(h: Fingerprint, sw: SwapInfo, vals: ValueRenaming): void {
  const data = sw.data.map((x) => vals.get(x) ?? x);
  feedRecord(h, { ...sw, data }, false, feedSwapSlots);
}

/**
 * The digest of the content array with each value renamed by `vals` and
 * each PFN by `perm` (when given): the known digest (`m.contentD`)
 * corrected at the PFNs that move or hold a renamed value.
 */
function renamedContentDigest(
  m: State['mem'],
  perm: PfnRenaming | undefined,
  vals: ValueRenaming,
): [number, number] {
  let [d0, d1] = m.contentD!;
  for (let i = 0; i < m.end; i++) {
    const x = m.content[i]!;
    const y = vals.get(x) ?? x;
    const q = perm ? renamed(perm, i) : i;
    if (q === i && y === x) continue;
    if (x !== 0) {
      d0 = (d0 - slotA(i, x)) | 0;
      d1 = (d1 - slotB(i, x)) | 0;
    }
    if (y !== 0) {
      d0 = (d0 + slotA(q, y)) | 0;
      d1 = (d1 + slotB(q, y)) | 0;
    }
  }
  return [d0, d1];
}

/**
 * Digests of page tables that can no longer change: a table array whose
 * owner token is not the state's own (mm_types.ts ptWritable()) is shared
 * copy-on-write and never written again, so its digest is computed once.
 */
const frozenDigests = new WeakMap<Uint32Array, readonly [number, number]>();

function tableDigest(t: Uint32Array, frozen: boolean): readonly [number, number] {
  const cached = frozen ? frozenDigests.get(t) : undefined;
  if (cached) return cached;
  const f = new Fingerprint();
  tableEntries(f, t);
  const d = f.lanes();
  if (frozen) frozenDigests.set(t, d);
  return d;
}

/** tableDigest() of `t` with its entries moved by `index` (AddrRenaming): the same words as tableEntries() of the moved table. */
function movedTableDigest(t: Uint32Array, index: ReadonlyMap<number, number>): [number, number] {
  const f = new Fingerprint();
  for (const [i, v, b] of renamedEntries(t, index)) {
    f.word(i + 1);
    f.word(v);
    f.word(b);
  }
  f.word(0);
  return f.lanes();
}

/**
 * The digest of a memmap array is a sum over its PFNs of a two-lane hash of
 * (PFN, value), 0 for a 0 value: so it can be updated by the PFNs where two
 * arrays differ, and PFNs past `end` (never handed out, all 0) add nothing.
 */
function slotA(i: number, x: number): number {
  let k = Math.imul(x ^ Math.imul(i, 0x9e3779b1), C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k ^ i, C2);
  k ^= k >>> 16;
  return Math.imul(k, 0x85ebca6b) ^ (k >>> 13);
}

function slotB(i: number, x: number): number {
  let k = Math.imul(x + Math.imul(i, 0x85ebca6b), C2);
  k = (k << 17) | (k >>> 15);
  k = Math.imul(k ^ (i >>> 3), C1);
  k ^= k >>> 15;
  return Math.imul(k, 0xc2b2ae35) ^ (k >>> 16);
}

/** The digest of `a`'s first `end` PFNs, PFN by PFN. */
function arrayDigest(a: ArrayLike<number>, end: number): [number, number] {
  let d0 = 0;
  let d1 = 0;
  for (let i = 0; i < end; i++) {
    const x = a[i]!;
    if (x === 0) continue;
    d0 = (d0 + slotA(i, x)) | 0;
    d1 = (d1 + slotB(i, x)) | 0;
  }
  return [d0, d1];
}

/**
 * Feed the five memmap digests of the state renamed by `perm` (symmetry.ts
 * renameState()): each value at its PFN's new number, and a free page's
 * mapcount word (the free stack's next PFN) renamed too. A digest is a sum
 * over PFNs (slotA/slotB), so the renamed one is the state's own (known)
 * corrected at the PFNs that move or hold a link that does.
 */
function feedRenamedMem(
  h: Fingerprint,
  m: State['mem'],
  perm: PfnRenaming,
  content: MemDigest | null,
): void {
  const arrays = [m.flags, m.refcount, m.mapcount, m.content, m.order] as const;
  const d = [m.flagsD!, m.refcountD!, m.mapcountD!, m.contentD!, m.orderD!].map((x) => [
    x[0],
    x[1],
  ]);
  const n = Math.min(m.end, perm.length);
  for (let i = 0; i < n; i++) {
    const q = perm[i]!;
    const buddy = (m.flags[i]! & PG_buddy) !== 0;
    if (q === i && !buddy) continue;
    for (let k = 0; k < 5; k++) {
      if (k === 3 && content !== null) continue;
      const x = arrays[k]![i]!;
      const y = k === 2 && buddy ? renamed(perm, x) : x;
      if (q === i && y === x) continue;
      const dk = d[k]!;
      if (x !== 0) {
        dk[0] = (dk[0]! - slotA(i, x)) | 0;
        dk[1] = (dk[1]! - slotB(i, x)) | 0;
      }
      if (y !== 0) {
        dk[0] = (dk[0]! + slotA(q, y)) | 0;
        dk[1] = (dk[1]! + slotB(q, y)) | 0;
      }
    }
  }
  if (content !== null) d[3] = [content[0], content[1]];
  for (const dk of d) {
    h.word(dk[0]!);
    h.word(dk[1]!);
  }
}

/**
 * The digest of a memmap array: `d` when the state still knows it (no writer
 * asked for the array since it was computed, MemMap.flagsD and its kin);
 * else, for an array copied from a shared one whose digest is known, that
 * digest plus the PFNs where the two differ, so that a step costs a
 * comparison of the arrays, not a hash of every PFN; else from scratch.
 */
function digestOf(
  a: ArrayLike<number>,
  d: MemDigest | null,
  src: ArrayLike<number> | null,
  srcD: MemDigest | null,
  end: number,
): MemDigest {
  if (d !== null) return d;
  if (src === null || srcD === null || src.length !== a.length) return arrayDigest(a, end);
  let d0 = srcD[0];
  let d1 = srcD[1];
  for (let i = 0; i < end; i++) {
    const x = a[i]!;
    const y = src[i]!;
    if (x === y) continue;
    if (y !== 0) {
      d0 = (d0 - slotA(i, y)) | 0;
      d1 = (d1 - slotB(i, y)) | 0;
    }
    if (x !== 0) {
      d0 = (d0 + slotA(i, x)) | 0;
      d1 = (d1 + slotB(i, x)) | 0;
    }
  }
  return [d0, d1];
}

function feed(h: Fingerprint, d: MemDigest): void {
  h.word(d[0]);
  h.word(d[1]);
}

/** r() of hashState() without a renaming (one function, not one a call). */
const samePfn = (x: number): number => x;

/**
 * Feed the whole kernel state into `h` in canonical order, as if renamed by
 * `perm` when it is given (the same words as hashState() of
 * symmetry.ts renameState(s, perm)), and with page contents renamed by
 * `vals` when it is given (the values in the memmap and those swap-out
 * wrote), and with pages moved by `addrs` when it is given (their PTEs).
 * `counters`, when
 * given, lists the /proc/vmstat events to include (those a scenario reads),
 * each saturated at its cap (scenario/counters.ts); the others do not change
 * what the kernel does, and leaving them out keeps a livelock (a fault
 * retried forever while reclaim takes its page away) a cycle of states
 * instead of an endless line of counter values.
 */
export function hashState(
  s: State,
  h: Fingerprint,
  counters?: readonly { readonly index: number; readonly cap: number }[],
  perm?: PfnRenaming,
  vals?: ValueRenaming,
  addrs?: AddrRenaming,
): void {
  const m = s.mem;
  // Every PFN below goes through r(): its new number under `perm`, when given.
  const r = perm ? (x: number) => renamed(perm, x) : samePfn;
  h.word(m.end);
  // Each array by its digest, kept in the memmap until a writer asks for the
  // array. Once known, the arrays it was copied from are let go: a queued
  // state would otherwise keep its parent's arrays alive until expanded.
  m.flagsD = digestOf(m.flags, m.flagsD, m.flagsFrom, m.flagsFromD, m.end);
  m.refcountD = digestOf(m.refcount, m.refcountD, m.refcountFrom, m.refcountFromD, m.end);
  m.mapcountD = digestOf(m.mapcount, m.mapcountD, m.mapcountFrom, m.mapcountFromD, m.end);
  m.contentD = digestOf(m.content, m.contentD, m.contentFrom, m.contentFromD, m.end);
  m.orderD = digestOf(m.order, m.orderD, m.orderFrom, m.orderFromD, m.end);
  m.flagsFrom = m.refcountFrom = m.mapcountFrom = m.contentFrom = m.orderFrom = null;
  m.flagsFromD = m.refcountFromD = m.mapcountFromD = m.contentFromD = m.orderFromD = null;
  const content = vals ? renamedContentDigest(m, perm, vals) : null;
  if (perm) feedRenamedMem(h, m, perm, content);
  else {
    feed(h, m.flagsD);
    feed(h, m.refcountD);
    feed(h, m.mapcountD);
    feed(h, content ?? m.contentD);
    feed(h, m.orderD);
  }
  // Large folios' fields, in PFN order (the map's insertion order depends on history).
  const large = [...m.large.keys()].sort((a, b) => a - b);
  h.word(large.length);
  for (const pfn of large) {
    const f = m.large.get(pfn)!;
    h.word(pfn);
    h.word(f.entire);
    h.word(f.mapcount);
    h.word(f.pincount);
    h.word(f.mm_id[0]);
    h.word(f.mm_id[1]);
    h.word(f.mm_id_mapcount[0]);
    h.word(f.mm_id_mapcount[1]);
    h.word(f.shared ? 1 : 0);
  }
  // The free stack: its top and count (the links are in the mapcount words above).
  h.word(r(m.free));
  h.word(m.nr_free);
  const pt = s.pt;
  h.word(pt.tables.length);
  for (let id = 1; id < pt.tables.length; id++) {
    const t = pt.tables[id];
    if (!t) {
      h.word(0);
      continue;
    }
    h.word(pt.level[id]!);
    // The table's populated entries, as a digest (cached once the table is frozen).
    // Under a renaming, a PTE table that maps a moved PFN is digested as its renamed copy.
    const u = perm && pt.level[id] === PT_LEVEL_PTE ? renameTable(t, perm) : t;
    // Under a renaming of pages, a table that maps them is digested with its entries moved.
    const d = addrs?.tables.has(id)
      ? movedTableDigest(u, addrs.index)
      : tableDigest(u, u === t && pt.owner[id] !== s.cow);
    h.word(d[0]);
    h.word(d[1]);
  }
  h.words(pt.free, pt.free.length);
  // Deferred frees, the walkers holding them off, pte_tryget() references and
  // broken page-table invariants (pt.gen is not hashed: a walker's record
  // carries whether its table is still the one it read; machineKey()).
  h.words(pt.deferred, pt.deferred.length);
  h.word(pt.readers);
  for (let id = 0; id < pt.visitors.length; id++)
    if (pt.visitors[id]) {
      h.word(id);
      h.word(pt.visitors[id]!);
    }
  h.word(-1);
  for (const b of pt.bugs) {
    h.word(b.code === 'PT001' ? 1 : 2);
    h.word(b.detail.length);
    for (let i = 0; i < b.detail.length; i++) h.word(b.detail.charCodeAt(i));
  }
  h.word(s.mms.length);
  for (const mm of s.mms) {
    if (!mm) {
      h.word(0);
      continue;
    }
    h.word(mm.id);
    h.word(mm.pgd);
    h.num(mm.pgtables_bytes);
    h.words(mm.rss, mm.rss.length);
    h.word(mm.flags);
    h.word(mm.mm_users);
    h.word(mm.write_protect_seq);
    h.word(mm.ksm_merging_pages);
    h.word(mm.ksm_rmap.length);
    // [address, KSM pfn] pairs.
    for (let i = 0; i < mm.ksm_rmap.length; i++)
      h.num(i % 2 === 1 ? r(mm.ksm_rmap[i]!) : mm.ksm_rmap[i]!);
    h.word(mm.ksm_checksum.length);
    for (const x of mm.ksm_checksum) h.num(x);
    h.word(mm.ksm_unstable);
    feedRecord(h, mm.vmas, true, feedVmas);
  }
  h.word(s.huge_zero);
  h.word(s.uffd.length);
  for (const u of s.uffd) {
    if (!u) {
      h.word(0);
      continue;
    }
    h.word(u.mm);
    h.word((u.event_fork ? 2 : 1) + (u.wp_unpopulated ? 4 : 0));
  }
  h.word(s.tasks.length);
  for (const t of s.tasks) {
    if (!t) {
      h.word(0);
      continue;
    }
    feedRecord(h, t, t.own !== s.cow, feedTask);
  }
  h.word(s.pipes.length);
  for (const p of s.pipes) {
    if (!p) {
      h.word(0);
      continue;
    }
    h.word(p.readers);
    h.word(p.writers);
    h.word(p.bufs.length);
    for (const b of p.bufs) {
      h.word(r(b.pfn));
      h.word(b.ops === 'user' ? 1 : 0);
    }
  }
  h.word(s.inodes.length);
  for (const f of s.inodes) {
    if (!f) {
      h.word(0);
      continue;
    }
    h.word(f.refs);
    h.words(
      f.pages.map((x) => (x ? r(x) : 0)),
      f.pages.length,
    );
    if (f.falloc) {
      h.word(f.falloc.start);
      h.word(f.falloc.next);
    }
  }
  h.word(s.gup.length);
  for (const g of s.gup) {
    if (!g) {
      h.word(0);
      continue;
    }
    h.word(r(g.page));
    h.word(g.pin ? 2 : 1);
  }
  h.word(s.lru_batch.length);
  for (const b of s.lru_batch) h.words(perm ? b.map(r) : b, b.length);
  h.word(s.isolated.length);
  h.words(perm ? s.isolated.map(r) : s.isolated, s.isolated.length);
  const w = s.rmap_walk;
  h.word(w ? r(w.folio) : 0);
  if (w) {
    h.word((w.rcu ? 1 : 0) | (w.tryget ? 2 : 0) | (w.rwsem ? 4 : 0));
    for (const x of w.tables) {
      h.word(x.mm);
      h.num(addrs ? renamedAddr(addrs, x.address) : x.address);
      h.word(x.table);
      // Whether the table is still the one the walk read (pt.gen itself is not hashed).
      h.word(s.pt.tables[x.table] != null && (s.pt.gen[x.table] ?? 0) === x.gen ? 1 : 0);
    }
  }
  const sw = s.swap;
  if (vals) feedRenamedSwapSlots(h, sw, vals);
  else feedRecord(h, sw, sw.own !== s.cow, feedSwapSlots);
  h.words(perm ? sw.cache.map(r) : sw.cache, sw.cache.length);
  if (counters) for (const c of counters) h.num(Math.min(s.vmstat[c.index]!, c.cap));
  else for (let i = 0; i < s.vmstat.length; i++) h.num(s.vmstat[i]!);
  h.word(s.next_anon_vma);
}

/** The 64-bit fingerprint of a state, as 16 hex digits. */
export function fingerprint(s: State): string {
  const h = new Fingerprint();
  hashState(s, h);
  return h.hex();
}
