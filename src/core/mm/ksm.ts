/**
 * Kernel samepage merging (mm/ksm.c): MADV_MERGEABLE marks anonymous VMAs,
 * ksmd merges pages of such VMAs whose contents are equal into one
 * write-protected KSM page, a write to it copies (cow_ksm), and
 * MADV_UNMERGEABLE breaks every KSM page of the range out again.
 *
 * The scan is abstracted: ksmd (the `env ksmd` actor) may merge any two
 * equal candidate pages, or a candidate into an equal KSM page, in one step
 * (the kernel needs two scans and a checksum; the outcome of a merge is the
 * same). A merge is refused, as by write_protect_page(), when the page has a
 * reference besides its mappings and the swap cache (GUP, pins, pipes), or is
 * PG_anon_exclusive and may be pinned. KSM pages are not swapped out by the
 * model (the kernel can, through rmap_walk_ksm()).
 */

import type { Mm, State, Vma } from '../mm_types.js';
import { VM_HUGETLB, VM_MAYSHARE, VM_MERGEABLE, VM_PFNMAP, VM_SHARED } from '../mm_types.js';
import { PG_anon, PG_ksm, PG_swapcache } from '../page-flags.js';
import {
  _PAGE_ACCESSED,
  mk_pte,
  pte_dirty,
  pte_pfn,
  pte_present,
  pte_special,
  pte_write,
  pteBits,
} from '../pgtable_types.js';
import type { Kernel } from '../points.js';
import { folio_maybe_dma_pinned } from './gup.js';
import { vmPageProtBits } from './memory/fault.js';
import { forEachPte, ptep_get, set_pte_at } from './memory/pgtable.js';
import { folio_get, folio_put } from './page_alloc.js';
import { ClearPageAnonExclusive, folio_remove_rmap_pte, PageAnonExclusive } from './rmap.js';
import { lru_add_drain_all } from './swap.js';

/* include/uapi/asm-generic/mman-common.h */
export const MADV_MERGEABLE = 12;
export const MADV_UNMERGEABLE = 13;

/** mm/ksm.c ksm_madvise(): which VMAs MADV_MERGEABLE applies to (others are left alone). */
export function ksmMergeableVma(vma: Vma): boolean {
  return !(vma.vm_flags & (VM_SHARED | VM_MAYSHARE | VM_PFNMAP | VM_HUGETLB)) && vma.vm_file === 0;
}

/** One PTE ksmd looks at: an rmap_item of the kernel. */
export interface KsmItem {
  readonly mm: number;
  readonly address: number;
  readonly pfn: number;
}

/** Present, normal, anonymous pages mapped in VM_MERGEABLE VMAs, in address order per mm. */
function ksmItems(s: State): KsmItem[] {
  const out: KsmItem[] = [];
  for (const mm of s.mms) {
    if (!mm) continue;
    for (const vma of mm.vmas) {
      if (!(vma.vm_flags & VM_MERGEABLE)) continue;
      forEachPte(s, mm, vma.vm_start, vma.vm_end, (t, i, addr) => {
        const pte = ptep_get(s, t, i);
        if (!pte_present(pte) || pte_special(pte)) return;
        const pfn = pte_pfn(pte);
        if (s.mem.flags[pfn]! & PG_anon) out.push({ mm: mm.id, address: addr, pfn });
      });
    }
  }
  return out;
}

/** A merge ksmd could do now: `item`'s page into the KSM page `into`, or into `item2`'s page made KSM. */
export interface KsmMerge {
  readonly item: KsmItem;
  /** An existing KSM page with the same contents (stable tree), or 0. */
  readonly into: number;
  /** The other page of an unstable-tree pair, when `into` is 0. */
  readonly item2: KsmItem | null;
}

/** The merges ksmd could attempt now (each may still be refused by write_protect_page()). */
export function ksmMerges(s: State): KsmMerge[] {
  const items = ksmItems(s);
  const ksm = items.filter((x) => s.mem.flags[x.pfn]! & PG_ksm);
  const plain = items.filter((x) => !(s.mem.flags[x.pfn]! & PG_ksm));
  const out: KsmMerge[] = [];
  for (const it of plain) {
    const value = s.mem.content[it.pfn]!;
    // The stable tree first: an equal KSM page (the lowest PFN, deterministic).
    const k = ksm.filter((x) => s.mem.content[x.pfn] === value).sort((a, b) => a.pfn - b.pfn)[0];
    if (k) {
      out.push({ item: it, into: k.pfn, item2: null });
      continue;
    }
    for (const other of plain)
      if (other.pfn > it.pfn && s.mem.content[other.pfn] === value)
        out.push({ item: it, into: 0, item2: other });
  }
  return out;
}

function slotOf(s: State, item: KsmItem): { mm: Mm; t: number; i: number } | null {
  const mm = s.mms[item.mm];
  if (!mm) return null;
  let found: { mm: Mm; t: number; i: number } | null = null;
  forEachPte(s, mm, item.address, item.address + 4096, (t, i) => {
    found = { mm, t, i };
  });
  return found;
}

/**
 * mm/ksm.c write_protect_page(): make the PTE read-only and clean, unless the
 * page has other references than its mappings and the swap cache ("no
 * O_DIRECT or similar I/O in progress"), or is PG_anon_exclusive and may be
 * pinned (page_try_share_anon_rmap(), v5.19+). Returns why it refused, or null.
 */
function write_protect_page(s: State, item: KsmItem): string | null {
  const at = slotOf(s, item);
  if (!at) return 'unmapped';
  const pte = ptep_get(s, at.t, at.i);
  const page = item.pfn;
  if (pte_write(pte) || pte_dirty(pte) || PageAnonExclusive(s, page)) {
    const swapped = s.mem.flags[page]! & PG_swapcache ? 1 : 0;
    if (s.mem.mapcount[page]! + swapped !== s.mem.refcount[page])
      return 'extra references (GUP, a pin, a pipe, an LRU batch)';
    if (PageAnonExclusive(s, page)) {
      if (folio_maybe_dma_pinned(s, page)) return 'exclusive and maybe pinned';
      ClearPageAnonExclusive(s, page);
    }
    set_pte_at(s, at.t, at.i, mk_pte(page, pteBits(pte) & ~0x42)); // clear _PAGE_RW and _PAGE_DIRTY
  }
  return null;
}

/** mm/ksm.c replace_page(): map the KSM page read-only where `item` mapped its own page. */
function replace_page(s: State, item: KsmItem, kpage: number): void {
  const at = slotOf(s, item)!;
  const vma = at.mm.vmas.find((v) => v.vm_start <= item.address && item.address < v.vm_end)!;
  folio_get(s, kpage);
  s.mem.mapcount[kpage] = s.mem.mapcount[kpage]! + 1;
  set_pte_at(s, at.t, at.i, mk_pte(kpage, vmPageProtBits(s, vma) | _PAGE_ACCESSED));
  folio_remove_rmap_pte(s, item.pfn);
  folio_put(s, item.pfn);
}

/**
 * One ksmd merge (try_to_merge_with_ksm_page() / try_to_merge_two_pages()):
 * returns what happened, for the trace. LRU batches are drained first, as the
 * scan does at the start of every pass (lru_add_drain_all()).
 */
export interface KsmdOutcome {
  readonly merged: boolean;
  /** What happened, for the trace. */
  readonly text: string;
}

export function ksmdMerge(s: State, k: Kernel, m: KsmMerge): KsmdOutcome {
  lru_add_drain_all(s);
  const why = write_protect_page(s, m.item);
  if (why) {
    k.decide('try_to_merge_one_page', 'refused', why);
    return { merged: false, text: `page ${m.item.pfn} not merged: ${why}` };
  }
  if (m.into !== 0) {
    replace_page(s, m.item, m.into);
    k.decide('try_to_merge_one_page', 'merged', `into KSM page ${m.into}`);
    return { merged: true, text: `page ${m.item.pfn} merged into KSM page ${m.into}` };
  }
  const other = m.item2!;
  const why2 = write_protect_page(s, other);
  if (why2) {
    k.decide('try_to_merge_one_page', 'refused', why2);
    return { merged: false, text: `page ${other.pfn} not merged: ${why2}` };
  }
  // try_to_merge_two_pages(): the first page becomes the KSM page, the second maps it.
  s.mem.flags[m.item.pfn] = s.mem.flags[m.item.pfn]! | PG_ksm;
  replace_page(s, other, m.item.pfn);
  k.decide('try_to_merge_two_pages', 'merged', `pages ${m.item.pfn} and ${other.pfn}`);
  return {
    merged: true,
    text: `pages ${m.item.pfn} and ${other.pfn} merged into KSM page ${m.item.pfn}`,
  };
}

/**
 * /proc/PID/ksm_merging_pages (mm->ksm_merging_pages): the pages of this
 * process that are mapped from a KSM page.
 */
export function ksm_merging_pages(s: State, mm: Mm): number {
  let n = 0;
  for (const vma of mm.vmas) {
    forEachPte(s, mm, vma.vm_start, vma.vm_end, (t, i) => {
      const pte = ptep_get(s, t, i);
      if (pte_present(pte) && !pte_special(pte) && s.mem.flags[pte_pfn(pte)]! & PG_ksm) n++;
    });
  }
  return n;
}

/**
 * mm/ksm.c break_ksm() for MADV_UNMERGEABLE: fault on every KSM page of the
 * range so that the mapping gets a page of its own: a write fault before
 * v6.1, FAULT_FLAG_UNSHARE after ("mm/ksm: fix KSM COW breaking with
 * userfaultfd-wp via FAULT_FLAG_UNSHARE"), which copies without making the
 * PTE writable or dirty. Returns the addresses to fault.
 */
export function ksmPagesIn(s: State, mm: Mm, start: number, end: number): number[] {
  const out: number[] = [];
  forEachPte(s, mm, start, end, (t, i, addr) => {
    const pte = ptep_get(s, t, i);
    if (pte_present(pte) && !pte_special(pte) && s.mem.flags[pte_pfn(pte)]! & PG_ksm)
      out.push(addr);
  });
  return out;
}

/**
 * What a scenario's `ksm_scan` waits for (echo 1 > /sys/kernel/mm/ksm/run and
 * two more full_scans, as ksm_functional_tests.c does): ksmd merges until a
 * pass merges nothing more. Returns the number of merges.
 */
export function ksm_do_scan(s: State, k: Kernel): number {
  const sameItem = (a: KsmItem, b: KsmItem) =>
    a.mm === b.mm && a.address === b.address && a.pfn === b.pfn;
  let merged = 0;
  for (;;) {
    let progress = false;
    // One pass over the rmap_items in order (cmp_and_merge_page()): each item
    // is matched against the trees as they are now, after earlier merges.
    const items: KsmItem[] = [];
    for (const m of ksmMerges(s)) if (!items.some((x) => sameItem(x, m.item))) items.push(m.item);
    for (const item of items) {
      const now = ksmMerges(s).find((x) => sameItem(x.item, item));
      if (now && ksmdMerge(s, k, now).merged) {
        merged++;
        progress = true;
      }
    }
    if (!progress) return merged;
  }
}
