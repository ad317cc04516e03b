import { describe, expect, it } from 'vitest';
import { do_madvise, MADV_DONTNEED } from '../../../../src/core/mm/madvise.js';
import { vm_munmap } from '../../../../src/core/mm/mmap.js';
import { expectSound, mapAnon, mmOfTask, world, write } from '../../helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;

describe('page-table accounting (VmPTE)', () => {
  it('1 GiB touched densely costs 512 PTE tables + 1 PMD + 1 PUD table', () => {
    const w = world();
    const base = 1 * GiB;
    mapAnon(w, w.init, base, GiB);
    for (let a = base; a < base + GiB; a += 4096) write(w, w.init, a, 1);
    expect(mmOfTask(w, w.init).pgtables_bytes / KiB).toBe(2048 + 4 + 4);
    expectSound(w);
  });

  it('sparse touches over a 1 TiB reservation, then MADV_DONTNEED (PT_RECLAIM), then munmap', () => {
    const w = world();
    const base = 16 * TiB; // 512 GiB aligned: one PUD table covers the touched 64 GiB
    mapAnon(w, w.init, base, TiB);
    const mm = mmOfTask(w, w.init);
    for (let a = base; a < base + 64 * GiB; a += 2 * MiB) write(w, w.init, a, 1);
    expect(mm.pgtables_bytes / KiB).toBe(32768 * 4 + 64 * 4 + 4);
    expect(do_madvise(w.s, w.k, mm, base, 64 * GiB, MADV_DONTNEED)).toBe(0);
    expect(mm.pgtables_bytes / KiB).toBe(64 * 4 + 4);
    expectSound(w);
    expect(vm_munmap(w.s, mm, base, TiB)).toBe(0);
    expect(mm.pgtables_bytes).toBe(0);
    expectSound(w);
  });

  it('without PT_RECLAIM, MADV_DONTNEED leaves the empty PTE tables', () => {
    const w = world({ ptStrategy: 'none' });
    const base = 16 * TiB;
    mapAnon(w, w.init, base, 8 * MiB);
    const mm = mmOfTask(w, w.init);
    for (let a = base; a < base + 8 * MiB; a += 2 * MiB) write(w, w.init, a, 1);
    do_madvise(w.s, w.k, mm, base, 8 * MiB, MADV_DONTNEED);
    expect(mm.pgtables_bytes / KiB).toBe(4 * 4 + 4 + 4);
    expectSound(w);
  });

  it('a partial-table MADV_DONTNEED never frees the table', () => {
    const w = world();
    const base = 16 * TiB;
    mapAnon(w, w.init, base, 2 * MiB);
    const mm = mmOfTask(w, w.init);
    write(w, w.init, base, 1);
    do_madvise(w.s, w.k, mm, base, 2 * MiB - 4096, MADV_DONTNEED);
    expect(mm.pgtables_bytes / KiB).toBe(12);
    expectSound(w);
  });

  it('munmap keeps tables still needed by a neighbouring VMA (free_pgtables floor/ceiling)', () => {
    const w = world();
    const base = 16 * TiB;
    mapAnon(w, w.init, base, 8192);
    const mm = mmOfTask(w, w.init);
    write(w, w.init, base, 1);
    write(w, w.init, base + 4096, 1);
    // Make the two pages separate VMAs by protecting one differently.
    vm_munmap(w.s, mm, base + 4096, 4096);
    expect(mm.pgtables_bytes / KiB).toBe(12);
    vm_munmap(w.s, mm, base, 4096);
    expect(mm.pgtables_bytes).toBe(0);
    expectSound(w);
  });
});
