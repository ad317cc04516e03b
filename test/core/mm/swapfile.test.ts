import { describe, expect, it } from 'vitest';
import { pagemapEntry } from '../../../src/core/fs/proc/task_mmu.js';
import { checkInvariants } from '../../../src/core/invariants.js';
import { do_group_exit } from '../../../src/core/kernel/exit.js';
import { copy_process } from '../../../src/core/kernel/fork.js';
import { folio_end_writeback } from '../../../src/core/mm/filemap.js';
import {
  __get_user_pages,
  FOLL_LONGTERM,
  FOLL_PIN,
  FOLL_WRITE,
  gupHold,
  gupRelease,
} from '../../../src/core/mm/gup.js';
import { do_madvise, MADV_PAGEOUT } from '../../../src/core/mm/madvise.js';
import { pte_index, pteTable } from '../../../src/core/mm/memory/pgtable.js';
import { MM_ANONPAGES, MM_SWAPENTS, ptBits, ptSet, swapW } from '../../../src/core/mm_types.js';
import { PG_swapcache, PG_writeback } from '../../../src/core/page-flags.js';
import type { EraId } from '../../../src/core/points.js';
import { eraWorld, expectSound, mapAnon, mmOfTask, read, type world, write } from '../helpers.js';

const A = 0x10000000;

function pageout(w: ReturnType<typeof world>, addr = A, len = 4096): number {
  return do_madvise(w.s, w.k, mmOfTask(w, w.init), addr, len, MADV_PAGEOUT);
}

function pfnAt(w: ReturnType<typeof world>, addr = A): number {
  return pagemapEntry(w.s, mmOfTask(w, w.init), addr).pfn;
}

describe('swap-out and swap-in (MADV_PAGEOUT, do_swap_page)', () => {
  it('pageout() starts the write and keeps the folio in the swap cache: the read after it is a minor fault on the same page', () => {
    const w = eraWorld('v6.18');
    mapAnon(w, w.init, A, 4096);
    write(w, w.init, A, 7);
    const before = pfnAt(w);
    expect(pageout(w)).toBe(0);
    const mm = mmOfTask(w, w.init);
    expect(pagemapEntry(w.s, mm, A).swapped).toBe(true);
    expect(mm.rss[MM_SWAPENTS]).toBe(1);
    expect(mm.rss[MM_ANONPAGES]).toBe(0);
    expect(w.s.mem.flags[before]! & (PG_swapcache | PG_writeback)).toBe(
      PG_swapcache | PG_writeback,
    );
    expectSound(w);
    const r = read(w, w.init, A);
    expect(r.ok && r.value).toBe(7);
    expect(pfnAt(w)).toBe(before);
    expect(mm.rss[MM_SWAPENTS]).toBe(0);
    const vm = (n: number) => w.s.vmstat[n];
    expect([vm(1), vm(4), vm(5)]).toEqual([0, 0, 1]); // pgmajfault, pswpin, pswpout
    expectSound(w);
  });

  it('exit while the write to swap is in flight leaves the folio in the swap cache until the write ends (free_swap_cache() → folio_free_swap())', () => {
    const w = eraWorld('v6.18');
    mapAnon(w, w.init, A, 4096);
    write(w, w.init, A, 7);
    const page = pfnAt(w);
    expect(pageout(w)).toBe(0);
    read(w, w.init, A); // mapped again, still under writeback
    expect(w.s.mem.nr_writeback).toBe(1);
    do_group_exit(w.s, w.init, 0);
    // The zap's free_swap_cache() may not take it from the swap cache: the device still writes it.
    expect(w.s.mem.flags[page]! & (PG_swapcache | PG_writeback)).toBe(PG_swapcache | PG_writeback);
    expect(checkInvariants(w.s)).toEqual([]);
    folio_end_writeback(w.s, page);
    expect(w.s.mem.nr_writeback).toBe(0);
    expect(checkInvariants(w.s)).toEqual([]);
  });

  it('a clean swap-cache folio is freed by the next pageout without a second write, and read back by a major fault', () => {
    const w = eraWorld('v6.18');
    mapAnon(w, w.init, A, 4096);
    write(w, w.init, A, 7);
    const first = pfnAt(w);
    pageout(w);
    // Under writeback the folio cannot be freed: a pageout now leaves it alone.
    read(w, w.init, A);
    pageout(w);
    expect(w.s.mem.flags[first]! & PG_writeback).toBe(PG_writeback);
    expect(w.s.vmstat[5]).toBe(1);
    folio_end_writeback(w.s, first);
    read(w, w.init, A);
    pageout(w); // clean and mapped read-only: unmapped and freed, not written again
    expect(w.s.mem.flags[first]! & PG_swapcache).toBe(0);
    expect(w.s.vmstat[5]).toBe(1);
    const r = read(w, w.init, A);
    expect(r.ok && r.value).toBe(7);
    expect([w.s.vmstat[1], w.s.vmstat[4]]).toEqual([1, 1]); // pgmajfault, pswpin
    expectSound(w);
  });

  it('the write after a read swap-in: v5.7 reuses, v5.9 copies, v5.18 reuses only once the write to swap has ended, v5.19 reuses the exclusive page, v6.18 never faults', () => {
    const expected: [EraId, boolean, string[]][] = [
      ['v5.7', false, ['do_swap_page:map read-only', 'do_wp_page:reuse']],
      ['v5.9', true, ['do_swap_page:map read-only', 'do_wp_page:copy']],
      ['v5.18', false, ['do_swap_page:map read-only', 'do_wp_page:copy']],
      ['v5.18', true, ['do_swap_page:map read-only', 'do_wp_page:reuse']],
      ['v5.19', false, ['do_swap_page:map read-only', 'do_wp_page:reuse']],
      ['v6.18', false, ['do_swap_page:map writable']],
    ];
    for (const [era, written, decisions] of expected) {
      const w = eraWorld(era);
      mapAnon(w, w.init, A, 4096);
      write(w, w.init, A, 1);
      const folio = pfnAt(w);
      pageout(w);
      if (written) folio_end_writeback(w.s, folio);
      w.log.length = 0;
      read(w, w.init, A);
      write(w, w.init, A, 2);
      expect(
        w.log.filter((d) => d.point !== 'shrink_folio_list').map((d) => `${d.point}:${d.choice}`),
        `${era}${written ? ' after writeback' : ''}`,
      ).toEqual(decisions);
      expectSound(w);
    }
  });

  it('fork shares a swap entry (swap count 2) and clears SWP_EXCLUSIVE; exit frees the slot', () => {
    const w = eraWorld('v6.18');
    mapAnon(w, w.init, A, 4096);
    write(w, w.init, A, 1);
    const page = pfnAt(w);
    pageout(w);
    folio_end_writeback(w.s, page); // the write to swap has ended (else exit could not drop it)
    const child = copy_process(w.s, w.k, w.init, false);
    expect(w.s.swap.map[1]).toBe(2);
    expectSound(w);
    // The child's write finds a shared entry: read-only swap-in, then a copy.
    w.log.length = 0;
    write(w, child, A, 5);
    expect(w.log.map((d) => `${d.point}:${d.choice}`)).toEqual([
      'do_swap_page:map read-only',
      'do_wp_page:copy',
    ]);
    expectSound(w);
    do_group_exit(w.s, child, 0);
    expect(read(w, w.init, A)).toMatchObject({ ok: true, value: 1 });
    do_group_exit(w.s, w.init, 0);
    const v = checkInvariants(w.s);
    // The parent's swap-in left the folio in the swap cache; exit's zap drops it (free_swap_cache()).
    expect(v).toEqual([]);
    expect(w.s.swap.cache.every((f) => f === 0)).toBe(true);
  });

  it('a long-term pinned page stays out of the swap cache from v5.18 (feb889fb40fa), and is swapped but kept in v5.9', () => {
    for (const [era, swapped] of [
      ['v5.9', true],
      ['v5.18', false],
      ['v6.18', false],
    ] as const) {
      const w = eraWorld(era);
      mapAnon(w, w.init, A, 4096);
      write(w, w.init, A, 1);
      const mm = mmOfTask(w, w.init);
      const flags = FOLL_PIN | FOLL_WRITE | FOLL_LONGTERM;
      const pages = __get_user_pages(w.s, w.k, mm, A, 1, flags) as number[];
      const id = gupHold(w.s, w.k, pages[0]!, flags);
      const pfn = pfnAt(w);
      pageout(w);
      expect(pagemapEntry(w.s, mm, A).swapped, era).toBe(swapped);
      // Unmapped or not, the pinned folio is never freed: v5.9 leaves it in the swap cache.
      expect((w.s.mem.flags[pfn]! & PG_swapcache) !== 0, era).toBe(swapped);
      expectSound(w);
      // v5.9: the next access maps the pinned page again from the swap cache.
      expect(read(w, w.init, A)).toMatchObject({ ok: true, value: 1 });
      expect(pfnAt(w), era).toBe(pfn);
      gupRelease(w.s, id);
      expectSound(w);
    }
  });

  it('a page shared with a child is not paged out (page_mapcount() != 1)', () => {
    const w = eraWorld('v6.18');
    mapAnon(w, w.init, A, 4096);
    write(w, w.init, A, 1);
    copy_process(w.s, w.k, w.init, false);
    pageout(w);
    expect(pagemapEntry(w.s, mmOfTask(w, w.init), A).present).toBe(true);
    expect(w.s.vmstat[5]).toBe(0);
    expectSound(w);
  });

  it('MM007 catches a swap count that disagrees with the swap PTEs', () => {
    const w = eraWorld('v6.18');
    mapAnon(w, w.init, A, 4096);
    write(w, w.init, A, 1);
    pageout(w);
    swapW(w.s).map[1] = 2;
    expect(checkInvariants(w.s).map((v) => v.code)).toContain('MM007');
  });

  it('MM007 names, once, a slot that swap PTEs name but that does not exist', () => {
    const w = eraWorld('v6.18');
    mapAnon(w, w.init, A, 2 * 4096);
    write(w, w.init, A, 1);
    write(w, w.init, A + 4096, 2);
    pageout(w);
    const mm = mmOfTask(w, w.init);
    const t = pteTable(w.s, mm, A);
    // Both swap PTEs now name slot 99 (past the device's end).
    for (const i of [pte_index(A), pte_index(A + 4096)])
      ptSet(w.s, t, i, 99, ptBits(w.s.pt.tables[t]!, i));
    const bad = checkInvariants(w.s).filter((v) => v.detail.includes('does not exist'));
    expect(bad).toEqual([
      { code: 'MM007', detail: 'a swap PTE names slot 99, which does not exist' },
    ]);
  });
});
