/**
 * The kernel state a person looks at after a step, as plain data for the
 * viewer (`cowherd view`, `report --html`): each mm's VMAs and page tables as
 * a tree down to the entries in use, the folios in use with their counts and
 * flags and who else holds them, the swap slots, pipes, GUP references and
 * files. Entries use the same words as the text traces (pteDescribe()).
 */

import type { State } from '../core/mm_types.js';
import { ptBits, ptEntries, ptVal, vmFlagNames } from '../core/mm_types.js';
import { pageFlagNames } from '../core/page-flags.js';
import { _PAGE_PSE, mk_pte, pteDescribe, ptLevelName } from '../core/pgtable_types.js';

export interface PtEntrySnap {
  readonly index: number;
  /** First virtual address the entry maps. */
  readonly addr: number;
  /** table (points to the next level), huge (a PMD mapping a THP), present, swap, marker, migration-r, migration-w. */
  readonly kind: string;
  /** The PFN (present, huge, migration) or the swap slot (swap); 0 for a marker. */
  readonly target: number;
  /** W/R, D, A, special, sd, uffd-wp, excl, protnone: as in the text traces. */
  readonly bits: readonly string[];
  readonly child?: PtTableSnap;
}

export interface PtTableSnap {
  readonly level: string;
  /** The table's id in the model (a freed id may be reused). */
  readonly id: number;
  readonly base: number;
  readonly entries: readonly PtEntrySnap[];
  /** Entries in use past the mm's budget (SNAPSHOT_LIMITS), not shown. */
  readonly omitted?: number;
}

/**
 * What a snapshot shows at most: leaf entries and tables per mm, folios. A
 * person reads a few hundred; a 1 TiB sparse mapping has millions, whose
 * counts (VmPTE, rss) the mm's line still gives.
 */
export const SNAPSHOT_LIMITS = { entries: 1024, tables: 256, folios: 1024 } as const;

export interface VmaSnap {
  readonly start: number;
  readonly end: number;
  readonly flags: string;
  readonly anon_vma: number;
  readonly file: number;
  readonly pgoff: number;
}

export interface MmSnap {
  readonly id: number;
  /** The tasks using it. */
  readonly pids: readonly number[];
  readonly vmas: readonly VmaSnap[];
  readonly pgtables_bytes: number;
  /** MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES. */
  readonly rss: readonly number[];
  readonly pgd: PtTableSnap | null;
}

export interface FolioSnap {
  readonly pfn: number;
  readonly order: number;
  readonly refcount: number;
  /** The head page's mapcount (a large folio's whole counts are in `large`). */
  readonly mapcount: number;
  readonly flags: readonly string[];
  readonly value: number;
  readonly large?: {
    readonly entire: number;
    readonly mapcount: number;
    readonly pincount: number;
    readonly shared: boolean;
  };
  /** The swap slot it caches (folio->swap), when in the swap cache. */
  readonly swapSlot?: number;
  /** Who else holds a reference: an LRU batch, reclaim, a GUP reference, a pipe buffer, the page cache. */
  readonly heldBy: readonly string[];
}

export interface StateSnap {
  readonly mms: readonly MmSnap[];
  readonly folios: readonly FolioSnap[];
  /** Folios in use past SNAPSHOT_LIMITS.folios, not shown. */
  readonly omittedFolios?: number;
  readonly swap: readonly {
    readonly slot: number;
    readonly count: number;
    readonly cache: number;
    readonly data: number;
  }[];
  readonly pipes: readonly {
    readonly id: number;
    readonly bufs: readonly { readonly pfn: number; readonly ops: string }[];
    readonly readers: number;
    readonly writers: number;
  }[];
  readonly gup: readonly {
    readonly id: number;
    readonly folio: number;
    readonly pin: boolean;
    readonly refs: number;
  }[];
  readonly files: readonly {
    readonly id: number;
    readonly fs: string;
    readonly size: number;
    /** [page offset, PFN] of the cached pages. */
    readonly pages: readonly (readonly [number, number])[];
  }[];
}

/** An entry as pteDescribe() words it, split into kind, target and bits. */
function entrySnap(index: number, addr: number, e: number, pmd: boolean): PtEntrySnap {
  const huge = pmd && (Math.floor(e / 2 ** 32) & _PAGE_PSE) !== 0;
  const words = pteDescribe(e).split(' ');
  if (words[0] === 'pfn')
    return {
      index,
      addr,
      kind: huge ? 'huge' : 'present',
      target: Number(words[1]),
      bits: words.slice(2),
    };
  const [kind, target] = words[0]!.split(':');
  return {
    index,
    addr,
    kind: kind!,
    target: Number(target ?? 0),
    bits: words.slice(1).join(' ').split(',').filter(Boolean),
  };
}

interface Budget {
  entries: number;
  tables: number;
}

function tableSnap(s: State, id: number, level: number, base: number, budget: Budget): PtTableSnap {
  const t = s.pt.tables[id]!;
  const span = 2 ** (12 + 9 * (level - 1));
  const entries: PtEntrySnap[] = [];
  let omitted = 0;
  budget.tables--;
  ptEntries(t, (i, v, bits) => {
    const addr = base + i * span;
    const table = level > 1 && bits & 1 && !(bits & _PAGE_PSE);
    if (table ? budget.tables <= 0 : budget.entries <= 0) {
      omitted++;
      return;
    }
    if (table)
      entries.push({
        index: i,
        addr,
        kind: 'table',
        target: v,
        bits: [],
        child: tableSnap(s, v, level - 1, addr, budget),
      });
    else {
      budget.entries--;
      entries.push(entrySnap(i, addr, mk_pte(ptVal(t, i), ptBits(t, i)), level === 2));
    }
  });
  return { level: ptLevelName(level), id, base, entries, ...(omitted ? { omitted } : {}) };
}

function holders(s: State): Map<number, string[]> {
  const out = new Map<number, string[]>();
  const add = (pfn: number, who: string) => {
    const l = out.get(pfn);
    if (l) l.push(who);
    else out.set(pfn, [who]);
  };
  s.lru_batch.forEach((b, cpu) => {
    for (const pfn of b) add(pfn, `cpu${cpu} LRU batch`);
  });
  for (const pfn of s.isolated) add(pfn, 'reclaim');
  for (const g of s.gup) if (g) add(g.folio, `${g.pin ? 'pin' : 'gup'} #${g.id}`);
  for (const p of s.pipes) if (p) for (const b of p.bufs) add(b.pfn, `pipe ${p.id}`);
  for (const i of s.inodes) {
    if (!i) continue;
    i.pages.forEach((pfn, off) => {
      if (pfn) add(pfn, `page cache of file ${i.id} @${off}`);
    });
  }
  return out;
}

/** The state as the viewer shows it. */
export function snapshotState(s: State): StateSnap {
  const mms: MmSnap[] = [];
  for (const mm of s.mms) {
    if (!mm) continue;
    mms.push({
      id: mm.id,
      pids: s.tasks.filter((t) => t !== null && t.mm === mm.id).map((t) => t!.pid),
      vmas: mm.vmas.map((v) => ({
        start: v.vm_start,
        end: v.vm_end,
        flags: vmFlagNames(v.vm_flags),
        anon_vma: v.anon_vma,
        file: v.vm_file,
        pgoff: v.vm_pgoff,
      })),
      pgtables_bytes: mm.pgtables_bytes,
      rss: [...mm.rss],
      pgd:
        mm.pgd !== 0
          ? tableSnap(s, mm.pgd, 4, 0, {
              entries: SNAPSHOT_LIMITS.entries,
              tables: SNAPSHOT_LIMITS.tables,
            })
          : null,
    });
  }
  const held = holders(s);
  const m = s.mem;
  const folios: FolioSnap[] = [];
  let omittedFolios = 0;
  for (let pfn = 2; pfn < m.end; pfn++) {
    const flags = pageFlagNames(m.flags[pfn]!);
    if (flags.includes('buddy') || flags.includes('tail') || m.refcount[pfn] === 0) continue;
    if (folios.length >= SNAPSHOT_LIMITS.folios) {
      omittedFolios++;
      continue;
    }
    const order = m.order[pfn]!;
    const lf = order > 0 ? m.large.get(pfn) : undefined;
    const slot = s.swap.slot_of.get(pfn);
    folios.push({
      pfn,
      order,
      refcount: m.refcount[pfn]!,
      mapcount: m.mapcount[pfn]!,
      flags,
      value: m.content[pfn]!,
      ...(lf
        ? {
            large: {
              entire: lf.entire,
              mapcount: lf.mapcount,
              pincount: lf.pincount,
              shared: lf.shared,
            },
          }
        : {}),
      ...(slot !== undefined ? { swapSlot: slot } : {}),
      heldBy: held.get(pfn) ?? [],
    });
  }
  const swap = [];
  for (let slot = 1; slot < s.swap.map.length; slot++) {
    const count = s.swap.map[slot] ?? 0;
    const cache = s.swap.cache[slot] ?? 0;
    if (count === 0 && cache === 0) continue;
    swap.push({ slot, count, cache, data: s.swap.data[slot] ?? 0 });
  }
  return {
    mms,
    folios,
    ...(omittedFolios ? { omittedFolios } : {}),
    swap,
    pipes: s.pipes
      .filter((p) => p !== null)
      .map((p) => ({
        id: p.id,
        bufs: p.bufs.map((b) => ({ pfn: b.pfn, ops: b.ops })),
        readers: p.readers,
        writers: p.writers,
      })),
    gup: s.gup
      .filter((g) => g !== null)
      .map((g) => ({ id: g.id, folio: g.folio, pin: g.pin, refs: g.refs })),
    files: s.inodes
      .filter((i) => i !== null)
      .map((i) => ({
        id: i.id,
        fs: i.fs,
        size: i.size,
        pages: i.pages.flatMap((pfn, off) => (pfn ? [[off, pfn] as const] : [])),
      })),
  };
}
