import { describe, expect, it } from 'vitest';
import { checkInvariants } from '../../../src/core/invariants.js';
import { do_group_exit } from '../../../src/core/kernel/exit.js';
import { copy_process } from '../../../src/core/kernel/fork.js';
import { do_madvise, MADV_DONTFORK } from '../../../src/core/mm/madvise.js';
import { do_mprotect_pkey } from '../../../src/core/mm/mprotect.js';
import { PG_anon_exclusive } from '../../../src/core/page-flags.js';
import { PGREUSE } from '../../../src/core/vmstat.js';
import { expectSound, mapAnon, mmOfTask, read, world, write } from '../helpers.js';

const A = 0x10000000;

describe('fork and COW (v6.18)', () => {
  it('shares the page read-only, clears PG_anon_exclusive, and the writer copies', () => {
    const w = world();
    mapAnon(w, w.init, A, 4096);
    const p0 = write(w, w.init, A, 1);
    if (!p0.ok) throw new Error('write failed');
    const child = copy_process(w.s, w.k, w.init, false);
    expect(w.s.mem.refcount[p0.pfn]).toBe(2);
    expect(w.s.mem.mapcount[p0.pfn]).toBe(2);
    expect(w.s.mem.flags[p0.pfn]! & PG_anon_exclusive).toBe(0);
    expect(w.log.at(-1)).toMatchObject({ point: 'copy_present_pte', choice: 'share' });
    expectSound(w);

    const p1 = write(w, w.init, A, 2);
    expect(p1).toMatchObject({ ok: true, faults: 1 });
    expect(w.log.at(-1)).toMatchObject({ point: 'do_wp_page', choice: 'copy' });
    expect(read(w, child, A)).toMatchObject({ ok: true, value: 1, pfn: p0.pfn });
    expectSound(w);

    // The child is now the only mapper: its write reuses the page and marks it exclusive.
    const c1 = write(w, child, A, 3);
    expect(c1).toMatchObject({ ok: true, pfn: p0.pfn, faults: 1 });
    expect(w.log.at(-1)).toMatchObject({ point: 'do_wp_page', choice: 'reuse' });
    expect(w.s.vmstat[PGREUSE]).toBe(1);
    expect(w.s.mem.flags[p0.pfn]! & PG_anon_exclusive).toBe(PG_anon_exclusive);
    expectSound(w);
  });

  it('reuses after the child exits (refcount back to 1)', () => {
    const w = world();
    mapAnon(w, w.init, A, 4096);
    const p0 = write(w, w.init, A, 1);
    const child = copy_process(w.s, w.k, w.init, false);
    do_group_exit(w.s, child, 0);
    const p1 = write(w, w.init, A, 2);
    expect(p1.ok && p0.ok && p1.pfn === p0.pfn).toBe(true);
    expect(w.log.at(-1)).toMatchObject({ point: 'do_wp_page', choice: 'reuse' });
    expectSound(w);
  });

  it('does not copy a VMA marked MADV_DONTFORK', () => {
    const w = world();
    mapAnon(w, w.init, A, 4096);
    write(w, w.init, A, 1);
    expect(do_madvise(w.s, w.k, mmOfTask(w, w.init), A, 4096, MADV_DONTFORK)).toBe(0);
    const child = copy_process(w.s, w.k, w.init, false);
    expect(mmOfTask(w, child).vmas).toHaveLength(0);
    expect(read(w, child, A)).toEqual({ ok: false, signal: 11 });
    expect(mmOfTask(w, child).pgtables_bytes).toBe(0);
    expectSound(w);
  });

  it('mprotect(RW) maps an exclusive page writable but leaves a shared one read-only', () => {
    const w = world();
    mapAnon(w, w.init, A, 2 * 4096);
    write(w, w.init, A, 1);
    write(w, w.init, A + 4096, 1);
    const child = copy_process(w.s, w.k, w.init, false);
    do_group_exit(w.s, child, 0); // page refcounts back to 1, but PG_anon_exclusive stays clear
    write(w, w.init, A + 4096, 2); // reuse: exclusive again
    const mm = mmOfTask(w, w.init);
    expect(do_mprotect_pkey(w.s, w.k, mm, A, 2 * 4096, 1)).toBe(0);
    expect(do_mprotect_pkey(w.s, w.k, mm, A, 2 * 4096, 3)).toBe(0);
    expect(write(w, w.init, A + 4096, 3)).toMatchObject({ ok: true, faults: 0 });
    expect(write(w, w.init, A, 3)).toMatchObject({ ok: true, faults: 1 });
    expect(mm.vmas).toHaveLength(1);
    expectSound(w);
  });

  it('frees every page and table when all processes exit', () => {
    const w = world();
    mapAnon(w, w.init, A, 8 * 4096);
    for (let i = 0; i < 8; i++) write(w, w.init, A + i * 4096, i + 1);
    const child = copy_process(w.s, w.k, w.init, false);
    write(w, child, A, 9);
    do_group_exit(w.s, w.init, 0);
    do_group_exit(w.s, child, 0);
    expect(checkInvariants(w.s)).toEqual([]);
    expect(w.s.mms.filter(Boolean)).toHaveLength(0);
  });
});
