import { describe, expect, it } from 'vitest';
import { EAGAIN, EINVAL } from '../../../src/core/errno.js';
import { task_mem } from '../../../src/core/fs/proc/task_mmu.js';
import { copy_process } from '../../../src/core/kernel/fork.js';
import {
  do_madvise,
  MADV_COLLAPSE,
  MADV_DONTNEED,
  MADV_REMOVE,
} from '../../../src/core/mm/madvise.js';
import { pmdLeaf, pteTable } from '../../../src/core/mm/memory/pgtable.js';
import {
  do_mmap,
  MAP_FIXED,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
} from '../../../src/core/mm/mmap.js';
import { page_folio } from '../../../src/core/mm/page_alloc.js';
import { memfd_create } from '../../../src/core/mm/shmem.js';
import { MM_SHMEMPAGES, refcountW } from '../../../src/core/mm_types.js';
import { eraWorld, expectSound, mmOfTask, read, write } from '../helpers.js';

const M = 0x7e0000200000;
const THP = 2 * 1024 * 1024;
const PAGE = 4096;

/** A shared memfd mapping of 2 MiB at M with `pages` pages written. */
function memfd(pages: number, era: 'v6.18' | 'v6.2' = 'v6.18') {
  const w = eraWorld(era);
  const inode = memfd_create(w.s, 512);
  const mm = mmOfTask(w, w.init);
  expect(do_mmap(w.s, w.k, mm, M, THP, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, inode)).toBe(
    M,
  );
  for (let i = 0; i < pages; i++) write(w, w.init, M + i * PAGE, i + 1);
  return { w, inode, mm };
}

describe('MADV_COLLAPSE of a shmem mapping (collapse_file(), retract_page_tables())', () => {
  it('puts one PMD-sized folio in the page cache and maps the caller by PMD', () => {
    const { w, inode, mm } = memfd(3);
    expect(do_madvise(w.s, w.k, mm, M, THP, MADV_COLLAPSE)).toBe(0);
    const f = w.s.inodes[inode]!;
    const thp = page_folio(w.s, f.pages[0]!);
    expect(w.s.mem.order[thp]).toBe(9);
    expect(f.pages.slice(0, 512).every((p, i) => p === thp + i)).toBe(true);
    expect(pmdLeaf(w.s, mm, M)).not.toBeNull();
    expect(pteTable(w.s, mm, M)).toBe(0); // retracted
    expect(mm.rss[MM_SHMEMPAGES]).toBe(512);
    expect(task_mem(w.s, mm).AnonHugePages).toBe(0);
    expect(read(w, w.init, M + 2 * PAGE)).toMatchObject({ value: 3 });
    expect(read(w, w.init, M + 300 * PAGE)).toMatchObject({ value: 0 }); // a hole: zeroed
    expectSound(w);
  });

  it("retracts another process's empty table; its next read maps the THP by PMD", () => {
    const { w, mm } = memfd(2);
    const child = copy_process(w.s, w.k, w.init, false);
    const cmm = mmOfTask(w, child);
    read(w, child, M + PAGE);
    expect(pteTable(w.s, cmm, M)).not.toBe(0);
    expect(do_madvise(w.s, w.k, mm, M, THP, MADV_COLLAPSE)).toBe(0);
    expect(pteTable(w.s, cmm, M)).toBe(0);
    expect(cmm.rss[MM_SHMEMPAGES]).toBe(0);
    expect(read(w, child, M + 100 * PAGE)).toMatchObject({ value: 0 });
    expect(pmdLeaf(w.s, cmm, M)).not.toBeNull();
    expectSound(w);
  });

  it('refuses a range with a page referenced besides its mappings (-EAGAIN), and where the era has no file collapse', () => {
    const { w, inode, mm } = memfd(2);
    const page = w.s.inodes[inode]!.pages[1]!;
    refcountW(w.s.mem)[page] = w.s.mem.refcount[page]! + 1; // as a GUP reference would
    expect(do_madvise(w.s, w.k, mm, M, THP, MADV_COLLAPSE)).toBe(-EAGAIN);
    refcountW(w.s.mem)[page] = w.s.mem.refcount[page]! - 1;
    const old = memfd(2, 'v6.2');
    expect(do_madvise(old.w.s, old.w.k, old.mm, M, THP, MADV_COLLAPSE)).toBe(-EINVAL);
  });

  it('a write to the PMD-mapped THP, a partial MADV_DONTNEED, and a partial hole punch split it as 6.18 does', () => {
    const { w, inode, mm } = memfd(4);
    expect(do_madvise(w.s, w.k, mm, M, THP, MADV_COLLAPSE)).toBe(0);
    expect(write(w, w.init, M + 5 * PAGE, 7)).toMatchObject({ ok: true }); // writable PMD
    expect(do_madvise(w.s, w.k, mm, M, 16 * PAGE, MADV_DONTNEED)).toBe(0); // splits: unmaps the PMD
    expect(pmdLeaf(w.s, mm, M)).toBeNull();
    expect(read(w, w.init, M + 5 * PAGE)).toMatchObject({ value: 7 }); // refault by PTE (a table now)
    expect(do_madvise(w.s, w.k, mm, M + 2 * PAGE, 2 * PAGE, MADV_REMOVE)).toBe(0);
    const f = w.s.inodes[inode]!;
    expect(w.s.mem.order[page_folio(w.s, f.pages[0]!)]).toBe(0); // split into small folios
    expect(f.pages[2]).toBe(0);
    expect(read(w, w.init, M + 2 * PAGE)).toMatchObject({ value: 0 });
    expect(read(w, w.init, M + 3 * PAGE)).toMatchObject({ value: 0 });
    expect(read(w, w.init, M + 5 * PAGE)).toMatchObject({ value: 7 });
    expect(do_madvise(w.s, w.k, mm, M, THP, MADV_REMOVE)).toBe(0);
    expect(f.pages.filter((p) => p)).toEqual([]);
    expectSound(w);
  });
});
