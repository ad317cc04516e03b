import { describe, expect, it } from 'vitest';
import {
  do_madvise,
  MADV_DOFORK,
  MADV_DONTFORK,
  MADV_DONTNEED,
} from '../../../src/core/mm/madvise.js';
import {
  do_mmap,
  get_unmapped_area,
  MAP_ANONYMOUS,
  MAP_FIXED_NOREPLACE,
  MAP_PRIVATE,
  MMAP_BASE,
  vm_munmap,
} from '../../../src/core/mm/mmap.js';
import { do_mprotect_pkey } from '../../../src/core/mm/mprotect.js';
import { taskW, VM_DONTCOPY, VM_WRITE } from '../../../src/core/mm_types.js';
import { eraInfo } from '../../../src/policy/registry.js';
import { expectSound, mapAnon, mmOfTask, world, write } from '../helpers.js';

const A = 0x10000000;
const P = 4096;

describe('VMAs: mmap placement, split, merge', () => {
  it('places mappings top-down below mmap_base, PMD-aligned for multiples of 2 MiB', () => {
    const w = world();
    const mm = mmOfTask(w, w.init);
    expect(get_unmapped_area(mm, P)).toBe(MMAP_BASE - P);
    const a = do_mmap(w.s, w.k, mm, 0, P, 3, MAP_PRIVATE | MAP_ANONYMOUS);
    const b = do_mmap(w.s, w.k, mm, 0, 2 * 1024 * 1024, 3, MAP_PRIVATE | MAP_ANONYMOUS);
    expect(a).toBe(MMAP_BASE - P);
    expect(b).toBe(MMAP_BASE - 2 * 2 * 1024 * 1024);
    expect(b % (2 * 1024 * 1024)).toBe(0);
  });

  it('refuses an occupied address with MAP_FIXED_NOREPLACE (-EEXIST) and bad lengths (-EINVAL)', () => {
    const w = world();
    const mm = mmOfTask(w, w.init);
    mapAnon(w, w.init, A, 4 * P);
    expect(
      do_mmap(w.s, w.k, mm, A + P, P, 3, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE),
    ).toBe(-17);
    expect(
      do_mmap(w.s, w.k, mm, A, 100, 3, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE),
    ).toBe(-22);
  });

  it('mprotect splits a VMA and merges it back; unmapped ranges give -ENOMEM', () => {
    const w = world();
    const mm = mmOfTask(w, w.init);
    mapAnon(w, w.init, A, 4 * P);
    expect(do_mprotect_pkey(w.s, w.k, mm, A + P, P, 1)).toBe(0);
    expect(
      mm.vmas.map((v) => [v.vm_start - A, v.vm_end - A, (v.vm_flags & VM_WRITE) !== 0]),
    ).toEqual([
      [0, P, true],
      [P, 2 * P, false],
      [2 * P, 4 * P, true],
    ]);
    expect(do_mprotect_pkey(w.s, w.k, mm, A + P, P, 3)).toBe(0);
    expect(mm.vmas).toHaveLength(1);
    expect(do_mprotect_pkey(w.s, w.k, mm, A + 3 * P, 2 * P, 1)).toBe(-12);
    expectSound(w);
  });

  it('mprotect to PROT_NONE makes the PTE inaccessible, and a later PROT_READ|WRITE restores access', () => {
    const w = world();
    const mm = mmOfTask(w, w.init);
    mapAnon(w, w.init, A, P);
    write(w, w.init, A, 4);
    expect(do_mprotect_pkey(w.s, w.k, mm, A, P, 0)).toBe(0);
    expect(write(w, w.init, A, 5)).toEqual({ ok: false, signal: 11 });
    taskW(w.s, w.init.pid).state = 0; // the test keeps using the task after its simulated SIGSEGV
    expect(do_mprotect_pkey(w.s, w.k, mm, A, P, 3)).toBe(0);
    expect(write(w, w.init, A, 5)).toMatchObject({ ok: true, faults: 0 });
    expectSound(w);
  });

  it('mprotect() to the protection a mapping already has changes nothing (mprotect_fixup)', () => {
    for (const era of ['v5.9', 'v6.18'] as const) {
      const w = world({ policy: eraInfo(era)!.policy! });
      const mm = mmOfTask(w, w.init);
      mapAnon(w, w.init, A, P);
      write(w, w.init, A, 4);
      expect(do_mprotect_pkey(w.s, w.k, mm, A, P, 3)).toBe(0);
      // The PTE stays writable: the next write needs no fault (found by the
      // pin-coherence property: a spurious write-protect made v5.9 copy a pinned page).
      expect(write(w, w.init, A, 5)).toMatchObject({ ok: true, faults: 0 });
      expectSound(w);
    }
  });

  it('MADV_DONTFORK/DOFORK toggle VM_DONTCOPY on exactly the range', () => {
    const w = world();
    const mm = mmOfTask(w, w.init);
    mapAnon(w, w.init, A, 4 * P);
    expect(do_madvise(w.s, w.k, mm, A + P, 2 * P, MADV_DONTFORK)).toBe(0);
    expect(mm.vmas.map((v) => (v.vm_flags & VM_DONTCOPY) !== 0)).toEqual([false, true, false]);
    expect(do_madvise(w.s, w.k, mm, A + P, 2 * P, MADV_DOFORK)).toBe(0);
    expect(mm.vmas).toHaveLength(1);
    expect(do_madvise(w.s, w.k, mm, A, 8 * P, MADV_DONTNEED)).toBe(-12);
    expect(do_madvise(w.s, w.k, mm, A + 1, P, MADV_DONTNEED)).toBe(-22);
  });

  it('munmap in the middle splits, zaps and keeps the neighbours', () => {
    const w = world();
    const mm = mmOfTask(w, w.init);
    mapAnon(w, w.init, A, 4 * P);
    for (let i = 0; i < 4; i++) write(w, w.init, A + i * P, i + 1);
    expect(vm_munmap(w.s, mm, A + P, 2 * P)).toBe(0);
    expect(mm.vmas.map((v) => [v.vm_start - A, v.vm_end - A])).toEqual([
      [0, P],
      [3 * P, 4 * P],
    ]);
    expect(mm.rss[1]).toBe(2);
    expectSound(w);
  });
});
