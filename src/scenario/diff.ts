/**
 * What one step changed in the kernel state: PTEs, page tables allocated or
 * freed, folios (refcount, mapcount, flags, contents), VMAs and counters.
 * Tables are shared copy-on-write between the before and after states, so a
 * table whose array is the same object did not change and is not compared.
 */

import type { State } from '../core/mm_types.js';
import { ptBits, ptEntries, ptVal, vmFlagNames } from '../core/mm_types.js';
import { pageFlagNames } from '../core/page-flags.js';
import { _PAGE_PSE, mk_pte, pteDescribe, ptLevelName } from '../core/pgtable_types.js';
import { VM_EVENT_NAMES } from '../core/vmstat.js';

export interface TableInfo {
  readonly mm: number;
  readonly level: number;
  /** First virtual address the table maps. */
  readonly base: number;
}

export interface StateDiff {
  readonly ptes: readonly { mm: number; addr: number; before: string; after: string }[];
  readonly tables: readonly {
    mm: number;
    level: string;
    base: number;
    change: 'allocated' | 'freed';
  }[];
  readonly folios: readonly { pfn: number; before: string; after: string }[];
  readonly vmas: readonly { mm: number; before: string; after: string }[];
  readonly counters: readonly { name: string; delta: number }[];
}

/** Every page table of every mm with the address range it maps. */
export function tableMap(s: State): Map<number, TableInfo> {
  const out = new Map<number, TableInfo>();
  const walk = (mm: number, id: number, level: number, base: number) => {
    out.set(id, { mm, level, base });
    if (level === 1) return;
    const t = s.pt.tables[id]!;
    const span = 2 ** (12 + 9 * (level - 1));
    ptEntries(t, (i, v, bits) => {
      // A huge PMD (PSE) maps a THP, not a table.
      if (bits & 1 && !(bits & _PAGE_PSE)) walk(mm, v, level - 1, base + i * span);
    });
  };
  for (const mm of s.mms) if (mm && mm.pgd !== 0) walk(mm.id, mm.pgd, 4, 0);
  return out;
}

function isHuge(e: number): boolean {
  return e !== 0 && (Math.floor(e / 2 ** 32) & _PAGE_PSE) !== 0;
}

/** A PMD entry that is not huge is a table pointer or none: shown as none. */
function pmdOrPte(e: number, pmd: boolean): string {
  if (!pmd) return pteDescribe(e);
  return isHuge(e) ? `huge ${pteDescribe(e)}` : 'none';
}

function entry(t: Uint32Array | null | undefined, i: number): number {
  return t ? mk_pte(ptVal(t, i), ptBits(t, i)) : 0;
}

function folioText(s: State, pfn: number): string {
  const m = s.mem;
  if (pfn >= m.end) return 'unused';
  const flags = pageFlagNames(m.flags[pfn]!);
  if (flags.includes('buddy')) return 'free';
  const held: string[] = [];
  s.lru_batch.forEach((b, cpu) => {
    if (b.includes(pfn)) held.push(`cpu${cpu} LRU batch`);
  });
  if (s.isolated.includes(pfn)) held.push('reclaim');
  const by = held.length ? ` (ref held by ${held.join(', ')})` : '';
  const f = m.order[pfn]! > 0 && !flags.includes('tail') ? m.large.get(pfn) : undefined;
  const large = f
    ? ` order ${m.order[pfn]} entire ${f.entire} mapcount ${f.mapcount}${f.pincount ? ` pincount ${f.pincount}` : ''}${f.shared ? ' maybe-shared' : ''}`
    : '';
  return `ref ${m.refcount[pfn]} map ${m.mapcount[pfn]}${large} [${flags.join(' ')}] value ${m.content[pfn]}${by}`;
}

function vmaText(s: State, mm: number): string {
  const m = s.mms[mm];
  if (!m) return '(no mm)';
  return m.vmas
    .map(
      (v) =>
        `${v.vm_start.toString(16)}-${v.vm_end.toString(16)} ${vmFlagNames(v.vm_flags)}${v.anon_vma ? ` av${v.anon_vma}` : ''}`,
    )
    .join('; ');
}

/** The changes from `a` to `b` (b derived from a clone of a). */
export function diffStates(a: State, b: State): StateDiff {
  const ta = tableMap(a);
  const tb = tableMap(b);
  const ptes: { mm: number; addr: number; before: string; after: string }[] = [];
  const tables: { mm: number; level: string; base: number; change: 'allocated' | 'freed' }[] = [];
  const same = (x: TableInfo | undefined, y: TableInfo | undefined) =>
    x !== undefined && y !== undefined && x.mm === y.mm && x.level === y.level && x.base === y.base;
  for (const [id, info] of ta) {
    if (!same(info, tb.get(id)) && info.level < 4)
      tables.push({
        mm: info.mm,
        level: ptLevelName(info.level),
        base: info.base,
        change: 'freed',
      });
  }
  for (const [id, info] of tb) {
    if (!same(ta.get(id), info) && info.level < 4)
      tables.push({
        mm: info.mm,
        level: ptLevelName(info.level),
        base: info.base,
        change: 'allocated',
      });
  }
  const pteTables = new Set<number>();
  for (const [id, info] of [...ta, ...tb]) if (info.level <= 2) pteTables.add(id);
  for (const id of [...pteTables].sort((x, y) => x - y)) {
    const ia = ta.get(id);
    const ib = tb.get(id);
    const arrA = ia ? a.pt.tables[id] : null;
    const arrB = ib ? b.pt.tables[id] : null;
    if (same(ia, ib) && arrA === arrB) continue;
    for (const [info, x, y] of same(ia, ib)
      ? [[ia!, arrA, arrB] as const]
      : [...(ia ? [[ia, arrA, null] as const] : []), ...(ib ? [[ib, null, arrB] as const] : [])]) {
      const pmd = info.level === 2;
      for (let i = 0; i < 512; i++) {
        const ea = entry(x, i);
        const eb = entry(y, i);
        if (ea === eb) continue;
        // In a PMD table only huge entries are shown (table pointers are the table lines).
        if (pmd && !isHuge(ea) && !isHuge(eb)) continue;
        ptes.push({
          mm: info.mm,
          addr: info.base + i * (pmd ? 2 ** 21 : 4096),
          before: pmdOrPte(ea, pmd),
          after: pmdOrPte(eb, pmd),
        });
      }
    }
  }
  const folios: { pfn: number; before: string; after: string }[] = [];
  const end = Math.max(a.mem.end, b.mem.end);
  for (let pfn = 1; pfn < end; pfn++) {
    const before = folioText(a, pfn);
    const after = folioText(b, pfn);
    if (before !== after) folios.push({ pfn, before, after });
  }
  const vmas: { mm: number; before: string; after: string }[] = [];
  for (let mm = 1; mm < Math.max(a.mms.length, b.mms.length); mm++) {
    const before = vmaText(a, mm);
    const after = vmaText(b, mm);
    if (before !== after) vmas.push({ mm, before, after });
  }
  const counters = VM_EVENT_NAMES.map((name, i) => ({
    name,
    delta: (b.vmstat[i] ?? 0) - (a.vmstat[i] ?? 0),
  })).filter((c) => c.delta !== 0);
  return { ptes, tables, folios, vmas, counters };
}
