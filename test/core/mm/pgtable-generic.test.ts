import { describe, expect, it } from 'vitest';
import { do_madvise, MADV_DONTNEED } from '../../../src/core/mm/madvise.js';
import { pmdSlot, pteTable } from '../../../src/core/mm/memory/pgtable.js';
import {
  pte_offset_map_begin,
  pte_offset_map_end,
  pte_offset_map_lock_resume,
} from '../../../src/core/mm/pgtable-generic.js';
import type { Policy, PtStrategy } from '../../../src/core/points.js';
import { v5_18 } from '../../../src/policy/eras/v5.18.js';
import { v6_18 } from '../../../src/policy/eras/v6.18.js';
import { ARENA, ARENA_LEN, expectSound, ptArena } from '../helpers.js';

const A = ARENA;
const MB2 = ARENA_LEN;

describe('pte_offset_map_lock() in two steps, per strategy', () => {
  const race = (pt: PtStrategy, policy: Policy = v6_18) => {
    const { w, mm, table } = ptArena(pt, policy);
    const at = pmdSlot(w.s, mm, A)!;
    const p = pte_offset_map_begin(w.s, w.k, mm, A + 4096, true, at.table, at.index, table);
    do_madvise(w.s, w.k, mm, A, MB2, MADV_DONTNEED);
    const got = pte_offset_map_lock_resume(w.s, w.k, p);
    const linked = pteTable(w.s, mm, A); // under the PTE lock, before the walk ends
    pte_offset_map_end(w.s, mm, p);
    return { got, table, linked, bugs: w.s.pt.bugs.map((b) => b.code), w, mm };
  };

  it('pt-reclaim: the PMD recheck sees the table gone and the walk starts over', () => {
    const r = race('pt-reclaim');
    expect(r.got).toBe(0);
    expect(r.bugs).toEqual([]);
    expect(r.w.s.pt.deferred).toEqual([]); // freed once the walker left RCU
  });

  it('pt-reclaim-norecheck: the walk goes on into the unlinked table', () => {
    const r = race('pt-reclaim-norecheck');
    expect(r.got).toBe(r.table);
    expect(pteTable(r.w.s, r.mm, A)).toBe(0);
  });

  it('pte-refcount: the pte_tryget() reference keeps the table; its pte_put() frees it', () => {
    const r = race('pte-refcount');
    expect(r.got).toBe(r.table);
    expect(r.linked).toBe(r.table); // the zap left the emptied table to the walker
    // The walker mapped nothing here: its put was the last and freed the table.
    expect(pteTable(r.w.s, r.mm, A)).toBe(0);
    expect(r.bugs).toEqual([]);
    expectSound(r.w);
  });

  it('pte-refcount-notryget and pt-reclaim-norcu: the lock is taken in a freed table (PT001)', () => {
    expect(race('pte-refcount-notryget', v5_18).bugs).toEqual(['PT001']);
    expect(race('pt-reclaim-norcu').bugs).toEqual(['PT001']);
  });

  it('since 6.5 every walker maps under RCU and rechecks: pte-refcount-notryget retries', () => {
    const r = race('pte-refcount-notryget');
    expect(r.bugs).toEqual([]);
    expect(r.got).toBe(0); // the PMD entry changed: the walk starts over
    expect(r.w.s.pt.deferred).toEqual([]); // the zap's free waited for the walker's RCU
  });
});
