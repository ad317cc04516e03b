import { describe, expect, it } from 'vitest';
import { EACCES } from '../../../src/core/errno.js';
import { copy_process } from '../../../src/core/kernel/fork.js';
import { do_madvise, MADV_REMOVE } from '../../../src/core/mm/madvise.js';
import { pteTable } from '../../../src/core/mm/memory/pgtable.js';
import {
  do_mmap,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
} from '../../../src/core/mm/mmap.js';
import { memfd_create, shmem_punch_hole } from '../../../src/core/mm/shmem.js';
import type { PtStrategy } from '../../../src/core/points.js';
import { expectSound, mmOfTask, read, world, write } from '../helpers.js';

const S = 0x7e0000200000; // a shared mapping of the memfd
const P = 0x7e0000600000; // a private mapping of the same memfd

function setup(ptStrategy: PtStrategy = 'pt-reclaim') {
  const w = world({ ptStrategy });
  const inode = memfd_create(w.s, 512);
  const mm = mmOfTask(w, w.init);
  const rw = PROT_READ | PROT_WRITE;
  expect(do_mmap(w.s, w.k, mm, S, 2 << 20, rw, MAP_SHARED | MAP_FIXED, inode)).toBe(S);
  expect(do_mmap(w.s, w.k, mm, P, 2 << 20, rw, MAP_PRIVATE | MAP_FIXED, inode)).toBe(P);
  return { w, inode, mm };
}

describe('MADV_REMOVE: a hole punched in a shmem file (shmem_fallocate())', () => {
  it('zaps every mapping of the pages and drops them from the page cache; a private copy stays', () => {
    const { w, inode, mm } = setup();
    write(w, w.init, S, 5); // page 0 in the page cache
    write(w, w.init, S + 4096, 6); // page 1 in the page cache
    expect(read(w, w.init, P)).toMatchObject({ value: 5 }); // private read: the cache page
    write(w, w.init, P + 4096, 9); // private write: an anonymous copy of page 1
    expect(do_madvise(w.s, w.k, mm, S, 2 * 4096, MADV_REMOVE)).toBe(0);
    expect(w.s.inodes[inode]!.pages.filter((p) => p).length).toBe(0);
    expect(read(w, w.init, S)).toMatchObject({ value: 0 }); // a hole reads zeros
    expect(read(w, w.init, P)).toMatchObject({ value: 0 }); // the private read mapping went too
    expect(read(w, w.init, P + 4096)).toMatchObject({ value: 9 }); // even_cows false: kept
    expectSound(w);
  });

  it('refuses a private mapping (-EACCES): only a shared writable one may punch', () => {
    const { w, mm } = setup();
    expect(do_madvise(w.s, w.k, mm, P, 4096, MADV_REMOVE)).toBe(-EACCES);
  });

  it("frees the tables it empties in another process's mm as the page-table design says", () => {
    const left = (pt: PtStrategy) => {
      const { w, inode } = setup(pt);
      const child = copy_process(w.s, w.k, w.init, false);
      const cmm = mmOfTask(w, child);
      read(w, child, S + 4096); // the child's only PTE in its 2 MiB
      shmem_punch_hole(w.s, w.k, inode, 0, 512);
      expectSound(w);
      return pteTable(w.s, cmm, S) !== 0;
    };
    expect(left('pt-reclaim')).toBe(true); // PT_RECLAIM acts on MADV_DONTNEED only
    expect(left('none')).toBe(true);
    expect(left('pte-refcount')).toBe(false); // the last put frees it
    expect(left('pt-rwsem')).toBe(false);
  });
});
