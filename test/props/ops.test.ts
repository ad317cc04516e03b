/**
 * Properties of the model core under random operation sequences (fast-check):
 *  - every accounting invariant (refcount, mapcount, rss, page tables, no use
 *    after free) holds after every operation, and nothing is left when every
 *    process has exited (MM001–MM006);
 *  - every read returns what an independent oracle of private/shared memory
 *    semantics says (no process sees another's write after fork; shared
 *    memory stays shared).
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { userAccess } from '../../src/core/arch/x86/mm/fault.js';
import { EBUSY } from '../../src/core/errno.js';
import { checkInvariants } from '../../src/core/invariants.js';
import { do_group_exit } from '../../src/core/kernel/exit.js';
import { copy_process } from '../../src/core/kernel/fork.js';
import {
  do_madvise,
  MADV_DOFORK,
  MADV_DONTFORK,
  MADV_DONTNEED,
} from '../../src/core/mm/madvise.js';
import {
  do_mmap,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  vm_munmap,
} from '../../src/core/mm/mmap.js';
import { do_mprotect_pkey } from '../../src/core/mm/mprotect.js';
import type { Task } from '../../src/core/mm_types.js';
import { mmOf } from '../../src/core/mm_types.js';
import { ERAS } from '../../src/policy/registry.js';
import { world } from '../core/helpers.js';
import { alive, apply, opArb, PAGE, proc, SLOTS, slot } from './gen.js';

describe('model core under random operations', () => {
  it('keeps refcount, mapcount, rss and page-table accounting exact, and frees everything at exit', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40, size: 'max' }), (ops) => {
        const w = world();
        for (const op of ops) {
          apply(w, op);
          const v = checkInvariants(w.s);
          if (v.length)
            throw new Error(
              `after ${JSON.stringify(op)}: ${v.map((x) => `${x.code} ${x.detail}`).join('; ')}`,
            );
        }
        for (const t of alive(w)) do_group_exit(w.s, t, 0);
        expect(checkInvariants(w.s)).toEqual([]);
        expect(w.s.mem.nr_free + 2).toBe(w.s.mem.end); // every PFN but the unused 0 and the zero page is free
      }),
      { numRuns: 300, seed: 20260722 },
    );
  });

  it('also without PT_RECLAIM', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40, size: 'max' }), (ops) => {
        const w = world({ ptStrategy: 'none' });
        for (const op of ops) apply(w, op);
        expect(checkInvariants(w.s)).toEqual([]);
        for (const t of alive(w)) do_group_exit(w.s, t, 0);
        expect(checkInvariants(w.s)).toEqual([]);
      }),
      { numRuns: 200, seed: 7 },
    );
  });
});

/* ---- Oracle of private/shared semantics, whole-mapping operations only. ---- */

interface OMap {
  prot: number;
  shared: number | null; // oracle object id for shared mappings
  dontfork: boolean;
  values: Map<number, number>; // private pages only
}
interface OProc {
  task: Task;
  maps: Map<number, OMap>; // by slot
}

type SOp =
  | { t: 'mmap'; slot: number; shared: boolean; prot: number }
  | { t: 'munmap'; p: number; slot: number }
  | { t: 'mprotect'; p: number; slot: number; prot: number }
  | { t: 'dontneed' | 'dontfork' | 'dofork'; p: number; slot: number }
  | { t: 'write'; p: number; slot: number; page: number; value: number }
  | { t: 'read'; p: number; slot: number; page: number }
  | { t: 'fork'; p: number }
  | { t: 'exit'; p: number };

const sop: fc.Arbitrary<SOp> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('mmap' as const),
      slot,
      shared: fc.boolean(),
      prot: fc.constantFrom(1, 3, 3),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('munmap' as const), p: proc, slot }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('mprotect' as const),
      p: proc,
      slot,
      prot: fc.constantFrom(1, 3),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constantFrom('dontneed' as const, 'dontfork' as const, 'dofork' as const),
      p: proc,
      slot,
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('write' as const),
      p: proc,
      slot,
      page: fc.nat(3),
      value: fc.integer({ min: 1, max: 1000 }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({ t: fc.constant('read' as const), p: proc, slot, page: fc.nat(3) }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('fork' as const), p: proc }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('exit' as const), p: proc }) },
);

describe('private and shared memory semantics (oracle), every modelled era', () => {
  for (const { id, policy } of ERAS) {
    if (!policy) continue;
    it(`${id}: every read returns what the oracle says; writes after fork never leak`, () => {
      fc.assert(
        fc.property(fc.array(sop, { minLength: 1, maxLength: 60, size: 'max' }), (ops) => {
          const w = world({ policy, ptStrategy: policy.ptStrategy });
          const shm = new Map<number, Map<number, number>>();
          let nextObj = 1;
          let procs: OProc[] = [{ task: w.init, maps: new Map() }];
          for (const op of ops) {
            if (procs.length === 0) break;
            const pr = 'p' in op ? procs[op.p % procs.length]! : procs[0]!;
            const mm = mmOf(w.s, pr.task.mm);
            const base = SLOTS['slot' in op ? op.slot : 0]!;
            const m = 'slot' in op ? pr.maps.get(op.slot) : undefined;
            const kill = () => {
              do_group_exit(w.s, pr.task, 139);
              procs = procs.filter((x) => x !== pr);
            };
            switch (op.t) {
              case 'mmap': {
                const ret = do_mmap(
                  w.s,
                  w.k,
                  mm,
                  base,
                  4 * PAGE,
                  op.prot,
                  (op.shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | MAP_FIXED,
                );
                expect(ret).toBe(base);
                const obj = op.shared ? nextObj++ : null;
                if (obj !== null) shm.set(obj, new Map());
                pr.maps.set(op.slot, {
                  prot: op.prot,
                  shared: obj,
                  dontfork: false,
                  values: new Map(),
                });
                break;
              }
              case 'munmap':
                vm_munmap(w.s, mm, base, 4 * PAGE);
                pr.maps.delete(op.slot);
                break;
              case 'mprotect':
                if (m) {
                  const ret = do_mprotect_pkey(w.s, w.k, mm, base, 4 * PAGE, op.prot);
                  // An era may refuse to write-protect (linus-rules' rule (c)): then nothing changed.
                  if (ret === -EBUSY && !(op.prot & 2)) break;
                  expect(ret).toBe(0);
                  m.prot = op.prot;
                }
                break;
              case 'dontneed':
              case 'dontfork':
              case 'dofork': {
                if (!m) break;
                const adv = {
                  dontneed: MADV_DONTNEED,
                  dontfork: MADV_DONTFORK,
                  dofork: MADV_DOFORK,
                }[op.t];
                expect(do_madvise(w.s, w.k, mm, base, 4 * PAGE, adv)).toBe(0);
                if (op.t === 'dontneed' && m.shared === null) m.values.clear(); // shmem keeps its data
                if (op.t === 'dontfork') m.dontfork = true;
                if (op.t === 'dofork') m.dontfork = false;
                break;
              }
              case 'write': {
                const r = userAccess(w.s, w.k, mm, base + op.page * PAGE, op.value);
                if (!m || !(m.prot & 2)) {
                  expect(r.ok).toBe(false);
                  kill();
                  break;
                }
                expect(r.ok).toBe(true);
                if (m.shared !== null) shm.get(m.shared)!.set(op.page, op.value);
                else m.values.set(op.page, op.value);
                break;
              }
              case 'read': {
                const r = userAccess(w.s, w.k, mm, base + op.page * PAGE);
                if (!m) {
                  expect(r.ok).toBe(false);
                  kill();
                  break;
                }
                const want =
                  m.shared !== null
                    ? (shm.get(m.shared)!.get(op.page) ?? 0)
                    : (m.values.get(op.page) ?? 0);
                expect(r.ok && r.value).toBe(want);
                break;
              }
              case 'fork': {
                const child = copy_process(w.s, w.k, pr.task, false);
                const maps = new Map<number, OMap>();
                for (const [k, v] of pr.maps)
                  if (!v.dontfork) maps.set(k, { ...v, values: new Map(v.values) });
                procs.push({ task: child, maps });
                break;
              }
              case 'exit':
                do_group_exit(w.s, pr.task, 0);
                procs = procs.filter((x) => x !== pr);
                break;
            }
          }
          expect(checkInvariants(w.s)).toEqual([]);
        }),
        { numRuns: 300, seed: 424242 },
      );
    });
  }
});
