/**
 * Named kernel invariants, each with a code, checked over a whole state.
 * A violation is a model verdict (data), never an exception.
 *
 * MM001 refcount: every in-use folio's refcount equals the references the
 *       model can account for (PTE mappings, pipe buffers, the shmem page
 *       cache, per-CPU LRU batches, reclaim's isolated folios, held GUP
 *       references and pins, the swap cache).
 * MM002 mapcount: every page's mapcount equals the PTEs mapping it, a large
 *       folio's entire mapcount the huge PMDs mapping it and its large
 *       mapcount all its mappings; a large folio not "maybe mapped shared"
 *       is mapped by one mm only, the one an _mm_id slot names with every
 *       mapping (CONFIG_MM_ID).
 * MM003 use after free: no PTE or pipe buffer refers to a freed page.
 * MM004 page-table accounting: pgtables_bytes equals the PUD, PMD and PTE
 *       tables reachable from the mm plus the table each huge PMD keeps
 *       deposited, and every allocated table is reachable.
 * MM005 rss: MM_ANONPAGES, MM_SHMEMPAGES and MM_FILEPAGES equal the PTEs mapping such pages.
 * MM006 leak: once no process and no pipe is left, only the zero page is in use
 *       and no swap slot (swap-cache folios that nothing but the swap cache
 *       holds and no swap entry names are reclaimable, not leaked).
 * MM007 swap accounting: every slot's swap count equals the swap PTEs naming
 *       it, the swap cache and PG_swapcache agree, and MM_SWAPENTS equals the
 *       mm's swap PTEs.
 */

import { mmTables } from './mm/memory/pgtable.js';
import { page_folio } from './mm/page_alloc.js';
import type { LargeFolio, State } from './mm_types.js';
import {
  MM_ANONPAGES,
  MM_FILEPAGES,
  MM_SHMEMPAGES,
  MM_SWAPENTS,
  PT_DENSE_WORDS,
  ptEntryWords,
  ptVal,
  ZERO_PFN,
} from './mm_types.js';
import {
  PG_anon,
  PG_buddy,
  PG_swapbacked,
  PG_swapcache,
  PG_tail,
  PG_writeback,
} from './page-flags.js';
import { _PAGE_SPECIAL, PT_TABLE_BYTES, presentBits, swapEntryBits } from './pgtable_types.js';

export type InvariantCode = 'MM001' | 'MM002' | 'MM003' | 'MM004' | 'MM005' | 'MM006' | 'MM007';

export const INVARIANTS: Readonly<Record<InvariantCode, string>> = {
  MM001: 'refcount accounting: refcount equals mappings plus other holders',
  MM002: 'mapcount accounting: mapcount equals the PTEs mapping the page',
  MM003: 'no use after free: nothing maps or references a freed page',
  MM004: 'page-table accounting: VmPTE equals the tables reachable from the mm; no table leaked',
  MM005: 'rss accounting: RssAnon/RssShmem equal the PTEs mapping such pages',
  MM006: 'no leak at exit: with no process and no pipe left, only the zero page is in use',
  MM007:
    'swap accounting: swap counts equal the swap PTEs; swap cache and PG_swapcache agree; NR_WRITEBACK counts the folios under writeback',
};

export interface Violation {
  readonly code: InvariantCode;
  readonly detail: string;
}

/** Extra references held outside the structures the checker walks (e.g. GUP pins), per folio. */
export type ExtraRefs = ReadonlyMap<number, number>;

/** Check every invariant; returns the violations found (empty when all hold). */
export function checkInvariants(s: State, extra: ExtraRefs = new Map()): Violation[] {
  const out: Violation[] = [];
  // A design that broke a page-table invariant (PT001, PT002: a finding of
  // the design, scenario/ghost.ts) corrupted the state on purpose: the
  // accounting below no longer describes a kernel that could exist.
  if (s.pt.bugs.length > 0) return out;
  const mem = s.mem;
  const end = mem.end;
  // The memmap arrays in locals: the loops below read them per PTE and per PFN.
  const { flags, mapcount, refcount, order } = mem;
  // Per PFN below mem.end: the references and the PTE mappings the walk
  // accounts (typed arrays, not Maps: a gigabyte mapping counts 262,144 pages
  // per state), zeroed scratch shared by every call.
  const { refs, maps, cached } = scratchFor(end);
  const ref = (folio: number, n = 1) => {
    if (folio < end) refs[folio]! += n;
  };
  /** Mappings of each large folio, per mm. */
  const largeMaps = new Map<number, Map<number, number>>();
  const addLarge = (folio: number, mm: number, n = 1): void => {
    const per = largeMaps.get(folio) ?? new Map<number, number>();
    largeMaps.set(folio, per);
    add(per, mm, n);
  };
  const add = (m: Map<number, number>, k: number, n = 1) => m.set(k, (m.get(k) ?? 0) + n);
  // Table ids reachable from some mm (a table id is below s.pt.tables.length).
  const reachable = scratchTables(s.pt.tables.length);
  // Swap PTEs per slot; the slots named that do not exist, each once, in the order met.
  const swapRefs = new Array<number>(s.swap.map.length).fill(0);
  const noSlot: number[] = [];
  const entireMaps = new Map<number, number>();
  const isHugeZero = (pfn: number) =>
    s.huge_zero !== 0 && pfn >= s.huge_zero && pfn < s.huge_zero + 512;
  const pins = new Map<number, number>();

  for (const mm of s.mms) {
    if (!mm) continue;
    reachable[mm.pgd] = 1;
    const t = mmTables(s, mm);
    for (const id of t.pud) reachable[id] = 1;
    for (const id of t.pmd) reachable[id] = 1;
    for (const id of t.pte) reachable[id] = 1;
    // Each huge PMD of anonymous memory keeps a deposited PTE table, counted
    // in pgtables_bytes; a page-cache THP's has none (x86).
    const deposited = t.huge.filter((h) => {
      const head = ptVal(s.pt.tables[h.table]!, h.index);
      return head === s.huge_zero || head >= mem.end || (flags[head]! & PG_anon) !== 0;
    }).length;
    const bytes = (t.pud.length + t.pmd.length + t.pte.length + deposited) * PT_TABLE_BYTES;
    if (bytes !== mm.pgtables_bytes) {
      out.push({
        code: 'MM004',
        detail: `mm ${mm.id}: pgtables_bytes ${mm.pgtables_bytes}, tables ${bytes}`,
      });
    }
    let anon = 0;
    let shmem = 0;
    let file = 0;
    let swapents = 0;
    // A PTE-mapped large folio's PTEs come in runs: counted per run, not per PTE.
    let runFolio = 0;
    let run = 0;
    for (const id of t.pte) {
      const n = ptEntryWords(s.pt.tables[id]!, tableEntries);
      // Entries that are not none, read by their words (presentBits() is
      // pte_present(), swapEntryBits() is_swap_entry_pte()).
      for (let e = 0; e < n; e += 2) {
        const val = tableEntries[e]!;
        const bits = tableEntries[e + 1]!;
        if (swapEntryBits(bits)) {
          swapents++;
          if (val > 0 && val < swapRefs.length) swapRefs[val]! += 1;
          else if (!noSlot.includes(val)) noSlot.push(val);
          continue;
        }
        if (!presentBits(bits) || bits & _PAGE_SPECIAL) continue;
        if (val >= mem.end || flags[val]! & PG_buddy) {
          out.push({ code: 'MM003', detail: `mm ${mm.id}: PTE maps freed page ${val}` });
          continue;
        }
        maps[val]! += 1;
        const folio = page_folio(s, val);
        ref(folio);
        if (order[folio]! > 0) {
          if (folio !== runFolio) {
            if (run > 0) addLarge(runFolio, mm.id, run);
            runFolio = folio;
            run = 0;
          }
          run++;
        }
        const ff = flags[folio]!;
        if (ff & PG_anon) anon++;
        else if (ff & PG_swapbacked) shmem++;
        else file++;
      }
    }
    if (run > 0) addLarge(runFolio, mm.id, run);
    for (const h of t.huge) {
      const head = ptVal(s.pt.tables[h.table]!, h.index);
      if (head === s.huge_zero) continue; // like the zero page: no rss, mapcount or reference
      if (head >= mem.end || flags[head]! & PG_buddy) {
        out.push({ code: 'MM003', detail: `mm ${mm.id}: huge PMD maps freed page ${head}` });
        continue;
      }
      add(entireMaps, head);
      ref(head);
      addLarge(head, mm.id);
      const nr = 2 ** order[head]!;
      if (flags[head]! & PG_anon) anon += nr;
      else if (flags[head]! & PG_swapbacked) shmem += nr;
      else file += nr;
    }
    if (
      anon !== mm.rss[MM_ANONPAGES] ||
      shmem !== mm.rss[MM_SHMEMPAGES] ||
      file !== mm.rss[MM_FILEPAGES]
    ) {
      out.push({
        code: 'MM005',
        detail: `mm ${mm.id}: RssAnon ${mm.rss[MM_ANONPAGES]} vs ${anon} mapped, RssShmem ${mm.rss[MM_SHMEMPAGES]} vs ${shmem}, RssFile ${mm.rss[MM_FILEPAGES]} vs ${file}`,
      });
    }
    if (swapents !== mm.rss[MM_SWAPENTS]) {
      out.push({
        code: 'MM007',
        detail: `mm ${mm.id}: MM_SWAPENTS ${mm.rss[MM_SWAPENTS]}, swap PTEs ${swapents}`,
      });
    }
  }
  for (const p of s.pipes) {
    if (!p) continue;
    for (const b of p.bufs) {
      if (flags[b.pfn]! & PG_buddy)
        out.push({ code: 'MM003', detail: `pipe ${p.id}: buffer refers to freed page ${b.pfn}` });
      else ref(page_folio(s, b.pfn));
    }
  }
  for (const f of s.inodes) if (f) for (const pfn of f.pages) if (pfn) ref(page_folio(s, pfn));
  for (const batch of s.lru_batch) for (const folio of batch) ref(folio);
  for (const folio of s.isolated) ref(folio);
  for (const g of s.gup) {
    if (!g) continue;
    if (flags[g.folio]! & PG_buddy) {
      out.push({ code: 'MM003', detail: `GUP reference ${g.id} to freed page ${g.page}` });
      continue;
    }
    ref(g.folio, g.refs);
    if (g.pin && order[g.folio]! > 0) add(pins, g.folio);
  }
  for (const [folio, n] of extra) ref(folio, n);
  out.push(...checkSwap(s, swapRefs, noSlot, cached));
  for (const folio of s.swap.cache) if (folio) ref(folio);

  for (let id = 1; id < s.pt.tables.length; id++) {
    // A table unlinked and waiting for its grace period (mmu_gather.ts) is not leaked.
    if (s.pt.tables[id] && reachable[id] === 0 && !s.pt.deferred.includes(id)) {
      out.push({
        code: 'MM004',
        detail: `page table ${id} (level ${s.pt.level[id]}) allocated but unreachable`,
      });
    }
  }
  let writeback = 0;
  for (let pfn = ZERO_PFN + 1; pfn < end; pfn++) {
    const f = flags[pfn]!;
    if (f & PG_writeback) writeback++;
    if (f & PG_buddy || isHugeZero(pfn)) continue;
    if (maps[pfn] !== mapcount[pfn]) {
      out.push({
        code: 'MM002',
        detail: `page ${pfn}: mapcount ${mapcount[pfn]}, mapped by ${maps[pfn]} PTEs`,
      });
    }
    if (f & PG_tail) continue;
    if (order[pfn]! > 0) {
      let multi = 0;
      const nr = 2 ** order[pfn]!;
      for (let i = 0; i < nr; i++) if (mapcount[pfn + i]! >= 2) multi++;
      const large = mem.large.get(pfn);
      out.push(...checkLargeFolio(pfn, multi, large, entireMaps, pins, largeMaps));
    }
    const expect = refs[pfn]!;
    if (expect !== refcount[pfn]) {
      out.push({
        code: 'MM001',
        detail: `folio ${pfn}: refcount ${refcount[pfn]}, accounted ${expect}`,
      });
    }
  }
  if (writeback !== mem.nr_writeback)
    out.push({
      code: 'MM007',
      detail: `NR_WRITEBACK ${mem.nr_writeback}, folios under writeback ${writeback}`,
    });
  const alive =
    s.mms.some((m) => m !== null) ||
    s.pipes.some((p) => p !== null) ||
    s.gup.some((g) => g !== null);
  if (!alive) {
    // A swap-cache folio whose slot no swap entry names any more, held by the
    // swap cache alone, is not a leak: reclaim frees it when it gets to it
    // (the kernel keeps such folios until then, e.g. after a write copied
    // away from a swapped-in page that was pinned).
    const orphan = (pfn: number) =>
      (flags[pfn]! & PG_swapcache) !== 0 &&
      refcount[pfn] === 1 &&
      s.swap.cache.some((f, slot) => f === pfn && s.swap.map[slot] === 0);
    // A folio a per-CPU LRU add batch or a reclaim scan still holds is not a
    // leak either: the batch drains (or the scan lets go) later, and that
    // last reference frees it (mm/swap.c folio_batch_move_lru()).
    const pending = new Map<number, number>();
    for (const b of s.lru_batch) for (const f of b) pending.set(f, (pending.get(f) ?? 0) + 1);
    for (const f of s.isolated) pending.set(f, (pending.get(f) ?? 0) + 1);
    // So is the page cache of a file still open (the scenario's `memfd` and
    // `tmpfile` files stay open until the end of the run): one reference each.
    for (const inode of s.inodes)
      for (const pfn of inode?.pages ?? []) {
        if (!pfn) continue;
        const f = page_folio(s, pfn);
        pending.set(f, (pending.get(f) ?? 0) + 1);
      }
    const heldByKernel = (pfn: number) => {
      const n = pending.get(pfn);
      if (n === undefined) return false;
      const swapcache = (flags[pfn]! & PG_swapcache) !== 0 ? 1 : 0;
      return refcount[pfn] === n + swapcache;
    };
    for (let pfn = ZERO_PFN + 1; pfn < mem.end; pfn++) {
      if (flags[pfn]! & PG_tail) continue; // its folio's head answers for it
      if (!(flags[pfn]! & PG_buddy) && !isHugeZero(pfn) && !orphan(pfn) && !heldByKernel(pfn))
        out.push({ code: 'MM006', detail: `page ${pfn} still in use after everything exited` });
    }
    // A slot cached by such a folio goes with it.
    const cachedByKernel = (f: number) => f !== 0 && (orphan(f) || heldByKernel(f));
    s.swap.map.forEach((n, slot) => {
      if (slot > 0 && (n > 0 || (s.swap.cache[slot] && !cachedByKernel(s.swap.cache[slot]!))))
        out.push({
          code: 'MM006',
          detail: `swap slot ${slot} still in use after everything exited`,
        });
    });
    // A table unlinked while a lockless walker (reclaim's stopped rmap walk,
    // GUP-fast) is inside is freed when the walker leaves (the grace period).
    const deferred = new Set(s.pt.deferred);
    for (let id = 1; id < s.pt.tables.length; id++) {
      if (s.pt.tables[id] && !deferred.has(id))
        out.push({
          code: 'MM006',
          detail: `page table ${id} still allocated after every mm exited`,
        });
    }
  }
  return out;
}

/** MM007: swap counts against the swap PTEs found, and the swap cache against PG_swapcache. */
function checkSwap(
  s: State,
  swapRefs: readonly number[],
  noSlot: readonly number[],
  /** Zeroed scratch over the PFNs below mem.end: set here for each folio that caches a slot. */
  cached: Uint8Array,
): Violation[] {
  const out: Violation[] = [];
  const sw = s.swap;
  for (const slot of noSlot)
    out.push({ code: 'MM007', detail: `a swap PTE names slot ${slot}, which does not exist` });
  let any = false;
  for (let slot = 1; slot < sw.map.length; slot++) {
    const n = swapRefs[slot]!;
    if (n !== sw.map[slot])
      out.push({
        code: 'MM007',
        detail: `swap slot ${slot}: count ${sw.map[slot]}, swap PTEs ${n}`,
      });
    const folio = sw.cache[slot]!;
    if (folio === 0) continue;
    const f = s.mem.flags[folio]!;
    const again = folio < s.mem.end ? cached[folio] === 1 : cachedBeyond(sw.cache, slot);
    if (f & PG_buddy || !(f & PG_swapcache) || again)
      out.push({
        code: 'MM007',
        detail: `swap slot ${slot}: cached by folio ${folio}, which is not a swap-cache folio of its own`,
      });
    if (folio < s.mem.end) cached[folio] = 1;
    any = true;
  }
  const flags = s.mem.flags;
  for (let pfn = ZERO_PFN + 1; pfn < s.mem.end; pfn++) {
    if (flags[pfn]! & PG_swapcache && cached[pfn] === 0)
      out.push({ code: 'MM007', detail: `folio ${pfn} is PG_swapcache but caches no slot` });
  }
  if (any) cached.fill(0, 0, s.mem.end);
  return out;
}

/** Whether a slot below `slot` is cached by the same folio (one at or past mem.end, never marked). */
function cachedBeyond(cache: readonly number[], slot: number): boolean {
  for (let i = 1; i < slot; i++) if (cache[i] === cache[slot]) return true;
  return false;
}

/**
 * Scratch arrays of checkInvariants(), kept between calls (a state of a
 * gigabyte mapping would otherwise allocate two arrays of 262,144 numbers
 * per check): the references and mappings per PFN, zeroed below `end` on
 * each call, and the swap-cache marks, which checkSwap() clears after use.
 */
let scratch = { refs: new Int32Array(0), maps: new Int32Array(0), cached: new Uint8Array(0) };
function scratchFor(end: number): typeof scratch {
  if (scratch.refs.length < end) {
    const n = Math.max(end, 2 * scratch.refs.length);
    scratch = { refs: new Int32Array(n), maps: new Int32Array(n), cached: new Uint8Array(n) };
  } else {
    scratch.refs.fill(0, 0, end);
    scratch.maps.fill(0, 0, end);
  }
  return scratch;
}
/** One PTE table's populated entries, (val, bits) pairs, filled per table: 512 pairs at most. */
const tableEntries = new Uint32Array(PT_DENSE_WORDS);
let tableMarks = new Uint8Array(0);
/** Zeroed marks over table ids below `n`. */
function scratchTables(n: number): Uint8Array {
  if (tableMarks.length < n) tableMarks = new Uint8Array(Math.max(n, 2 * tableMarks.length));
  else tableMarks.fill(0, 0, n);
  return tableMarks;
}

/** MM001/MM002 for a large folio's own fields (struct folio, CONFIG_MM_ID). */
function checkLargeFolio(
  pfn: number,
  multi: number,
  f: LargeFolio | undefined,
  entireMaps: ReadonlyMap<number, number>,
  pins: ReadonlyMap<number, number>,
  largeMaps: ReadonlyMap<number, ReadonlyMap<number, number>>,
): Violation[] {
  if (!f) return [{ code: 'MM002', detail: `folio ${pfn}: large folio without its folio fields` }];
  const out: Violation[] = [];
  if ((entireMaps.get(pfn) ?? 0) !== f.entire)
    out.push({
      code: 'MM002',
      detail: `folio ${pfn}: entire mapcount ${f.entire}, mapped by ${entireMaps.get(pfn) ?? 0} huge PMDs`,
    });
  if ((pins.get(pfn) ?? 0) !== f.pincount)
    out.push({
      code: 'MM001',
      detail: `folio ${pfn}: pincount ${f.pincount}, pins held ${pins.get(pfn) ?? 0}`,
    });
  if (f.multi !== multi)
    out.push({
      code: 'MM002',
      detail: `folio ${pfn}: ${f.multi} pages counted as mapped more than once, ${multi} are`,
    });
  const per = largeMaps.get(pfn) ?? new Map<number, number>();
  let total = 0;
  for (const n of per.values()) total += n;
  if (total !== f.mapcount)
    out.push({
      code: 'MM002',
      detail: `folio ${pfn}: large mapcount ${f.mapcount}, mapped ${total} times`,
    });
  else if (!f.shared && total > 0) {
    const owner =
      f.mm_id_mapcount[0] === total ? f.mm_id[0] : f.mm_id_mapcount[1] === total ? f.mm_id[1] : 0;
    if (owner === 0 || per.size !== 1 || !per.has(owner))
      out.push({
        code: 'MM002',
        detail: `folio ${pfn}: not maybe-shared, but mapped by mm ${[...per.keys()].join(', mm ')} (slots mm ${f.mm_id[0]}: ${f.mm_id_mapcount[0]}, mm ${f.mm_id[1]}: ${f.mm_id_mapcount[1]})`,
      });
  }
  return out;
}
