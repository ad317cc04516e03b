/**
 * Shared anonymous memory and memfds are shmem files (mm/shmem.c
 * shmem_zero_setup(), mm/memfd.c memfd_create()): their pages are page cache
 * of a tmpfs inode, never PageAnon, so they are shared by fork and never
 * copied on write in a shared mapping.
 */

import { new_inode } from '../fs/inode.js';
import type { Mm, State, Vma } from '../mm_types.js';
import { contentW, flagsW, orderW, refcountW, VM_UFFD_WP } from '../mm_types.js';
import {
  PG_dirty,
  PG_locked,
  PG_lru,
  PG_shmem,
  PG_swapbacked,
  PG_uptodate,
} from '../page-flags.js';
import { PAGE_SIZE, PMD_SIZE } from '../pgtable_types.js';
import type { Kernel, UnmapMappingPending } from '../points.js';
import { pteTable } from './memory/pgtable.js';
import { mappingRanges, unmap_mapping_range, zap_page_range_single } from './memory/zap.js';
import { pt_walker_enter, pt_walker_exit, ptBug, ptGen, ptLive } from './mmu_gather.js';
import { folio_put, page_folio } from './page_alloc.js';
import type { ZapDetails } from './pt_reclaim.js';
import { free_empty_pgtables_locked } from './pt_rwsem.js';
import { ptWalkRules } from './pt_walk.js';
import { pte_put, pte_tryget } from './pte_ref.js';
import { folio_entire_mapcount, folio_mapcount } from './rmap.js';

/** mm/shmem.c shmem_zero_setup(): the file behind one mmap(MAP_SHARED|MAP_ANONYMOUS). */
export function shmem_zero_setup(s: State, pages: number): number {
  return new_inode(s, 'tmpfs', pages);
}

/** mm/memfd.c memfd_create() followed by ftruncate() and fallocate() of `pages` pages. */
export function memfd_create(s: State, pages: number): number {
  return new_inode(s, 'tmpfs', pages);
}

/**
 * mm/shmem.c shmem_fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) of
 * pages [first, last), under the inode lock: unmap_mapping_range() zaps them
 * from every mapping (private anonymous copies stay), then
 * shmem_truncate_range() drops them from the page cache, unmapping first
 * any page mapped again meanwhile (truncate_inode_folio() →
 * unmap_mapping_folio()). Read in torvalds/linux v6.18 mm/shmem.c.
 *
 * With `stepwise` (the explorer, ADR 0013), the walk stops once
 * zap_pmd_range() read the PMD entries of the mappings, before the PTE locks
 * (k.pending; shmem_punch_hole_resume() goes on), holding what the design
 * has walkers hold, and marks the punch in progress on the inode
 * (inode->i_private): a fault of a punched page waits for it
 * (shmem_falloc_wait()), but fault-around may still map a cached one, which
 * the truncation unmaps again.
 * Under pt-rwsem the punch does not stop: it holds each mm's rwsem for
 * writing through its zap, so no other walker of that mm (GUP-fast aside,
 * which the deferred free covers) can run in between.
 */
export function shmem_punch_hole(
  s: State,
  k: Kernel,
  inode: number,
  first: number,
  last: number,
  stepwise = false,
): void {
  const rules = ptWalkRules(k.config);
  if (stepwise && k.config.ptWalkSteps && !rules.rwsem) {
    const tables = mappingTables(s, inode, first, last);
    if (tables.length > 0) {
      if (rules.rcuWalk) pt_walker_enter(s);
      if (rules.tryget) for (const x of tables) pte_tryget(s, x.table);
      s.inodes[inode]!.falloc = { start: first, next: last };
      k.pending = {
        kind: 'unmap_mapping',
        mm: 0,
        inode,
        first,
        last,
        tables,
        rcu: rules.rcuWalk,
        tryget: rules.tryget,
      };
      return;
    }
  }
  unmap_mapping_range(s, inode, first, last, punchDetails(k), punchFreeEmpty(s, k));
  shmem_truncate_range(s, k, inode, first, last);
}

/** The PTE tables under the mappings of [first, last): one per PMD of each mapping. */
function mappingTables(
  s: State,
  inode: number,
  first: number,
  last: number,
): UnmapMappingPending['tables'] {
  const out: UnmapMappingPending['tables'][number][] = [];
  for (const r of mappingRanges(s, inode, first, last))
    for (let a = r.start; a < r.end; a = Math.floor(a / PMD_SIZE) * PMD_SIZE + PMD_SIZE) {
      const table = pteTable(s, r.mm, a);
      const end = Math.min(r.end, Math.floor(a / PMD_SIZE) * PMD_SIZE + PMD_SIZE);
      if (table !== 0) out.push({ mm: r.mm.id, start: a, end, table, gen: ptGen(s, table) });
    }
  return out;
}

/**
 * The punch's walk goes on (zap_pte_range() → pte_offset_map_lock() in each
 * table it read): a table freed meanwhile is PT001; where the design
 * rechecks, a table no longer linked is skipped and the PMD read again
 * (zap_pmd_range()'s retry); then what the first step took is dropped and
 * the pages leave the page cache.
 */
export function shmem_punch_hole_resume(s: State, k: Kernel, p: UnmapMappingPending): void {
  const rules = ptWalkRules(k.config);
  const details = punchDetails(k);
  const freeEmpty = punchFreeEmpty(s, k);
  for (const x of p.tables) {
    const mm = s.mms[x.mm];
    // An mm killed meanwhile would have waited for the i_mmap lock in exit_mmap().
    if (!mm) continue;
    const live = ptLive(s, x.table, x.gen);
    if (!live) {
      ptBug(s, {
        code: 'PT001',
        detail: `the hole punch's zap (unmap_mapping_range) took the PTE lock of page table ${x.table}, freed after it read the PMD entry of mm ${x.mm} at 0x${x.start.toString(16)}`,
      });
      continue;
    }
    const now = pteTable(s, mm, x.start);
    if (now !== x.table && !rules.pmdRecheck) {
      // Without the recheck the zap clears the entries of the table it read,
      // unlinked meanwhile: none are left in it (a free takes empty tables only).
      if (p.tryget) pte_put(s, mm, x.start, x.table);
      continue;
    }
    if (now !== x.table)
      k.decide('zap_pte_range', 'retry', 'the PMD entry changed: zap_pmd_range() reads it again');
    const vma = mm.vmas.find((v) => v.vm_start <= x.start && x.start < v.vm_end);
    if (vma && now !== 0) {
      zap_page_range_single(s, mm, vma, x.start, x.end - x.start, details);
      freeEmpty?.(mm, x.start, x.end);
    }
    if (p.tryget) pte_put(s, mm, x.start, x.table);
  }
  if (p.rcu) pt_walker_exit(s);
  shmem_truncate_range(s, k, p.inode, p.first, p.last);
  s.inodes[p.inode]!.falloc = null; // wake_up_all(): the faults that waited retry
}

/** The punching task was killed while stopped: drop what the walk held (the punch is abandoned). */
export function shmem_punch_hole_abandon(s: State, p: UnmapMappingPending): void {
  for (const x of p.tables) {
    const mm = s.mms[x.mm];
    if (p.tryget && mm && ptLive(s, x.table, x.gen)) pte_put(s, mm, x.start, x.table);
  }
  if (p.rcu) pt_walker_exit(s);
  const f = s.inodes[p.inode];
  if (f) f.falloc = null;
}

/**
 * mm/shmem.c shmem_fault() → shmem_falloc_wait(): a fault of a page a hole
 * punch in progress covers sleeps until the punch is done, then retries
 * (VM_FAULT_RETRY). A read of a page still cached, up to date and unlocked
 * does not get there: fault-around (filemap_map_pages(), which does not
 * look at the punch) maps it first (do_read_fault()). Read in
 * torvalds/linux v6.18 mm/shmem.c and mm/memory.c.
 */
export function shmem_falloc_wait(s: State, vma: Vma, address: number, write: boolean): boolean {
  const f = s.inodes[vma.vm_file];
  if (!f?.falloc) return false;
  const pgoff = vma.vm_pgoff + (address - vma.vm_start) / PAGE_SIZE;
  if (pgoff < f.falloc.start || pgoff >= f.falloc.next) return false;
  const page = f.pages[pgoff] ?? 0;
  const flags = s.mem.flags[page === 0 ? 0 : page_folio(s, page)]!;
  const aroundMaps = page !== 0 && flags & PG_uptodate && !(flags & PG_locked);
  return !(aroundMaps && !write && !(vma.vm_flags & VM_UFFD_WP));
}

/**
 * mm/shmem.c shmem_truncate_range() of pages [first, last): a page still
 * mapped (mapped again since the zap) is unmapped from every mapping first
 * (truncate_inode_folio() → unmap_mapping_folio()); then the page cache's
 * reference goes.
 */
function shmem_truncate_range(
  s: State,
  k: Kernel,
  inode: number,
  first: number,
  last: number,
): void {
  const f = s.inodes[inode]!;
  for (let pgoff = first; pgoff < Math.min(last, f.pages.length); pgoff++) {
    const pfn = f.pages[pgoff];
    if (!pfn) continue;
    const folio = page_folio(s, pfn);
    const nr = 2 ** s.mem.order[folio]!;
    const start = pgoff - (pfn - folio);
    if (nr > 1 && (start < first || start + nr > last)) {
      // truncate_inode_partial_folio(): a large folio the hole covers in part is
      // split (its PMD mappings went with the punch's zap; its PTE mappings
      // stay), and its punched pages go below; pinned, it keeps its pages and
      // the punched range is zeroed.
      if (!split_folio_file(s, folio, nr)) {
        for (let i = Math.max(first, start); i < Math.min(last, start + nr); i++)
          contentW(s.mem)[folio + (i - start)] = 0;
        pgoff = start + nr - 1;
        continue;
      }
    }
    const now = page_folio(s, pfn);
    if (folio_mapcount(s, now) > 0)
      unmap_mapping_range(s, inode, pgoff, pgoff + 1, punchDetails(k), punchFreeEmpty(s, k));
    f.pages[pgoff] = 0;
    folio_put(s, now); // the page cache's reference to this page
  }
}

/**
 * split_folio() of a page-cache THP no PMD maps any more
 * (__split_huge_page() for shmem): each page becomes a small folio with the
 * folio's flags, holding the page cache's reference and one per PTE mapping
 * it. Refused (false) with other references (GUP, pins: can_split_folio()).
 */
function split_folio_file(s: State, folio: number, nr: number): boolean {
  const mem = s.mem;
  if (folio_entire_mapcount(s, folio) !== 0) return false;
  if (mem.refcount[folio] !== folio_mapcount(s, folio) + nr) return false;
  const keep = mem.flags[folio]! & (PG_uptodate | PG_shmem | PG_swapbacked | PG_lru | PG_dirty);
  for (let i = 0; i < nr; i++) {
    flagsW(mem)[folio + i] = keep;
    orderW(mem)[folio + i] = 0;
    refcountW(mem)[folio + i] = mem.mapcount[folio + i]! + 1;
  }
  mem.large.delete(folio);
  return true;
}

function punchDetails(k: Kernel): ZapDetails {
  return { even_cows: false, reclaim_pt: false, pte_refcount: ptWalkRules(k.config).pteRefcount };
}

function punchFreeEmpty(s: State, k: Kernel): ((mm: Mm, a: number, b: number) => void) | null {
  return ptWalkRules(k.config).rwsem
    ? (mm: Mm, a: number, b: number) => free_empty_pgtables_locked(s, mm, a, b)
    : null;
}
