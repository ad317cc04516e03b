import { describe, expect, it } from 'vitest';
import { MM_ANONPAGES, ZERO_PFN } from '../../../../src/core/mm_types.js';
import { PG_anon, PG_anon_exclusive } from '../../../../src/core/page-flags.js';
import { PGFAULT } from '../../../../src/core/vmstat.js';
import { expectSound, mapAnon, mmOfTask, read, world, write } from '../../helpers.js';

const A = 0x10000000;

describe('do_anonymous_page', () => {
  it('maps the shared zero page on a read fault, without RSS', () => {
    const w = world();
    mapAnon(w, w.init, A, 4096);
    const r = read(w, w.init, A);
    expect(r).toMatchObject({ ok: true, value: 0, pfn: ZERO_PFN, faults: 1 });
    expect(mmOfTask(w, w.init).rss[MM_ANONPAGES]).toBe(0);
    expect(w.s.vmstat[PGFAULT]).toBe(1);
    expectSound(w);
  });

  it('maps a new exclusive anonymous page on a write fault', () => {
    const w = world();
    mapAnon(w, w.init, A, 4096);
    const r = write(w, w.init, A, 7);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.pfn).not.toBe(ZERO_PFN);
    expect(w.s.mem.flags[r.pfn]! & (PG_anon | PG_anon_exclusive)).toBe(PG_anon | PG_anon_exclusive);
    expect(w.s.mem.refcount[r.pfn]).toBe(1);
    expect(w.s.mem.mapcount[r.pfn]).toBe(1);
    expect(read(w, w.init, A)).toMatchObject({ ok: true, value: 7, faults: 0 });
    expect(mmOfTask(w, w.init).rss[MM_ANONPAGES]).toBe(1);
    expectSound(w);
  });

  it('copies the zero page into a fresh page when a read is followed by a write', () => {
    const w = world();
    mapAnon(w, w.init, A, 4096);
    read(w, w.init, A);
    const r = write(w, w.init, A, 3);
    expect(r).toMatchObject({ ok: true, value: 3, faults: 1 });
    expect(w.log.at(-1)).toMatchObject({ point: 'do_wp_page', choice: 'copy' });
    expect(w.s.vmstat[PGFAULT]).toBe(2);
    expectSound(w);
  });

  it('delivers SIGSEGV for a write to a read-only mapping and for unmapped memory', () => {
    const w = world();
    mapAnon(w, w.init, A, 4096, false, 1 /* PROT_READ */);
    expect(write(w, w.init, A, 1)).toEqual({ ok: false, signal: 11 });
    expect(read(w, w.init, A + 4096)).toEqual({ ok: false, signal: 11 });
  });

  it('shares shmem pages of a shared anonymous mapping and maps them writable on read', () => {
    const w = world();
    mapAnon(w, w.init, A, 4096, true);
    const r = read(w, w.init, A);
    expect(r.ok && r.pfn !== ZERO_PFN).toBe(true);
    expect(write(w, w.init, A, 5)).toMatchObject({ ok: true, faults: 0 });
    expectSound(w);
  });
});
