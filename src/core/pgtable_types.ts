/**
 * x86-64 page-table geometry and the entry bits the model keeps.
 *
 * Models arch/x86/include/asm/pgtable_types.h and pgtable_64_types.h (4-level
 * paging, 4 KiB pages, 512 eight-byte entries per table). An entry is stored as
 * two 32-bit words: `val` (PFN for a present PTE, child table id for an upper
 * level, swap offset for a swap PTE) and `bits` (the flag bits below, all
 * below bit 20). The packed form `pte_t = bits * 2^32 + val` is a plain number,
 * exact for every 32-bit val (bits * 2^32 < 2^52), so `pte_same()` is `===`.
 */

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
export const PTRS_PER_PTE = 512;
export const PTRS_PER_PMD = 512;
export const PTRS_PER_PUD = 512;
export const PTRS_PER_PGD = 512;
export const PMD_SHIFT = 21;
export const PUD_SHIFT = 30;
export const PGDIR_SHIFT = 39;
export const PMD_SIZE = 2 ** PMD_SHIFT;
/** include/linux/huge_mm.h: a PMD-sized THP is an order-9 folio of 512 pages. */
export const HPAGE_PMD_ORDER = PMD_SHIFT - 12;
export const HPAGE_PMD_NR = 2 ** HPAGE_PMD_ORDER;
export const HPAGE_PMD_SIZE = PMD_SIZE;
export const PUD_SIZE = 2 ** PUD_SHIFT;
export const PGDIR_SIZE = 2 ** PGDIR_SHIFT;
/** arch/x86/include/asm/page_64_types.h TASK_SIZE_MAX for 4-level paging: 128 TiB - 4 KiB. */
export const TASK_SIZE = 2 ** 47 - PAGE_SIZE;
/** Bytes of one page-table page (what mm_inc_nr_ptes() and friends add to pgtables_bytes). */
export const PT_TABLE_BYTES = 4096;

/** Levels of the 4-level walk, leaf first, as used by the table store. */
export const PT_LEVEL_PTE = 1;
export const PT_LEVEL_PMD = 2;
export const PT_LEVEL_PUD = 3;
export const PT_LEVEL_PGD = 4;

/* Bits of `bits` for present entries (x86 _PAGE_BIT_* numbering where one exists). */
export const _PAGE_PRESENT = 1 << 0;
export const _PAGE_RW = 1 << 1;
export const _PAGE_ACCESSED = 1 << 5;
export const _PAGE_DIRTY = 1 << 6;
/** PSE at PMD level: a huge (2 MiB) leaf entry. */
export const _PAGE_PSE = 1 << 7;
/** _PAGE_PROTNONE (shares bit 8 with _PAGE_GLOBAL): mapped but PROT_NONE, hardware-not-present. */
export const _PAGE_PROTNONE = 1 << 8;
/** pte_special(): the shared zero page and other PFNs without a refcounted struct page. */
export const _PAGE_SPECIAL = 1 << 9;
export const _PAGE_UFFD_WP = 1 << 10;
export const _PAGE_SOFT_DIRTY = 1 << 11;

/* Non-present entries: a type field and the swap-PTE software bits. */
export const _PAGE_SWP_EXCLUSIVE = 1 << 12;
export const PTE_TYPE_SHIFT = 16;
export const PTE_TYPE_MASK = 0xf << PTE_TYPE_SHIFT;
/** A swap entry (swp_entry_t with a swap device offset in `val`). */
export const PTE_TYPE_SWAP = 1 << PTE_TYPE_SHIFT;
/** A migration entry (readable); writable uses PTE_TYPE_MIGRATION_WRITE. */
export const PTE_TYPE_MIGRATION_READ = 2 << PTE_TYPE_SHIFT;
export const PTE_TYPE_MIGRATION_WRITE = 3 << PTE_TYPE_SHIFT;
/** A PTE marker (uffd-wp marker, guard region); `val` says which. */
export const PTE_TYPE_MARKER = 4 << PTE_TYPE_SHIFT;

/** A whole entry packed into one number (see module comment). */
export type pte_t = number;

const TWO32 = 2 ** 32;
const INV_TWO32 = 2 ** -32;

export function mk_pte(val: number, bits: number): pte_t {
  return bits * TWO32 + val;
}
/** The low word (`>>> 0` is exact modulo 2^32 for any integer below 2^53, and cheaper than `%`). */
export function pte_val(pte: pte_t): number {
  return pte >>> 0;
}
/** The high word: an exact power-of-two scaling of what is left above the low word. */
export function pteBits(pte: pte_t): number {
  return ((pte - (pte >>> 0)) * INV_TWO32) | 0;
}

/** include/linux/pgtable.h pte_none(): an all-zero entry. */
export function pte_none(pte: pte_t): boolean {
  return pte === 0;
}
/** pte_present(): mapped, including PROT_NONE entries (which the MMU treats as absent). */
export function pte_present(pte: pte_t): boolean {
  return presentBits(pteBits(pte));
}
/** pte_present() of an entry's high word (a walk over a table's words). */
export function presentBits(bits: number): boolean {
  return (bits & (_PAGE_PRESENT | _PAGE_PROTNONE)) !== 0;
}
/** pte_protnone() */
export function pte_protnone(pte: pte_t): boolean {
  return (pteBits(pte) & (_PAGE_PRESENT | _PAGE_PROTNONE)) === _PAGE_PROTNONE;
}
export function pte_write(pte: pte_t): boolean {
  return (pteBits(pte) & (_PAGE_PRESENT | _PAGE_RW)) === (_PAGE_PRESENT | _PAGE_RW);
}
export function pte_dirty(pte: pte_t): boolean {
  return (pteBits(pte) & _PAGE_DIRTY) !== 0;
}
export function pte_young(pte: pte_t): boolean {
  return (pteBits(pte) & _PAGE_ACCESSED) !== 0;
}
/** pmd_trans_huge(): a present PMD entry that maps a THP (PSE) rather than a PTE table. */
export function pmd_trans_huge(pmd: pte_t): boolean {
  return pte_present(pmd) && (pteBits(pmd) & _PAGE_PSE) !== 0;
}
export function pte_special(pte: pte_t): boolean {
  return (pteBits(pte) & _PAGE_SPECIAL) !== 0;
}
export function pte_pfn(pte: pte_t): number {
  return pte_val(pte);
}
export function pte_soft_dirty(pte: pte_t): boolean {
  return (pteBits(pte) & _PAGE_SOFT_DIRTY) !== 0;
}
export function pte_uffd_wp(pte: pte_t): boolean {
  return (pteBits(pte) & _PAGE_UFFD_WP) !== 0;
}
export function is_swap_pte(pte: pte_t): boolean {
  return pte !== 0 && !pte_present(pte);
}

function setBits(pte: pte_t, set: number, clear: number): pte_t {
  return mk_pte(pte_val(pte), (pteBits(pte) | set) & ~clear);
}
export function pte_mkwrite(pte: pte_t): pte_t {
  return setBits(pte, _PAGE_RW, 0);
}
export function pte_wrprotect(pte: pte_t): pte_t {
  return setBits(pte, 0, _PAGE_RW);
}
export function pte_mkdirty(pte: pte_t): pte_t {
  return setBits(pte, _PAGE_DIRTY | _PAGE_SOFT_DIRTY, 0);
}
export function pte_mkclean(pte: pte_t): pte_t {
  return setBits(pte, 0, _PAGE_DIRTY);
}
export function pte_mkyoung(pte: pte_t): pte_t {
  return setBits(pte, _PAGE_ACCESSED, 0);
}
export function pte_mkold(pte: pte_t): pte_t {
  return setBits(pte, 0, _PAGE_ACCESSED);
}
export function pte_clear_soft_dirty(pte: pte_t): pte_t {
  return setBits(pte, 0, _PAGE_SOFT_DIRTY);
}
export function pte_clear_uffd_wp(pte: pte_t): pte_t {
  return setBits(pte, 0, _PAGE_UFFD_WP);
}

/** Index of `addr` in the table of the given level (1 = PTE ... 4 = PGD). */
export function ptIndex(addr: number, level: number): number {
  return Math.floor(addr / 2 ** (PAGE_SHIFT + 9 * (level - 1))) % 512;
}

/** Span of address space one entry of a table at `level` maps (4 KiB, 2 MiB, 1 GiB, 512 GiB). */
export function ptEntrySpan(level: number): number {
  return 2 ** (PAGE_SHIFT + 9 * (level - 1));
}

/** Name of a table level, as the kernel's accounting calls it. */
export function ptLevelName(level: number): string {
  return ['', 'PTE', 'PMD', 'PUD', 'PGD'][level] ?? `L${level}`;
}

/** pte_t as a short human-readable string, for traces. */
export function pteDescribe(pte: pte_t): string {
  if (pte === 0) return 'none';
  const b = pteBits(pte);
  const v = pte_val(pte);
  if (!(b & (_PAGE_PRESENT | _PAGE_PROTNONE))) {
    const type = b & PTE_TYPE_MASK;
    const name =
      type === PTE_TYPE_SWAP
        ? 'swap'
        : type === PTE_TYPE_MARKER
          ? 'marker'
          : type === PTE_TYPE_MIGRATION_READ
            ? 'migration-r'
            : 'migration-w';
    const flags = [
      b & _PAGE_SWP_EXCLUSIVE ? 'excl' : '',
      b & _PAGE_SOFT_DIRTY ? 'sd' : '',
      b & _PAGE_UFFD_WP ? 'uffd-wp' : '',
    ].filter(Boolean);
    return `${name}:${v}${flags.length ? ` ${flags.join(',')}` : ''}`;
  }
  const flags = [
    b & _PAGE_PROTNONE ? 'protnone' : b & _PAGE_RW ? 'W' : 'R',
    b & _PAGE_DIRTY ? 'D' : '',
    b & _PAGE_ACCESSED ? 'A' : '',
    b & _PAGE_SPECIAL ? 'special' : '',
    b & _PAGE_SOFT_DIRTY ? 'sd' : '',
    b & _PAGE_UFFD_WP ? 'uffd-wp' : '',
  ].filter(Boolean);
  return `pfn ${v} ${flags.join(' ')}`;
}

/* Swap entries in PTEs (include/linux/swapops.h, arch/x86/include/asm/pgtable.h). */

/** swp_entry_to_pte(): a non-present PTE naming swap slot `offset` (one swap device, type 0). */
export function swp_entry_to_pte(offset: number): pte_t {
  return mk_pte(offset, PTE_TYPE_SWAP);
}
/** is_swap_entry() on a non-present PTE: a swap entry (not a migration entry or a marker). */
export function is_swap_entry_pte(pte: pte_t): boolean {
  return pte !== 0 && swapEntryBits(pteBits(pte));
}
/** is_swap_entry_pte() of an entry that is not none, by its high word. */
export function swapEntryBits(bits: number): boolean {
  return !presentBits(bits) && (bits & PTE_TYPE_MASK) === PTE_TYPE_SWAP;
}
/** swp_offset(pte_to_swp_entry(pte)) */
export function swp_offset(pte: pte_t): number {
  return pte_val(pte);
}
/** pte_swp_exclusive(): SWP_EXCLUSIVE, the PG_anon_exclusive of a swapped-out page (v5.19+). */
export function pte_swp_exclusive(pte: pte_t): boolean {
  return (pteBits(pte) & _PAGE_SWP_EXCLUSIVE) !== 0;
}
export function pte_swp_mkexclusive(pte: pte_t): pte_t {
  return setBits(pte, _PAGE_SWP_EXCLUSIVE, 0);
}
export function pte_swp_clear_exclusive(pte: pte_t): pte_t {
  return setBits(pte, 0, _PAGE_SWP_EXCLUSIVE);
}
/* PTE markers (include/linux/swapops.h, v5.19+): non-present entries that hold no page. */

/** PTE_MARKER_UFFD_WP: "this unpopulated address is uffd-wp protected". */
export const PTE_MARKER_UFFD_WP = 1;

/** make_pte_marker(PTE_MARKER_UFFD_WP); it reads as uffd-wp protected (pte_uffd_wp()). */
export function make_pte_marker_uffd_wp(): pte_t {
  return mk_pte(PTE_MARKER_UFFD_WP, PTE_TYPE_MARKER | _PAGE_UFFD_WP);
}
/** is_pte_marker() */
export function is_pte_marker(pte: pte_t): boolean {
  return is_swap_pte(pte) && (pteBits(pte) & PTE_TYPE_MASK) === PTE_TYPE_MARKER;
}
/** pte_marker_entry_uffd_wp(pte_to_swp_entry(pte)) */
export function pte_marker_uffd_wp(pte: pte_t): boolean {
  return is_pte_marker(pte) && (pte_val(pte) & PTE_MARKER_UFFD_WP) !== 0;
}

/** The soft-dirty and uffd-wp bits a swap PTE carries over from the present PTE (and back). */
export function pteCarriedBits(pte: pte_t): number {
  return pteBits(pte) & (_PAGE_SOFT_DIRTY | _PAGE_UFFD_WP);
}
