/**
 * The machine state: memmap (struct page per PFN), page tables, mm_structs,
 * VMAs, tasks, pipes and inodes with their page cache (include/linux/mm_types.h and friends).
 *
 * Representation (docs/adr/0001-state-representation.md): per-PFN fields are
 * struct-of-arrays in typed arrays; every page table is one Uint32Array of
 * 512 two-word entries, shared copy-on-write between cloned states. Kernel
 * paths mutate the State they are given, as the kernel mutates memory; a
 * caller that needs the old state keeps it by calling cloneState() first, which
 * costs a copy of the small arrays and of the table *pointers*, never of the
 * tables themselves.
 */

import { toolBug } from './bug.js';
import { PT_LEVEL_PGD, PTRS_PER_PTE } from './pgtable_types.js';
import { copyTyped } from './slab.js';
import { newVmstat } from './vmstat.js';
import { W_PT_ALLOC, W_PT_FREE, workCharge } from './work.js';

/* include/linux/mm.h vm_flags (x86-64 values). */
export const VM_NONE = 0;
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_MAYREAD = 0x10;
export const VM_MAYWRITE = 0x20;
export const VM_MAYEXEC = 0x40;
export const VM_MAYSHARE = 0x80;
export const VM_UFFD_MISSING = 0x200;
export const VM_PFNMAP = 0x400;
export const VM_UFFD_WP = 0x1000;
export const VM_LOCKED = 0x2000;
export const VM_DONTCOPY = 0x20000;
export const VM_ACCOUNT = 0x100000;
export const VM_NORESERVE = 0x200000;
export const VM_HUGETLB = 0x400000;
export const VM_SOFTDIRTY = 0x8000000;
export const VM_MIXEDMAP = 0x10000000;
export const VM_HUGEPAGE = 0x20000000;
export const VM_NOHUGEPAGE = 0x40000000;
/** Bit 31: test it for truthiness only (JS bit operations are signed 32-bit). */
export const VM_MERGEABLE = 0x80000000;

/**
 * include/linux/mm.h vma_soft_dirty_enabled(): soft-dirty tracking is on for
 * the VMA once clear_refs cleared VM_SOFTDIRTY (the model is built with
 * CONFIG_MEM_SOFT_DIRTY, as x86 distribution kernels are).
 */
export function vma_soft_dirty_enabled(vma: { vm_flags: number }): boolean {
  return !(vma.vm_flags & VM_SOFTDIRTY);
}

/** include/linux/mm.h is_cow_mapping(): private and may become writable. */
export function is_cow_mapping(vm_flags: number): boolean {
  return (vm_flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
}

const VM_FLAG_NAMES: readonly [number, string][] = [
  [VM_READ, 'rd'],
  [VM_WRITE, 'wr'],
  [VM_EXEC, 'ex'],
  [VM_SHARED, 'sh'],
  [VM_MAYREAD, 'mr'],
  [VM_MAYWRITE, 'mw'],
  [VM_MAYEXEC, 'me'],
  [VM_MAYSHARE, 'ms'],
  [VM_UFFD_WP, 'uw'],
  [VM_LOCKED, 'lo'],
  [VM_DONTCOPY, 'dc'],
  [VM_ACCOUNT, 'ac'],
  [VM_NORESERVE, 'nr'],
  [VM_SOFTDIRTY, 'sd'],
  [VM_HUGEPAGE, 'hg'],
  [VM_NOHUGEPAGE, 'nh'],
  [VM_MERGEABLE, 'mg'],
];

/** The two-letter VmFlags codes of /proc/PID/smaps. */
export function vmFlagNames(vm_flags: number): string {
  return VM_FLAG_NAMES.filter(([bit]) => (vm_flags & bit) !== 0)
    .map(([, n]) => n)
    .join(' ');
}

/** struct vm_area_struct (immutable: a change replaces the object). */
export interface Vma {
  readonly vm_start: number;
  readonly vm_end: number;
  readonly vm_flags: number;
  /** anon_vma id, 0 while none has been prepared (no anonymous page faulted in yet). */
  readonly anon_vma: number;
  /**
   * vm_file: the inode id of the file mapped (a memfd, a tmpfile, or the
   * shmem file behind a shared anonymous mapping); 0 for anonymous memory.
   */
  readonly vm_file: number;
  /** Page offset of vm_start in the file (vm_pgoff). */
  readonly vm_pgoff: number;
}

/* include/linux/mm_types_task.h rss counters. */
export const MM_FILEPAGES = 0;
export const MM_ANONPAGES = 1;
export const MM_SWAPENTS = 2;
export const MM_SHMEMPAGES = 3;
export const NR_MM_COUNTERS = 4;

/* include/linux/sched/coredump.h mm->flags bits. */
export const MMF_HAS_PINNED = 1 << 0;
/** MMF_VM_MERGE_ANY: prctl(PR_SET_MEMORY_MERGE) made every eligible VMA mergeable (v6.4+); fork keeps it. */
export const MMF_VM_MERGE_ANY = 1 << 1;
/** The mm->flags bits a child inherits (MMF_INIT_MASK). */
export const MMF_INIT_MASK = MMF_VM_MERGE_ANY;

/** struct mm_struct */
export interface Mm {
  readonly id: number;
  /** Table id of the PGD page (allocated with the mm, never counted in pgtables_bytes). */
  pgd: number;
  /**
   * VMAs sorted by vm_start, non-overlapping. Never changed in place (a
   * writer replaces the list): copies of the state share it.
   */
  vmas: readonly Vma[];
  /** mm->pgtables_bytes: PTE, PMD and PUD table pages (VmPTE = this >> 10). */
  pgtables_bytes: number;
  /** mm->rss_stat, indexed by MM_* counters: changed through add_mm_counter() only. */
  rss: readonly number[];
  /**
   * Not the kernel's: may add_mm_counter() write `rss` in place? False after
   * a copy of the state, whose mm shares the array until either side writes.
   */
  rssOwn: boolean;
  flags: number;
  /** mm->mm_users: tasks using this mm. */
  mm_users: number;
  /**
   * mm->write_protect_seq: odd while fork() write-protects this mm's COW
   * mappings (copy_page_range(), 57efa1fe5957); GUP-fast pins back off then.
   */
  write_protect_seq: number;
  /**
   * mm->ksm_merging_pages: a counter of this mm's rmap_items in KSM's stable
   * tree, raised when ksmd merges a page and lowered when a later scan finds
   * the item stale (mm/ksm.c stable_tree_append(), remove_rmap_item_from_tree()).
   */
  ksm_merging_pages: number;
  /** The rmap_items of this mm in the stable tree: [address, KSM pfn] pairs, in address order (replaced, never changed in place). */
  ksm_rmap: readonly number[];
  /**
   * rmap_item->oldchecksum of every rmap_item of this mm: [address, checksum]
   * pairs in address order (the checksum is the page's value + 1, so that 0
   * is a new rmap_item's). A page enters the unstable tree only when its
   * checksum did not change since the previous scan (cmp_and_merge_page()).
   * Replaced, never changed in place.
   */
  ksm_checksum: readonly number[];
  /**
   * This mm's rmap_items flagged UNSTABLE_FLAG: inserted in the unstable tree
   * of the scan that last met them and not merged since. They count in
   * ksm_pages_unshared until the next scan meets them again or the mm exits
   * (remove_rmap_item_from_tree()).
   */
  ksm_unstable: number;
}

export const TASK_RUNNING = 0;
export const EXIT_ZOMBIE = 1;
export const EXIT_DEAD = 2;

/** struct task_struct (one per thread; threads of a process share tgid and mm). */
export interface Task {
  readonly pid: number;
  readonly tgid: number;
  readonly parent: number;
  /** mm id, 0 once the task exited and dropped it. */
  readonly mm: number;
  readonly state: number;
  /** Exit status: the code passed to exit, or 128 + signal number when killed. */
  readonly exit_code: number;
  /** Open pipe ends: pipe id * 2 + (0 read, 1 write). */
  readonly files: readonly number[];
  /**
   * Not the kernel's: the copy-on-write token of the one state that may
   * write this record in place (State.cow). A copy of the state shares its
   * tasks; taskW() copies a task the first time a state writes it.
   */
  readonly own: object;
}

/** A task as its writer sees it (taskW()). */
export type TaskW = { -readonly [K in keyof Task]: Task[K] } & { files: number[] };

/**
 * Task `pid` of `s`, writable: copied first unless `s` made it (a state
 * shares its tasks with its copies). The copy replaces the shared record in
 * `s.tasks`: a reference taken before is the other states' task, so read
 * the task again after writing it.
 */
export function taskW(s: State, pid: number): TaskW {
  const t = s.tasks[pid];
  if (!t) throw new Error(`tool bug: no task ${pid}`);
  if (t.own === s.cow) return t as TaskW;
  const w: TaskW = {
    pid: t.pid,
    tgid: t.tgid,
    parent: t.parent,
    mm: t.mm,
    state: t.state,
    exit_code: t.exit_code,
    files: t.files.slice(),
    own: s.cow,
  };
  s.tasks[pid] = w;
  return w;
}

/** A pipe buffer: a reference to one page (struct pipe_buffer). */
export interface PipeBuffer {
  readonly pfn: number;
  /** 'anon': pipe_write's own page; 'user': a user page spliced in by vmsplice (FOLL_GET). */
  readonly ops: 'anon' | 'user';
}

/** struct pipe_inode_info */
export interface Pipe {
  readonly id: number;
  bufs: PipeBuffer[];
  readers: number;
  writers: number;
}

/**
 * A reference GUP took that its user still holds (a pin of an RDMA or
 * io_uring buffer, an O_DIRECT request in flight): FOLL_GET adds 1 to the
 * folio's refcount, FOLL_PIN adds GUP_PIN_COUNTING_BIAS on a small folio.
 */
export interface GupRef {
  readonly id: number;
  readonly page: number;
  readonly folio: number;
  readonly pin: boolean;
  /** What the reference added to the folio's refcount (0 for the zero page). */
  readonly refs: number;
}

/**
 * A file's inode and its page cache (struct inode, i_mapping): a shmem file
 * (tmpfs: memfd_create(), shared anonymous memory) or a file on a disk
 * filesystem (ext4: tmpfile()), which matters for dirty tracking and
 * long-term pins.
 */
export interface Inode {
  readonly id: number;
  readonly fs: 'tmpfs' | 'ext4';
  /** Size in pages (i_size >> PAGE_SHIFT). */
  readonly size: number;
  /** Page-cache PFN per page offset, 0 for a page not cached yet. */
  pages: number[];
  /** References: VMAs mapping it and open file descriptors; freed at 0. */
  refs: number;
  /**
   * A hole punch in progress (shmem's inode->i_private, struct
   * shmem_falloc): faults of pages [start, next) wait for it
   * (shmem_falloc_wait()). Set only while a punch is stopped (ADR 0013).
   */
  falloc: { readonly start: number; readonly next: number } | null;
}

/** A memmap array as readers see it: indexing writes do not compile (write through flagsW() and its kin). */
export type PageArray<T extends Uint32Array | Int32Array | Uint8Array> = Omit<
  T,
  number | 'set' | 'fill' | 'copyWithin' | 'reverse' | 'sort'
> & { readonly [pfn: number]: number };

/**
 * The memmap: one slot per PFN. Folio-wide fields are meaningful on the head
 * PFN; `mapcount` is per page (the kernel's _mapcount + 1).
 *
 * The five arrays are shared copy-on-write between a state and its copies
 * (cloneState()): a writer asks for the writable array (flagsW(),
 * refcountW(), mapcountW(), contentW(), orderW()), which copies it the first
 * time after a copy was taken. Most explored transitions write one or two of
 * them: a refcount change in four out of five, flags and mapcount in about
 * one in three, the order almost never (measured on the bench programs).
 */
/** The two lanes of a memmap array's digest (canon.ts). */
export type MemDigest = readonly [number, number];

export interface MemMap {
  flags: PageArray<Uint32Array>;
  refcount: PageArray<Int32Array>;
  mapcount: PageArray<Int32Array>;
  /** The page's contents: one value stands for the whole page. */
  content: PageArray<Uint32Array>;
  /** Folio order, on the head PFN. */
  order: PageArray<Uint8Array>;
  /** Which arrays this memmap may write in place (OWN_* bits); 0 right after a copy. */
  own: number;
  /**
   * Not the kernel's: what the fingerprint knows of each array (canon.ts
   * digestOf()). `flagsD` is the digest of `flags` as it is, null once a writer
   * asked for it (flagsW() clears it); a copy of the state shares the array
   * and its digest. `flagsFrom` is the shared array the first writer copied
   * `flags` from, with its digest (`flagsFromD`, null when not known), so
   * that the written array is digested as the source's digest plus the PFNs
   * where the two differ. The same for each array.
   */
  flagsD: MemDigest | null;
  flagsFrom: ArrayLike<number> | null;
  flagsFromD: MemDigest | null;
  refcountD: MemDigest | null;
  refcountFrom: ArrayLike<number> | null;
  refcountFromD: MemDigest | null;
  mapcountD: MemDigest | null;
  mapcountFrom: ArrayLike<number> | null;
  mapcountFromD: MemDigest | null;
  contentD: MemDigest | null;
  contentFrom: ArrayLike<number> | null;
  contentFromD: MemDigest | null;
  orderD: MemDigest | null;
  orderFrom: ArrayLike<number> | null;
  orderFromD: MemDigest | null;
  /**
   * The folio-wide fields of each large folio (order > 0), by head PFN: what
   * the kernel keeps in the folio's first tail pages. Small folios, the
   * overwhelming majority, have no record, which keeps the memmap at 17
   * bytes per PFN.
   */
  large: Map<number, LargeFolio>;
  /** Next never-used PFN. */
  end: number;
  /**
   * The free order-0 PFNs, a stack reused last-freed first (deterministic):
   * the PFN on top, 0 when empty. Each free page holds the next one in its
   * mapcount slot, as the kernel links free pages through their struct page
   * (buddy lists over page->lru, PageBuddy in the page_type that overlays
   * _mapcount), so freeing 24 M pages costs no memory besides the memmap.
   */
  free: number;
  /** NR_FREE_PAGES of the PFNs handed out so far: the pages on the free stack. */
  nr_free: number;
  /** Folios under writeback (the NR_WRITEBACK node counter): what is in flight without a scan of every PFN. */
  nr_writeback: number;
  /** The folios under writeback, in the order their writes started (NR_WRITEBACK of them). */
  writeback: number[];
}

/**
 * The fields of a large folio beyond its pages' own (include/linux/mm_types.h
 * struct folio: _entire_mapcount, _large_mapcount, _pincount, and with
 * CONFIG_MM_ID, v6.15+, _mm_id[2], _mm_id_mapcount[2] and the "maybe mapped
 * shared" bit in _mm_ids). Counts are the kernel's + 1, as the memmap's
 * mapcount is; an mm id of 0 is MM_ID_DUMMY (a free slot).
 */
export interface LargeFolio {
  /** _entire_mapcount: PMD mappings of the whole folio. */
  entire: number;
  /** _large_mapcount: every mapping of any part of the folio, a PTE or a PMD counting one. */
  mapcount: number;
  /** _pincount: FOLL_PIN references (a large folio does not add GUP_PIN_COUNTING_BIAS). */
  pincount: number;
  /** _mm_id[0], _mm_id[1] */
  mm_id: [number, number];
  /** _mm_id_mapcount[0], [1]: the mappings each slot's mm holds, as far as the slot knows. */
  mm_id_mapcount: [number, number];
  /** FOLIO_MM_IDS_SHARED_BIT: maybe mapped by more than one mm (folio_test_large_maybe_mapped_shared()). */
  shared: boolean;
  /**
   * Not a kernel field: how many of the folio's pages have a mapcount of 2
   * or more, kept with every mapcount change so that the model answers
   * page_trans_huge_map_swapcount()'s question without its 512-page loop
   * (the work account still charges the loop).
   */
  multi: number;
}

export function newLargeFolio(): LargeFolio {
  return {
    entire: 0,
    mapcount: 0,
    pincount: 0,
    mm_id: [0, 0],
    mm_id_mapcount: [0, 0],
    shared: false,
    multi: 0,
  };
}

function cloneLarge(m: Map<number, LargeFolio>): Map<number, LargeFolio> {
  const out = new Map<number, LargeFolio>();
  for (const [pfn, f] of m)
    out.set(pfn, {
      entire: f.entire,
      mapcount: f.mapcount,
      pincount: f.pincount,
      mm_id: [f.mm_id[0], f.mm_id[1]],
      mm_id_mapcount: [f.mm_id_mapcount[0], f.mm_id_mapcount[1]],
      shared: f.shared,
      multi: f.multi,
    });
  return out;
}

/**
 * All page-table pages of all mms. A table is a Uint32Array in one of two
 * forms (docs/adr/0001, "sparse tables"): dense, 512 [val, bits] pairs
 * (PT_DENSE_WORDS words, a 4 KiB table as the kernel's), or sparse, for a
 * table with few entries: [n, index, val, bits, ...] with the n populated
 * entries in index order, which becomes dense when it would hold more than
 * PT_SPARSE_MAX. Read entries with ptVal()/ptBits()/ptEntries() and write
 * them with ptSet(); the form is invisible to everything else (a table of
 * one PTE costs about 100 bytes, not 4 KiB: seed 004's 1 TiB area).
 */
export interface PageTables {
  /** By table id; id 0 is never used so that an entry value of 0 means "none". */
  tables: (Uint32Array | null)[];
  /** Copy-on-write owner token per table (see mm_types module comment). */
  owner: unknown[];
  /** Level per table id: 1 PTE, 2 PMD, 3 PUD, 4 PGD. */
  level: number[];
  free: number[];
  /**
   * How many times each table id was freed: a walker that read a table's id
   * before a step boundary compares it to tell a freed (maybe reused) table.
   * Not in the fingerprint (canon.ts): what a walker's record makes of it is.
   */
  gen: number[];
  /**
   * Tables unlinked from their mm whose free waits until no lockless walker
   * (an RCU read-side section, interrupts off) can still be in them:
   * mm/mmu_gather.c tlb_remove_table() (mmu_gather.ts).
   */
  deferred: number[];
  /** Walkers inside such a section now (pending records hold them). */
  readers: number;
  /** pte_tryget() references walkers hold, by PTE table id (the pte_refcount proposal). */
  visitors: number[];
  /**
   * Page-table invariants a walker or a free broke (PT001, PT002): kept in
   * the state so that the explorer's invariant check reports them.
   */
  bugs: PtBug[];
}

/**
 * An rmap walk stopped between reading PMD entries and using the PTE tables
 * they name, with what it holds per the strategy's walk rules: RCU, a
 * pte_tryget() reference on each table, the page-table rwsem of each mm for
 * read.
 */
export interface RmapWalk {
  readonly folio: number;
  readonly tables: readonly {
    readonly mm: number;
    readonly address: number;
    readonly table: number;
    readonly gen: number;
  }[];
  readonly rcu: boolean;
  readonly tryget: boolean;
  readonly rwsem: boolean;
}

/** A broken page-table invariant, as observed where it happened. */
export interface PtBug {
  readonly code: 'PT001' | 'PT002';
  readonly detail: string;
}

/**
 * The swap device (one swap file; mm/swapfile.c swap_info_struct, the parts
 * used) and the swap cache (mm/swap_state.c). Slot 0 is the header and never
 * used, so that a swap entry's offset is never 0. The device is large enough
 * never to be half full (vm_swap_full() is false) and is not
 * SWP_SYNCHRONOUS_IO (a swap file on disk, as on the machines cowherd runs
 * on), so swap-in always goes through the swap cache.
 */
export interface SwapInfo {
  /** swap_map without SWAP_HAS_CACHE: the swap entries (swap PTEs) referring to each slot. */
  readonly map: readonly number[];
  /** What swap-out wrote to each slot (one value per page, as the memmap's content). */
  readonly data: readonly number[];
  /** The swap cache: the folio that caches each slot, 0 if none (SWAP_HAS_CACHE). */
  readonly cache: readonly number[];
  /** The slot each swap-cache folio caches (folio->swap), the inverse of `cache`. */
  readonly slot_of: ReadonlyMap<number, number>;
  /** No slot below this one is free (folio_alloc_swap() starts looking here). */
  readonly free_hint: number;
  /** Not the kernel's: the token of the one state that may write this record in place (swapW()). */
  readonly own: object;
}

/** The swap device as its writer sees it (swapW()). */
export interface SwapInfoW extends SwapInfo {
  map: number[];
  data: number[];
  cache: number[];
  slot_of: Map<number, number>;
  free_hint: number;
}

/**
 * The swap device of `s`, writable: copied first unless `s` made it (a
 * state shares it with its copies until one of them swaps).
 */
export function swapW(s: State): SwapInfoW {
  const w = s.swap;
  if (w.own === s.cow) return w as SwapInfoW;
  const c: SwapInfoW = {
    map: w.map.slice(),
    data: w.data.slice(),
    cache: w.cache.slice(),
    slot_of: new Map(w.slot_of),
    free_hint: w.free_hint,
    own: s.cow,
  };
  s.swap = c;
  return c;
}

/**
 * A userfaultfd context (fs/userfaultfd.c struct userfaultfd_ctx, the parts
 * used): the mm it was created in, and whether fork events were asked for
 * (UFFD_FEATURE_EVENT_FORK), which decides whether a child keeps its
 * registrations. Ranges are registered through VM_UFFD_WP on the VMAs.
 */
export interface UffdCtx {
  readonly id: number;
  readonly mm: number;
  readonly event_fork: boolean;
  /** UFFD_FEATURE_WP_UNPOPULATED (v6.4): protecting an unpopulated anonymous address installs a marker. */
  readonly wp_unpopulated: boolean;
}

export interface State {
  mem: MemMap;
  swap: SwapInfo;
  pt: PageTables;
  /** By mm id (0 unused). */
  mms: (Mm | null)[];
  /** By pid (0 unused). */
  tasks: (Task | null)[];
  pipes: (Pipe | null)[];
  /** By inode id (0 unused). */
  inodes: (Inode | null)[];
  /** /proc/vmstat events, see vmstat.ts. */
  /** The /proc/vmstat event counters (vmstat.ts), a plain array: 17 numbers copy far faster than a Float64Array. */
  vmstat: number[];
  next_anon_vma: number;
  /** Per-CPU LRU add batches (mm/swap.c cpu_fbatches.lru_add): folios holding an extra reference. */
  lru_batch: number[][];
  /** Folios isolated from the LRU by reclaim (mm/vmscan.c folio_isolate_lru()), each holding a reference. */
  isolated: number[];
  /**
   * Reclaim's try_to_unmap() stopped inside page_vma_mapped_walk() after
   * reading the PMD entries of the folio's mappings, before taking their
   * PTE locks (vmscan.ts, ADR 0013); null when no walk is stopped.
   */
  rmap_walk: RmapWalk | null;
  /** GUP references held by their users, by id (null once released). */
  gup: (GupRef | null)[];
  /** userfaultfd contexts by id (0 unused). */
  uffd: (UffdCtx | null)[];
  /** Head PFN of the huge zero folio (mm/huge_memory.c huge_zero_folio), 0 until first used. */
  huge_zero: number;
  /** Copy-on-write token: a table whose owner is this token may be written in place. */
  cow: object;
  /** The work account (work.ts), null unless a simulation keeps one. */
  work: Float64Array | null;
  /** Where the kernel path work is charged to starts in `work` (work.ts: its WORK_PATHS index times NR_WORK_KINDS). */
  workBase: number;
}

/** PFN of the shared zero page (pfn 0 is left unused so that 0 can mean "no page"). */
export const ZERO_PFN = 1;

const INITIAL_PFNS = 64;

export const OWN_FLAGS = 1;
export const OWN_REFCOUNT = 2;
export const OWN_MAPCOUNT = 4;
export const OWN_CONTENT = 8;
export const OWN_ORDER = 16;
/** Every memmap array owned: a new memmap, or one whose arrays were all just replaced (page_alloc.ts grow()). */
export const OWN_MEMMAP = 31;

/** The digest fields of a memmap whose arrays are all new (canon.ts knows nothing of them yet). */
export const NO_MEM_DIGESTS = {
  flagsD: null,
  flagsFrom: null,
  flagsFromD: null,
  refcountD: null,
  refcountFrom: null,
  refcountFromD: null,
  mapcountD: null,
  mapcountFrom: null,
  mapcountFromD: null,
  contentD: null,
  contentFrom: null,
  contentFromD: null,
  orderD: null,
  orderFrom: null,
  orderFromD: null,
} as const;

/** The flags array of `mem`, writable (copied first when shared with a copy of the state). */
export function flagsW(mem: MemMap): Uint32Array {
  if (!(mem.own & OWN_FLAGS)) {
    mem.flagsFrom = mem.flags;
    mem.flagsFromD = mem.flagsD;
    mem.flags = copyTyped(mem.flags as Uint32Array);
    mem.own |= OWN_FLAGS;
  }
  mem.flagsD = null; // the caller writes it
  return mem.flags as Uint32Array;
}

/** The refcount array of `mem`, writable. */
export function refcountW(mem: MemMap): Int32Array {
  if (!(mem.own & OWN_REFCOUNT)) {
    mem.refcountFrom = mem.refcount;
    mem.refcountFromD = mem.refcountD;
    mem.refcount = copyTyped(mem.refcount as Int32Array);
    mem.own |= OWN_REFCOUNT;
  }
  mem.refcountD = null; // the caller writes it
  return mem.refcount as Int32Array;
}

/** The mapcount array of `mem`, writable. */
export function mapcountW(mem: MemMap): Int32Array {
  if (!(mem.own & OWN_MAPCOUNT)) {
    mem.mapcountFrom = mem.mapcount;
    mem.mapcountFromD = mem.mapcountD;
    mem.mapcount = copyTyped(mem.mapcount as Int32Array);
    mem.own |= OWN_MAPCOUNT;
  }
  mem.mapcountD = null; // the caller writes it
  return mem.mapcount as Int32Array;
}

/** The content array of `mem`, writable. */
export function contentW(mem: MemMap): Uint32Array {
  if (!(mem.own & OWN_CONTENT)) {
    mem.contentFrom = mem.content;
    mem.contentFromD = mem.contentD;
    mem.content = copyTyped(mem.content as Uint32Array);
    mem.own |= OWN_CONTENT;
  }
  mem.contentD = null; // the caller writes it
  return mem.content as Uint32Array;
}

/** The order array of `mem`, writable. */
export function orderW(mem: MemMap): Uint8Array {
  if (!(mem.own & OWN_ORDER)) {
    mem.orderFrom = mem.order;
    mem.orderFromD = mem.orderD;
    mem.order = copyTyped(mem.order as Uint8Array);
    mem.own |= OWN_ORDER;
  }
  mem.orderD = null; // the caller writes it
  return mem.order as Uint8Array;
}

function newMemMap(): MemMap {
  return {
    flags: new Uint32Array(INITIAL_PFNS),
    refcount: new Int32Array(INITIAL_PFNS),
    mapcount: new Int32Array(INITIAL_PFNS),
    content: new Uint32Array(INITIAL_PFNS),
    order: new Uint8Array(INITIAL_PFNS),
    own: OWN_MEMMAP,
    ...NO_MEM_DIGESTS,
    large: new Map(),
    end: ZERO_PFN + 1,
    free: 0,
    nr_free: 0,
    nr_writeback: 0,
    writeback: [],
  };
}

/** A machine with no process yet: only the shared zero page exists. */
export function newState(): State {
  const mem = newMemMap();
  // The zero page is reserved memory: never freed, never counted in a mapping's refcount.
  flagsW(mem)[ZERO_PFN] = 0x400 /* PG_reserved */ | 0x4 /* PG_uptodate */;
  refcountW(mem)[ZERO_PFN] = 1;
  const cow = {};
  return {
    mem,
    pt: {
      tables: [null],
      owner: [null],
      level: [0],
      free: [],
      gen: [0],
      deferred: [],
      readers: 0,
      visitors: [],
      bugs: [],
    },
    mms: [null],
    tasks: [null],
    pipes: [null],
    inodes: [null],
    swap: { map: [0], data: [0], cache: [0], slot_of: new Map(), free_hint: 1, own: cow },
    vmstat: newVmstat(),
    next_anon_vma: 1,
    lru_batch: [],
    isolated: [],
    rmap_walk: null,
    gup: [null],
    uffd: [null],
    huge_zero: 0,
    cow,
    work: null,
    workBase: 0,
  };
}

// The record copies below name every field: an object spread of these
// records is several times slower in V8 (measured: cloneState 6.6 -> 3.9 us
// on the bench's K = 7 machine), and the explorer copies them for every
// transition. The compiler checks that no required field is left out.

function cloneMm(mm: Mm | null): Mm | null {
  if (mm === null) return null;
  mm.rssOwn = false; // the copy shares the counters from here on
  return {
    id: mm.id,
    pgd: mm.pgd,
    vmas: mm.vmas, // shared: never changed in place
    pgtables_bytes: mm.pgtables_bytes,
    rss: mm.rss, // shared until a counter changes (add_mm_counter())
    rssOwn: false,
    flags: mm.flags,
    mm_users: mm.mm_users,
    write_protect_seq: mm.write_protect_seq,
    ksm_merging_pages: mm.ksm_merging_pages,
    ksm_rmap: mm.ksm_rmap, // shared, as vmas
    ksm_checksum: mm.ksm_checksum,
    ksm_unstable: mm.ksm_unstable,
  };
}

/**
 * include/linux/mm.h add_mm_counter(): mm->rss_stat[member] += value. The
 * counters are copied first when a copy of the state shares them.
 */
export function add_mm_counter(mm: Mm, member: number, value: number): void {
  if (!mm.rssOwn) {
    mm.rss = mm.rss.slice();
    mm.rssOwn = true;
  }
  (mm.rss as number[])[member]! += value;
}

function clonePipe(p: Pipe | null): Pipe | null {
  return p === null
    ? null
    : { id: p.id, bufs: p.bufs.slice(), readers: p.readers, writers: p.writers };
}

function cloneInode(f: Inode | null): Inode | null {
  return f === null
    ? null
    : { id: f.id, fs: f.fs, size: f.size, pages: f.pages.slice(), refs: f.refs, falloc: f.falloc };
}

/**
 * An independent copy of `s`. Page tables are shared copy-on-write: both
 * states get fresh tokens, so the first write to a table on either side copies
 * that one table (ptWritable()).
 */
export function cloneState(s: State): State {
  s.cow = {};
  const m = s.mem;
  m.own = 0; // the arrays are shared from here on: each side copies what it writes
  return {
    mem: {
      flags: m.flags,
      refcount: m.refcount,
      mapcount: m.mapcount,
      content: m.content,
      order: m.order,
      own: 0,
      flagsD: m.flagsD,
      flagsFrom: null,
      flagsFromD: null,
      refcountD: m.refcountD,
      refcountFrom: null,
      refcountFromD: null,
      mapcountD: m.mapcountD,
      mapcountFrom: null,
      mapcountFromD: null,
      contentD: m.contentD,
      contentFrom: null,
      contentFromD: null,
      orderD: m.orderD,
      orderFrom: null,
      orderFromD: null,
      large: cloneLarge(m.large),
      end: m.end,
      free: m.free,
      nr_free: m.nr_free,
      nr_writeback: m.nr_writeback,
      writeback: m.writeback.slice(),
    },
    pt: {
      tables: s.pt.tables.slice(),
      owner: s.pt.owner.slice(),
      level: s.pt.level.slice(),
      free: s.pt.free.slice(),
      gen: s.pt.gen.slice(),
      deferred: s.pt.deferred.slice(),
      readers: s.pt.readers,
      visitors: s.pt.visitors.slice(),
      bugs: s.pt.bugs.slice(),
    },
    mms: s.mms.map(cloneMm),
    tasks: s.tasks.slice(), // shared records, copied by their writer (taskW())
    pipes: s.pipes.map(clonePipe),
    inodes: s.inodes.map(cloneInode),
    swap: s.swap, // shared until a state writes it (swapW())
    vmstat: s.vmstat.slice(),
    next_anon_vma: s.next_anon_vma,
    lru_batch: s.lru_batch.map((b) => b.slice()),
    isolated: s.isolated.slice(),
    rmap_walk: s.rmap_walk,
    gup: s.gup.slice(),
    uffd: s.uffd.slice(),
    huge_zero: s.huge_zero,
    cow: {},
    work: s.work === null ? null : s.work.slice(),
    workBase: s.workBase,
  };
}

/** Words of a dense table: 512 entries of two words. */
export const PT_DENSE_WORDS = 2 * PTRS_PER_PTE;
/** A sparse table holds at most this many entries; one more makes it dense. */
export const PT_SPARSE_MAX = 32;
const SPARSE_FIRST = 4;

function sparseSlot(tab: Uint32Array, i: number): number {
  const n = tab[0]!;
  for (let k = 0; k < n; k++) {
    const at = tab[1 + 3 * k]!;
    if (at === i) return k;
    if (at > i) return -1;
  }
  return -1;
}

/** The first word of entry `i` (the PFN, child table id or swap offset). */
export function ptVal(tab: Uint32Array, i: number): number {
  if (tab.length === PT_DENSE_WORDS) return tab[2 * i]!;
  const k = sparseSlot(tab, i);
  return k < 0 ? 0 : tab[2 + 3 * k]!;
}

/** The bits of entry `i`. */
export function ptBits(tab: Uint32Array, i: number): number {
  if (tab.length === PT_DENSE_WORDS) return tab[2 * i + 1]!;
  const k = sparseSlot(tab, i);
  return k < 0 ? 0 : tab[3 + 3 * k]!;
}

/** Every populated entry (val or bits not 0), in index order. */
export function ptEntries(
  tab: Uint32Array,
  fn: (i: number, val: number, bits: number) => void,
): void {
  if (tab.length === PT_DENSE_WORDS) {
    for (let i = 0; i < PTRS_PER_PTE; i++) {
      const v = tab[2 * i]!;
      const b = tab[2 * i + 1]!;
      if (v !== 0 || b !== 0) fn(i, v, b);
    }
    return;
  }
  const n = tab[0]!;
  for (let k = 0; k < n; k++) fn(tab[1 + 3 * k]!, tab[2 + 3 * k]!, tab[3 + 3 * k]!);
}

/**
 * ptEntries() without the callback: the (val, bits) words of every entry
 * ptEntries() would give, in index order, into `out` (room for 512 pairs);
 * returns how many words it wrote.
 */
export function ptEntryWords(tab: Uint32Array, out: Uint32Array): number {
  let n = 0;
  if (tab.length === PT_DENSE_WORDS) {
    for (let w = 0; w < PT_DENSE_WORDS; w += 2) {
      const v = tab[w]!;
      const b = tab[w + 1]!;
      if (v !== 0 || b !== 0) {
        out[n++] = v;
        out[n++] = b;
      }
    }
    return n;
  }
  const slots = tab[0]!;
  for (let k = 0; k < slots; k++) {
    out[n++] = tab[2 + 3 * k]!;
    out[n++] = tab[3 + 3 * k]!;
  }
  return n;
}

/** Whether a table has no entry in use at all (every slot none). */
export function ptEmpty(tab: Uint32Array): boolean {
  if (tab.length === PT_DENSE_WORDS) {
    for (let i = 0; i < 2 * PTRS_PER_PTE; i++) if (tab[i] !== 0) return false;
    return true;
  }
  const n = tab[0]!;
  for (let k = 0; k < n; k++) if (tab[2 + 3 * k] !== 0 || tab[3 + 3 * k] !== 0) return false;
  return true;
}

/** Store entry `i` of table `id` (copying the table first if it is shared copy-on-write). */
export function ptSet(s: State, id: number, i: number, val: number, bits: number): void {
  const tab = ptWritable(s, id);
  if (tab.length === PT_DENSE_WORDS) {
    tab[2 * i] = val;
    tab[2 * i + 1] = bits;
    return;
  }
  const n = tab[0]!;
  let k = 0;
  while (k < n && tab[1 + 3 * k]! < i) k++;
  const here = k < n && tab[1 + 3 * k] === i;
  if (val === 0 && bits === 0) {
    if (!here) return;
    tab.copyWithin(1 + 3 * k, 4 + 3 * k, 1 + 3 * n);
    tab.fill(0, 1 + 3 * (n - 1), 1 + 3 * n);
    tab[0] = n - 1;
    return;
  }
  if (here) {
    tab[2 + 3 * k] = val;
    tab[3 + 3 * k] = bits;
    return;
  }
  if (n === PT_SPARSE_MAX) {
    const dense = new Uint32Array(PT_DENSE_WORDS);
    ptEntries(tab, (j, v, b) => {
      dense[2 * j] = v;
      dense[2 * j + 1] = b;
    });
    dense[2 * i] = val;
    dense[2 * i + 1] = bits;
    s.pt.tables[id] = dense;
    return;
  }
  let t = tab;
  if (1 + 3 * (n + 1) > tab.length) {
    t = new Uint32Array(1 + 3 * Math.min(PT_SPARSE_MAX, 2 * ((tab.length - 1) / 3)));
    t.set(tab);
    s.pt.tables[id] = t;
  }
  t.copyWithin(4 + 3 * k, 1 + 3 * k, 1 + 3 * n);
  t[1 + 3 * k] = i;
  t[2 + 3 * k] = val;
  t[3 + 3 * k] = bits;
  t[0] = n + 1;
}

/** A table the caller may modify in place (copies it first if it is shared with another state). */
export function ptWritable(s: State, id: number): Uint32Array {
  const pt = s.pt;
  const t = pt.tables[id];
  if (!t) toolBug(`page table ${id} does not exist`);
  if (pt.owner[id] === s.cow) return t;
  const copy = copyTyped(t);
  pt.tables[id] = copy;
  pt.owner[id] = s.cow;
  return copy;
}

/** Allocate a zeroed page-table page of the given level; returns its id. */
export function ptAllocTable(s: State, level: number): number {
  const pt = s.pt;
  const id = pt.free.length > 0 ? (pt.free.pop() as number) : pt.tables.length;
  pt.tables[id] = new Uint32Array(1 + 3 * SPARSE_FIRST);
  pt.owner[id] = s.cow;
  pt.level[id] = level;
  workCharge(s, W_PT_ALLOC);
  return id;
}

/** Return a page-table page to the allocator. */
export function ptFreeTable(s: State, id: number): void {
  s.pt.tables[id] = null;
  s.pt.owner[id] = null;
  s.pt.level[id] = 0;
  s.pt.gen[id] = (s.pt.gen[id] ?? 0) + 1;
  if (s.pt.visitors[id]) s.pt.visitors[id] = 0;
  s.pt.free.push(id);
  workCharge(s, W_PT_FREE);
}

/** Create an mm_struct with an empty PGD (mm_alloc + mm_init + pgd_alloc). */
export function mm_alloc(s: State): Mm {
  const id = s.mms.length;
  const mm: Mm = {
    id,
    pgd: ptAllocTable(s, PT_LEVEL_PGD),
    vmas: [],
    pgtables_bytes: 0,
    rss: [0, 0, 0, 0],
    rssOwn: true,
    flags: 0,
    mm_users: 1,
    write_protect_seq: 0,
    ksm_merging_pages: 0,
    ksm_rmap: [],
    ksm_checksum: [],
    ksm_unstable: 0,
  };
  s.mms[id] = mm;
  return mm;
}

/** The large-folio fields of `folio` (a head PFN of order > 0). */
export function folioLarge(s: State, folio: number): LargeFolio {
  const f = s.mem.large.get(folio);
  if (!f) return toolBug(`folio ${folio} is not a large folio`);
  return f;
}

export function mmOf(s: State, id: number): Mm {
  const mm = s.mms[id];
  if (!mm) toolBug(`mm ${id} does not exist`);
  return mm;
}

export function taskOf(s: State, pid: number): Task {
  const t = s.tasks[pid];
  if (!t) toolBug(`task ${pid} does not exist`);
  return t;
}
