/**
 * The named decision points where kernel eras differ, and the context kernel
 * paths run in.
 *
 * A Policy has one member per decision point, named after the kernel function
 * that makes the decision; the core function of the same name calls it at
 * exactly that place, so a diff of two era files reads like a diff of two
 * kernels. Members receive the state and a Kernel context; when the outcome
 * depends on something the model does not decide by itself (a trylock, when
 * an LRU batch is drained) they ask `k.choose()`, which the sequential runner
 * answers with the default and the explorer branches over.
 */

import type { PtWalkRules } from './mm/pt_walk.js';
import type { Mm, State, Vma } from './mm_types.js';
import type { pte_t } from './pgtable_types.js';

export type EraId =
  | 'v5.7'
  | 'v5.8'
  | 'v5.9'
  | 'v5.18'
  | 'v5.19'
  | 'v6.2'
  | 'v6.18'
  | 'foll-break-cow'
  | 'full-accuracy'
  | 'linus-rules'
  | 'wait-for-gup';

/** A citation: a kernel commit, file+function+version, or a mail. */
export interface KernelRef {
  readonly what: string;
  readonly ref: string;
  /** Evidence as in research/kernel-eras.md: src, patch, unconf. */
  readonly evidence: 'src' | 'patch' | 'unconf';
}

/** Page-table lifetime strategies (DESIGN.md, seed 004; policy/pt-strategies.ts): orthogonal to the era. */
export type PtDesign = 'none' | 'pte-refcount' | 'pt-rwsem' | 'madv-cleanup' | 'pt-reclaim';

/**
 * A design, or one of its unsafe variants: the design without the one detail
 * that keeps its walkers safe (ADR 0013), to show with a shortest trace why
 * the detail is there.
 */
export type PtStrategy =
  | PtDesign
  | 'pt-reclaim-norecheck'
  | 'pt-reclaim-norcu'
  | 'pte-refcount-notryget';

/**
 * Why do_wp_page() copied, as a code the counters use: `early` for the
 * lockless refcount heuristics before the folio lock (seed 003's
 * anon_wp_copy_count_early), `lock` for a failed folio trylock
 * (anon_wp_copy_lock), `other` for everything else.
 */
export type WpCopyReason = 'early' | 'lock' | 'other';

/** Why do_wp_page() reused or copied: printed in traces and `cowherd diff`. */
export interface WpDecision {
  /** 'wait': sleep until the folio's GUP references are gone, then fault again (wait-for-gup). */
  readonly action: 'reuse' | 'copy' | 'wait';
  /** A constant, human-readable reason (no per-fault formatting: this is the hot path). */
  readonly why: string;
  readonly reason?: WpCopyReason;
}

/** What copy_present_pte() does with an anonymous page at fork. */
export interface ForkDecision {
  /** 'share': map it read-only in both; 'copy': give the child its own copy now. */
  readonly action: 'share' | 'copy';
  readonly why: string;
}

/** Context of a write (or unshare) fault on a read-only huge PMD mapping an anonymous THP. */
export interface HugeWpFault {
  readonly mm: Mm;
  readonly vma: Vma;
  readonly address: number;
  readonly orig_pmd: pte_t;
  /** The THP's head PFN. */
  readonly folio: number;
  readonly unshare: boolean;
  /** FAULT_FLAG_BREAK_COW without FAULT_FLAG_WRITE (policy foll_break_cow). */
  readonly breakCow?: boolean;
}

/**
 * What do_huge_pmd_wp_page() does: reuse the whole THP in place, split the
 * PMD and let the PTE-level fault decide for one page (VM_FAULT_FALLBACK,
 * v5.8+), or copy all 2 MiB into a new THP (before v5.8).
 */
export interface HugeWpDecision {
  readonly action: 'reuse' | 'split' | 'copy';
  readonly why: string;
}

/** Context of a write fault on a present, non-writable PTE (struct vm_fault, the parts used). */
export interface WpFault {
  readonly mm: Mm;
  readonly vma: Vma;
  readonly address: number;
  readonly orig_pte: pte_t;
  /** The mapped page (vmf->page); 0 for the zero page or another special PFN. */
  readonly page: number;
  /** Its folio's head PFN (0 when page is 0). */
  readonly folio: number;
  /** FAULT_FLAG_UNSHARE rather than FAULT_FLAG_WRITE. */
  readonly unshare: boolean;
  /** FAULT_FLAG_BREAK_COW without FAULT_FLAG_WRITE (policy foll_break_cow). */
  readonly breakCow?: boolean;
}

export interface ForkPte {
  readonly src_mm: Mm;
  readonly src_vma: Vma;
  readonly dst_mm: Mm;
  readonly address: number;
  /** The parent's PTE. */
  readonly pte: pte_t;
  readonly page: number;
  readonly folio: number;
}

/** A writable PTE of a COW mapping that a kernel path is about to make read-only. */
export interface WrprotectPte {
  readonly vma: Vma;
  readonly pte: pte_t;
  readonly page: number;
  readonly folio: number;
}

/** A page GUP is looking at (follow_page_pte() or the GUP-fast walk). */
export interface GupPte {
  /** The VMA, or null on the GUP-fast path, which does not look VMAs up. */
  readonly vma: Vma | null;
  /** FOLL_* flags of the request. */
  readonly flags: number;
  readonly pte: pte_t;
  /** vm_normal_page(); for the zero page its PFN (follow_page_pte() returns it). */
  readonly page: number;
  readonly folio: number;
}

/**
 * A fault on a swap PTE once do_swap_page() holds the folio, locked, and has
 * released the faulting entry's swap count (struct vm_fault, the parts used).
 */
export interface SwapFault {
  readonly vma: Vma;
  /** The swap PTE that faulted (SWP_EXCLUSIVE, soft-dirty and uffd-wp bits included). */
  readonly orig_pte: pte_t;
  readonly folio: number;
  /** The swap slot it came from (its count no longer includes the faulting entry). */
  readonly slot: number;
  /** FAULT_FLAG_WRITE */
  readonly write: boolean;
}

/** How do_swap_page() maps the folio. */
export interface SwapDecision {
  /** Map it writable now (a write fault is then done; otherwise do_wp_page() follows). */
  readonly writable: boolean;
  /** RMAP_EXCLUSIVE: the page becomes PG_anon_exclusive (v5.19+). */
  readonly exclusive: boolean;
  readonly why: string;
}

export interface MprotectPte {
  readonly vma: Vma;
  readonly address: number;
  readonly pte: pte_t;
}

/** One member per decision point. Nothing else distinguishes two eras. */
export interface Policy {
  readonly id: EraId;
  readonly title: string;
  /** The kernel releases this policy stands for, e.g. "6.15–newest" or "proposal". */
  readonly kernels: string;
  /** False while some decision point still lacks this era's rule (cowherd eras says so). */
  readonly complete: boolean;
  readonly cites: readonly KernelRef[];
  /** Default page-table lifetime strategy of the era. */
  readonly ptStrategy: PtStrategy;

  /**
   * include/linux/mm.h GUP_PIN_COUNTING_BIAS: what one FOLL_PIN adds to a
   * small folio's refcount (1024 since "mm/gup: track FOLL_PIN pages", v5.7;
   * Linus's rules would drop it: 1).
   */
  readonly GUP_PIN_COUNTING_BIAS: number;

  /**
   * mm_struct write_protect_seq (57efa1fe5957 "mm/gup: prevent gup_fast from
   * racing with COW during fork", believed v5.11): fork raises it around the
   * write-protection of COW mappings and a FOLL_PIN GUP-fast falls back to
   * the slow path (which waits for fork's mmap lock) while it is odd.
   */
  readonly write_protect_seq: boolean;

  /**
   * mm/ksm.c break_ksm(): does MADV_UNMERGEABLE break a KSM page out with
   * FAULT_FLAG_UNSHARE (a read-only exclusive copy; "mm/ksm: fix KSM COW
   * breaking with userfaultfd-wp via FAULT_FLAG_UNSHARE", v6.1) rather than a
   * write fault (a writable, dirty copy)?
   */
  readonly break_ksm_unshare: boolean;

  /**
   * include/linux/ksm.h ksm_fork(): does a child start with
   * ksm_merging_pages (and ksm_rmap_items) at 0? Before "mm/ksm: fix
   * incorrect KSM counter handling in mm_struct during fork" (Donet Tom,
   * 2025, in v6.18's ksm.h) dup_mm() copied the parent's counters, so the
   * child reported the parent's merged pages.
   */
  readonly ksm_fork_resets_counters: boolean;

  /**
   * mm/ksm.c: are zero pages KSM placed (use_zero_pages) marked in the PTE
   * (dirty; is_ksm_zero_pte()) so that MADV_UNMERGEABLE unshares them and
   * /proc/PID/ksm_stat counts them in ksm_zero_pages? "ksm: support
   * unsharing KSM-placed zero pages" and "ksm: add ksm zero pages for each
   * process" (xu xin, 2023, believed v6.5); earlier KSM zero pages look like
   * any zero page.
   */
  readonly ksm_zero_pte_marked: boolean;

  /**
   * prctl(PR_SET_MEMORY_MERGE / PR_GET_MEMORY_MERGE) (Stefan Roesch, v6.4):
   * MMF_VM_MERGE_ANY makes every eligible VMA of the process mergeable, now
   * and later, and fork keeps it. Older kernels fail the prctl with -EINVAL.
   */
  readonly prctl_memory_merge: boolean;

  /**
   * UFFD_FEATURE_WP_UNPOPULATED ("mm/uffd: UFFD_FEATURE_WP_UNPOPULATED",
   * Peter Xu, v6.4): UFFDIO_WRITEPROTECT of an unpopulated anonymous address
   * installs a uffd-wp PTE marker. Older kernels refuse the feature in
   * UFFDIO_API; the model then ignores it.
   */
  readonly uffd_wp_unpopulated: boolean;

  /**
   * mm/memory.c copy_present_page(): does fork's early copy of a maybe-pinned
   * page keep the uffd-wp bit for a child VMA that stays registered? Not in
   * 5.10 (the copy is mapped writable and dirty); yes by v5.19 (6c287605fd56:
   * wrprotect and mkuffd_wp).
   */
  readonly copy_present_page_uffd_wp: boolean;

  /**
   * A write (or unshare) fault on the huge zero PMD: allocate a THP in its
   * place (v5.7's do_huge_pmd_wp_page(); do_huge_zero_wp_pmd(), Dev Jain,
   * believed v6.13), or split it into PTEs mapping the small zero page and
   * let the PTE-level fault copy one page (3917c80280c9, v5.8)?
   */
  readonly huge_zero_wp_alloc: boolean;

  /** MADV_COLLAPSE (Zach O'Keefe, v6.1): does the era know the advice (-EINVAL otherwise)? */
  readonly madv_collapse: boolean;

  /**
   * mm/khugepaged.c hpage_collapse_scan_pmd(): does a collapse (khugepaged's
   * or MADV_COLLAPSE's) fail with SCAN_PAGE_RO when no PTE of the range is
   * writable, as after fork()? Dev Jain's 2025 patch dropped the check
   * ("collapsing read-only memory via madvise() should be a choice of the
   * user"); `cowherd kernel` sees MADV_COLLAPSE succeed on 6.18.
   */
  readonly collapse_scan_page_ro: boolean;

  /**
   * Walkers that map a PTE table do it under rcu_read_lock() and recheck
   * the PMD entry under the PTE lock, starting over when it changed
   * (mm/pgtable-generic.c __pte_offset_map(), __pte_offset_map_lock():
   * Hugh Dickins, "mm: allow pte_offset_map[_lock]() to fail" and "mm/pgtable:
   * add rcu_read_lock() and rcu_read_unlock()s", v6.5; read in torvalds/linux
   * v6.18). A property of the kernel, whatever frees page tables: the
   * page-table strategy's walk rules start from it (pt_walk.ts).
   */
  readonly pte_map_rcu: boolean;

  /**
   * MADV_COLLAPSE of a shmem mapping (mm/khugepaged.c
   * hpage_collapse_scan_file() → collapse_file() → retract_page_tables(),
   * then collapse_pte_mapped_thp() maps the caller's range by PMD). Modelled
   * as 6.18 does it (retract without the mmap lock); false where the era's
   * form is not modelled (v6.2's retract took mmap_write_trylock()): -EINVAL.
   */
  readonly madv_collapse_file: boolean;

  /**
   * Peter Xu's FOLL_BREAK_COW (Aug 2020, v3, on v5.8): where
   * should_force_cow_break() asks for it, GUP adds FOLL_BREAK_COW instead of
   * FOLL_WRITE. follow_page_pte() tests only FOLL_WRITE, so a present
   * read-only page is taken as it is; a fault (page not present) carries
   * FAULT_FLAG_BREAK_COW, which handle_pte_fault() and do_swap_page() treat
   * as a write for COW, userfaultfd-wp does not (only FAULT_FLAG_WRITE is a
   * write), and wp_page_copy() keeps the uffd-wp bit and the write
   * protection of the copy.
   */
  readonly foll_break_cow: boolean;

  /**
   * mm/rmap.c folio_add_new_anon_rmap(): is a fresh anonymous page born
   * PG_anon_exclusive? (v5.19+, 6c287605fd56; earlier eras have no such flag.)
   */
  readonly folio_add_new_anon_rmap: (s: State, k: Kernel, folio: number) => { exclusive: boolean };

  /**
   * mm/memory.c do_wp_page(): on a write (or unshare) fault on a present
   * read-only anonymous page, reuse the page in place or copy it. May call the
   * kernel helpers in `k` (lru_add_drain, folio_trylock, folio_free_swap...).
   */
  readonly do_wp_page: (s: State, k: Kernel, vmf: WpFault) => WpDecision;

  /**
   * mm/memory.c wp_can_reuse_anon_folio() for a page of a large anonymous
   * folio that is not PG_anon_exclusive: from v6.15 (1da190f4d0a6 "mm:
   * Copy-on-Write (COW) reuse support for PTE-mapped THP", CONFIG_MM_ID)
   * __wp_can_reuse_large_anon_folio() decides from the folio's mappings;
   * null where the era's do_wp_page() decides for it as for any page. Read
   * instead of do_wp_page, and only for such a page.
   */
  readonly wp_can_reuse_large_anon_folio:
    | ((s: State, k: Kernel, vmf: WpFault) => WpDecision)
    | null;

  /**
   * mm/huge_memory.c do_huge_pmd_wp_page(): on a write (or unshare) fault on
   * a read-only PMD-mapped anonymous THP, reuse it whole, split the PMD and
   * fall back to the PTE level, or copy 2 MiB (before 3917c80280c9, v5.8).
   */
  readonly do_huge_pmd_wp_page: (s: State, k: Kernel, f: HugeWpFault) => HugeWpDecision;

  /**
   * mm/memory.c do_swap_page(): map a swapped-in folio writable now or
   * read-only, exclusive or not; may free the swap-cache copy
   * (reuse_swap_page() before v5.18, should_try_to_free_swap() after).
   */
  readonly do_swap_page: (s: State, k: Kernel, f: SwapFault) => SwapDecision;

  /**
   * mm/vmscan.c shrink_folio_list(): may an anonymous folio that is not in
   * the swap cache yet be added to it? "mm: don't put pinned pages into the
   * swap cache" (feb889fb40fa, v5.11) keeps maybe-pinned folios out.
   */
  readonly shrink_folio_list: (s: State, k: Kernel, folio: number) => boolean;

  /**
   * mm/memory.c copy_present_pte(): at fork, share an anonymous page
   * read-only with the child or copy it for the child now (pinned pages).
   * Sharing clears PG_anon_exclusive where the era has it.
   */
  readonly copy_present_pte: (s: State, k: Kernel, f: ForkPte) => ForkDecision;

  /**
   * block/bio.c bio_iov_iter_get_pages(): the reference O_DIRECT takes on a
   * user buffer: FOLL_GET through iov_iter_get_pages() until the v6.5
   * conversion to iov_iter_extract_pages() (a7e689dd1c06e0cb, believed v6.5),
   * FOLL_PIN after.
   */
  readonly bio_iov_iter_get_pages: (s: State, k: Kernel) => number;

  /**
   * mm/gup.c __get_user_pages() (v5.8 only, 17839856fd58
   * should_force_cow_break()): does this request get FOLL_WRITE added so that
   * taking a reference breaks COW first?
   */
  readonly should_force_cow_break: (s: State, k: Kernel, vma: Vma, flags: number) => boolean;

  /**
   * mm/gup.c can_follow_write_pte(): may a FOLL_WRITE lookup use this PTE as
   * it is, or must it take a write fault first?
   */
  readonly can_follow_write_pte: (s: State, k: Kernel, g: GupPte) => boolean;

  /**
   * mm/gup.c writable_file_mapping_allowed() (in check_vma_flags()) and its
   * GUP-fast counterpart (vma null, deciding on the folio): may a long-term
   * write pin take a page of a file mapping that needs dirty tracking?
   * Refused since "mm/gup: disallow FOLL_LONGTERM GUP-nonfast writing to
   * file-backed mappings" (believed v6.5).
   */
  readonly writable_file_mapping_allowed: (
    s: State,
    k: Kernel,
    g: { vma: Vma | null; flags: number; folio: number },
  ) => boolean;

  /**
   * mm/internal.h gup_must_unshare(): must this read-only request unshare the
   * page (FAULT_FLAG_UNSHARE) before taking it? (v5.19+)
   */
  readonly gup_must_unshare: (s: State, k: Kernel, g: GupPte) => boolean;

  /**
   * mm/gup.c gup_fast_pte_range(): must GUP-fast leave this present PTE to
   * the slow path? (Beyond the era-independent reasons: special PFNs, and a
   * FOLL_WRITE request on a read-only PTE.)
   */
  readonly gup_fast_fallback: (s: State, k: Kernel, g: GupPte) => boolean;

  /**
   * mm/mprotect.c change_pte_range(): may a writable PTE of a COW mapping be
   * made read-only? Every merged kernel says yes; Linus's rule (c) says only
   * when page_count() == 1 (mprotect() then fails, see docs/eras.md).
   */
  readonly may_wrprotect_pte: (s: State, k: Kernel, w: WrprotectPte) => boolean;

  /**
   * fs/proc/task_mmu.c pte_is_pinned(): does clear_refs (soft-dirty) leave
   * this writable PTE alone because its page may be pinned? (Since "mm: don't
   * play games with pinned pages in clear_page_refs", believed v5.11.)
   */
  readonly pte_is_pinned: (s: State, k: Kernel, w: WrprotectPte & { readonly mm: Mm }) => boolean;

  /**
   * mm/mprotect.c can_change_pte_writable(): when mprotect() adds write
   * permission to a private mapping, may this PTE be made writable at once?
   */
  readonly can_change_pte_writable: (s: State, k: Kernel, m: MprotectPte) => boolean;
}

/** A decision as recorded for traces and `cowherd diff`. */
export interface DecisionRecord {
  readonly point: string;
  readonly choice: string;
  readonly why: string;
}

/** Environment knobs that are not a property of the era. */
export interface Config {
  readonly policy: Policy;
  readonly ptStrategy: PtStrategy;
  /**
   * The walk rules of the strategy on the era's kernel, when the caller
   * gives them (EraMemo's recording copy); else they follow from ptStrategy
   * and Policy.pte_map_rcu (mm/pt_walk.ts ptWalkRules()).
   */
  readonly ptWalk?: PtWalkRules;
  /** Per-CPU LRU add batches hold a reference to fresh folios until drained (issue: explorer). */
  readonly lruBatching: boolean;
  /**
   * Kernel paths that drop a lock in the middle stop there and continue in a
   * later step (the explorer; ADR 0006). Off: every fault is one atomic step.
   */
  readonly lockBreaks: boolean;
  /**
   * Page-table walkers (the fault's pte_offset_map_lock(), GUP-fast) stop
   * between reading a PMD entry and using its table, so that a table free
   * can come between (ADR 0013). Set under the explorer when the scenario
   * has a statement that may free a page table while another thread walks.
   */
  readonly ptWalkSteps: boolean;
  /**
   * A reclaim scan on another CPU may take a folio (a reference and its lock)
   * in the window before a folio trylock (`env reclaim` under the explorer).
   */
  readonly reclaimRaces: boolean;
}

/**
 * A fork() stopped after copy_page_range() copied every entry, before the
 * parent's writable PTEs of COW mappings are write-protected (the explorer's
 * window for GUP-fast; the kernel write-protects each PTE right after
 * deciding about it, and GUP-fast, lockless, can pin in between).
 */
export interface ForkPending {
  readonly kind: 'fork_wrprotect';
  /** The parent's mm id and the addresses still to write-protect. */
  readonly mm: number;
  readonly addresses: readonly number[];
  /** The child's pid. */
  readonly child: number;
}

/**
 * A write fault stopped in wp_page_copy() after do_wp_page() decided to copy
 * and dropped the PTE lock, holding a reference on the old folio; it
 * allocates and copies, retakes the lock and rechecks pte_same() when it
 * continues. Plain data: it is part of a thread's state.
 */
export interface WpCopyPending {
  readonly kind: 'wp_page_copy';
  /** mm id and faulting address (the mmap lock, held for read, keeps the VMA). */
  readonly mm: number;
  readonly address: number;
  readonly orig_pte: pte_t;
  readonly page: number;
  readonly folio: number;
  readonly unshare: boolean;
}

/**
 * A fault stopped inside pte_offset_map_lock() (mm/pgtable-generic.c): it
 * has read the PMD entry (the PTE table `table`, of generation `gen`) and
 * not yet taken that table's PTE lock. What it holds across the boundary
 * depends on the strategy's walk rules (pt_walk.ts). Its next step takes the
 * lock and maps the page (pgtable-generic.ts).
 */
export interface PteMapPending {
  readonly kind: 'pte_map';
  readonly mm: number;
  readonly address: number;
  readonly write: boolean;
  /** Where the PMD entry lives, and that PMD table's generation. */
  readonly pmd_table: number;
  readonly pmd_index: number;
  readonly pmd_gen: number;
  readonly table: number;
  readonly gen: number;
  /** Held: rcu_read_lock(), a pte_tryget() reference, the page-table rwsem for read. */
  readonly rcu: boolean;
  readonly tryget: boolean;
  readonly rwsem: boolean;
}

/**
 * GUP-fast stopped with interrupts off after reading the PMD entry of its
 * first page (the PTE table `table`), before reading the PTE through it
 * (mm/gup.c gup_fast_pmd_range() → gup_fast_pte_range()). Its next step
 * reads the PTE, rechecks and restores interrupts.
 */
export interface GupFastPending {
  readonly kind: 'gup_fast';
  readonly mm: number;
  readonly address: number;
  readonly pmd_table: number;
  readonly pmd_gen: number;
  readonly table: number;
  readonly gen: number;
}

/**
 * A hole punch stopped in unmap_mapping_range() (mm/memory.c, under the
 * file's i_mmap lock for reading, with no mm's mmap lock): zap_pmd_range()
 * read the PMD entry of each mapping of the punched pages, and the PTE locks
 * of the tables they name come next (shmem.ts). One entry per PTE table: the
 * part [start, end) of `mm`'s mapping inside it.
 */
export interface UnmapMappingPending {
  readonly kind: 'unmap_mapping';
  /** The punching task's mm (madvise_remove() dropped its mmap lock). */
  readonly mm: number;
  readonly inode: number;
  /** The file pages [first, last) being punched. */
  readonly first: number;
  readonly last: number;
  readonly tables: readonly {
    readonly mm: number;
    readonly start: number;
    readonly end: number;
    readonly table: number;
    readonly gen: number;
  }[];
  /** Held: rcu_read_lock(), a pte_tryget() reference on each table. */
  readonly rcu: boolean;
  readonly tryget: boolean;
}

/** A page-table walker stopped between reading a PMD entry and using the table it names. */
export type PtWalkPending = PteMapPending | GupFastPending | UnmapMappingPending;

/** What kernel paths run with: the era, the configuration, choices and the decision log. */
export interface Kernel {
  readonly config: Config;
  readonly policy: Policy;
  /**
   * Pick one of `options` for an unmodelled fact (the first is the default a
   * sequential run takes); recorded as a nondeterministic pick.
   */
  choose<T extends string>(what: string, options: readonly T[]): T;
  /** Record the outcome of a decision point. */
  decide(point: string, choice: string, why: string): void;
  /** The CPU the current task runs on (per-CPU LRU batches). */
  cpu: number;
  /** Set by a kernel path that stopped at a lock boundary (Config.lockBreaks); the caller takes it. */
  pending: WpCopyPending | PtWalkPending | null;
  /**
   * Set by handle_userfault() when a fault sleeps until a userfaultfd handler
   * resolves it: the context and the faulting address (the message the
   * handler reads).
   */
  userfault: { readonly ctx: number; readonly address: number } | null;
  /**
   * When a list (a fork the explorer splits), copy_present_pte() leaves the
   * parent's writable PTEs of COW mappings writable and lists their addresses:
   * the fork's next step write-protects them (the window GUP-fast can race in).
   */
  forkDeferred: number[] | null;
  /**
   * Called right before a folio trylock: another CPU that takes folio locks
   * without the locks this path holds (reclaim, with Config.reclaimRaces) may
   * get there first — a choice the explorer branches over. Returns whether it
   * did (the folio is then locked and isolated by reclaim).
   */
  raceFolioLock(s: State, folio: number): boolean;
  /**
   * A path about to sleep on a folio lock someone else holds (lock_page()
   * semantics) asks whether the holder can be run to its unlock first, as if
   * this task slept until then: sim's environment finishes its reclaim of the
   * folio and answers true, and the path starts over (a retried fault). Absent
   * (the explorer, a sequential run), the path returns VM_FAULT_RETRY and the
   * step sleeps.
   */
  waitFolioLock?(s: State, folio: number): boolean;
}

/**
 * A Kernel for a sequential run: every choice takes its default; decisions go
 * to `log` when one is given (the simulator passes none: one record per fault
 * would be most of its memory).
 */
export function sequentialKernel(config: Config, log?: DecisionRecord[]): Kernel {
  return {
    config,
    policy: config.policy,
    cpu: 0,
    pending: null,
    userfault: null,
    forkDeferred: null,
    raceFolioLock: () => false,
    choose: (_what, options) => {
      const first = options[0];
      if (first === undefined) throw new Error('choose() needs at least one option');
      return first;
    },
    decide: log
      ? (point, choice, why) => {
          log.push({ point, choice, why });
        }
      : () => {},
  };
}
