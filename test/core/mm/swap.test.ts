import { describe, expect, it } from 'vitest';
import { checkInvariants } from '../../../src/core/invariants.js';
import { do_group_exit } from '../../../src/core/kernel/exit.js';
import { copy_process } from '../../../src/core/kernel/fork.js';
import { lru_add_drain_cpu, lruBatchRefs } from '../../../src/core/mm/swap.js';
import { PG_buddy, PG_lru } from '../../../src/core/page-flags.js';
import { expectSound, mapAnon, world, write } from '../helpers.js';

const A = 0x10000000;

describe('per-CPU LRU add batches', () => {
  it('hold a reference on a fresh folio until drained', () => {
    const w = world({ lruBatching: true });
    mapAnon(w, w.init, A, 4096);
    const r = write(w, w.init, A, 1);
    if (!r.ok) throw new Error('write');
    expect(w.s.mem.refcount[r.pfn]).toBe(2);
    expect(w.s.mem.flags[r.pfn]! & PG_lru).toBe(0);
    expect(lruBatchRefs(w.s, r.pfn)).toBe(1);
    expectSound(w);
    lru_add_drain_cpu(w.s, 0);
    expect(w.s.mem.refcount[r.pfn]).toBe(1);
    expect(w.s.mem.flags[r.pfn]! & PG_lru).toBe(PG_lru);
    expectSound(w);
  });

  it('v6.18: after the child exits, a write on the same CPU drains and reuses; from another CPU it copies', () => {
    for (const [cpu, expected] of [
      [0, 'reuse'],
      [1, 'copy'],
    ] as const) {
      const w = world({ lruBatching: true });
      mapAnon(w, w.init, A, 4096);
      write(w, w.init, A, 1); // the fresh folio sits in CPU 0's batch
      const child = copy_process(w.s, w.k, w.init, false);
      do_group_exit(w.s, child, 0);
      w.k.cpu = cpu;
      write(w, w.init, A, 2);
      expect(w.log.at(-1)).toMatchObject({ point: 'do_wp_page', choice: expected });
      expectSound(w);
    }
  });

  it('a folio freed by its mapper while batched is freed by the drain', () => {
    const w = world({ lruBatching: true });
    mapAnon(w, w.init, A, 4096);
    write(w, w.init, A, 1);
    const folio = w.s.lru_batch[0]![0]!;
    do_group_exit(w.s, w.init, 0);
    // Everything exited, but the batch still holds the folio: no leak (MM006) yet.
    expect(w.s.mem.refcount[folio]).toBe(1);
    expect(w.s.mem.flags[folio]! & PG_buddy).toBe(0);
    expect(checkInvariants(w.s)).toEqual([]);
    lru_add_drain_cpu(w.s, 0);
    expect(w.s.mem.flags[folio]! & PG_buddy).not.toBe(0);
    expect(checkInvariants(w.s)).toEqual([]);
  });
});
