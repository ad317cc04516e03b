import { describe, expect, it } from 'vitest';
import {
  CLEAR_REFS_SOFT_DIRTY,
  clear_refs_write,
  pagemapEntry,
  task_mem,
} from '../../../../src/core/fs/proc/task_mmu.js';
import { copy_process } from '../../../../src/core/kernel/fork.js';
import {
  FOLL_LONGTERM,
  FOLL_PIN,
  FOLL_WRITE,
  get_user_pages_fast,
} from '../../../../src/core/mm/gup.js';
import { vma_soft_dirty_enabled, ZERO_PFN } from '../../../../src/core/mm_types.js';
import { mapAnon, mmOfTask, read, world, write } from '../../helpers.js';

const A = 0x10000000;

describe('/proc/PID/pagemap and status', () => {
  it('reports present, PFN, zero page and PM_MMAP_EXCLUSIVE (mapcount, not PG_anon_exclusive)', () => {
    const w = world();
    mapAnon(w, w.init, A, 2 * 4096);
    read(w, w.init, A);
    write(w, w.init, A + 4096, 1);
    const mm = mmOfTask(w, w.init);
    expect(pagemapEntry(w.s, mm, A)).toMatchObject({
      present: true,
      pfn: ZERO_PFN,
      zeropage: true,
      exclusive: false,
    });
    expect(pagemapEntry(w.s, mm, A + 4096)).toMatchObject({
      present: true,
      zeropage: false,
      exclusive: true,
      writable: true,
      dirty: true,
    });
    const child = copy_process(w.s, w.k, w.init, false);
    expect(pagemapEntry(w.s, mm, A + 4096)).toMatchObject({ exclusive: false, writable: false });
    expect(pagemapEntry(w.s, mmOfTask(w, child), A + 4096).pfn).toBe(
      pagemapEntry(w.s, mm, A + 4096).pfn,
    );
    expect(pagemapEntry(w.s, mm, A + 8192)).toMatchObject({ present: false, pfn: 0 });
  });

  it('VmPTE counts PUD, PMD and PTE tables in kB; RssAnon counts anonymous pages', () => {
    const w = world();
    mapAnon(w, w.init, A, 4096);
    write(w, w.init, A, 1);
    expect(task_mem(w.s, mmOfTask(w, w.init))).toEqual({
      VmPTE: 12,
      RssAnon: 4,
      RssShmem: 0,
      VmSwap: 0,
      ksm_merging_pages: 0,
      ksm_zero_pages: 0,
      AnonHugePages: 0,
    });
  });
});

describe('clear_refs 4 (soft-dirty)', () => {
  it('write-protects, clears soft-dirty, and turns tracking on (VM_SOFTDIRTY cleared)', () => {
    const w = world();
    mapAnon(w, w.init, A, 4096);
    write(w, w.init, A, 1);
    const mm = mmOfTask(w, w.init);
    expect(pagemapEntry(w.s, mm, A)).toMatchObject({ soft_dirty: true, writable: true });
    expect(clear_refs_write(w.s, w.k, mm, CLEAR_REFS_SOFT_DIRTY)).toBe(0);
    expect(pagemapEntry(w.s, mm, A)).toMatchObject({ soft_dirty: false, writable: false });
    expect(vma_soft_dirty_enabled(mm.vmas[0]!)).toBe(true);
    // The next write faults, reuses the exclusive page and marks it soft-dirty again.
    expect(write(w, w.init, A, 2)).toMatchObject({ ok: true, faults: 1 });
    expect(pagemapEntry(w.s, mm, A)).toMatchObject({ soft_dirty: true, writable: true });
    expect(clear_refs_write(w.s, w.k, mm, 9)).toBe(-22);
  });

  it('since v5.11 spares a writable PTE whose page may be pinned', () => {
    const w = world();
    mapAnon(w, w.init, A, 4096);
    write(w, w.init, A, 1);
    const mm = mmOfTask(w, w.init);
    expect(
      get_user_pages_fast(w.s, w.k, mm, A, 1, FOLL_PIN | FOLL_WRITE | FOLL_LONGTERM),
    ).toHaveLength(1);
    clear_refs_write(w.s, w.k, mm, CLEAR_REFS_SOFT_DIRTY);
    expect(pagemapEntry(w.s, mm, A)).toMatchObject({ writable: true });
  });
});
