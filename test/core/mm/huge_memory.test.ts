import { describe, expect, it } from 'vitest';
import { pagemapEntry, task_mem } from '../../../src/core/fs/proc/task_mmu.js';
import { copy_process } from '../../../src/core/kernel/fork.js';
import {
  __get_user_pages,
  FOLL_LONGTERM,
  FOLL_PIN,
  FOLL_WRITE,
  folio_maybe_dma_pinned,
  gupHold,
  gupRelease,
} from '../../../src/core/mm/gup.js';
import { do_madvise, MADV_DONTNEED, MADV_HUGEPAGE } from '../../../src/core/mm/madvise.js';
import { pmdLeaf } from '../../../src/core/mm/memory/pgtable.js';
import { PROT_READ, PROT_WRITE } from '../../../src/core/mm/mmap.js';
import { do_mprotect_pkey } from '../../../src/core/mm/mprotect.js';
import { MM_ANONPAGES } from '../../../src/core/mm_types.js';
import type { EraId } from '../../../src/core/points.js';
import { vmEventIndex } from '../../../src/core/vmstat.js';
import { eraWorld, expectSound, mapAnon, mmOfTask, read, write } from '../helpers.js';

const A = 0x40000000;
const THP = 2 * 1024 * 1024;
const PAGE = 4096;

type W = ReturnType<typeof eraWorld>;

/** A 2 MiB-aligned MADV_HUGEPAGE range whose first write faults in a THP. */
function thp(w: W, value = 1): void {
  mapAnon(w, w.init, A, THP);
  expect(do_madvise(w.s, w.k, mmOfTask(w, w.init), A, THP, MADV_HUGEPAGE)).toBe(0);
  expect(write(w, w.init, A, value)).toMatchObject({ ok: true });
}

const ev = (w: W, name: string) => w.s.vmstat[vmEventIndex(name)!]!;
const leaf = (w: W, t = w.init) => pmdLeaf(w.s, mmOfTask(w, t), A);
const pfnAt = (w: W, addr: number, t = w.init) => pagemapEntry(w.s, mmOfTask(w, t), addr).pfn;

describe('PMD-mapped anonymous THP (mm/huge_memory.c)', () => {
  it('the first fault of a MADV_HUGEPAGE range maps an order-9 folio with one PMD', () => {
    const w = eraWorld('v6.18');
    thp(w, 7);
    const mm = mmOfTask(w, w.init);
    expect(leaf(w)).not.toBeNull();
    const head = pfnAt(w, A);
    expect(w.s.mem.order[head]).toBe(9);
    expect(pfnAt(w, A + 5 * PAGE)).toBe(head + 5);
    expect(w.s.mem.large.get(head)?.entire).toBe(1);
    expect(w.s.mem.refcount[head]).toBe(1);
    expect(mm.rss[MM_ANONPAGES]).toBe(512);
    const status = task_mem(w.s, mm);
    expect(status.AnonHugePages).toBe(2048);
    // PUD + PMD tables and the deposited PTE table.
    expect(status.VmPTE).toBe(12);
    expect(ev(w, 'thp_fault_alloc')).toBe(1);
    expect(read(w, w.init, A)).toMatchObject({ ok: true, value: 7 });
    expect(read(w, w.init, A + PAGE)).toMatchObject({ ok: true, value: 0 });
    expectSound(w);
  });

  it('without MADV_HUGEPAGE, or without an aligned 2 MiB inside the VMA, faults map small pages', () => {
    const w = eraWorld('v6.18');
    mapAnon(w, w.init, A, THP);
    write(w, w.init, A, 1);
    expect(leaf(w)).toBeNull();
    const w2 = eraWorld('v6.18');
    mapAnon(w2, w2.init, A, THP - PAGE);
    do_madvise(w2.s, w2.k, mmOfTask(w2, w2.init), A, THP - PAGE, MADV_HUGEPAGE);
    write(w2, w2.init, A, 1);
    expect(leaf(w2)).toBeNull();
    expectSound(w);
    expectSound(w2);
  });

  it('fork shares the THP read-only; the write after fork per era: copy 2 MiB (v5.7), else split and copy one page', () => {
    const expected: [EraId, string, number][] = [
      ['v5.7', 'copy', 0],
      ['v5.9', 'split', 1],
      ['v5.18', 'split', 1],
      ['v6.18', 'split', 1],
    ];
    for (const [era, action, splits] of expected) {
      const w = eraWorld(era);
      thp(w, 1);
      const head = pfnAt(w, A);
      const child = copy_process(w.s, w.k, w.init, false);
      expect(leaf(w, child), era).not.toBeNull();
      expect(w.s.mem.large.get(head)?.entire, era).toBe(2);
      expectSound(w);
      write(w, w.init, A + PAGE, 9);
      expect(
        w.log.some((d) => d.point === 'do_huge_pmd_wp_page' && d.choice === action),
        era,
      ).toBe(true);
      expect(ev(w, 'thp_split_pmd'), era).toBe(splits);
      expect(read(w, child, A + PAGE), era).toMatchObject({ ok: true, value: 0 });
      expect(read(w, w.init, A + PAGE), era).toMatchObject({ ok: true, value: 9 });
      expect(read(w, w.init, A), era).toMatchObject({ ok: true, value: 1 });
      expect(pfnAt(w, A, child), era).toBe(head);
      expectSound(w);
    }
  });

  it('an exclusive THP is reused whole on a write after the child exited (v5.19+ PG_anon_exclusive is gone: page_count)', () => {
    for (const era of ['v5.9', 'v5.18', 'v6.18'] as const) {
      const w = eraWorld(era);
      thp(w, 1);
      const head = pfnAt(w, A);
      const child = copy_process(w.s, w.k, w.init, false);
      do_madvise(w.s, w.k, mmOfTask(w, child), A, THP, MADV_DONTNEED);
      write(w, w.init, A, 2);
      expect(leaf(w), era).not.toBeNull();
      expect(pfnAt(w, A), era).toBe(head);
      expect(ev(w, 'thp_split_pmd'), era).toBe(0);
      expectSound(w);
    }
  });

  it('a long-term pin of a THP page counts in folio->_pincount and one reference; fork then splits and copies (v5.9+)', () => {
    for (const [era, split] of [
      ['v5.7', false],
      ['v5.9', true],
      ['v6.18', true],
    ] as const) {
      const w = eraWorld(era);
      thp(w, 3);
      const mm = mmOfTask(w, w.init);
      const head = pfnAt(w, A);
      const flags = FOLL_PIN | FOLL_WRITE | FOLL_LONGTERM;
      const pages = __get_user_pages(w.s, w.k, mm, A + PAGE, 1, flags) as number[];
      expect(pages, era).toEqual([head + 1]);
      const id = gupHold(w.s, w.k, pages[0]!, flags);
      expect(w.s.mem.large.get(head)?.pincount, era).toBe(1);
      expect(w.s.mem.refcount[head], era).toBe(2);
      expect(folio_maybe_dma_pinned(w.s, head), era).toBe(true);
      expectSound(w);
      const child = copy_process(w.s, w.k, w.init, false);
      expect(leaf(w) === null, era).toBe(split);
      // The child got its own copies where the era copies pinned pages.
      expect(pfnAt(w, A + PAGE, child) !== head + 1, era).toBe(split);
      expect(read(w, child, A), era).toMatchObject({ ok: true, value: 3 });
      expectSound(w);
      gupRelease(w.s, id);
      expect(w.s.mem.large.get(head)?.pincount, era).toBe(0);
      expectSound(w);
    }
  });

  it('a partial MADV_DONTNEED or mprotect() splits the PMD; a whole-range mprotect() keeps it', () => {
    const w = eraWorld('v6.18');
    thp(w, 1);
    const mm = mmOfTask(w, w.init);
    expect(do_mprotect_pkey(w.s, w.k, mm, A, THP, PROT_READ)).toBe(0);
    expect(leaf(w)).not.toBeNull();
    expect(pagemapEntry(w.s, mm, A).writable).toBe(false);
    expect(do_mprotect_pkey(w.s, w.k, mm, A, THP, PROT_READ | PROT_WRITE)).toBe(0);
    // v6.2+: the exclusive THP is mapped writable again without a fault.
    expect(pagemapEntry(w.s, mm, A).writable).toBe(true);
    expect(do_mprotect_pkey(w.s, w.k, mm, A + PAGE, PAGE, PROT_READ)).toBe(0);
    expect(leaf(w)).toBeNull();
    expect(ev(w, 'thp_split_pmd')).toBe(1);
    expect(task_mem(w.s, mm).AnonHugePages).toBe(0);
    expectSound(w);
    expect(do_madvise(w.s, w.k, mm, A + 2 * PAGE, THP - 2 * PAGE, MADV_DONTNEED)).toBe(0);
    expect(mm.rss[MM_ANONPAGES]).toBe(2);
    expect(read(w, w.init, A)).toMatchObject({ ok: true, value: 1 });
    expectSound(w);
  });

  it('a read fault maps the huge zero folio; a write allocates a THP (v5.7, v6.18) or splits to zero-page PTEs (v5.8-v6.2)', () => {
    for (const [era, alloc] of [
      ['v5.7', true],
      ['v5.9', false],
      ['v6.2', false],
      ['v6.18', true],
    ] as const) {
      const w = eraWorld(era);
      mapAnon(w, w.init, A, THP);
      do_madvise(w.s, w.k, mmOfTask(w, w.init), A, THP, MADV_HUGEPAGE);
      expect(read(w, w.init, A + PAGE), era).toMatchObject({ ok: true, value: 0 });
      const mm = mmOfTask(w, w.init);
      expect(pagemapEntry(w.s, mm, A).zeropage, era).toBe(true);
      expect(mm.rss[MM_ANONPAGES], era).toBe(0);
      expect(task_mem(w.s, mm), era).toMatchObject({ AnonHugePages: 0, VmPTE: 12 });
      // vma_needs_copy(): no anon_vma yet, so fork copies no entries; the child refaults.
      const child = copy_process(w.s, w.k, w.init, false);
      expect(pagemapEntry(w.s, mmOfTask(w, child), A).present, era).toBe(false);
      expect(read(w, child, A), era).toMatchObject({ ok: true, value: 0 });
      expect(pagemapEntry(w.s, mmOfTask(w, child), A).zeropage, era).toBe(true);
      expectSound(w);
      write(w, w.init, A + PAGE, 4);
      expect(leaf(w) !== null, era).toBe(alloc);
      expect(mm.rss[MM_ANONPAGES], era).toBe(alloc ? 512 : 1);
      expect(pagemapEntry(w.s, mm, A).zeropage, era).toBe(!alloc);
      expect(read(w, w.init, A + PAGE), era).toMatchObject({ ok: true, value: 4 });
      expect(read(w, child, A + PAGE), era).toMatchObject({ ok: true, value: 0 });
      expect(task_mem(w.s, mm).VmPTE, era).toBe(12);
      expectSound(w);
    }
  });
});
