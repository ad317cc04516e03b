import { describe, expect, it } from 'vitest';
import { pagemapEntry } from '../../../src/core/fs/proc/task_mmu.js';
import {
  userfaultfd,
  userfaultfd_register,
  userfaultfd_writeprotect,
} from '../../../src/core/fs/userfaultfd.js';
import { copy_process } from '../../../src/core/kernel/fork.js';
import { VM_UFFD_WP } from '../../../src/core/mm_types.js';
import type { EraId } from '../../../src/core/points.js';
import { eraWorld, expectSound, mapAnon, mmOfTask, read, write } from '../helpers.js';

const A = 0x10000000;

function protectedPage(era: EraId, eventFork = false) {
  const w = eraWorld(era);
  mapAnon(w, w.init, A, 4096);
  write(w, w.init, A, 1);
  const mm = mmOfTask(w, w.init);
  const ctx = userfaultfd(w.s, mm, eventFork);
  expect(userfaultfd_register(w.s, ctx, mm, A, A + 4096)).toBe(0);
  expect(userfaultfd_writeprotect(w.s, w.k, mm, A, A + 4096, true)).toBe(0);
  return { w, mm, ctx };
}

describe('userfaultfd write-protect (fs/userfaultfd.c, mm/userfaultfd.c)', () => {
  it('UFFDIO_WRITEPROTECT sets pagemap bit 57 and write-protects; a write sleeps for the handler', () => {
    const { w, mm, ctx } = protectedPage('v6.18');
    expect(pagemapEntry(w.s, mm, A)).toMatchObject({ uffd_wp: true, writable: false });
    const r = write(w, w.init, A, 2);
    expect(r).toMatchObject({ ok: false, blocked: true });
    expect(w.k.userfault).toEqual({ ctx, address: A });
    expect(read(w, w.init, A)).toMatchObject({ ok: true, value: 1 });
    expectSound(w);
  });

  it('clearing the bit lets the write through: in place from v6.0 without a fault, by a reuse fault before', () => {
    for (const [era, faults] of [
      ['v5.18', 1],
      ['v6.18', 0],
    ] as const) {
      const { w, mm } = protectedPage(era);
      const pfn = pagemapEntry(w.s, mm, A).pfn;
      expect(userfaultfd_writeprotect(w.s, w.k, mm, A, A + 4096, false)).toBe(0);
      expect(pagemapEntry(w.s, mm, A).uffd_wp, era).toBe(false);
      expect(write(w, w.init, A, 2), era).toMatchObject({ ok: true, faults, pfn });
      expectSound(w);
    }
  });

  it('an unregistered range cannot be write-protected (-ENOENT)', () => {
    const w = eraWorld('v6.18');
    mapAnon(w, w.init, A, 4096);
    const mm = mmOfTask(w, w.init);
    expect(userfaultfd_writeprotect(w.s, w.k, mm, A, A + 4096, true)).toBe(-2);
  });

  it('fork: the child keeps registration and bit only with UFFD_FEATURE_EVENT_FORK', () => {
    for (const eventFork of [false, true]) {
      const { w } = protectedPage('v6.18', eventFork);
      const child = copy_process(w.s, w.k, w.init, false);
      const cmm = mmOfTask(w, child);
      expect(pagemapEntry(w.s, cmm, A).uffd_wp).toBe(eventFork);
      expect((cmm.vmas[0]!.vm_flags & VM_UFFD_WP) !== 0).toBe(eventFork);
      // The child's write faults only where it is still registered.
      expect(write(w, child, A, 3).ok).toBe(!eventFork);
      expectSound(w);
    }
  });

  it('UFFD_FEATURE_WP_UNPOPULATED: a marker on a none PTE; a write there allocates, keeps the bit and waits for the handler', () => {
    const w = eraWorld('v6.18');
    mapAnon(w, w.init, A, 2 * 4096);
    const mm = mmOfTask(w, w.init);
    const ctx = userfaultfd(w.s, mm, false, true);
    expect(userfaultfd_register(w.s, ctx, mm, A, A + 2 * 4096)).toBe(0);
    expect(userfaultfd_writeprotect(w.s, w.k, mm, A, A + 2 * 4096, true)).toBe(0);
    expect(pagemapEntry(w.s, mm, A)).toMatchObject({
      present: false,
      swapped: true,
      uffd_wp: true,
    });
    expect(write(w, w.init, A, 7)).toMatchObject({ ok: false, blocked: true });
    expect(w.k.userfault).toEqual({ ctx, address: A });
    expect(pagemapEntry(w.s, mm, A)).toMatchObject({
      present: true,
      uffd_wp: true,
      writable: false,
    });
    w.k.userfault = null;
    // Fork without EVENT_FORK drops the child's marker; with it (below) the child keeps it.
    const child = copy_process(w.s, w.k, w.init, false);
    expect(pagemapEntry(w.s, mmOfTask(w, child), A + 4096).uffd_wp).toBe(false);
    expect(userfaultfd_writeprotect(w.s, w.k, mm, A, A + 2 * 4096, false)).toBe(0);
    expect(pagemapEntry(w.s, mm, A + 4096)).toMatchObject({
      present: false,
      swapped: false,
      uffd_wp: false,
    });
    expect(write(w, w.init, A, 8)).toMatchObject({ ok: true });
    expectSound(w);
  });

  it('without the feature (or before v6.4) protecting a none PTE leaves nothing behind', () => {
    const w = eraWorld('v6.18');
    mapAnon(w, w.init, A, 4096);
    const mm = mmOfTask(w, w.init);
    const ctx = userfaultfd(w.s, mm, true, false);
    expect(userfaultfd_register(w.s, ctx, mm, A, A + 4096)).toBe(0);
    expect(userfaultfd_writeprotect(w.s, w.k, mm, A, A + 4096, true)).toBe(0);
    expect(pagemapEntry(w.s, mm, A).uffd_wp).toBe(false);
    expect(write(w, w.init, A, 3)).toMatchObject({ ok: true, faults: 1 });
    expectSound(w);
  });

  it('a marker survives fork into a child that keeps the registration (EVENT_FORK)', () => {
    const w = eraWorld('v6.18');
    mapAnon(w, w.init, A, 4096);
    const mm = mmOfTask(w, w.init);
    const ctx = userfaultfd(w.s, mm, true, true);
    expect(userfaultfd_register(w.s, ctx, mm, A, A + 4096)).toBe(0);
    expect(userfaultfd_writeprotect(w.s, w.k, mm, A, A + 4096, true)).toBe(0);
    const child = copy_process(w.s, w.k, w.init, false);
    const cmm = mmOfTask(w, child);
    expect(pagemapEntry(w.s, cmm, A).uffd_wp).toBe(true);
    expect(read(w, child, A)).toMatchObject({ ok: true, value: 0 });
    expect(pagemapEntry(w.s, cmm, A)).toMatchObject({ zeropage: true, uffd_wp: true });
    expectSound(w);
  });
});
