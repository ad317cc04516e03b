/*
 * bench/promela/cow-own-page-lru.pml: the SPIN twin of the generated scenario
 * bench-cow-own-page-lru-K (bench/programs.mjs): cow-own-page with an
 * environment actor, the per-CPU LRU add batch (`env lru_batches`).
 *
 * Every fresh page sits in CPU 0's batch, in order, holding one extra
 * reference and without PG_lru, until the batch is drained. The drainer
 * (lru_add_drain on CPU 0) may drain it between any two steps: each folio in
 * it gets PG_lru if someone else still holds it, and loses the batch's
 * reference. A write fault's first step is do_wp_page() deciding to copy:
 * wp_can_reuse_anon_folio() (v6.18) drains the local batch first when the
 * folio holds at most three references and is not on the LRU. Its second
 * step is wp_page_copy(), whose new page joins the batch. Setup, fork and
 * each spawn are separate steps, as in the scenario.
 */
#ifndef K
#define K 4
#endif
#if K > 8
#error K is at most 8
#endif
#define NPFN (2 * K + 2)
#define NB (2 * K)

byte pte[K];          /* PFN the parent maps at page i */
bool rw[K];           /* the parent's PTE is writable */
byte ref[NPFN];
byte map[NPFN];
byte val[NPFN];
bool lru[NPFN];       /* PG_lru */
byte batch[NB];       /* CPU 0's LRU add batch, oldest first */
byte nb;
byte next_pfn;
short pgfault;
short copies;
bool holds;           /* the scenario's condition, once every thread is done */

/* lru_add_drain_cpu(0): every folio of the batch onto the LRU, its reference dropped. */
inline drain() {
  d = 0;
  do
  :: d < nb ->
     if
     :: ref[batch[d]] > 1 -> lru[batch[d]] = true
     :: else
     fi;
     ref[batch[d]]--; batch[d] = 0; d++
  :: else -> break
  od;
  nb = 0; d = 0
}

active proctype drainer() {
  byte d;
end:
  do
  :: atomic { nb > 0 -> drain() }
  od
}

proctype T(byte i) {
  byte old;
  byte d;
  if
  :: atomic { rw[i] -> val[pte[i]] = i + 2 }
  :: atomic {
       !rw[i] -> old = pte[i];
       if
       :: ref[old] <= 3 && !lru[old] -> drain()
       :: else
       fi;
       ref[old]++; pgfault++; copies++
     };
     atomic {
       if
       :: pte[i] == old && !rw[i] ->
          ref[next_pfn] = 2; map[next_pfn] = 1; val[next_pfn] = val[old];
          batch[nb] = next_pfn; nb++;
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
    /* setup: mmap + write every page (PFNs 2..K+1), each into CPU 0's batch */
    next_pfn = 2;
    i = 0;
    do
    :: i < K -> pte[i] = next_pfn; ref[next_pfn] = 2; map[next_pfn] = 1; val[next_pfn] = 1;
                rw[i] = true; batch[nb] = next_pfn; nb++; next_pfn++; pgfault++; i++
    :: else -> break
    od;
    i = 0
  };
  atomic {
    /* fork: the child maps every page, both read-only */
    do
    :: i < K -> ref[pte[i]]++; map[pte[i]]++; rw[i] = false; i++
    :: else -> break
    od;
    i = 0
  };
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
   * fingerprint drops an unread counter too. The drainer never ends: two
   * processes are left, it and init.
   */
  (_nr_pr == 2);
  holds = (copies == K)
}
