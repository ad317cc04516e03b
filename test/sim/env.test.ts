import { describe, expect, it } from 'vitest';
import { eraInfo } from '../../src/policy/registry.js';
import { parseWorkload } from '../../src/scenario/parse.js';
import { checkWorkload, simulate } from '../../src/sim/sim.js';

const policy = (id: string) => eraInfo(id)!.policy!;

function workload(src: string) {
  const w = parseWorkload(src, 'w.cow');
  checkWorkload(w);
  return w;
}

// Reclaim alone swaps pages out; the thread reads them back (swap-in) and
// writes them, round after round; every value must survive.
const RECLAIM = `scenario reclaim-churn
env reclaim, lru_batches
const ROUNDS = 2000
setup {
  mmap m pages=4 private rw
  write m = 1
}
thread main {
  repeat r in 0..ROUNDS {
    read m[r % 4]
    write m[r % 4] = r + 2
  }
  read m[0] -> a
  read m[3] -> b
}
forall (a == ROUNDS - 2 && b == ROUNDS + 1)
`;

const KHUGEPAGED = `scenario khugepaged-sim
env khugepaged
setup {
  mmap m len=2M private rw at=0x40000000
  write m = 3
  madvise m hugepage
}
thread main {
  repeat r in 0..200 { read m[r] }
}
forall (value(main, m[511]) == 3 && AnonHugePages(main) == 2048)
`;

const KSMD = `scenario ksmd-sim
env ksmd
setup {
  mmap m pages=4 private rw
  write m = 7
  madvise m mergeable
}
thread main {
  repeat r in 0..200 { read m[r % 4] }
}
forall (value(main, m[3]) == 7 && ksm_merging_pages(main) == 4 && pfn(main, m[0]) == pfn(main, m[3]))
`;

describe('sim environment actors', () => {
  it('env reclaim swaps pages out and back without losing a value, and is deterministic', () => {
    const w = workload(RECLAIM);
    for (const era of ['v5.8', 'v5.18', 'v6.18']) {
      const a = simulate(w, policy(era), { seed: 3, cpus: 1 });
      expect(a.kind).toBe('done');
      expect(a.holds).toBe(true);
      expect(a.counters.pswpout).toBeGreaterThan(10);
      // Reclaim's work is charged to its path, a call per folio it took.
      expect(a.work.reclaim?.calls).toBeGreaterThanOrEqual(a.counters.pswpout!);
      expect(simulate(w, policy(era), { seed: 3, cpus: 1 })).toEqual(a);
    }
  });

  it('with its rate at 0 the actor never acts; a higher rate pages out more', () => {
    const w = workload(RECLAIM);
    const rate = (reclaim: number) =>
      simulate(w, policy('v6.18'), { seed: 1, cpus: 1, env: { actors: { reclaim } } });
    expect(rate(0).counters.pswpout).toBe(0);
    expect(rate(0.5).counters.pswpout).toBeGreaterThan(rate(0.05).counters.pswpout!);
  });

  it('a swap-in fault on a folio reclaim holds waits for the scan to let go instead of sleeping for good', () => {
    // Rate 1: reclaim acts after every statement, so it often holds the
    // folio the next read faults on; without the wait sim would end in a tool bug.
    const w = workload(RECLAIM);
    const r = simulate(w, policy('v6.18'), { seed: 2, cpus: 1, env: { actors: { reclaim: 1 } } });
    expect(r.kind).toBe('done');
    expect(r.holds).toBe(true);
    expect(r.counters.pgmajfault).toBeGreaterThan(100);
  });

  it('env khugepaged collapses the PTE-mapped range', () => {
    const r = simulate(workload(KHUGEPAGED), policy('v6.18'), { seed: 1, cpus: 1 });
    expect(r.kind).toBe('done');
    expect(r.counters.thp_collapse_alloc).toBe(1);
    expect(r.work.khugepaged?.calls).toBe(1);
    expect(r.holds).toBe(true);
    const off = simulate(workload(KHUGEPAGED), policy('v6.18'), {
      seed: 1,
      cpus: 1,
      env: { actors: { khugepaged: 0 } },
    });
    expect(off.counters.thp_collapse_alloc).toBe(0);
    expect(off.holds).toBe(false);
  });

  it('env ksmd merges the equal pages one at a time', () => {
    const r = simulate(workload(KSMD), policy('v6.18'), { seed: 1, cpus: 1 });
    expect(r.kind).toBe('done');
    // Four equal pages end as one KSM page mapped four times.
    expect(r.holds).toBe(true);
    expect(r.work.ksm?.calls).toBeGreaterThanOrEqual(3);
    const off = simulate(workload(KSMD), policy('v6.18'), {
      seed: 1,
      cpus: 1,
      env: { actors: { ksmd: 0 } },
    });
    expect(off.holds).toBe(false);
  });
});
