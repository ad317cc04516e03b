import { describe, expect, it } from 'vitest';
import { do_madvise, MADV_DONTNEED } from '../../../src/core/mm/madvise.js';
import { ptep_get, pteTable } from '../../../src/core/mm/memory/pgtable.js';
import {
  do_mmap,
  MAP_FIXED,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
} from '../../../src/core/mm/mmap.js';
import { memfd_create } from '../../../src/core/mm/shmem.js';
import { flagsW, MM_SHMEMPAGES } from '../../../src/core/mm_types.js';
import { PG_locked } from '../../../src/core/page-flags.js';
import { _PAGE_ACCESSED, pte_none, pteBits } from '../../../src/core/pgtable_types.js';
import { expectSound, mmOfTask, read, world, write } from '../helpers.js';

const M = 0x7e0000200000;

/** A memfd of 64 pages mapped shared at M, the first `cached` of them in the page cache and unmapped. */
function cachedFile(cached: number) {
  const w = world();
  const inode = memfd_create(w.s, 64);
  const mm = mmOfTask(w, w.init);
  expect(
    do_mmap(w.s, w.k, mm, M, 64 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, inode),
  ).toBe(M);
  for (let i = 0; i < cached; i++) write(w, w.init, M + i * 4096, 1);
  do_madvise(w.s, w.k, mm, M, 64 * 4096, MADV_DONTNEED);
  return { w, mm, inode };
}

describe('fault-around (do_fault_around() → filemap_map_pages())', () => {
  it('maps the cached pages of the 16-page window, not young, besides the faulting one', () => {
    const { w, mm } = cachedFile(64);
    read(w, w.init, M + 20 * 4096);
    const t = pteTable(w.s, mm, M);
    const mapped = [...Array(64).keys()].filter((i) => !pte_none(ptep_get(w.s, t, i)));
    expect(mapped).toEqual([...Array(16).keys()].map((i) => 16 + i));
    expect(pteBits(ptep_get(w.s, t, 17)) & _PAGE_ACCESSED).toBe(0);
    expect(pteBits(ptep_get(w.s, t, 20)) & _PAGE_ACCESSED).not.toBe(0);
    expect(mm.rss[MM_SHMEMPAGES]).toBe(16);
    expectSound(w);
  });

  it('skips pages not cached and locked ones, and maps nothing on a write fault', () => {
    const { w, mm, inode } = cachedFile(20);
    const locked = w.s.inodes[inode]!.pages[18]!;
    flagsW(w.s.mem)[locked] = w.s.mem.flags[locked]! | PG_locked;
    read(w, w.init, M + 16 * 4096);
    const t = pteTable(w.s, mm, M);
    const mapped = [...Array(64).keys()].filter((i) => !pte_none(ptep_get(w.s, t, i)));
    expect(mapped).toEqual([16, 17, 19]);
    flagsW(w.s.mem)[locked] = w.s.mem.flags[locked]! & ~PG_locked;
    write(w, w.init, M + 5 * 4096, 2); // do_shared_fault(): no fault-around
    expect(pte_none(ptep_get(w.s, t, 4))).toBe(true);
    expectSound(w);
  });
});
