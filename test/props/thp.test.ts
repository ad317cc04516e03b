/**
 * PMD-mapped THPs under random operations, in every era (fast-check): one
 * 2 MiB MADV_HUGEPAGE area, written, read, forked, exited, write-protected
 * and re-enabled (whole or one page, as cow.c's PTE-mapped THP setup does),
 * partly discarded or unmapped, pinned and unpinned, soft-dirty cleared,
 * collapsed again (MADV_COLLAPSE, where the era has it), its tail moved away
 * (mremap MREMAP_FIXED), paged out (MADV_PAGEOUT splits PMD and folio).
 *  - every accounting invariant holds after every operation (MM001–MM005,
 *    with the entire mapcount, pincount and deposited tables of THPs), and
 *    nothing is left once every process has exited (MM006);
 *  - every read returns what the process itself wrote or inherited at fork
 *    (an oracle of private memory: 0 for a discarded page).
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { userAccess } from '../../src/core/arch/x86/mm/fault.js';
import { clear_refs_write } from '../../src/core/fs/proc/task_mmu.js';
import { checkInvariants } from '../../src/core/invariants.js';
import { do_group_exit } from '../../src/core/kernel/exit.js';
import { copy_process } from '../../src/core/kernel/fork.js';
import {
  __get_user_pages,
  FOLL_LONGTERM,
  FOLL_PIN,
  FOLL_WRITE,
  gupHold,
  gupRelease,
} from '../../src/core/mm/gup.js';
import {
  do_madvise,
  MADV_COLLAPSE,
  MADV_DONTNEED,
  MADV_HUGEPAGE,
  MADV_PAGEOUT,
} from '../../src/core/mm/madvise.js';
import {
  do_mmap,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  vm_munmap,
} from '../../src/core/mm/mmap.js';
import { do_mprotect_pkey } from '../../src/core/mm/mprotect.js';
import { mremap_fixed } from '../../src/core/mm/mremap.js';
import type { Task } from '../../src/core/mm_types.js';
import { mmOf } from '../../src/core/mm_types.js';
import { ERAS } from '../../src/policy/registry.js';
import { world } from '../core/helpers.js';
import { alive } from './gen.js';

const A = 0x40000000;
const PAGE = 4096;
const NR = 512;
/** Pages the operations touch: the edges of the THP and a few inside. */
const PAGES = [0, 1, 256, 511];

type Op =
  | { t: 'write'; p: number; page: number; value: number }
  | { t: 'read'; p: number; page: number }
  | { t: 'fork'; p: number }
  | { t: 'exit'; p: number }
  | { t: 'mprotect-cycle'; p: number; page: number; whole: boolean }
  | { t: 'dontneed'; p: number; page: number; n: number }
  | { t: 'munmap-tail'; p: number; page: number }
  | { t: 'pin'; p: number; page: number; write: boolean }
  | { t: 'unpin'; i: number }
  | { t: 'clear_refs'; p: number }
  | { t: 'collapse'; p: number }
  | { t: 'pageout'; p: number; page: number; whole: boolean }
  | { t: 'mremap-tail'; p: number; page: number };

const p = fc.nat(3);
const page = fc.constantFrom(...PAGES);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('write' as const),
      p,
      page,
      value: fc.integer({ min: 1, max: 99 }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('read' as const), p, page }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('fork' as const), p }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('exit' as const), p }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('mprotect-cycle' as const),
      p,
      page,
      whole: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('dontneed' as const),
      p,
      page,
      n: fc.constantFrom(1, 2, NR),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('munmap-tail' as const),
      p,
      page: fc.constantFrom(256, 511),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('pin' as const), p, page, write: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('unpin' as const), i: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('clear_refs' as const), p }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('collapse' as const), p }) },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('pageout' as const), p, page, whole: fc.boolean() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('mremap-tail' as const),
      p,
      page: fc.constantFrom(256, 511),
    }),
  },
);

/** What each process must read: page -> value (0 when never written or discarded); `end` is its mapped length. */
interface View {
  values: Map<number, number>;
  end: number;
}

function run(eraIdx: number, ops: readonly Op[]): void {
  const era = ERAS.filter((e) => e.policy && e.id !== 'wait-for-gup')[eraIdx]!;
  const w = world({ policy: era.policy!, ptStrategy: era.policy!.ptStrategy });
  const views = new Map<number, View>();
  const pins: number[] = [];
  const mmOfTask = (t: Task) => mmOf(w.s, t.mm);
  do_mmap(w.s, w.k, mmOfTask(w.init), A, NR * PAGE, 3, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
  do_madvise(w.s, w.k, mmOfTask(w.init), A, NR * PAGE, MADV_HUGEPAGE);
  views.set(w.init.pid, { values: new Map(), end: NR });
  const check = (op: Op | string) => {
    const v = checkInvariants(w.s);
    if (v.length)
      throw new Error(
        `${era.id} after ${JSON.stringify(op)}: ${v.map((x) => `${x.code} ${x.detail}`).join('; ')}`,
      );
  };
  for (const op of ops) {
    const procs = alive(w);
    if (op.t === 'unpin') {
      const id = pins.splice(op.i % Math.max(1, pins.length), 1)[0];
      if (id !== undefined) gupRelease(w.s, id);
      check(op);
      continue;
    }
    if (procs.length === 0) break;
    const who = procs[op.p % procs.length]!;
    const view = views.get(who.pid)!;
    const mm = mmOfTask(who);
    const addr = (pg: number) => A + pg * PAGE;
    switch (op.t) {
      case 'write':
        if (op.page < view.end) {
          const r = userAccess(w.s, w.k, mm, addr(op.page), op.value);
          expect(r.ok, `${era.id} write`).toBe(true);
          view.values.set(op.page, op.value);
        }
        break;
      case 'read':
        if (op.page < view.end) {
          const r = userAccess(w.s, w.k, mm, addr(op.page));
          expect(r.ok && r.value, `${era.id} read page ${op.page} of pid ${who.pid}`).toBe(
            view.values.get(op.page) ?? 0,
          );
        }
        break;
      case 'fork': {
        const child = copy_process(w.s, w.k, who, false);
        views.set(child.pid, { values: new Map(view.values), end: view.end });
        break;
      }
      case 'exit':
        do_group_exit(w.s, who, 0);
        break;
      case 'mprotect-cycle': {
        const [start, len] = op.whole ? [A, view.end * PAGE] : [addr(op.page), PAGE];
        if (op.whole || op.page < view.end) {
          // Linus's rule (c) may refuse the write-protect (-EBUSY): then nothing changed.
          do_mprotect_pkey(w.s, w.k, mm, start, len, 1);
          do_mprotect_pkey(w.s, w.k, mm, start, len, 3);
        }
        break;
      }
      case 'dontneed': {
        const n = Math.min(op.n, view.end - op.page);
        if (n > 0) {
          expect(do_madvise(w.s, w.k, mm, addr(op.page), n * PAGE, MADV_DONTNEED)).toBe(0);
          for (let i = op.page; i < op.page + n; i++) view.values.delete(i);
        }
        break;
      }
      case 'munmap-tail':
        if (op.page < view.end) {
          vm_munmap(w.s, mm, addr(op.page), (view.end - op.page) * PAGE);
          for (const k of [...view.values.keys()]) if (k >= op.page) view.values.delete(k);
          view.end = op.page;
        }
        break;
      case 'pin':
        if (op.page < view.end) {
          const flags = FOLL_PIN | FOLL_LONGTERM | (op.write ? FOLL_WRITE : 0);
          const got = __get_user_pages(w.s, w.k, mm, addr(op.page), 1, flags);
          if (typeof got !== 'number') pins.push(gupHold(w.s, w.k, got[0]!, flags));
        }
        break;
      case 'clear_refs':
        clear_refs_write(w.s, w.k, mm, 4);
        break;
      case 'mremap-tail':
        // Move the tail away (MREMAP_FIXED), check what moved, then drop it.
        if (op.page < view.end) {
          const n = view.end - op.page;
          const B = 0x50000000;
          expect(mremap_fixed(w.s, mm, addr(op.page), n * PAGE, B)).toBe(B);
          check(op);
          for (const [pg, v] of view.values)
            if (pg >= op.page) {
              const r = userAccess(w.s, w.k, mm, B + (pg - op.page) * PAGE);
              expect(r.ok && r.value, `${era.id} moved page ${pg}`).toBe(v);
              view.values.delete(pg);
            }
          vm_munmap(w.s, mm, B, n * PAGE);
          view.end = op.page;
        }
        break;
      case 'pageout': {
        // MADV_PAGEOUT splits what it must and swaps out; the contents come back on access.
        const [start, len] = op.whole ? [A, view.end * PAGE] : [addr(op.page), PAGE];
        if (len > 0 && (op.whole || op.page < view.end))
          do_madvise(w.s, w.k, mm, start, len, MADV_PAGEOUT);
        break;
      }
      case 'collapse':
        // Refusals (-EINVAL, -EAGAIN) leave everything as it was; the oracle holds either way.
        if (view.end > 0) do_madvise(w.s, w.k, mm, A, view.end * PAGE, MADV_COLLAPSE);
        break;
    }
    check(op);
  }
  for (const id of pins) gupRelease(w.s, id);
  for (const t of alive(w)) do_group_exit(w.s, t, 0);
  check('exit of everything');
  // Everything is free again but the zero page, PFN 0, the huge zero folio
  // (kept once used) and reclaimable swap-cache orphans.
  const orphans = w.s.swap.cache.filter((f) => f !== 0).length;
  expect(w.s.mem.nr_free + 2 + (w.s.huge_zero ? 512 : 0) + orphans).toBe(w.s.mem.end);
}

describe('THPs under random operations', () => {
  it('keep the accounting exact and every process sees its own memory, in every era', () => {
    const eras = ERAS.filter((e) => e.policy && e.id !== 'wait-for-gup').length;
    fc.assert(
      fc.property(
        fc.nat(eras - 1),
        fc.array(opArb, { minLength: 1, maxLength: 30, size: 'max' }),
        (era, ops) => run(era, ops),
      ),
      { numRuns: 300, seed: 20261130 },
    );
  });
});
