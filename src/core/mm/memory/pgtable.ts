/**
 * Page-table allocation, lookup and freeing: the mm/memory.c functions
 * __pud_alloc(), __pmd_alloc(), __pte_alloc(), free_pgd_range() and
 * free_pgtables(), with include/linux/mm.h mm_inc_nr_ptes() and friends.
 *
 * x86-64 with 4-level paging: the P4D level is folded into the PGD, so a PUD
 * table hangs directly off a PGD entry. pgtables_bytes counts PUD, PMD and PTE
 * tables (4 KiB each) and never the PGD, which is what /proc/PID/status VmPTE
 * shows (fs/proc/task_mmu.c task_mem(): mm_pgtables_bytes() >> 10).
 */

import type { Mm, State, Vma } from '../../mm_types.js';
import {
  PT_DENSE_WORDS,
  ptAllocTable,
  ptBits,
  ptEmpty,
  ptEntries,
  ptSet,
  ptVal,
} from '../../mm_types.js';
import type { pte_t } from '../../pgtable_types.js';
import {
  _PAGE_PRESENT,
  _PAGE_PSE,
  _PAGE_RW,
  mk_pte,
  PGDIR_SIZE,
  PMD_SIZE,
  PT_LEVEL_PMD,
  PT_LEVEL_PTE,
  PT_LEVEL_PUD,
  PT_TABLE_BYTES,
  PUD_SIZE,
  pte_val,
  pteBits,
} from '../../pgtable_types.js';
import { W_PT_ALLOC, W_PT_FREE, W_PTE_WRITES, workCharge } from '../../work.js';
import { freeUnlinkedTable, tlb_remove_table } from '../mmu_gather.js';

const TABLE_ENTRY_BITS = _PAGE_PRESENT | _PAGE_RW;

/** 2^shift for the table levels' shifts (12, 21, 30, 39). */
const SCALE: readonly number[] = Array.from({ length: 40 }, (_, i) => 2 ** i);

/** The index of `addr` in a table of the level that `shift` maps (addresses stay below 2^53: `& 511` keeps the low bits). */
function idx(addr: number, shift: number): number {
  return Math.floor(addr / SCALE[shift]!) & 511;
}
const PGD_SHIFT = 39;
const PudShift = 30;
const PmdShift = 21;
const PTE_SHIFT = 12;

/**
 * The child table id stored in entry `i` of table `t`, 0 if the entry is none
 * or a huge leaf (a PMD entry that maps a THP: pmd_trans_huge()).
 */
function child(s: State, t: number, i: number): number {
  const tab = s.pt.tables[t]!;
  const bits = ptBits(tab, i);
  return (bits & _PAGE_PRESENT) !== 0 && (bits & _PAGE_PSE) === 0 ? ptVal(tab, i) : 0;
}

/** Whether a PMD entry's high word maps a THP: present and huge (what pmdLeaf() looks for). */
export function pmdLeafBits(bits: number): boolean {
  return (bits & _PAGE_PRESENT) !== 0 && (bits & _PAGE_PSE) !== 0;
}

/** The PTE table a PMD entry points to, 0 if it is none or a huge leaf (pmd_none() || pmd_trans_huge()). */
export function pmd_present_table(pmd: pte_t): number {
  const bits = pteBits(pmd);
  return (bits & _PAGE_PRESENT) !== 0 && (bits & _PAGE_PSE) === 0 ? pte_val(pmd) : 0;
}

/** Where a PMD entry lives: the PMD table id and the index in it. */
export interface PmdSlot {
  readonly table: number;
  readonly index: number;
}

/** The PMD entry covering `addr` (pmd_offset()), or null when there is no PMD table. */
export function pmdSlot(s: State, mm: Mm, addr: number): PmdSlot | null {
  const pmd = pmdTable(s, mm, addr);
  return pmd === 0 ? null : { table: pmd, index: idx(addr, PmdShift) };
}

/**
 * The huge PMD entry mapping `addr` (pmd_trans_huge()), with its slot, or
 * null when `addr` is not mapped by a PMD leaf.
 */
export function pmdLeaf(s: State, mm: Mm, addr: number): (PmdSlot & { pmd: pte_t }) | null {
  const at = pmdSlot(s, mm, addr);
  if (!at) return null;
  const tab = s.pt.tables[at.table]!;
  const bits = ptBits(tab, at.index);
  if (!pmdLeafBits(bits)) return null;
  return { ...at, pmd: mk_pte(ptVal(tab, at.index), bits) };
}

/** pmd_populate(): point a PMD entry at a PTE table (after a split). */
export function pmd_populate(s: State, at: PmdSlot, pteTableId: number): void {
  setChild(s, at.table, at.index, pteTableId);
}

/** include/linux/mm.h mm_inc_nr_ptes(): pgtable_trans_huge_deposit() keeps a PTE table per THP. */
export function mm_inc_nr_ptes(s: State, mm: Mm): void {
  mmIncNrTables(mm);
  workCharge(s, W_PT_ALLOC);
}

/** include/linux/mm.h mm_dec_nr_ptes(): zap_deposited_table() frees it. */
export function mm_dec_nr_ptes(s: State, mm: Mm): void {
  mmDecNrTables(mm);
  workCharge(s, W_PT_FREE);
}

function setChild(s: State, t: number, i: number, childId: number): void {
  ptSet(s, t, i, childId, childId === 0 ? 0 : TABLE_ENTRY_BITS);
}

/** pud_offset() after pgd_offset(): the PUD table covering `addr`, 0 if none. */
export function pudTable(s: State, mm: Mm, addr: number): number {
  return child(s, mm.pgd, idx(addr, PGD_SHIFT));
}

/** The PMD table covering `addr`, 0 if none. */
export function pmdTable(s: State, mm: Mm, addr: number): number {
  const pud = pudTable(s, mm, addr);
  return pud === 0 ? 0 : child(s, pud, idx(addr, PudShift));
}

/** pte_offset_map() minus the mapping: the PTE table covering `addr`, 0 if none. */
export function pteTable(s: State, mm: Mm, addr: number): number {
  const pmd = pmdTable(s, mm, addr);
  return pmd === 0 ? 0 : child(s, pmd, idx(addr, PmdShift));
}

/** Index of `addr` in its PMD table. */
export function pmd_index(addr: number): number {
  return idx(addr, PmdShift);
}

/** Index of `addr` in its PTE table. */
export function pte_index(addr: number): number {
  return idx(addr, PTE_SHIFT);
}

/** ptep_get(): the entry at index `i` of PTE table `t`. */
export function ptep_get(s: State, t: number, i: number): pte_t {
  const tab = s.pt.tables[t]!;
  return mk_pte(ptVal(tab, i), ptBits(tab, i));
}

/** set_pte_at(): store an entry (copying the table first if it is shared copy-on-write). */
export function set_pte_at(s: State, t: number, i: number, pte: pte_t): void {
  ptSet(s, t, i, pte_val(pte), pteBits(pte));
  workCharge(s, W_PTE_WRITES);
}

/** The MMU setting the accessed and dirty bits of an entry: no kernel work. */
export function pteSetHwBits(s: State, t: number, i: number, pte: pte_t): void {
  ptSet(s, t, i, pte_val(pte), pteBits(pte));
}

/** pte_clear() */
export function pte_clear(s: State, t: number, i: number): void {
  ptSet(s, t, i, 0, 0);
  workCharge(s, W_PTE_WRITES);
}

/** include/linux/mm.h mm_inc_nr_ptes() / mm_inc_nr_pmds() / mm_inc_nr_puds(): one table page. */
function mmIncNrTables(mm: Mm): void {
  mm.pgtables_bytes += PT_TABLE_BYTES;
}
function mmDecNrTables(mm: Mm): void {
  mm.pgtables_bytes -= PT_TABLE_BYTES;
}

/**
 * pud_alloc(), pmd_alloc(), pte_alloc() in one walk: populate the missing
 * tables down to the PTE table covering `addr` and return its id.
 */
export function pteAllocWalk(s: State, mm: Mm, addr: number): number {
  return pteAllocAt(s, mm, pmdAllocWalk(s, mm, addr), addr);
}

/** pte_alloc() below a PMD table the caller already walked to: the PTE table covering `addr`. */
export function pteAllocAt(s: State, mm: Mm, pmd: number, addr: number): number {
  let pte = child(s, pmd, idx(addr, PmdShift));
  if (pte === 0) {
    pte = ptAllocTable(s, PT_LEVEL_PTE); // __pte_alloc
    mmIncNrTables(mm);
    setChild(s, pmd, idx(addr, PmdShift), pte);
  }
  return pte;
}

/**
 * pud_alloc() and pmd_alloc() only, as copy_pud_range()/copy_pmd_range() do
 * at fork before looking at the source entries below them.
 */
export function pmdAllocWalk(s: State, mm: Mm, addr: number): number {
  let pud = child(s, mm.pgd, idx(addr, PGD_SHIFT));
  if (pud === 0) {
    pud = ptAllocTable(s, PT_LEVEL_PUD); // __pud_alloc
    mmIncNrTables(mm);
    setChild(s, mm.pgd, idx(addr, PGD_SHIFT), pud);
  }
  let pmd = child(s, pud, idx(addr, PudShift));
  if (pmd === 0) {
    pmd = ptAllocTable(s, PT_LEVEL_PMD); // __pmd_alloc
    mmIncNrTables(mm);
    setChild(s, pud, idx(addr, PudShift), pmd);
  }
  return pmd;
}

/** pud_alloc() alone (copy_p4d_range() at fork). */
export function pudAllocWalk(s: State, mm: Mm, addr: number): number {
  let pud = child(s, mm.pgd, idx(addr, PGD_SHIFT));
  if (pud === 0) {
    pud = ptAllocTable(s, PT_LEVEL_PUD);
    mmIncNrTables(mm);
    setChild(s, mm.pgd, idx(addr, PGD_SHIFT), pud);
  }
  return pud;
}

/**
 * mm/pt_reclaim.c free_pte() after try_get_and_clear_pmd(): clear the PMD
 * entry covering `addr` and free the PTE table it pointed to, through
 * tlb_remove_table() (`rcu`) or at once (a design without the deferral).
 */
export function pmdClearAndFreePte(s: State, mm: Mm, addr: number, rcu = true): void {
  const pmd = pmdTable(s, mm, addr);
  const pte = child(s, pmd, idx(addr, PmdShift));
  setChild(s, pmd, idx(addr, PmdShift), 0);
  if (rcu) tlb_remove_table(s, pte);
  else freeUnlinkedTable(s, pte);
  mmDecNrTables(mm);
}

/** Whether table `t` has no entry in use at all (every slot none). */
export function tableEmpty(s: State, t: number): boolean {
  return ptEmpty(s.pt.tables[t]!);
}

/**
 * Free the table of `level` (PT_LEVEL_PTE, _PMD or _PUD) covering `addr` if
 * it has no entry in use, clearing the entry above it; whether it did. What
 * the proposals of seed 004 do once nothing maps through a table.
 */
export function freeTableIfEmpty(s: State, mm: Mm, addr: number, level: number): boolean {
  const [parent, shift] =
    level === PT_LEVEL_PTE
      ? [pmdTable(s, mm, addr), PmdShift]
      : level === PT_LEVEL_PMD
        ? [pudTable(s, mm, addr), PudShift]
        : [mm.pgd, PGD_SHIFT];
  if (parent === 0) return false;
  const t = child(s, parent, idx(addr, shift));
  if (t === 0 || !tableEmpty(s, t)) return false;
  setChild(s, parent, idx(addr, shift), 0);
  tlb_remove_table(s, t);
  mmDecNrTables(mm);
  return true;
}

/** Unsigned `x - 1` for the kernel's "0 means the top of the address space" convention. */
function minus1(x: number): number {
  return x === 0 ? Number.POSITIVE_INFINITY : x - 1;
}

function alignDown(x: number, size: number): number {
  return Math.floor(x / size) * size;
}

/** free_pte_range(): clear the PMD entry and free its PTE table (mm_dec_nr_ptes). */
function free_pte_range(s: State, mm: Mm, pmd: number, i: number): void {
  const pte = child(s, pmd, i);
  setChild(s, pmd, i, 0);
  tlb_remove_table(s, pte);
  mmDecNrTables(mm);
}

/** free_pmd_range(): free PTE tables in [addr, end), then the PMD table if nothing else needs it. */
function free_pmd_range(
  s: State,
  mm: Mm,
  pud: number,
  pudIdx: number,
  addr: number,
  end: number,
  floor: number,
  ceiling: number,
): void {
  const pmd = child(s, pud, pudIdx);
  const start = addr;
  for (let a = addr; a < end; a = Math.min(alignDown(a, PMD_SIZE) + PMD_SIZE, end)) {
    const i = idx(a, PmdShift);
    if (child(s, pmd, i) !== 0) free_pte_range(s, mm, pmd, i);
  }
  const base = alignDown(start, PUD_SIZE);
  if (base < floor) return;
  if (ceiling !== 0) {
    ceiling = alignDown(ceiling, PUD_SIZE);
    if (ceiling === 0) return;
  }
  if (minus1(end) > minus1(ceiling)) return;
  setChild(s, pud, pudIdx, 0);
  tlb_remove_table(s, pmd);
  mmDecNrTables(mm);
}

/** free_pud_range() (reached through the folded free_p4d_range()). */
function free_pud_range(
  s: State,
  mm: Mm,
  pgdIdx: number,
  addr: number,
  end: number,
  floor: number,
  ceiling: number,
): void {
  const pud = child(s, mm.pgd, pgdIdx);
  const start = addr;
  for (let a = addr; a < end; ) {
    const next = Math.min(alignDown(a, PUD_SIZE) + PUD_SIZE, end);
    const i = idx(a, PudShift);
    if (child(s, pud, i) !== 0) free_pmd_range(s, mm, pud, i, a, next, floor, ceiling);
    a = next;
  }
  const base = alignDown(start, PGDIR_SIZE);
  if (base < floor) return;
  if (ceiling !== 0) {
    ceiling = alignDown(ceiling, PGDIR_SIZE);
    if (ceiling === 0) return;
  }
  if (minus1(end) > minus1(ceiling)) return;
  setChild(s, mm.pgd, pgdIdx, 0);
  tlb_remove_table(s, pud);
  mmDecNrTables(mm);
}

/**
 * mm/memory.c free_pgd_range(): free the page tables that map only
 * [addr, end), keeping any table that [floor, ceiling) says a neighbouring VMA
 * may still use. ceiling 0 means the top of the address space.
 */
export function free_pgd_range(
  s: State,
  mm: Mm,
  addr: number,
  end: number,
  floor: number,
  ceiling: number,
): void {
  addr = alignDown(addr, PMD_SIZE);
  if (addr < floor) addr += PMD_SIZE;
  if (ceiling !== 0) {
    ceiling = alignDown(ceiling, PMD_SIZE);
    if (ceiling === 0) return;
  }
  if (minus1(end) > minus1(ceiling)) end -= PMD_SIZE;
  if (addr > minus1(end)) return;
  for (let a = addr; a < end; ) {
    const next = Math.min(alignDown(a, PGDIR_SIZE) + PGDIR_SIZE, end);
    const i = idx(a, PGD_SHIFT);
    if (child(s, mm.pgd, i) !== 0) free_pud_range(s, mm, i, a, next, floor, ceiling);
    a = next;
  }
}

/**
 * mm/memory.c free_pgtables(): free the tables of the VMAs being removed
 * (`vmas`, sorted), grouping VMAs less than a PMD apart as the kernel does.
 * floor/ceiling are the end of the previous and the start of the next VMA
 * that stays mapped (0/0 at exit).
 */
export function free_pgtables(
  s: State,
  mm: Mm,
  vmas: readonly Vma[],
  floor: number,
  ceiling: number,
): void {
  let k = 0;
  while (k < vmas.length) {
    const first = vmas[k]!;
    let last = first;
    k++;
    while (k < vmas.length && vmas[k]!.vm_start <= last.vm_end + PMD_SIZE) {
      last = vmas[k]!;
      k++;
    }
    const next = vmas[k];
    free_pgd_range(s, mm, first.vm_start, last.vm_end, floor, next ? next.vm_start : ceiling);
  }
}

/**
 * Table ids mapped by `mm`, by level, and the huge PMD leaves (for accounting
 * checks and traces).
 */
export function mmTables(
  s: State,
  mm: Mm,
): { pud: number[]; pmd: number[]; pte: number[]; huge: PmdSlot[] } {
  const out = {
    pud: [] as number[],
    pmd: [] as number[],
    pte: [] as number[],
    huge: [] as PmdSlot[],
  };
  // The entries in use only (ptEntries(), in index order), not 512 × 512 lookups.
  const table = (bits: number) => (bits & _PAGE_PRESENT) !== 0 && (bits & _PAGE_PSE) === 0;
  ptEntries(s.pt.tables[mm.pgd]!, (_i, pud, pgdBits) => {
    if (!table(pgdBits)) return;
    out.pud.push(pud);
    ptEntries(s.pt.tables[pud]!, (_j, pmd, pudBits) => {
      if (!table(pudBits)) return;
      out.pmd.push(pmd);
      ptEntries(s.pt.tables[pmd]!, (k, v, bits) => {
        if (table(bits)) out.pte.push(v);
        else if ((bits & _PAGE_PSE) !== 0) out.huge.push({ table: pmd, index: k });
      });
    });
  });
  return out;
}

/**
 * Call `fn(tableId, index, addr)` for every non-none PTE of `mm` in [start,
 * end); with `pfn` (not 0), only for those whose first word is `pfn` (a PTE
 * mapping that page, or a swap entry of that offset): an rmap walk's scan.
 */
export function forEachPte(
  s: State,
  mm: Mm,
  start: number,
  end: number,
  fn: (t: number, i: number, addr: number) => void,
  pfn = 0,
): void {
  for (let a = start; a < end; ) {
    const pmdEnd = Math.min(alignDown(a, PMD_SIZE) + PMD_SIZE, end);
    const t = pteTable(s, mm, a);
    if (t === 0) {
      // Skip to the next populated range quickly when upper levels are missing.
      const pmd = pmdTable(s, mm, a);
      if (pmd === 0) {
        const pud = pudTable(s, mm, a);
        a = Math.min(
          alignDown(a, pud === 0 ? PGDIR_SIZE : PUD_SIZE) + (pud === 0 ? PGDIR_SIZE : PUD_SIZE),
          end,
        );
        continue;
      }
      a = pmdEnd;
      continue;
    }
    const tab = s.pt.tables[t]!;
    const first = idx(a, PTE_SHIFT);
    const last = first + (pmdEnd - a) / 4096;
    const base = a - first * 4096;
    a = pmdEnd;
    if (tab.length === PT_DENSE_WORDS) {
      if (pfn !== 0) {
        for (let i = first; i < last; i++) if (tab[2 * i] === pfn) fn(t, i, base + i * 4096);
      } else {
        for (let i = first; i < last; i++)
          if (tab[2 * i] !== 0 || tab[2 * i + 1] !== 0) fn(t, i, base + i * 4096);
      }
      continue;
    }
    // A sparse table: its entries first (fn may change the table).
    const hits: number[] = [];
    ptEntries(tab, (i, v) => {
      if (i >= first && i < last && (pfn === 0 || v === pfn)) hits.push(i);
    });
    for (const i of hits) {
      const now = s.pt.tables[t]!; // fn may have copied or grown the table
      if (pfn !== 0 ? ptVal(now, i) === pfn : ptVal(now, i) !== 0 || ptBits(now, i) !== 0)
        fn(t, i, base + i * 4096);
    }
  }
}

/**
 * The indices in [first, last) of PTE table `t` whose entry is not none, in
 * order: what a walk over a range visits, without a look at every empty
 * slot of a sparse table (zap_pte_range() of a 2 MiB MADV_DONTNEED).
 */
export function populatedPtes(s: State, t: number, first: number, last: number): number[] {
  const tab = s.pt.tables[t]!;
  const out: number[] = [];
  if (tab.length === PT_DENSE_WORDS) {
    for (let i = first; i < last; i++) if (tab[2 * i] !== 0 || tab[2 * i + 1] !== 0) out.push(i);
    return out;
  }
  ptEntries(tab, (i) => {
    if (i >= first && i < last && (ptVal(tab, i) !== 0 || ptBits(tab, i) !== 0)) out.push(i);
  });
  return out.sort((a, b) => a - b);
}

/**
 * The entry that maps `addr`: its PTE, or for an address inside a huge PMD
 * the PTE that would map that page of the THP (the head PFN plus the index,
 * the PMD's bits without PSE), as follow_huge_pmd() and pagemap compute it.
 * 0 when nothing maps it.
 */
export function pteView(s: State, mm: Mm, addr: number): pte_t {
  const leaf = pmdLeaf(s, mm, addr);
  if (leaf) {
    const idxInThp = Math.floor((addr % PMD_SIZE) / 4096);
    return mk_pte(pte_val(leaf.pmd) + idxInThp, pteBits(leaf.pmd) & ~_PAGE_PSE);
  }
  const t = pteTable(s, mm, addr);
  return t === 0 ? 0 : ptep_get(s, t, pte_index(addr));
}

/**
 * Call `fn(leaf, addr)` for every huge PMD of `mm` in [start, end) (2 MiB-aligned
 * leaves). Ranges without a PUD or PMD table are skipped whole, and a PMD table's
 * entries are read in place: a terabyte mapping costs its tables, not 2^19 walks.
 */
export function forEachHugePmd(
  s: State,
  mm: Mm,
  start: number,
  end: number,
  fn: (leaf: PmdSlot & { pmd: pte_t }, addr: number) => void,
): void {
  for (let a = alignDown(start, PMD_SIZE); a < end; ) {
    const pmd = pmdTable(s, mm, a);
    if (pmd === 0) {
      const span = pudTable(s, mm, a) === 0 ? PGDIR_SIZE : PUD_SIZE;
      a = alignDown(a, span) + span;
      continue;
    }
    const tableEnd = Math.min(alignDown(a, PUD_SIZE) + PUD_SIZE, end);
    const tab = s.pt.tables[pmd]!;
    for (; a < tableEnd; a += PMD_SIZE) {
      const index = idx(a, PmdShift);
      const bits = ptBits(tab, index);
      if (!pmdLeafBits(bits)) continue;
      fn({ table: pmd, index, pmd: mk_pte(ptVal(tab, index), bits) }, a);
      // fn may have split, copied or freed tables: walk again from the next entry.
      a += PMD_SIZE;
      break;
    }
  }
}
