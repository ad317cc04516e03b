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
 *
 * Each merged mapping is an rmap_item in the stable tree (Mm.ksm_rmap);
 * ksm_merging_pages, pages_shared and pages_sharing count those items, which
 * go stale when the mapping changes and leave the tree at the next scan, as
 * in the kernel. With use_zero_pages a page of zeroes is replaced by the zero
 * page, outside the stable tree.
 */

import type { Mm, State, Vma } from '../mm_types.js';
import {
  add_mm_counter,
  flagsW,
  MM_ANONPAGES,
  MMF_VM_MERGE_ANY,
  mapcountW,
  VM_HUGETLB,
  VM_MAYSHARE,
  VM_MERGEABLE,
  VM_PFNMAP,
  VM_SHARED,
  ZERO_PFN,
} from '../mm_types.js';
import { PG_anon, PG_ksm, PG_swapcache } from '../page-flags.js';
import {
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_SPECIAL,
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
import {
  FAULT_FLAG_UNSHARE,
  FAULT_FLAG_WRITE,
  handle_mm_fault,
  VM_FAULT_RETRY,
  vmPageProtBits,
} from './memory/fault.js';
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

/**
 * mm/ksm.c ksm_max_page_sharing (sysfs max_page_sharing, default 256): how
 * many rmap_items one KSM page serves before the stable tree starts another
 * KSM page of the same contents (a stable_node chain).
 */
export const KSM_MAX_PAGE_SHARING = 256;

/**
 * A merge ksmd could do now: `item`'s page into the KSM page `into` (the
 * zero page with use_zero_pages; `item`'s own page when it is a KSM page a
 * fork left without an rmap_item), or into `item2`'s page made KSM.
 */
export interface KsmMerge {
  readonly item: KsmItem;
  /** An existing KSM page with the same contents (stable tree), ZERO_PFN, or 0. */
  readonly into: number;
  /** The other page of an unstable-tree pair, when `into` is 0. */
  readonly item2: KsmItem | null;
}

/** The stable-tree entry of `mm` at `address`: the index of its pair in mm.ksm_rmap, or -1. */
function stableItemAt(mm: Mm, address: number): number {
  for (let i = 0; i < mm.ksm_rmap.length; i += 2) if (mm.ksm_rmap[i] === address) return i;
  return -1;
}

/** rmap_hlist_len of every KSM page: how many rmap_items of all mms name it. */
function rmapHlistLen(s: State): Map<number, number> {
  const len = new Map<number, number>();
  for (const mm of s.mms) {
    if (!mm) continue;
    for (let i = 1; i < mm.ksm_rmap.length; i += 2)
      len.set(mm.ksm_rmap[i]!, (len.get(mm.ksm_rmap[i]!) ?? 0) + 1);
  }
  return len;
}

/** mm/ksm.c stable_tree_append(): the rmap_item of `mm` at `address` now serves KSM page `kpfn`. */
function stable_tree_append(mm: Mm, address: number, kpfn: number): void {
  let at = 0;
  while (at < mm.ksm_rmap.length && mm.ksm_rmap[at]! < address) at += 2;
  mm.ksm_rmap = mm.ksm_rmap.toSpliced(at, 0, address, kpfn);
  mm.ksm_merging_pages += 1;
}

/**
 * mm/ksm.c remove_rmap_item_from_tree() for every stable rmap_item a scan
 * finds stale: its address left a VM_MERGEABLE VMA or no longer maps its KSM
 * page (written, unmerged, unmapped). scan_get_next_rmap_item() and
 * cmp_and_merge_page() drop such items as they pass them.
 */
export function ksmRemoveStaleItems(s: State): void {
  for (const mm of s.mms) {
    if (!mm || mm.ksm_rmap.length === 0) continue;
    const keep: number[] = [];
    for (let i = 0; i < mm.ksm_rmap.length; i += 2) {
      const address = mm.ksm_rmap[i]!;
      const kpfn = mm.ksm_rmap[i + 1]!;
      const vma = mm.vmas.find((v) => v.vm_start <= address && address < v.vm_end);
      const at =
        vma && vma.vm_flags & VM_MERGEABLE ? slotOf(s, { mm: mm.id, address, pfn: 0 }) : null;
      const pte = at ? ptep_get(s, at.t, at.i) : 0;
      // A KSM page reused in place (reuse_ksm_page()) lost PG_ksm: stale too.
      const mapped = at && pte_present(pte) && !pte_special(pte) && pte_pfn(pte) === kpfn;
      if (mapped && s.mem.flags[kpfn]! & PG_ksm) keep.push(address, kpfn);
      else mm.ksm_merging_pages -= 1;
    }
    mm.ksm_rmap = keep;
  }
}

/**
 * The merges ksmd could attempt now (each may still be refused by
 * write_protect_page()). With `use_zero_pages` (sysfs use_zero_pages), a
 * page of zeroes merges with the zero page instead (cmp_and_merge_page()).
 */
export function ksmMerges(s: State, use_zero_pages = false): KsmMerge[] {
  const items = ksmItems(s);
  const len = rmapHlistLen(s);
  const ksm = items.filter((x) => s.mem.flags[x.pfn]! & PG_ksm);
  const plain = items.filter((x) => !(s.mem.flags[x.pfn]! & PG_ksm));
  const out: KsmMerge[] = [];
  // A KSM page mapped where this mm has no rmap_item yet (fork copied the
  // PTE): stable_tree_search() finds the page itself ("ksm page forked").
  for (const it of ksm)
    if (stableItemAt(s.mms[it.mm]!, it.address) < 0)
      out.push({ item: it, into: it.pfn, item2: null });
  for (const it of plain) {
    const value = s.mem.content[it.pfn]!;
    if (use_zero_pages && value === 0) {
      out.push({ item: it, into: ZERO_PFN, item2: null });
      continue;
    }
    // The stable tree first: an equal KSM page with room (the lowest PFN, deterministic).
    const k = ksm
      .filter((x) => s.mem.content[x.pfn] === value && (len.get(x.pfn) ?? 0) < KSM_MAX_PAGE_SHARING)
      .sort((a, b) => a.pfn - b.pfn)[0];
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

/**
 * mm/ksm.c replace_page(): map the KSM page read-only where `item` mapped its
 * own page. The zero page (use_zero_pages) is mapped special and not
 * refcounted; eras that track KSM zero pages mark the PTE dirty
 * (is_ksm_zero_pte()).
 */
function replace_page(s: State, k: Kernel, item: KsmItem, kpage: number): void {
  const at = slotOf(s, item)!;
  const vma = at.mm.vmas.find((v) => v.vm_start <= item.address && item.address < v.vm_end)!;
  let bits = vmPageProtBits(s, vma) | _PAGE_ACCESSED;
  if (kpage === ZERO_PFN) {
    bits |= _PAGE_SPECIAL;
    if (k.policy.ksm_zero_pte_marked) bits |= _PAGE_DIRTY;
    // The zero page is not an anonymous page: dec_mm_counter(mm, MM_ANONPAGES).
    add_mm_counter(at.mm, MM_ANONPAGES, -1);
  } else {
    folio_get(s, kpage);
    mapcountW(s.mem)[kpage] = s.mem.mapcount[kpage]! + 1;
  }
  set_pte_at(s, at.t, at.i, mk_pte(kpage, bits));
  folio_remove_rmap_pte(s, item.pfn, item.pfn, at.mm.id);
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
  const mm = s.mms[m.item.mm]!;
  if (m.into === m.item.pfn) {
    // try_to_merge_one_page() with page == kpage: nothing to replace.
    stable_tree_append(mm, m.item.address, m.into);
    k.decide('try_to_merge_one_page', 'merged', `KSM page ${m.into} forked: rmap_item added`);
    return { merged: true, text: `KSM page ${m.into} mapped by a fork child: rmap_item added` };
  }
  const why = write_protect_page(s, m.item);
  if (why) {
    k.decide('try_to_merge_one_page', 'refused', why);
    return { merged: false, text: `page ${m.item.pfn} not merged: ${why}` };
  }
  if (m.into === ZERO_PFN) {
    // cmp_and_merge_page() with use_zero_pages: no stable-tree entry.
    replace_page(s, k, m.item, ZERO_PFN);
    k.decide('try_to_merge_one_page', 'merged', 'into the zero page (use_zero_pages)');
    return { merged: true, text: `page ${m.item.pfn} merged into the zero page` };
  }
  if (m.into !== 0) {
    replace_page(s, k, m.item, m.into);
    stable_tree_append(mm, m.item.address, m.into);
    k.decide('try_to_merge_one_page', 'merged', `into KSM page ${m.into}`);
    return { merged: true, text: `page ${m.item.pfn} merged into KSM page ${m.into}` };
  }
  // An unstable-tree pair: the page scanned later becomes the KSM page.
  return try_to_merge_two_pages(s, k, m.item2!, m.item);
}

/**
 * mm/ksm.c try_to_merge_two_pages(): `item`, the page being scanned, is
 * write-protected and made a KSM page first; then `tree`, the unstable tree's
 * page of the same contents, is merged into it. When the second step fails
 * (write_protect_page() refuses the tree page, e.g. a pinned one), break_cow()
 * undoes the first: a KSM page with a single PTE is unshared (a copy where the
 * era copies KSM pages), and neither page is merged.
 */
function try_to_merge_two_pages(s: State, k: Kernel, item: KsmItem, tree: KsmItem): KsmdOutcome {
  const why = write_protect_page(s, item);
  if (why) {
    k.decide('try_to_merge_two_pages', 'refused', `page ${item.pfn}: ${why}`);
    return { merged: false, text: `page ${item.pfn} not merged: ${why}` };
  }
  flagsW(s.mem)[item.pfn] = s.mem.flags[item.pfn]! | PG_ksm; // set_page_stable_node(page, NULL)
  const why2 = write_protect_page(s, tree);
  if (why2) {
    k.decide(
      'try_to_merge_two_pages',
      'refused',
      `page ${tree.pfn}: ${why2}; break_cow() of page ${item.pfn}`,
    );
    const mm = s.mms[item.mm]!;
    unmerge_ksm_pages(s, k, mm, item.address, item.address + 4096);
    return {
      merged: false,
      text: `page ${tree.pfn} not merged (${why2}); page ${item.pfn} unshared again (break_cow())`,
    };
  }
  replace_page(s, k, tree, item.pfn);
  stable_tree_append(s.mms[tree.mm]!, tree.address, item.pfn);
  stable_tree_append(s.mms[item.mm]!, item.address, item.pfn);
  k.decide('try_to_merge_two_pages', 'merged', `pages ${item.pfn} and ${tree.pfn}`);
  return {
    merged: true,
    text: `pages ${item.pfn} and ${tree.pfn} merged into KSM page ${item.pfn}`,
  };
}

/** /proc/PID/ksm_merging_pages (fs/proc/base.c): mm->ksm_merging_pages. */
export function ksm_merging_pages(_s: State, mm: Mm): number {
  return mm.ksm_merging_pages;
}

/** mm/ksm.c is_ksm_zero_pte(): a zero page KSM placed (dirty and special). */
export function is_ksm_zero_pte(pte: number): boolean {
  return pte_present(pte) && pte_pfn(pte) === ZERO_PFN && pte_dirty(pte);
}

/**
 * /proc/PID/ksm_stat ksm_zero_pages (mm->ksm_zero_pages): zero pages KSM
 * placed in this mm and still mapped there. The kernel keeps a counter that
 * every unmap of such a PTE lowers (ksm_might_unmap_zero_page()); the model
 * counts the marked PTEs, which is the same number.
 */
export function ksm_zero_pages(s: State, mm: Mm): number {
  let n = 0;
  for (const vma of mm.vmas)
    forEachPte(s, mm, vma.vm_start, vma.vm_end, (t, i) => {
      if (is_ksm_zero_pte(ptep_get(s, t, i))) n++;
    });
  return n;
}

/**
 * /sys/kernel/mm/ksm/pages_shared, pages_sharing and pages_unshared: stable
 * KSM pages, the further rmap_items they serve, and the rmap_items left in
 * an unstable tree (ksm_pages_unshared, mm/ksm.c).
 */
export function ksmPagesSharing(s: State): {
  pages_shared: number;
  pages_sharing: number;
  pages_unshared: number;
} {
  const len = rmapHlistLen(s);
  let items = 0;
  for (const n of len.values()) items += n;
  let unshared = 0;
  for (const mm of s.mms) if (mm) unshared += mm.ksm_unstable;
  return { pages_shared: len.size, pages_sharing: items - len.size, pages_unshared: unshared };
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
    if (is_ksm_zero_pte(pte)) out.push(addr);
    else if (pte_present(pte) && !pte_special(pte) && s.mem.flags[pte_pfn(pte)]! & PG_ksm)
      out.push(addr);
  });
  return out;
}

/**
 * mm/ksm.c unmerge_ksm_pages(): break_ksm() every KSM page (and, where the
 * era marks them, every KSM zero page) of [start, end) in `mm`.
 */
export function unmerge_ksm_pages(s: State, k: Kernel, mm: Mm, start: number, end: number): void {
  const flags = k.policy.break_ksm_unshare ? FAULT_FLAG_UNSHARE : FAULT_FLAG_WRITE;
  for (const addr of ksmPagesIn(s, mm, start, end)) {
    const v = mm.vmas.find((x) => x.vm_start <= addr && addr < x.vm_end)!;
    const ret = handle_mm_fault(s, k, mm, v, addr, flags);
    // break_ksm() faults without FAULT_FLAG_ALLOW_RETRY: handle_userfault()
    // cannot wait there and fails the fault (VM_FAULT_SIGBUS, with a
    // warning): the page stays merged.
    if (ret & VM_FAULT_RETRY && k.userfault) {
      k.userfault = null;
      k.decide('break_ksm', 'fails', 'uffd-wp write fault without FAULT_FLAG_ALLOW_RETRY');
    }
  }
}

/**
 * mm/ksm.c ksm_enable_merge_any() (prctl PR_SET_MEMORY_MERGE 1): set
 * MMF_VM_MERGE_ANY and make every eligible VMA mergeable (ksm_add_vmas()).
 */
export function ksm_enable_merge_any(mm: Mm): void {
  mm.flags |= MMF_VM_MERGE_ANY;
  mm.vmas = mm.vmas.map((v) =>
    ksmMergeableVma(v) ? { ...v, vm_flags: v.vm_flags | VM_MERGEABLE } : v,
  );
}

/**
 * mm/ksm.c ksm_disable_merge_any() (prctl PR_SET_MEMORY_MERGE 0): unmerge
 * every VMA and clear VM_MERGEABLE (ksm_del_vmas()), then the flag.
 */
export function ksm_disable_merge_any(s: State, k: Kernel, mm: Mm): void {
  if (!(mm.flags & MMF_VM_MERGE_ANY)) return;
  for (const v of mm.vmas.slice()) {
    if (!(v.vm_flags & VM_MERGEABLE)) continue;
    unmerge_ksm_pages(s, k, mm, v.vm_start, v.vm_end);
  }
  mm.vmas = mm.vmas.map((v) => ({ ...v, vm_flags: v.vm_flags & ~VM_MERGEABLE }));
  mm.flags &= ~MMF_VM_MERGE_ANY;
}

/**
 * What one full scan keeps as it goes: the unstable tree (its first page of
 * each value), the rmap_items' checksums before and after, and rmap_hlist_len
 * of every KSM page, kept up to date by the scan's own merges (so an item costs
 * no walk over every mm).
 */
interface KsmScan {
  readonly unstable: Map<number, KsmItem[]>;
  readonly old: Map<Mm, Map<number, number>>;
  readonly checksums: Map<Mm, number[]>;
  readonly len: Map<number, number>;
}

/**
 * mm/ksm.c cmp_and_merge_page() for one rmap_item of a full scan: the stable
 * tree first (an equal KSM page: merge into it, or record a fork child's
 * mapping of one); then the page must have kept its checksum since the
 * previous scan; then the zero page (use_zero_pages); then the unstable tree
 * of this scan: an equal page there is merged with this one, and when that
 * fails this page is not inserted in its place, so a page that cannot be
 * merged (pinned) keeps every later equal page of the scan from merging.
 * Returns whether it changed anything (a merge, a checksum, a refusal's
 * break_cow()).
 */
function cmp_and_merge_page(
  s: State,
  k: Kernel,
  item: KsmItem,
  scan: KsmScan,
  use_zero_pages: boolean,
): { changed: boolean; merged: boolean } {
  const mm = s.mms[item.mm]!;
  const value = s.mem.content[item.pfn]!;
  const checksum = value + 1;
  const old = scan.old.get(mm)!.get(item.address) ?? 0;
  const list = scan.checksums.get(mm)!;
  // The stable-tree paths return before the checksum is looked at (kept as it was).
  list.push(item.address, old);
  const bump = (kpfn: number, by: number) => scan.len.set(kpfn, (scan.len.get(kpfn) ?? 0) + by);
  if (s.mem.flags[item.pfn]! & PG_ksm) {
    if (stableItemAt(mm, item.address) >= 0) return { changed: false, merged: false };
    const r = ksmdMerge(s, k, { item, into: item.pfn, item2: null });
    if (r.merged) bump(item.pfn, 1);
    return { changed: true, merged: r.merged };
  }
  // stable_tree_search(): an equal KSM page with room (the lowest PFN, deterministic).
  let kpage = 0;
  for (const [kpfn, n] of scan.len)
    if (
      (kpage === 0 || kpfn < kpage) &&
      s.mem.content[kpfn] === value &&
      n < KSM_MAX_PAGE_SHARING &&
      s.mem.flags[kpfn]! & PG_ksm
    )
      kpage = kpfn;
  if (kpage !== 0) {
    const r = ksmdMerge(s, k, { item, into: kpage, item2: null });
    if (r.merged) bump(kpage, 1);
    return { changed: r.merged, merged: r.merged };
  }
  if (old !== checksum) {
    list[list.length - 1] = checksum;
    return { changed: true, merged: false };
  }
  if (use_zero_pages && value === 0) {
    const r = ksmdMerge(s, k, { item, into: ZERO_PFN, item2: null });
    if (r.merged) return { changed: true, merged: true };
  }
  // unstable_tree_search_insert(): the first equal page inserted this scan.
  const same = scan.unstable.get(value) ?? [];
  const tree = same.find((t) => {
    if (s.mem.content[t.pfn] !== value) return false;
    const at = slotOf(s, t);
    const pte = at ? ptep_get(s, at.t, at.i) : 0;
    return pte_present(pte) && pte_pfn(pte) === t.pfn && !(s.mem.flags[t.pfn]! & PG_ksm);
  });
  // The page itself is in the tree through another mapping (a fork child's
  // COW-shared page): "don't substitute a ksm page for a forked page"; the
  // item is neither merged nor inserted.
  if (tree?.pfn === item.pfn) return { changed: false, merged: false };
  if (!tree) {
    same.push(item);
    scan.unstable.set(value, same);
    return { changed: false, merged: false };
  }
  const r = try_to_merge_two_pages(s, k, item, tree);
  if (r.merged) bump(item.pfn, 2);
  return { changed: true, merged: r.merged };
}

/**
 * One full scan (scan_get_next_rmap_item() from ksm_mm_head round to it):
 * LRU batches drained, a new unstable tree, every mm in ksm_mm_head's order
 * (the model: mm ids, which follow creation), each VM_MERGEABLE VMA's present
 * anonymous pages in address order. rmap_items of addresses the scan did not
 * meet are freed. Returns the merges and whether anything changed.
 */
function ksm_full_scan(
  s: State,
  k: Kernel,
  use_zero_pages: boolean,
): { merges: number; changed: boolean } {
  lru_add_drain_all(s);
  ksmRemoveStaleItems(s);
  const scan: KsmScan = {
    unstable: new Map(),
    old: new Map(),
    checksums: new Map(),
    len: rmapHlistLen(s),
  };
  for (const mm of s.mms) {
    if (!mm) continue;
    const old = new Map<number, number>();
    for (let i = 0; i < mm.ksm_checksum.length; i += 2)
      old.set(mm.ksm_checksum[i]!, mm.ksm_checksum[i + 1]!);
    scan.old.set(mm, old);
    scan.checksums.set(mm, []);
  }
  let merges = 0;
  let changed = false;
  // The addresses the scan meets, in order; each page is read again when met
  // (an earlier merge or break_cow() may have replaced it).
  for (const first of ksmItems(s)) {
    const at = slotOf(s, first);
    const pte = at ? ptep_get(s, at.t, at.i) : 0;
    if (!pte_present(pte) || pte_special(pte)) continue;
    const item = { mm: first.mm, address: first.address, pfn: pte_pfn(pte) };
    if (!(s.mem.flags[item.pfn]! & PG_anon)) continue;
    const r = cmp_and_merge_page(s, k, item, scan, use_zero_pages);
    if (r.merged) merges++;
    if (r.changed) changed = true;
  }
  for (const [mm, list] of scan.checksums) {
    if (list.length !== mm.ksm_checksum.length || list.some((x, i) => x !== mm.ksm_checksum[i]))
      changed = true;
    mm.ksm_checksum = list;
    mm.ksm_unstable = 0;
  }
  // The items this scan inserted in its unstable tree and that stayed there
  // (one merged as a tree page left it: the page is a KSM page now).
  for (const same of scan.unstable.values())
    for (const t of same) {
      const at = slotOf(s, t);
      const pte = at ? ptep_get(s, at.t, at.i) : 0;
      if (pte_present(pte) && pte_pfn(pte) === t.pfn && !(s.mem.flags[t.pfn]! & PG_ksm))
        s.mms[t.mm]!.ksm_unstable++;
    }
  return { merges, changed };
}

/**
 * What a scenario's `ksm_scan` waits for (echo 1 > /sys/kernel/mm/ksm/run and
 * two more full_scans, as ksm_functional_tests.c does): full scans until one
 * changes nothing (the first records new pages' checksums, the next merges
 * them; a page that cannot be merged stays so). Returns the number of merges.
 */
export function ksm_do_scan(s: State, k: Kernel, use_zero_pages = false): number {
  let merged = 0;
  for (let scan = 0; scan < KSM_MAX_SCANS; scan++) {
    const r = ksm_full_scan(s, k, use_zero_pages);
    merged += r.merges;
    if (!r.changed) return merged;
  }
  return merged;
}

/** A bound on the full scans of one `ksm_scan` (it settles after 2 or 3). */
const KSM_MAX_SCANS = 8;
