import { describe, expect, it } from 'vitest';
import { do_pipe2, pipe_close, pipe_read, pipe_write } from '../../../src/core/fs/pipe.js';
import { checkInvariants } from '../../../src/core/invariants.js';
import { do_group_exit } from '../../../src/core/kernel/exit.js';
import { copy_process } from '../../../src/core/kernel/fork.js';
import { expectSound, world } from '../helpers.js';

describe('pipes', () => {
  it('carry values in pages of their own, in order, and are inherited at fork', () => {
    const w = world();
    const p = do_pipe2(w.s, w.init);
    expect(pipe_write(w.s, w.init, p, 11)).toBe(0);
    expect(pipe_write(w.s, w.init, p, 12)).toBe(0);
    expectSound(w);
    const child = copy_process(w.s, w.k, w.init, false);
    expect(w.s.pipes[p]).toMatchObject({ readers: 2, writers: 2 });
    expect(pipe_read(w.s, child, p)).toBe(11);
    expect(pipe_read(w.s, w.init, p)).toBe(12);
    expect(pipe_read(w.s, w.init, p)).toBe(-11);
    expectSound(w);
  });

  it('free their buffers when the last end closes, and refuse writes without readers', () => {
    const w = world();
    const p = do_pipe2(w.s, w.init);
    pipe_write(w.s, w.init, p, 1);
    pipe_close(w.s, w.init, 2 * p);
    expect(pipe_write(w.s, w.init, p, 2)).toBe(-32);
    do_group_exit(w.s, w.init, 0);
    expect(w.s.pipes[p]).toBeNull();
    expect(checkInvariants(w.s)).toEqual([]);
  });
});
