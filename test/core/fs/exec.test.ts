import { describe, expect, it } from 'vitest';
import { do_execve } from '../../../src/core/fs/exec.js';
import { copy_process } from '../../../src/core/kernel/fork.js';
import { PR_SET_MEMORY_MERGE, prctl } from '../../../src/core/kernel/sys.js';
import { EXIT_ZOMBIE, MMF_VM_MERGE_ANY, TASK_RUNNING } from '../../../src/core/mm_types.js';
import { eraWorld, expectSound, mapAnon, mmOfTask, read, write } from '../helpers.js';

const A = 0x10000000;

describe('execve() (fs/exec.c)', () => {
  it('drops the old address space, kills the other threads, and keeps MMF_VM_MERGE_ANY', () => {
    const w = eraWorld('v6.18');
    mapAnon(w, w.init, A, 4096);
    write(w, w.init, A, 5);
    const old = mmOfTask(w, w.init);
    expect(prctl(w.s, w.k, old, PR_SET_MEMORY_MERGE, 1)).toBe(0);
    const thread = copy_process(w.s, w.k, w.init, true);
    const dropped = do_execve(w.s, w.init);
    expect(dropped).toBe(old.id);
    expect(w.s.mms[old.id]).toBeNull();
    expect(thread.state).toBe(EXIT_ZOMBIE);
    expect(w.init.state).toBe(TASK_RUNNING);
    const mm = mmOfTask(w, w.init);
    expect(mm.vmas).toEqual([]);
    expect(mm.flags & MMF_VM_MERGE_ANY).toBe(MMF_VM_MERGE_ANY);
    expect(read(w, w.init, A)).toMatchObject({ ok: false });
    expectSound(w);
  });

  it('a fork child that execs leaves the parent its pages', () => {
    const w = eraWorld('v6.18');
    mapAnon(w, w.init, A, 4096);
    write(w, w.init, A, 5);
    const child = copy_process(w.s, w.k, w.init, false);
    do_execve(w.s, child);
    expect(read(w, w.init, A)).toMatchObject({ ok: true, value: 5 });
    expect(write(w, w.init, A, 6)).toMatchObject({ ok: true, faults: 1 });
    expectSound(w);
  });
});
