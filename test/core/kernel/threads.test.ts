import { describe, expect, it } from 'vitest';
import { checkInvariants } from '../../../src/core/invariants.js';
import { do_group_exit } from '../../../src/core/kernel/exit.js';
import { copy_process } from '../../../src/core/kernel/fork.js';
import { EXIT_ZOMBIE } from '../../../src/core/mm_types.js';
import { expectSound, mapAnon, mmOfTask, read, world, write } from '../helpers.js';

describe('threads (CLONE_VM)', () => {
  it('share the mm: a write by one is read by the other, with no COW', () => {
    const w = world();
    mapAnon(w, w.init, 0x10000000, 4096);
    const t = copy_process(w.s, w.k, w.init, true);
    expect(t.mm).toBe(w.init.mm);
    expect(mmOfTask(w, t).mm_users).toBe(2);
    write(w, t, 0x10000000, 42);
    expect(read(w, w.init, 0x10000000)).toMatchObject({ ok: true, value: 42, faults: 0 });
    expectSound(w);
  });

  it('exit_group takes every thread down and the mm goes with the last user', () => {
    const w = world();
    mapAnon(w, w.init, 0x10000000, 4096);
    write(w, w.init, 0x10000000, 1);
    const t = copy_process(w.s, w.k, w.init, true);
    do_group_exit(w.s, t, 3);
    expect(w.s.tasks[w.init.pid]).toMatchObject({ state: EXIT_ZOMBIE, exit_code: 3 });
    expect(w.s.mms.filter(Boolean)).toHaveLength(0);
    expect(checkInvariants(w.s)).toEqual([]);
  });
});
