/*
 * bench/promela/cow-same-page.pml: the SPIN twin of the generated scenario
 * bench-cow-same-page-K (bench/explore.mjs): K threads of a process that
 * forked write the same COW page. Every thread that finds the PTE read-only
 * decides to copy (one step, a reference on the old page); when it continues
 * (a second step) it maps its copy only if the PTE is still the one it saw
 * (pte_same()), else drops the copy and stores into the page now mapped. A
 * thread that finds the PTE writable stores in one step. Same granularity
 * and state contents as cowherd's explorer for this program.
 */
#ifndef K
#define K 4
#endif
#if K > 8
#error K is at most 8
#endif
#define NPFN (K + 3)

byte pte;
bool rw;
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
  :: atomic { rw -> val[pte] = i + 2 }
  :: atomic { !rw -> old = pte; ref[old]++; pgfault++; copies++ };
     atomic {
       if
       :: pte == old && !rw ->
          ref[next_pfn] = 1; map[next_pfn] = 1; val[next_pfn] = val[old];
          pte = next_pfn; rw = true; next_pfn++;
          map[old]--; ref[old] = ref[old] - 2;
          val[pte] = i + 2
       :: else -> ref[old]--; val[pte] = i + 2
       fi;
       old = 0
     }
  fi
}

init {
  byte i;
  atomic {
    pte = 2; ref[2] = 2; map[2] = 2; val[2] = 1; rw = false; next_pfn = 3; pgfault = 1;
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
