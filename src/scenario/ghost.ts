/**
 * Ghost state for the design invariants: what each process is entitled to
 * see, kept beside the kernel state and checked against it at every state.
 * Violations are findings about the era's design (data, like verdicts), not
 * tool bugs:
 *
 * ISO001 isolation: a private page shows what the process (or a device
 *        through its pin) last wrote there, or what it inherited at fork:
 *        never a write another process made after fork. Pipe buffers filled
 *        by vmsplice() show what the spliced memory held.
 * PIN001 pin coherence: while a FOLL_PIN reference taken through an address
 *        is held and the user has not remapped that address, the page mapped
 *        there is the pinned page.
 * DMA001 no lost DMA write: what a device wrote through a GUP reference is
 *        what the process sees at the address the reference was taken
 *        through, until the process writes there itself.
 * PT001 no walker uses a freed page table (a page-table strategy's finding,
 *        recorded in the state where it happens: core/mm/mmu_gather.ts).
 * PT002 no PTE is installed into a page table after it was unlinked.
 * PT003 a table the page-table design promises to free is freed once every
 *        thread is done (explore/expand.ts machineFindings()).
 */

import {
  pmd_index,
  pmd_present_table,
  pmdLeafBits,
  pmdTable,
  ptep_get,
  pteView,
} from '../core/mm/memory/pgtable.js';
import { vma_lookup } from '../core/mm/vma.js';
import type { State } from '../core/mm_types.js';
import { VM_SHARED } from '../core/mm_types.js';
import { pte_pfn, pte_present, pteBits } from '../core/pgtable_types.js';
import {
  type ChunkData,
  GhostMem,
  ghostKey,
  keyAddr,
  keyMm,
  MM_SHIFT,
  PAGE,
  renamedKey,
} from './ghost-mem.js';

export type GhostCode = 'ISO001' | 'PIN001' | 'DMA001' | 'PT001' | 'PT002' | 'PT003';

export const GHOST_INVARIANTS: Readonly<Record<GhostCode, string>> = {
  ISO001: 'isolation: no process sees a write another process made after fork',
  PIN001: 'pin coherence: a pinned page stays the page mapped where it was pinned',
  DMA001: 'no lost DMA write: a device write through a GUP reference reaches the process',
  PT001:
    'no walker uses a freed page table: a table stays allocated while a walker holds its address',
  PT002: 'no PTE is installed into a page table after it was unlinked (its page would leak)',
  PT003: 'a page table the design promises to free is freed once every thread is done',
};

export interface Finding {
  readonly code: GhostCode;
  readonly detail: string;
}

export { ghostKey };

export interface Origin {
  /** The page the reference was taken through. */
  readonly key: number;
  readonly pin: boolean;
}

export interface PipeExpect {
  readonly want: number;
  readonly key: number;
}

export interface GhostData {
  readonly mem: ReadonlyMap<number, ChunkData>;
  readonly origin: ReadonlyMap<number, Origin>;
  readonly pipes: ReadonlyMap<number, readonly PipeExpect[]>;
  readonly d1: number;
  readonly d2: number;
}

/** Which of a Ghost's tables it may write in place (the others are shared with a copy). */
const OWN_ORIGIN = 2;
const OWN_PIPES = 4;
const OWN_ALL = OWN_ORIGIN | OWN_PIPES;

export class Ghost {
  /** False for NoGhost: nothing is tracked (`cowherd sim` checks no design invariant per step). */
  readonly tracking: boolean = true;
  /** The expected page contents, shared with copies chunk by chunk (ghost-mem.ts). */
  private memT: GhostMem;
  // The other tables are shared with copies (new Ghost(from)) until either
  // side writes one: the writer copies it first (its bit in `owned` says it
  // need not). Their values are never changed in place.
  private originMap: Map<number, Origin>;
  private pipesMap: Map<number, readonly PipeExpect[]>;
  private owned: number;

  constructor(from?: Ghost) {
    if (from) {
      this.memT = new GhostMem(from.memT);
      this.originMap = from.originMap;
      this.pipesMap = from.pipesMap;
      from.owned = 0;
      this.owned = 0;
    } else {
      this.memT = new GhostMem();
      this.originMap = new Map();
      this.pipesMap = new Map();
      this.owned = OWN_ALL;
    }
  }

  /** Expected contents per page, by ghost key in ascending order: value * 2 + 1 when a device wrote it. */
  mem(): Generator<readonly [number, number]> {
    return this.memT.entries();
  }

  /** Where each held GUP reference (by id) was taken; deleted once the user remaps the address. */
  get origin(): ReadonlyMap<number, Origin> {
    return this.originMap;
  }

  /** Per pipe id, each buffer in order: its expected contents (-1: none) and the page it was spliced from (-1: none). */
  get pipes(): ReadonlyMap<number, readonly PipeExpect[]> {
    return this.pipesMap;
  }

  private originW(): Map<number, Origin> {
    if (!(this.owned & OWN_ORIGIN)) {
      this.originMap = new Map(this.originMap);
      this.owned |= OWN_ORIGIN;
    }
    return this.originMap;
  }

  private pipesW(): Map<number, readonly PipeExpect[]> {
    if (!(this.owned & OWN_PIPES)) {
      this.pipesMap = new Map(this.pipesMap);
      this.owned |= OWN_PIPES;
    }
    return this.pipesMap;
  }

  /** A GUP reference `id` was taken through the page at `o.key`. */
  setOrigin(id: number, o: Origin): void {
    this.originW().set(id, o);
  }

  deleteOrigin(id: number): void {
    if (this.originMap.has(id)) this.originW().delete(id);
  }

  /** Pipe `pipe`'s buffers' expectations, in order. */
  setPipe(pipe: number, bufs: readonly PipeExpect[]): void {
    this.pipesW().set(pipe, bufs);
  }

  /** Plain data for another thread (structured clone); fromData() rebuilds the Ghost. */
  toData(): GhostData {
    const [d1, d2] = this.memT.digest();
    return { mem: this.memT.toData(), origin: this.origin, pipes: this.pipes, d1, d2 };
  }

  static fromData(d: GhostData): Ghost {
    const g = new Ghost();
    g.memT = GhostMem.fromData(d.mem, d.d1, d.d2);
    g.originMap = new Map(d.origin);
    g.pipesMap = new Map(d.pipes);
    return g;
  }

  /** Order-independent running digest of the expectations (two lanes), so fingerprints need not sort them. */
  digest(): readonly [number, number] {
    return this.memT.digest();
  }

  /** Call `fn(v)` for every expected page value (value * 2 + dma), by address (renamed by `pages` when given). */
  forEachValue(fn: (v: number) => void, pages: ReadonlyMap<number, number> | null = null): void {
    if (pages === null || pages.size === 0) {
      this.memT.forEachValue(fn);
      return;
    }
    const all = [...this.memT.entries()].map(([k, v]) => [renamedKey(k, pages), v] as const);
    all.sort((a, b) => a[0] - b[0]);
    for (const [, v] of all) fn(v);
  }

  /** digest() as if each expected value were renamed by `vals` and each page by `pages` (GhostMem.renamedDigest()). */
  renamedDigest(
    vals: ReadonlyMap<number, number> | null,
    pages: ReadonlyMap<number, number> | null = null,
  ): readonly [number, number] {
    return this.memT.renamedDigest(vals, pages);
  }

  /**
   * Rename every page of every mm by `pages` (page number to page number),
   * in place: expectations, GUP origins and pipe buffers' pages. The
   * reference the symmetry over pages of threads is tested against.
   */
  renamePages(pages: ReadonlyMap<number, number>): void {
    const all = [...this.memT.entries()];
    for (const [key] of all) this.drop(key);
    for (const [key, v] of all) this.memT.set(renamedKey(key, pages), v);
    for (const [id, o] of [...this.originMap])
      this.setOrigin(id, { ...o, key: renamedKey(o.key, pages) });
    for (const [pipe, bufs] of [...this.pipesMap])
      this.setPipe(
        pipe,
        bufs.map((b) => ({ want: b.want, key: b.key < 0 ? b.key : renamedKey(b.key, pages) })),
      );
  }

  /**
   * Rename every expected value (pages and pipe buffers) by `vals`, in
   * place: the reference the symmetry over page contents is tested against.
   */
  renameValues(vals: ReadonlyMap<number, number>): void {
    for (const [key, v] of [...this.memT.entries()]) {
      const y = vals.get((v - (v % 2)) / 2);
      if (y !== undefined) this.expect(key, y, v % 2 === 1);
    }
    for (const [pipe, bufs] of [...this.pipesMap])
      this.setPipe(
        pipe,
        bufs.map((b) => ({ want: b.want < 0 ? b.want : (vals.get(b.want) ?? b.want), key: b.key })),
      );
  }

  expect(key: number, value: number, dma: boolean): void {
    this.memT.set(key, (value >>> 0) * 2 + (dma ? 1 : 0));
  }

  drop(key: number): void {
    this.memT.delete(key);
  }

  /** The user remapped [addr, addr+len) of `mm` (munmap, MAP_FIXED, MADV_DONTNEED): no expectations left there. */
  remap(mm: number, addr: number, len: number): void {
    const lo = ghostKey(mm, addr);
    const hi = ghostKey(mm, addr + len);
    this.memT.deleteRange(lo, hi);
    for (const [id, o] of [...this.origin]) if (o.key >= lo && o.key < hi) this.deleteOrigin(id);
    for (const [pipe, bufs] of [...this.pipes])
      if (bufs.some((b) => b.key >= lo && b.key < hi))
        this.setPipe(
          pipe,
          bufs.map((b) => (b.key >= lo && b.key < hi ? { want: b.want, key: -1 } : b)),
        );
  }

  /**
   * The process itself stored `value` at `key`, into page `pfn`: pipe
   * buffers spliced from that address that still hold that very page follow.
   */
  wrote(s: State, key: number, value: number, pfn: number): void {
    this.expect(key, value, false);
    if (this.pipesMap.size === 0) return;
    for (const [pipe, bufs] of [...this.pipes]) {
      const real = s.pipes[pipe]?.bufs ?? [];
      if (bufs.some((b, i) => b.key === key && real[i]?.pfn === pfn))
        this.setPipe(
          pipe,
          bufs.map((b, i) =>
            b.key === key && real[i]?.pfn === pfn ? { want: value >>> 0, key } : b,
          ),
        );
    }
  }

  /** The mm is gone (its process exited). */
  dropMm(mm: number): void {
    this.remap(mm, 0, MM_SHIFT * PAGE - PAGE);
  }

  /** fork: the child inherits the parent's expectations where it has the mapping and it is private. */
  fork(s: State, parent: number, child: number): void {
    const cmm = s.mms[child];
    if (!cmm) return;
    for (const [key, v] of [...this.mem()]) {
      if (keyMm(key) !== parent) continue;
      const addr = keyAddr(key);
      const vma = vma_lookup(cmm, addr);
      if (vma && !(vma.vm_flags & VM_SHARED))
        this.expect(ghostKey(child, addr), Math.floor(v / 2), v % 2 === 1);
    }
  }

  /** What the page at key is expected to hold, or null. */
  expected(key: number): number | null {
    const v = this.memT.get(key);
    return v < 0 ? null : Math.floor(v / 2);
  }

  /** The expectations chunk by chunk, for the check (GhostMem.forEachChunk()). */
  forEachChunk(fn: (mm: number, addr: number, first: number, v: readonly number[]) => void): void {
    this.memT.forEachChunk(fn);
  }
}

/**
 * A ghost that tracks nothing: what `cowherd sim` runs with, since it checks
 * the design invariants never and the model's own once, at the end.
 */
export class NoGhost extends Ghost {
  override readonly tracking = false;
  override expect(): void {}
  override drop(): void {}
  override remap(): void {}
  override wrote(): void {}
  override dropMm(): void {}
  override fork(): void {}
}

/** Is `addr` in a private mapping of mm `mm` (where expectations apply)? */
export function isPrivate(s: State, mm: number, addr: number): boolean {
  const m = s.mms[mm];
  const vma = m ? vma_lookup(m, addr) : null;
  return vma !== null && vma !== undefined && !(vma.vm_flags & VM_SHARED);
}

/** The PFN mm `mm` maps at `addr`, 0 when none. */
function mappedPfn(s: State, mm: number, addr: number): number {
  const m = s.mms[mm];
  if (!m) return 0;
  const pte = pteView(s, m, addr); // a huge PMD counts: the page of the THP
  return pte_present(pte) ? pte_pfn(pte) : 0;
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** Check the design invariants on state `s`; returns every violation found. */
export function ghostFindings(s: State, g: Ghost): Finding[] {
  // The page-table design's invariants, recorded where a walker or a free broke them (mmu_gather.ts).
  const out: Finding[] = s.pt.bugs.map((b) => ({ code: b.code, detail: b.detail }));
  const mem: (Finding & { key: number })[] = [];
  g.forEachChunk((id, base, first, v) => {
    const mm = s.mms[id];
    if (!mm) return;
    // A chunk spans one PMD entry: a huge leaf maps its pages in order, else one PTE table.
    const pmdT = pmdTable(s, mm, base);
    if (pmdT === 0) return;
    const pmd = ptep_get(s, pmdT, pmd_index(base));
    const leaf = pmdLeafBits(pteBits(pmd));
    const table = leaf ? 0 : pmd_present_table(pmd);
    if (!leaf && table === 0) return;
    for (let j = 0; j < v.length; j++) {
      const e = v[j]!;
      if (e < 0) continue;
      const i = first + j;
      let pfn = 0;
      if (leaf) pfn = pte_pfn(pmd) + i;
      else {
        const pte = ptep_get(s, table, i);
        if (pte_present(pte)) pfn = pte_pfn(pte);
      }
      if (pfn === 0) continue;
      const want = Math.floor(e / 2);
      const have = s.mem.content[pfn]!;
      if (have === want) continue;
      const addr = base + i * PAGE;
      const key = ghostKey(id, addr);
      if (e % 2 === 1)
        mem.push({
          key,
          code: 'DMA001',
          detail: `mm ${id} ${hex(addr)} maps pfn ${pfn} holding ${have}, but a device wrote ${want} there through a GUP reference`,
        });
      else
        mem.push({
          key,
          code: 'ISO001',
          detail: `mm ${id} ${hex(addr)} maps pfn ${pfn} holding ${have}, but the process last wrote or inherited ${want}`,
        });
    }
  });
  // By address, whatever order the chunks were made in.
  for (const f of mem.sort((a, b) => a.key - b.key)) out.push({ code: f.code, detail: f.detail });
  for (const [pipe, wants] of g.pipes) {
    const bufs = s.pipes[pipe]?.bufs ?? [];
    wants.forEach(({ want }, i) => {
      const b = bufs[i];
      if (want < 0 || !b) return;
      const have = s.mem.content[b.pfn]!;
      if (have !== want)
        out.push({
          code: 'ISO001',
          detail: `pipe ${pipe} buffer ${i} (vmspliced) holds ${have}, but the memory it was spliced from held ${want}`,
        });
    });
  }
  for (const [id, o] of g.origin) {
    const ref = s.gup[id];
    if (!o.pin || !ref) continue;
    const mm = keyMm(o.key);
    const addr = keyAddr(o.key);
    const pfn = mappedPfn(s, mm, addr);
    if (pfn !== 0 && pfn !== ref.page)
      out.push({
        code: 'PIN001',
        detail: `pin ${id} holds pfn ${ref.page}, but mm ${mm} now maps pfn ${pfn} at ${hex(addr)}`,
      });
  }
  return out;
}
