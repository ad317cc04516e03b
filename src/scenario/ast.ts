/**
 * The scenario language's syntax tree (docs/scenarios.md has the grammar).
 * Every node carries the source position it came from, so that static and
 * runtime errors can point at file:line:column.
 */

export interface Pos {
  readonly line: number;
  readonly col: number;
}

/** A memory reference: mapping `name`, pages [from, to) every `step` pages; `whole` for `a`. */
export interface Ref {
  readonly pos: Pos;
  readonly map: string;
  readonly from: number;
  /** Exclusive end page; -1 means "to the end of the mapping" (whole mapping). */
  readonly to: number;
  readonly step: number;
  readonly single: boolean;
  /**
   * Index expressions over loop variables (`m[i]`, `m[2*i..2*i+2]`), in pages;
   * only before expansion (unroll.ts), which turns them into the numbers above.
   */
  readonly idx?: { readonly from: Expr; readonly to: Expr | null; readonly step: Expr | null };
}

/** madvise() advice values the language knows (MADV_* without the prefix). */
export type Advice =
  | 'dontneed'
  | 'dontfork'
  | 'dofork'
  | 'pageout'
  | 'mergeable'
  | 'unmergeable'
  | 'hugepage'
  | 'nohugepage'
  | 'collapse'
  | 'cleanup_pgtable'
  | 'remove';

export type Expr =
  | { readonly kind: 'num'; readonly pos: Pos; readonly value: number }
  | { readonly kind: 'bool'; readonly pos: Pos; readonly value: boolean }
  | { readonly kind: 'ident'; readonly pos: Pos; readonly name: string }
  | { readonly kind: 'ref'; readonly pos: Pos; readonly ref: Ref }
  | {
      readonly kind: 'call';
      readonly pos: Pos;
      readonly fn: string;
      readonly args: readonly Expr[];
    }
  | { readonly kind: 'unary'; readonly pos: Pos; readonly op: '!' | '-'; readonly arg: Expr }
  | {
      readonly kind: 'binary';
      readonly pos: Pos;
      readonly op:
        | '&&'
        | '||'
        | '=='
        | '!='
        | '<'
        | '<='
        | '>'
        | '>='
        | '+'
        | '-'
        | '*'
        | '/'
        | '%';
      readonly left: Expr;
      readonly right: Expr;
    };

export type Prot = 'none' | 'r' | 'rw' | 'rx' | 'rwx' | 'w' | 'x';

export type Stmt =
  | {
      readonly op: 'mmap';
      readonly pos: Pos;
      readonly name: string;
      readonly len: number;
      readonly at: number | null;
      readonly shared: boolean;
      readonly prot: Prot;
      readonly noreserve: boolean;
      readonly populate: boolean;
      readonly replace: boolean;
      /** The file mapped (`file=F`), null for anonymous memory. */
      readonly file: string | null;
      readonly ret: string | null;
    }
  | {
      /** memfd_create() or tmpfile(), then ftruncate() and fallocate() of `pages` pages. */
      readonly op: 'file';
      readonly pos: Pos;
      readonly name: string;
      readonly kind: 'memfd' | 'tmpfile';
      readonly pages: number;
      readonly fs: 'tmpfs' | 'ext4';
    }
  | { readonly op: 'munmap'; readonly pos: Pos; readonly ref: Ref; readonly ret: string | null }
  | {
      readonly op: 'mprotect';
      readonly pos: Pos;
      readonly ref: Ref;
      readonly prot: Prot;
      readonly ret: string | null;
    }
  | {
      readonly op: 'madvise';
      readonly pos: Pos;
      readonly ref: Ref;
      readonly advice: Advice;
      readonly ret: string | null;
    }
  | { readonly op: 'write'; readonly pos: Pos; readonly ref: Ref; readonly value: Expr }
  | { readonly op: 'read'; readonly pos: Pos; readonly ref: Ref; readonly reg: string | null }
  /** `index`: the instance of a thread array (`fork child[i]`), before expansion only. */
  | { readonly op: 'fork'; readonly pos: Pos; readonly thread: string; readonly index?: Expr }
  | { readonly op: 'spawn'; readonly pos: Pos; readonly thread: string; readonly index?: Expr }
  | {
      readonly op: 'wait';
      readonly pos: Pos;
      readonly thread: string;
      readonly index?: Expr;
      readonly reg: string | null;
    }
  /**
   * `repeat N { … }`, `repeat i in A..B { … }`: the body once per value of the
   * loop variable. Expanded before check, run, explore and kernel (unroll.ts).
   */
  | {
      readonly op: 'repeat';
      readonly pos: Pos;
      readonly var: string | null;
      readonly from: Expr;
      readonly to: Expr;
      readonly body: readonly Stmt[];
    }
  /** A phase marker: where a simulation takes a sample of its counters; a no-op step elsewhere. */
  | { readonly op: 'phase'; readonly pos: Pos; readonly name: string }
  | { readonly op: 'exit'; readonly pos: Pos; readonly code: Expr | null }
  /** execve(): the process continues in a new, empty address space. */
  | { readonly op: 'exec'; readonly pos: Pos }
  /** Sleep until the swap device has ended every write in flight (folio_wait_writeback()). */
  | { readonly op: 'wait_writeback'; readonly pos: Pos }
  /** Drain every CPU's LRU batches (mm/swap.c lru_add_drain_all()). */
  | { readonly op: 'lru_add_drain_all'; readonly pos: Pos }
  /** `index`: one event of an event array (`signal written[k]`), before expansion only. */
  | { readonly op: 'signal'; readonly pos: Pos; readonly event: string; readonly index?: Expr }
  | { readonly op: 'await'; readonly pos: Pos; readonly event: string; readonly index?: Expr }
  | { readonly op: 'pipe'; readonly pos: Pos; readonly name: string }
  | { readonly op: 'pipe-write'; readonly pos: Pos; readonly pipe: string; readonly value: Expr }
  | {
      readonly op: 'pipe-read';
      readonly pos: Pos;
      readonly pipe: string;
      readonly reg: string | null;
    }
  | { readonly op: 'observe'; readonly pos: Pos; readonly expr: Expr; readonly reg: string }
  | {
      /** pin_user_pages() / get_user_pages() (or io_uring buffer registration): a held reference named `name`. */
      readonly op: 'pin';
      readonly pos: Pos;
      readonly ref: Ref;
      readonly pin: boolean;
      readonly write: boolean;
      readonly longterm: boolean;
      readonly fast: boolean;
      readonly force: boolean;
      /** O_DIRECT read (the device writes memory) or write (it reads memory): the era picks GET or PIN. */
      readonly odirect: 'read' | 'write' | null;
      readonly name: string;
      readonly ret: string | null;
    }
  | { readonly op: 'unpin'; readonly pos: Pos; readonly name: string }
  /** echo 1 > /sys/kernel/mm/ksm/run until the scans merge nothing more; optionally with use_zero_pages. */
  | { readonly op: 'ksm_scan'; readonly pos: Pos; readonly use_zero_pages: boolean }
  /** prctl(PR_SET_MEMORY_MERGE, arg) or prctl(PR_GET_MEMORY_MERGE). */
  | {
      readonly op: 'prctl';
      readonly pos: Pos;
      readonly option: 'set_memory_merge' | 'get_memory_merge';
      readonly arg: number;
      readonly ret: string | null;
    }
  /** mremap(MREMAP_MAYMOVE | MREMAP_FIXED) of `ref` onto the start of mapping `onto`, same length. */
  | {
      readonly op: 'mremap';
      readonly pos: Pos;
      readonly ref: Ref;
      readonly onto: string;
      readonly ret: string | null;
    }
  /** userfaultfd() with UFFD_FEATURE_PAGEFAULT_FLAG_WP (and UFFD_FEATURE_EVENT_FORK). */
  | {
      readonly op: 'userfaultfd';
      readonly pos: Pos;
      readonly name: string;
      readonly event_fork: boolean;
      readonly wp_unpopulated: boolean;
    }
  /** UFFDIO_REGISTER (MODE_WP) and UFFDIO_WRITEPROTECT (set or clear) on a range. */
  | {
      readonly op: 'uffd';
      readonly pos: Pos;
      readonly sub: 'register' | 'wp' | 'unwp';
      readonly uffd: string;
      readonly ref: Ref;
      readonly ret: string | null;
    }
  /**
   * read() of one message from the userfaultfd: blocks until a fault or a
   * fork waits for it. `fork` names the child's context a UFFD_EVENT_FORK
   * message carries.
   */
  | {
      readonly op: 'uffd-read';
      readonly pos: Pos;
      readonly uffd: string;
      readonly fork: string | null;
      readonly reg: string | null;
    }
  | {
      readonly op: 'clear_refs';
      readonly pos: Pos;
      readonly value: number;
      readonly ret: string | null;
    }
  | {
      readonly op: 'pin-read';
      readonly pos: Pos;
      readonly name: string;
      readonly reg: string | null;
    }
  | { readonly op: 'pin-write'; readonly pos: Pos; readonly name: string; readonly value: Expr }
  /** sched_setaffinity() to one CPU: where the thread's later kernel work (LRU batches) happens. */
  | { readonly op: 'sched_setaffinity'; readonly pos: Pos; readonly cpu: number }
  | {
      readonly op: 'vmsplice';
      readonly pos: Pos;
      readonly ref: Ref;
      readonly pipe: string;
      readonly ret: string | null;
    };

/** Hang: every thread left is asleep in the kernel or waiting on one that is (no final state). */
export type Verdict = 'Never' | 'Sometimes' | 'Always' | 'Hang';

/** Where an expected verdict comes from (research/scenario-catalog.md §0.3). */
export type Provenance = 'obs' | 'src' | 'der' | 'unc';

export interface Expectation {
  readonly pos: Pos;
  /** An era id, or '*' for every era not listed. */
  readonly era: string;
  readonly verdict: Verdict;
  readonly provenance: Provenance | null;
  /**
   * `breaks CODE, …` or `breaks nothing`: the design invariants (ghost.ts,
   * e.g. PT001) the era or strategy is expected to break in some state;
   * null when the line does not say, and then they are not compared.
   */
  readonly breaks: readonly string[] | null;
}

/**
 * Environment actors a scenario enables (`env NAME`): kernel activity that is
 * not one of the scenario's threads and may happen between any two steps.
 * - lru_batches: per-CPU LRU add batches hold a reference on fresh folios
 *   until that CPU drains its batch (mm/swap.c lru_add_drain_cpu()), which
 *   the explorer lets happen at any step.
 * - reclaim: a reclaim scan may isolate and lock any folio on the LRU and
 *   later unlock it and put it back (mm/vmscan.c shrink_folio_list() keeping
 *   a referenced folio): the competing reference and folio-lock holder.
 */
export type EnvActor = 'lru_batches' | 'reclaim' | 'ksmd' | 'khugepaged';
export const ENV_ACTORS: readonly EnvActor[] = ['lru_batches', 'reclaim', 'ksmd', 'khugepaged'];

/** The highest CPU number a scenario may name (a small machine keeps the state space small). */
export const MAX_CPU = 7;

export interface ThreadDecl {
  readonly pos: Pos;
  readonly name: string;
  readonly body: readonly Stmt[];
  /**
   * A thread array `thread child[i in A..B]`: one thread `child[k]` per k, the
   * body seeing i = k. Expanded with the loops (unroll.ts).
   */
  readonly array?: { readonly var: string; readonly from: Expr; readonly to: Expr };
}

export interface Claim {
  readonly pos: Pos;
  readonly from: string;
  readonly to: string;
  readonly text: string;
}

export interface Scenario {
  readonly file: string;
  readonly name: string;
  readonly namePos: Pos;
  readonly doc: string;
  readonly cites: readonly string[];
  readonly setup: readonly Stmt[];
  /** Environment actors enabled by `env` lines. */
  readonly env: readonly EnvActor[];
  readonly threads: readonly ThreadDecl[];
  readonly quantifier: 'exists' | 'forall';
  readonly condition: Expr;
  readonly conditionPos: Pos;
  readonly expect: readonly Expectation[];
  /**
   * `claim FROM TO "what was measured"`: a measured change between two eras
   * (a throughput figure from a mail thread) that `cowherd sim` prints beside
   * its own prediction for the same two eras.
   */
  readonly claims?: readonly Claim[];
  /** The scenario text, for hashing and for printing source lines in traces. */
  readonly source: string;
}
