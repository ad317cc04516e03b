import { describe, expect, it } from 'vitest';
import { EACCES } from '../../../src/core/errno.js';
import { copy_process } from '../../../src/core/kernel/fork.js';
import { do_madvise, MADV_DONTNEED, MADV_REMOVE } from '../../../src/core/mm/madvise.js';
import { pteTable } from '../../../src/core/mm/memory/pgtable.js';
import {
  do_mmap,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
} from '../../../src/core/mm/mmap.js';
import {
  memfd_create,
  shmem_punch_hole,
  shmem_punch_hole_resume,
} from '../../../src/core/mm/shmem.js';
import type { Policy, PtStrategy, UnmapMappingPending } from '../../../src/core/points.js';
import { sequentialKernel } from '../../../src/core/points.js';
import { v5_18 } from '../../../src/policy/eras/v5.18.js';
import { v6_18 } from '../../../src/policy/eras/v6.18.js';
import { expectSound, mmOfTask, read, world, write } from '../helpers.js';

const S = 0x7e0000200000; // a shared mapping of the memfd
const P = 0x7e0000600000; // a private mapping of the same memfd

function setup(ptStrategy: PtStrategy = 'pt-reclaim', policy: Policy = v6_18) {
  const w = world({ ptStrategy, policy });
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

describe("the hole punch's rmap walk in two steps (ADR 0013)", () => {
  /**
   * The parent punches the file while its child, which mapped page 1 in its
   * own table, frees its whole 2 MiB with MADV_DONTNEED between the walk's
   * PMD reads and its PTE locks.
   */
  const race = (
    pt: PtStrategy,
    between: 'dontneed' | 'fault' = 'dontneed',
    policy: Policy = v6_18,
  ) => {
    const { w, inode } = setup(pt, policy);
    write(w, w.init, S, 5);
    const child = copy_process(w.s, w.k, w.init, false);
    const cmm = mmOfTask(w, child);
    read(w, child, S + 4096);
    const table = pteTable(w.s, cmm, S);
    const k = sequentialKernel({ ...w.k.config, ptWalkSteps: true });
    shmem_punch_hole(w.s, k, inode, 0, 512, true);
    const p = k.pending as UnmapMappingPending | null;
    k.pending = null;
    if (between === 'dontneed') do_madvise(w.s, w.k, cmm, S, 2 << 20, MADV_DONTNEED);
    // A fault maps page 0 from the page cache meanwhile, in a table the walk did not read.
    else read(w, child, P);
    if (p) shmem_punch_hole_resume(w.s, k, p);
    return { w, inode, child, cmm, table, p, bugs: w.s.pt.bugs.map((b) => b.code) };
  };

  it('stops after reading the PMD entries of every mapping, holding what the design says', () => {
    const r = race('pt-reclaim');
    expect(r.p?.tables.map((x) => x.mm)).toHaveLength(2); // the parent's table and the child's
    expect(r.p?.rcu).toBe(true);
    expect(r.p?.tryget).toBe(false);
    expect(race('pte-refcount').p?.tryget).toBe(true);
    expect(race('pt-rwsem').p).toBeNull(); // its zap holds the rwsem for writing: one step
  });

  it('pt-reclaim: the child frees the table under RCU; the punch rechecks and goes on', () => {
    const r = race('pt-reclaim');
    expect(r.bugs).toEqual([]);
    expect(pteTable(r.w.s, r.cmm, S)).toBe(0);
    expect(r.w.s.pt.deferred).toEqual([]); // freed once the walk left RCU
    expect(r.w.s.inodes[r.inode]!.pages.filter((x) => x)).toEqual([]);
    expectSound(r.w);
  });

  it("pte-refcount: the child's zap leaves the emptied table to the punch's put, which frees it", () => {
    const r = race('pte-refcount');
    expect(r.bugs).toEqual([]);
    expect(pteTable(r.w.s, r.cmm, S)).toBe(0);
    expectSound(r.w);
  });

  it('without RCU or without the reference, the punch locks a freed table (PT001)', () => {
    expect(race('pt-reclaim-norcu').bugs).toEqual(['PT001']);
    expect(race('pte-refcount-notryget', 'dontneed', v5_18).bugs).toEqual(['PT001']);
    expect(race('pt-reclaim-norecheck').bugs).toEqual([]); // a zap of an empty, unlinked table
    // Since 6.5 the zap maps the table under RCU and rechecks: the reference is not needed.
    expect(race('pte-refcount-notryget').bugs).toEqual([]);
  });

  it('a page mapped after the PMD reads is unmapped by the truncation (unmap_mapping_folio())', () => {
    const r = race('none', 'fault');
    expect(r.p?.tables).toHaveLength(2); // the shared mappings' tables; the private one had none
    expect(r.bugs).toEqual([]);
    expect(r.w.s.inodes[r.inode]!.pages.filter((x) => x)).toEqual([]);
    expectSound(r.w);
    // The child's private mapping no longer maps the page the cache dropped: a hole reads 0.
    expect(read(r.w, r.child, P)).toMatchObject({ value: 0 });
  });
});

describe('shmem_falloc_wait(): faults wait for a punch in progress', () => {
  it('a fault of a punched page sleeps; a cached page is mapped by fault-around; the punch wakes them', () => {
    const { w, inode, mm } = setup('none');
    write(w, w.init, S, 5); // page 0 cached
    const k = sequentialKernel({ ...w.k.config, ptWalkSteps: true });
    shmem_punch_hole(w.s, k, inode, 0, 512, true);
    const p = k.pending as UnmapMappingPending;
    k.pending = null;
    expect(w.s.inodes[inode]!.falloc).toEqual({ start: 0, next: 512 });
    expect(write(w, w.init, S + 3 * 4096, 1)).toMatchObject({ ok: false, blocked: true });
    expect(read(w, w.init, P + 4096)).toMatchObject({ ok: false, blocked: true }); // not cached
    // Page 0 is still cached: do_read_fault()'s fault-around maps it before shmem_fault().
    do_madvise(w.s, w.k, mm, P, 4096, MADV_DONTNEED);
    expect(read(w, w.init, P)).toMatchObject({ ok: true, value: 5 });
    shmem_punch_hole_resume(w.s, k, p);
    expect(w.s.inodes[inode]!.falloc).toBeNull();
    expect(write(w, w.init, S + 3 * 4096, 1)).toMatchObject({ ok: true });
    expect(read(w, w.init, P)).toMatchObject({ value: 0 }); // the truncation unmapped it
    expectSound(w);
  });
});
