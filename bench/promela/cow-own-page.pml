/*
 * bench/promela/cow-own-page.pml: the SPIN twin of the generated scenario
 * bench-cow-own-page-K (bench/explore.mjs): a process faults in K private
 * pages, forks (the child keeps them mapped), then spawns K threads; thread i
 * writes page i. Same granularity as cowherd's explorer: spawning a thread is
 * one step; a write fault on a COW page is two (do_wp_page() decides to copy
 * and takes a reference on the old page; later wp_page_copy() allocates the
 * next free PFN, rechecks the PTE and maps the copy, and the store happens).
 * The state holds what cowherd's fingerprint distinguishes for this program:
 * PTEs, refcounts, mapcounts, contents, the PFN allocator, vmstat counters
 * (pgfault, anon_wp_copy_count) and each thread's position.
 */
#ifndef K
#define K 4
#endif
#if K > 8
#error K is at most 8
#endif
#define NPFN (2 * K + 2)

byte pte[K];          /* PFN the parent maps at page i */
bool rw[K];           /* the parent's PTE is writable */
byte ref[NPFN];
byte map[NPFN];
byte val[NPFN];
byte next_pfn;
short pgfault;
short copies;
bool holds;           /* the scenario's condition, once every thread is done */

proctype T(byte i) {
  byte old;
  if
  :: atomic { rw[i] -> val[pte[i]] = i + 2 }
  :: atomic { !rw[i] -> old = pte[i]; ref[old]++; pgfault++; copies++ };
     atomic {
       if
       :: pte[i] == old && !rw[i] ->
          ref[next_pfn] = 1; map[next_pfn] = 1; val[next_pfn] = val[old];
          pte[i] = next_pfn; rw[i] = true; next_pfn++;
          map[old]--; ref[old] = ref[old] - 2;
          val[pte[i]] = i + 2
       :: else -> ref[old]--; val[pte[i]] = i + 2
       fi;
       old = 0
     }
  fi
}

init {
  byte i;
  atomic {
    /* setup: mmap + write every page (PFNs 2..K+1), then fork: both map them read-only */
    next_pfn = 2;
    i = 0;
    do
    :: i < K -> pte[i] = next_pfn; ref[next_pfn] = 2; map[next_pfn] = 2; val[next_pfn] = 1;
                rw[i] = false; next_pfn++; pgfault++; i++
    :: else -> break
    od;
    i = 0
  };
  /* fork was part of setup; each spawn is one step, as in the scenario */
  run T(0);
#if K > 1
  run T(1);
#endif
#if K > 2
  run T(2);
#endif
#if K > 3
  run T(3);
#endif
#if K > 4
  run T(4);
#endif
#if K > 5
  run T(5);
#endif
#if K > 6
  run T(6);
#endif
#if K > 7
  run T(7);
#endif
  /*
   * The scenario's condition (exists anon_wp_copy_count == K), read when
   * every thread is done. Reading copies keeps it in the state vector, as
   * cowherd's fingerprint keeps the counter its condition reads: without
   * a read, spin hides a write-only variable (pan.h "hidden variable") and
   * merges states cowherd must keep apart. pgfault and map stay hidden; the
   * fingerprint drops an unread counter too.
   */
  (_nr_pr == 1);
  holds = (copies == K)
}
