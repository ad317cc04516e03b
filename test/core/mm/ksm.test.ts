import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pagemapEntry } from '../../../src/core/fs/proc/task_mmu.js';
import { copy_process } from '../../../src/core/kernel/fork.js';
import {
  __get_user_pages,
  FOLL_LONGTERM,
  FOLL_PIN,
  FOLL_WRITE,
  gupHold,
  gupRelease,
} from '../../../src/core/mm/gup.js';
import {
  ksm_do_scan,
  ksm_merging_pages,
  ksmMerges,
  MADV_MERGEABLE,
  MADV_UNMERGEABLE,
} from '../../../src/core/mm/ksm.js';
import { do_madvise } from '../../../src/core/mm/madvise.js';
import { PG_ksm } from '../../../src/core/page-flags.js';
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
});
