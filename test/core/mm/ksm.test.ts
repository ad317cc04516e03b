import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EINVAL } from '../../../src/core/errno.js';
import { pagemapEntry } from '../../../src/core/fs/proc/task_mmu.js';
import { do_group_exit } from '../../../src/core/kernel/exit.js';
import { copy_process } from '../../../src/core/kernel/fork.js';
import { PR_GET_MEMORY_MERGE, PR_SET_MEMORY_MERGE, prctl } from '../../../src/core/kernel/sys.js';
import {
  __get_user_pages,
  FOLL_FORCE,
  FOLL_GET,
  FOLL_LONGTERM,
  FOLL_PIN,
  FOLL_WRITE,
  gupHold,
  gupRelease,
} from '../../../src/core/mm/gup.js';
import {
  KSM_MAX_PAGE_SHARING,
  ksm_do_scan,
  ksm_merging_pages,
  ksm_zero_pages,
  ksmMerges,
  ksmPagesSharing,
  MADV_MERGEABLE,
  MADV_UNMERGEABLE,
} from '../../../src/core/mm/ksm.js';
import { do_madvise } from '../../../src/core/mm/madvise.js';
import { pteView } from '../../../src/core/mm/memory/pgtable.js';
import { PROT_NONE } from '../../../src/core/mm/mmap.js';
import { do_mprotect_pkey } from '../../../src/core/mm/mprotect.js';
import { MM_ANONPAGES } from '../../../src/core/mm_types.js';
import { PG_ksm } from '../../../src/core/page-flags.js';
import { pte_protnone } from '../../../src/core/pgtable_types.js';
import { PGFAULT } from '../../../src/core/vmstat.js';
import { eraWorld, expectSound, mapAnon, mmOfTask, read, write } from '../helpers.js';

const A = 0x10000000;
const PAGE = 4096;

type W = ReturnType<typeof eraWorld>;

/** Map `values.length` pages at A, write each its value, and mark the range mergeable. */
function mergeable(w: W, values: number[], advise = true): void {
  mapAnon(w, w.init, A, values.length * PAGE);
  values.forEach((v, i) => {
    write(w, w.init, A + i * PAGE, v);
  });
  if (advise)
    expect(do_madvise(w.s, w.k, mmOfTask(w, w.init), A, values.length * PAGE, MADV_MERGEABLE)).toBe(
      0,
    );
}

const pfnAt = (w: W, addr: number) => pagemapEntry(w.s, mmOfTask(w, w.init), addr).pfn;
const merging = (w: W) => ksm_merging_pages(w.s, mmOfTask(w, w.init));

describe('KSM merging (mm/ksm.c)', () => {
  it('merges equal pages into one read-only KSM page and leaves a different page alone', () => {
    const w = eraWorld('v6.18');
    mergeable(w, [5, 5, 7]);
    expect(ksm_do_scan(w.s, w.k)).toBe(1);
    expect(merging(w)).toBe(2);
    const kpage = pfnAt(w, A);
    expect(pfnAt(w, A + PAGE)).toBe(kpage);
    expect(pfnAt(w, A + 2 * PAGE)).not.toBe(kpage);
    expect(w.s.mem.flags[kpage]! & PG_ksm).toBe(PG_ksm);
    expect(w.s.mem.mapcount[kpage]).toBe(2);
    expect(pagemapEntry(w.s, mmOfTask(w, w.init), A).writable).toBe(false);
    expectSound(w);
  });

  it('does not look at VMAs without MADV_MERGEABLE', () => {
    const w = eraWorld('v6.18');
    mergeable(w, [5, 5], false);
    expect(ksmMerges(w.s)).toEqual([]);
    expect(ksm_do_scan(w.s, w.k)).toBe(0);
    expect(merging(w)).toBe(0);
  });

  it('a third equal page joins the existing KSM page (stable tree)', () => {
    const w = eraWorld('v6.18');
    mergeable(w, [5, 5]);
    ksm_do_scan(w.s, w.k);
    const kpage = pfnAt(w, A);
    mapAnon(w, w.init, A + 2 * PAGE, PAGE);
    write(w, w.init, A + 2 * PAGE, 5);
    do_madvise(w.s, w.k, mmOfTask(w, w.init), A + 2 * PAGE, PAGE, MADV_MERGEABLE);
    expect(ksm_do_scan(w.s, w.k)).toBe(1);
    expect(pfnAt(w, A + 2 * PAGE)).toBe(kpage);
    expect(merging(w)).toBe(3);
    expectSound(w);
  });

  it('refuses a long-term pinned page (write_protect_page()) and merges it once unpinned', () => {
    for (const era of ['v5.7', 'v5.18', 'v6.18'] as const) {
      const w = eraWorld(era);
      mergeable(w, [5, 5]);
      const flags = FOLL_PIN | FOLL_WRITE | FOLL_LONGTERM;
      const pages = __get_user_pages(w.s, w.k, mmOfTask(w, w.init), A, 1, flags) as number[];
      const id = gupHold(w.s, w.k, pages[0]!, flags);
      expect(ksm_do_scan(w.s, w.k), era).toBe(0);
      expect(merging(w), era).toBe(0);
      expect(
        w.log.some((d) => d.why.includes('extra references')),
        era,
      ).toBe(true);
      gupRelease(w.s, id);
      expect(ksm_do_scan(w.s, w.k), era).toBe(1);
      expect(merging(w), era).toBe(2);
      expectSound(w);
    }
  });

  it('a write to a KSM page copies it out in every era; the other mapping keeps the KSM page', () => {
    for (const era of ['v5.7', 'v5.8', 'v5.9', 'v5.18', 'v5.19', 'v6.2', 'v6.18'] as const) {
      const w = eraWorld(era);
      mergeable(w, [5, 5]);
      ksm_do_scan(w.s, w.k);
      const kpage = pfnAt(w, A);
      write(w, w.init, A, 6);
      expect(pfnAt(w, A), era).not.toBe(kpage);
      expect(pfnAt(w, A + PAGE), era).toBe(kpage);
      expect(read(w, w.init, A), era).toMatchObject({ ok: true, value: 6 });
      expect(read(w, w.init, A + PAGE), era).toMatchObject({ ok: true, value: 5 });
      // The written address's rmap_item is stale but counted until the next scan drops it.
      expect(merging(w), era).toBe(2);
      ksm_do_scan(w.s, w.k);
      expect(merging(w), era).toBe(1);
      expectSound(w);
    }
  });

  it('a child after fork shares the KSM page; its write copies, the parent still reads the merged value', () => {
    const w = eraWorld('v6.18');
    mergeable(w, [5, 5]);
    ksm_do_scan(w.s, w.k);
    const child = copy_process(w.s, w.k, w.init, false);
    write(w, child, A, 9);
    expect(read(w, child, A)).toMatchObject({ ok: true, value: 9 });
    expect(read(w, w.init, A)).toMatchObject({ ok: true, value: 5 });
    expect(merging(w)).toBe(2);
    expectSound(w);
  });

  it('MADV_UNMERGEABLE breaks KSM pages out: a writable copy before v6.1, a read-only unshared copy after', () => {
    for (const [era, writable] of [
      ['v5.18', true],
      ['v6.2', false],
      ['v6.18', false],
    ] as const) {
      const w = eraWorld(era);
      mergeable(w, [5, 5]);
      ksm_do_scan(w.s, w.k);
      const mm = mmOfTask(w, w.init);
      expect(do_madvise(w.s, w.k, mm, A, 2 * PAGE, MADV_UNMERGEABLE), era).toBe(0);
      expect(merging(w), era).toBe(2); // until ksmd passes the items again
      ksm_do_scan(w.s, w.k);
      expect(merging(w), era).toBe(0);
      expect(pfnAt(w, A), era).not.toBe(pfnAt(w, A + PAGE));
      expect(pagemapEntry(w.s, mm, A).writable, era).toBe(writable);
      expect(read(w, w.init, A + PAGE), era).toMatchObject({ ok: true, value: 5 });
      expect(ksmMerges(w.s), era).toEqual([]); // VM_MERGEABLE is gone
      expectSound(w);
    }
  });

  it('property: after a scan, the merged pages are exactly those whose value occurs twice or more, one KSM page per value', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 8 }),
        (vals) => {
          const w = eraWorld('v6.18');
          mergeable(w, vals);
          ksm_do_scan(w.s, w.k);
          const count = new Map<number, number>();
          for (const v of vals) count.set(v, (count.get(v) ?? 0) + 1);
          const expected = vals.filter((v) => count.get(v)! >= 2).length;
          expect(merging(w)).toBe(expected);
          const pfnsByValue = new Map<number, Set<number>>();
          vals.forEach((v, i) => {
            const set = pfnsByValue.get(v) ?? new Set<number>();
            set.add(pfnAt(w, A + i * PAGE));
            pfnsByValue.set(v, set);
          });
          for (const set of pfnsByValue.values()) expect(set.size).toBe(1);
          for (const [i, v] of vals.entries())
            expect(read(w, w.init, A + i * PAGE)).toMatchObject({ ok: true, value: v });
          expectSound(w);
        },
      ),
      { seed: 5, numRuns: 60 },
    );
  });

  it("ksm_fork(): a child starts with ksm_merging_pages 0 in v6.18 and with the parent's count before", () => {
    for (const [era, inChild, afterScan] of [
      ['v6.2', 2, 4],
      ['v6.18', 0, 2],
    ] as const) {
      const w = eraWorld(era);
      mergeable(w, [5, 5]);
      ksm_do_scan(w.s, w.k);
      const child = copy_process(w.s, w.k, w.init, false);
      const cmm = mmOfTask(w, child);
      expect(ksm_merging_pages(w.s, cmm), era).toBe(inChild);
      // The next scan adds the child's own rmap_items for the KSM page it maps ("ksm page forked").
      expect(ksm_do_scan(w.s, w.k), era).toBe(2);
      expect(ksm_merging_pages(w.s, cmm), era).toBe(afterScan);
      expect(ksmPagesSharing(w.s), era).toEqual({
        pages_shared: 1,
        pages_sharing: 3,
        pages_unshared: 0,
      });
      expectSound(w);
    }
  });

  it('pages_unshared: unique pages stay in the unstable tree; a fork child has none, an exit drops its own', () => {
    const w = eraWorld('v6.18');
    mergeable(w, [5, 5, 7, 8]);
    ksm_do_scan(w.s, w.k);
    expect(ksmPagesSharing(w.s)).toEqual({ pages_shared: 1, pages_sharing: 1, pages_unshared: 2 });
    // rmap_items are not copied at fork: the child's pages count once a scan meets them.
    const child = copy_process(w.s, w.k, w.init, false);
    expect(ksmPagesSharing(w.s).pages_unshared).toBe(2);
    ksm_do_scan(w.s, w.k);
    // The child's 7 and 8 are the parent's pages (shared by COW): a page is
    // met once per mapping, and the second mapping finds itself in the tree.
    expect(ksmPagesSharing(w.s).pages_unshared).toBe(2);
    do_group_exit(w.s, w.s.tasks[child.pid]!, 0);
    expect(ksmPagesSharing(w.s).pages_unshared).toBe(2);
    do_group_exit(w.s, w.init, 0);
    expect(ksmPagesSharing(w.s).pages_unshared).toBe(0);
  });

  it('max_page_sharing: one KSM page serves 256 rmap_items; a 257th equal page finds no partner', () => {
    const w = eraWorld('v6.18');
    mergeable(
      w,
      Array.from({ length: KSM_MAX_PAGE_SHARING + 1 }, () => 3),
    );
    ksm_do_scan(w.s, w.k);
    // The 257th finds the KSM page full and stays alone in the unstable tree.
    expect(ksmPagesSharing(w.s)).toEqual({
      pages_shared: 1,
      pages_sharing: KSM_MAX_PAGE_SHARING - 1,
      pages_unshared: 1,
    });
    expect(merging(w)).toBe(KSM_MAX_PAGE_SHARING);
    expect(pfnAt(w, A + KSM_MAX_PAGE_SHARING * PAGE)).not.toBe(pfnAt(w, A));
    // One more equal page: the stable tree starts a second KSM page for the pair.
    mapAnon(w, w.init, A + (KSM_MAX_PAGE_SHARING + 1) * PAGE, PAGE);
    write(w, w.init, A + (KSM_MAX_PAGE_SHARING + 1) * PAGE, 3);
    do_madvise(w.s, w.k, mmOfTask(w, w.init), A, (KSM_MAX_PAGE_SHARING + 2) * PAGE, MADV_MERGEABLE);
    ksm_do_scan(w.s, w.k);
    expect(ksmPagesSharing(w.s)).toEqual({
      pages_shared: 2,
      pages_sharing: KSM_MAX_PAGE_SHARING,
      pages_unshared: 0,
    });
    expectSound(w);
  });

  it('use_zero_pages: pages of zeroes map the zero page, RssAnon drops, and only marked eras unshare them', () => {
    for (const [era, counted, unshared] of [
      ['v6.2', 0, false],
      ['v6.18', 2, true],
    ] as const) {
      const w = eraWorld(era);
      mergeable(w, [0, 0, 1]);
      const mm = mmOfTask(w, w.init);
      expect(ksm_do_scan(w.s, w.k, true), era).toBe(2);
      expect(pagemapEntry(w.s, mm, A).zeropage, era).toBe(true);
      expect(pagemapEntry(w.s, mm, A + 2 * PAGE).zeropage, era).toBe(false);
      expect(mm.rss[MM_ANONPAGES], era).toBe(1);
      expect(ksm_zero_pages(w.s, mm), era).toBe(counted);
      expect(merging(w), era).toBe(0);
      // The page of 1 has no partner: it stays in the unstable tree.
      expect(ksmPagesSharing(w.s), era).toEqual({
        pages_shared: 0,
        pages_sharing: 0,
        pages_unshared: 1,
      });
      do_madvise(w.s, w.k, mm, A, PAGE, MADV_UNMERGEABLE);
      expect(pagemapEntry(w.s, mm, A).zeropage, era).toBe(!unshared);
      expect(read(w, w.init, A), era).toMatchObject({ ok: true, value: 0 });
      expectSound(w);
    }
  });

  it('prctl(PR_SET_MEMORY_MERGE): -EINVAL before v6.4; makes old and new VMAs mergeable; 0 unmerges all', () => {
    const old = eraWorld('v6.2');
    expect(prctl(old.s, old.k, mmOfTask(old, old.init), PR_SET_MEMORY_MERGE, 1)).toBe(-EINVAL);
    const w = eraWorld('v6.18');
    mergeable(w, [4, 4], false);
    const mm = mmOfTask(w, w.init);
    expect(prctl(w.s, w.k, mm, PR_SET_MEMORY_MERGE, 1)).toBe(0);
    expect(prctl(w.s, w.k, mm, PR_GET_MEMORY_MERGE, 0)).toBe(1);
    mapAnon(w, w.init, A + 4 * PAGE, PAGE);
    write(w, w.init, A + 4 * PAGE, 4);
    expect(ksm_do_scan(w.s, w.k)).toBe(2);
    expect(pfnAt(w, A + 4 * PAGE)).toBe(pfnAt(w, A));
    const child = copy_process(w.s, w.k, w.init, false);
    expect(prctl(w.s, w.k, mmOfTask(w, child), PR_GET_MEMORY_MERGE, 0)).toBe(1);
    expect(prctl(w.s, w.k, mm, PR_SET_MEMORY_MERGE, 0)).toBe(0);
    expect(prctl(w.s, w.k, mm, PR_GET_MEMORY_MERGE, 0)).toBe(0);
    expect(pfnAt(w, A)).not.toBe(pfnAt(w, A + PAGE));
    expect(pfnAt(w, A + 4 * PAGE)).not.toBe(pfnAt(w, A));
    expect(ksmMerges(w.s).filter((m) => m.item.mm === mm.id)).toEqual([]);
    expectSound(w);
  });

  it('a FOLL_FORCE write reaches a KSM page in a PROT_NONE VMA and leaves a PROT_NONE copy', () => {
    const w = eraWorld('v6.18');
    mergeable(w, [5, 5]);
    const mm = mmOfTask(w, w.init);
    expect(do_mprotect_pkey(w.s, w.k, mm, A, 2 * PAGE, PROT_NONE)).toBe(0);
    ksm_do_scan(w.s, w.k);
    const kpage = pfnAt(w, A);
    expect(pfnAt(w, A + PAGE)).toBe(kpage);
    const flags = FOLL_GET | FOLL_WRITE | FOLL_FORCE;
    const pages = __get_user_pages(w.s, w.k, mm, A, 1, flags) as number[];
    expect(pages[0]).not.toBe(kpage);
    gupRelease(w.s, gupHold(w.s, w.k, pages[0]!, flags));
    const e = pagemapEntry(w.s, mm, A);
    expect(e.present && !e.writable).toBe(true);
    expect(pte_protnone(pteView(w.s, mm, A))).toBe(true);
    // A forced read follows the PROT_NONE entry without a fault.
    const faults = w.s.vmstat[PGFAULT];
    const r = __get_user_pages(w.s, w.k, mm, A + PAGE, 1, FOLL_GET | FOLL_FORCE) as number[];
    expect(r).toEqual([kpage]);
    expect(w.s.vmstat[PGFAULT]).toBe(faults);
    gupRelease(w.s, gupHold(w.s, w.k, r[0]!, FOLL_GET | FOLL_FORCE));
    expectSound(w);
  });
});
