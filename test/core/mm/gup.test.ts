import { describe, expect, it } from 'vitest';
import { checkInvariants } from '../../../src/core/invariants.js';
import { copy_process } from '../../../src/core/kernel/fork.js';
import {
  __get_user_pages,
  FOLL_FORCE,
  FOLL_GET,
  FOLL_LONGTERM,
  FOLL_PIN,
  FOLL_WRITE,
  GUP_PIN_COUNTING_BIAS,
  get_user_pages_fast,
  gupHold,
  gupRelease,
} from '../../../src/core/mm/gup.js';
import { MMF_HAS_PINNED, ZERO_PFN } from '../../../src/core/mm_types.js';
import { PG_anon_exclusive } from '../../../src/core/page-flags.js';
import { newWork, workTotals } from '../../../src/core/work.js';
import { expectSound, mapAnon, mmOfTask, read, world, write } from '../helpers.js';

const A = 0x10000000;

describe('GUP (v6.18)', () => {
  it('FOLL_GET adds 1, FOLL_PIN adds GUP_PIN_COUNTING_BIAS and sets MMF_HAS_PINNED', () => {
    const w = world();
    mapAnon(w, w.init, A, 4096);
    const r = write(w, w.init, A, 1);
    if (!r.ok) throw new Error('write');
    const mm = mmOfTask(w, w.init);
    const got = __get_user_pages(w.s, w.k, mm, A, 1, FOLL_GET);
    expect(got).toEqual([r.pfn]);
    expect(w.s.mem.refcount[r.pfn]).toBe(2);
    expect(mm.flags & MMF_HAS_PINNED).toBe(0);
    const gid = gupHold(w.s, w.k, r.pfn, FOLL_GET);
    const pinned = get_user_pages_fast(w.s, w.k, mm, A, 1, FOLL_PIN | FOLL_LONGTERM);
    expect(pinned).toEqual([r.pfn]);
    expect(w.s.mem.refcount[r.pfn]).toBe(2 + GUP_PIN_COUNTING_BIAS);
    expect(mm.flags & MMF_HAS_PINNED).toBe(MMF_HAS_PINNED);
    const pid = gupHold(w.s, w.k, r.pfn, FOLL_PIN);
    expectSound(w);
    gupRelease(w.s, pid);
    gupRelease(w.s, gid);
    expect(w.s.mem.refcount[r.pfn]).toBe(1);
    expectSound(w);
  });

  it('faults pages in: a read-only request maps the zero page, a FOLL_WRITE one a new page', () => {
    const w = world();
    mapAnon(w, w.init, A, 2 * 4096);
    const mm = mmOfTask(w, w.init);
    expect(__get_user_pages(w.s, w.k, mm, A, 1, FOLL_GET)).toEqual([ZERO_PFN]);
    const [p] = __get_user_pages(w.s, w.k, mm, A + 4096, 1, FOLL_GET | FOLL_WRITE) as number[];
    expect(p).not.toBe(ZERO_PFN);
    expect(w.s.mem.flags[p!]! & PG_anon_exclusive).toBe(PG_anon_exclusive);
    gupHold(w.s, w.k, ZERO_PFN, FOLL_GET);
    gupHold(w.s, w.k, p!, FOLL_GET);
    expectSound(w);
  });

  it('a FOLL_WRITE request on a shared page breaks COW first (write fault, copy)', () => {
    const w = world();
    mapAnon(w, w.init, A, 4096);
    const r = write(w, w.init, A, 1);
    if (!r.ok) throw new Error('write');
    copy_process(w.s, w.k, w.init, false);
    const [p] = __get_user_pages(
      w.s,
      w.k,
      mmOfTask(w, w.init),
      A,
      1,
      FOLL_PIN | FOLL_WRITE,
    ) as number[];
    expect(p).not.toBe(r.pfn);
    expect(w.log.map((d) => d.point)).toContain('do_wp_page');
    gupHold(w.s, w.k, p!, FOLL_PIN);
    expectSound(w);
  });

  it('a R/O pin of a shared anonymous page unshares it (gup_must_unshare); GUP-fast falls back to do so', () => {
    for (const fast of [false, true]) {
      const w = world();
      mapAnon(w, w.init, A, 4096);
      const r = write(w, w.init, A, 1);
      if (!r.ok) throw new Error('write');
      const child = copy_process(w.s, w.k, w.init, false);
      const gup = fast ? get_user_pages_fast : __get_user_pages;
      const [p] = gup(w.s, w.k, mmOfTask(w, w.init), A, 1, FOLL_PIN) as number[];
      expect(w.log).toContainEqual(
        expect.objectContaining({ point: 'gup_must_unshare', choice: 'unshare first' }),
      );
      expect(w.log).toContainEqual(
        expect.objectContaining({ point: 'do_wp_page(FAULT_FLAG_UNSHARE)', choice: 'copy' }),
      );
      expect(p).not.toBe(r.pfn);
      expect(read(w, w.init, A)).toMatchObject({ value: 1, pfn: p, faults: 0 });
      expect(read(w, child, A)).toMatchObject({ pfn: r.pfn });
      gupHold(w.s, w.k, p!, FOLL_PIN);
      expectSound(w);
    }
  });

  it('a R/O FOLL_GET never unshares (vmsplice keeps a reference to the shared page)', () => {
    const w = world();
    mapAnon(w, w.init, A, 4096);
    const r = write(w, w.init, A, 1);
    if (!r.ok) throw new Error('write');
    copy_process(w.s, w.k, w.init, false);
    expect(get_user_pages_fast(w.s, w.k, mmOfTask(w, w.init), A, 1, FOLL_GET)).toEqual([r.pfn]);
    gupHold(w.s, w.k, r.pfn, FOLL_GET);
    expectSound(w);
  });

  it('refuses a write to a read-only mapping unless FOLL_FORCE, and FOLL_FORCE writes an exclusive copy', () => {
    const w = world();
    mapAnon(w, w.init, A, 4096, false, 1);
    const mm = mmOfTask(w, w.init);
    expect(__get_user_pages(w.s, w.k, mm, A, 1, FOLL_GET | FOLL_WRITE)).toBe(-14);
    const [p] = __get_user_pages(
      w.s,
      w.k,
      mm,
      A,
      1,
      FOLL_GET | FOLL_WRITE | FOLL_FORCE,
    ) as number[];
    expect(p).not.toBe(ZERO_PFN);
    expect(w.s.mem.flags[p!]! & PG_anon_exclusive).toBe(PG_anon_exclusive);
    gupHold(w.s, w.k, p!, FOLL_GET);
    expect(checkInvariants(w.s)).toEqual([]);
  });
});

describe('GUP walks priced per page-table design (pt_walk.ts)', () => {
  const atomics = (ptStrategy: 'none' | 'pte-refcount' | 'pt-rwsem', fast: boolean) => {
    const w = world({ ptStrategy });
    mapAnon(w, w.init, A, 4 * 4096);
    for (let i = 0; i < 4; i++) write(w, w.init, A + i * 4096, 1);
    const mm = mmOfTask(w, w.init);
    w.s.work = newWork();
    const gup = fast ? get_user_pages_fast : __get_user_pages;
    expect(gup(w.s, w.k, mm, A, 4, FOLL_GET)).toHaveLength(4);
    return workTotals(w.s.work).atomics!;
  };

  it('the slow path walks each page under pte_tryget() or the rwsem: 2 atomics a page more', () => {
    expect(atomics('pte-refcount', false) - atomics('none', false)).toBe(8);
    expect(atomics('pt-rwsem', false) - atomics('none', false)).toBe(8);
  });

  it('GUP-fast takes neither', () => {
    expect(atomics('pte-refcount', true)).toBe(atomics('none', true));
    expect(atomics('pt-rwsem', true)).toBe(atomics('none', true));
  });
});
