import { describe, expect, it } from 'vitest';
import { newWork, WORK_KINDS, WORK_PATHS, workTable, workTotals } from '../../src/core/work.js';
import { eraInfo } from '../../src/policy/registry.js';
import { parseWorkload } from '../../src/scenario/parse.js';
import { checkWorkload, simulate } from '../../src/sim/sim.js';

function sim(text: string, era: string) {
  const w = parseWorkload(text, 'work.cow');
  checkWorkload(w);
  return simulate(w, eraInfo(era)!.policy!, { seed: 1, cpus: 1 });
}

// One child writes one page it shares with its parent: one COW fault.
const SMALL_COW = `scenario small-cow
setup {
  mmap m pages=1 private rw
  write m = 1
}
thread parent {
  fork child
  wait child
}
thread child {
  write m = 2
  exit
}
forall (value(parent, m[0]) == 1)
`;

// A THP shared with a child; the child writes two of its pages: the first
// write splits the child's PMD, both copy a page of the now PTE-mapped THP.
const THP_COW = `scenario thp-cow
setup {
  mmap m len=2M private rw at=0x40000000
  madvise m hugepage
  write m = 1
}
thread parent {
  fork child
  wait child
}
thread child {
  write m[0..2] = 2
  exit
}
forall (value(parent, m[0]) == 1)
`;

describe('the work account (src/core/work.ts)', () => {
  it('charges a small COW fault to do_wp_page: one copy, one TLB flush, one PTE lock', () => {
    for (const era of ['v5.8', 'v5.9', 'v6.18']) {
      const r = sim(SMALL_COW, era);
      const wp = r.work.do_wp_page!;
      expect(wp.calls, era).toBe(1);
      expect(wp.pages_copied, era).toBe(1);
      expect(wp.tlb_flush, era).toBe(1);
      expect(wp.pte_writes, era).toBe(1);
      expect(r.work.do_anonymous_page!.pages_zeroed, era).toBe(1);
      expect(r.work.copy_page_range!.calls, era).toBe(1);
    }
  });

  it('charges the page lock v5.8 takes around reuse_swap_page(), which v5.9 only tries', () => {
    expect(sim(SMALL_COW, 'v5.8').work.do_wp_page!.locks).toBe(2); // the PTE lock and lock_page()
    // v5.9: page_count() != 1 copies before any trylock.
    expect(sim(SMALL_COW, 'v5.9').work.do_wp_page!.locks).toBe(1);
  });

  it("counts page_trans_huge_map_swapcount()'s 512-page loop per COW fault of a PTE-mapped THP up to v5.8 only", () => {
    const v58 = sim(THP_COW, 'v5.8');
    const v59 = sim(THP_COW, 'v5.9');
    expect(v58.counters.anon_wp_copy_count).toBe(2);
    expect(v59.counters.anon_wp_copy_count).toBe(2);
    // The split maps 512 pages (512 iterations) on either era; v5.8 then loops twice more.
    expect(v59.work.do_huge_pmd_wp_page!.subpage_iter).toBe(512);
    expect(v58.work.do_wp_page!.subpage_iter).toBe(2 * 512);
    expect(v59.work.do_wp_page?.subpage_iter ?? 0).toBe(0);
    expect(v58.work.do_huge_pmd_anonymous_page!.pages_zeroed).toBe(512);
  });

  it('tables list only the work done and totals every kind', () => {
    const w = newWork();
    expect(workTable(w)).toEqual({});
    w[WORK_KINDS.indexOf('atomics') + WORK_KINDS.length * WORK_PATHS.indexOf('unmap')] = 3;
    expect(workTable(w)).toEqual({ unmap: { atomics: 3 } });
    expect(workTotals(w).atomics).toBe(3);
    expect(Object.keys(workTotals(w))).toEqual([...WORK_KINDS]);
  });

  it('is not kept outside a simulation', async () => {
    const { newState } = await import('../../src/core/mm_types.js');
    expect(newState().work).toBeNull();
  });
});
