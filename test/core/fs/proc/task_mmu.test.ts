import { describe, expect, it } from 'vitest';
import { pagemapEntry, task_mem } from '../../../../src/core/fs/proc/task_mmu.js';
import { copy_process } from '../../../../src/core/kernel/fork.js';
import { ZERO_PFN } from '../../../../src/core/mm_types.js';
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
    expect(task_mem(mmOfTask(w, w.init))).toEqual({
      VmPTE: 12,
      RssAnon: 4,
      RssShmem: 0,
      VmSwap: 0,
    });
  });
});
