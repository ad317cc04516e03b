/**
 * Random operation sequences for the property tests: the arbitraries and how
 * each operation is applied to a model world (kernel entry points, as a
 * process would reach them).
 */

import fc from 'fast-check';
import { userAccess } from '../../src/core/arch/x86/mm/fault.js';
import {
  do_pipe2,
  pipe_close,
  pipe_read,
  pipe_write,
  vmsplice_to_pipe,
} from '../../src/core/fs/pipe.js';
import { clear_refs_write } from '../../src/core/fs/proc/task_mmu.js';
import { do_group_exit } from '../../src/core/kernel/exit.js';
import { copy_process } from '../../src/core/kernel/fork.js';
import {
  __get_user_pages,
  FOLL_FORCE,
  FOLL_GET,
  FOLL_LONGTERM,
  FOLL_PIN,
  FOLL_WRITE,
  get_user_pages_fast,
  gupHold,
  gupRelease,
} from '../../src/core/mm/gup.js';
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
import { mmOf, TASK_RUNNING } from '../../src/core/mm_types.js';
import type { world } from '../core/helpers.js';

/** Slot bases: two slots share a PTE table, one sits in its own 2 MiB, one in another 512 GiB. */
export const SLOTS = [0x10000000, 0x10010000, 0x10400000, 0x8000000000];
export const PAGE = 4096;

export type Op =
  | { t: 'mmap'; slot: number; pages: number; shared: boolean; prot: number }
  | { t: 'munmap'; slot: number; from: number; n: number }
  | { t: 'mprotect'; p: number; slot: number; from: number; n: number; prot: number }
  | { t: 'madvise'; p: number; slot: number; from: number; n: number; advice: number }
  | { t: 'write'; p: number; slot: number; page: number; value: number }
  | { t: 'read'; p: number; slot: number; page: number }
  | { t: 'fork'; p: number }
  | { t: 'exit'; p: number }
  | { t: 'pipe'; p: number; value: number };

export const slot = fc.integer({ min: 0, max: SLOTS.length - 1 });
export const proc = fc.nat(7);
const range = { from: fc.nat(7), n: fc.integer({ min: 1, max: 8 }) };
export const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('mmap' as const),
      slot,
      pages: fc.integer({ min: 1, max: 8 }),
      shared: fc.boolean(),
      prot: fc.constantFrom(1, 3),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('munmap' as const), slot, ...range }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('mprotect' as const),
      p: proc,
      slot,
      ...range,
      prot: fc.constantFrom(0, 1, 3),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('madvise' as const),
      p: proc,
      slot,
      ...range,
      advice: fc.constantFrom(MADV_DONTNEED, MADV_DONTFORK, MADV_DOFORK),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('write' as const),
      p: proc,
      slot,
      page: fc.nat(7),
      value: fc.integer({ min: 1, max: 1000 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constant('read' as const), p: proc, slot, page: fc.nat(7) }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('fork' as const), p: proc }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('exit' as const), p: proc }) },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('pipe' as const), p: proc, value: fc.nat(100) }),
  },
);

export function alive(w: ReturnType<typeof world>): Task[] {
  return w.s.tasks.filter((t): t is Task => t !== null && t.state === TASK_RUNNING);
}

export function apply(w: ReturnType<typeof world>, op: Op): void {
  const procs = alive(w);
  if (procs.length === 0) return;
  const who = 'p' in op ? procs[op.p % procs.length]! : procs[0]!;
  const mm = mmOf(w.s, who.mm);
  const base = 'slot' in op ? SLOTS[op.slot]! : 0;
  switch (op.t) {
    case 'mmap':
      do_mmap(
        w.s,
        w.k,
        mm,
        base,
        op.pages * PAGE,
        op.prot,
        (op.shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | MAP_FIXED,
      );
      break;
    case 'munmap':
      vm_munmap(w.s, mm, base + op.from * PAGE, op.n * PAGE);
      break;
    case 'mprotect':
      do_mprotect_pkey(w.s, w.k, mm, base + op.from * PAGE, op.n * PAGE, op.prot);
      break;
    case 'madvise':
      do_madvise(w.s, w.k, mm, base + op.from * PAGE, op.n * PAGE, op.advice);
      break;
    case 'write': {
      const r = userAccess(w.s, w.k, mm, base + op.page * PAGE, op.value);
      if (!r.ok) do_group_exit(w.s, who, 128 + r.signal);
      break;
    }
    case 'read': {
      const r = userAccess(w.s, w.k, mm, base + op.page * PAGE);
      if (!r.ok) do_group_exit(w.s, who, 128 + r.signal);
      break;
    }
    case 'fork':
      copy_process(w.s, w.k, who, false);
      break;
    case 'exit':
      do_group_exit(w.s, who, 0);
      break;
    case 'pipe': {
      const id = do_pipe2(w.s, who);
      pipe_write(w.s, who, id, op.value);
      if (op.value % 2 === 0) pipe_read(w.s, who, id);
      if (op.value % 3 === 0) pipe_close(w.s, who, 2 * id);
      break;
    }
  }
}

/* ---- GUP users: references taken and held, released later. ---- */

export type GupOp =
  | {
      t: 'gup';
      p: number;
      vma: number;
      page: number;
      n: number;
      pin: boolean;
      write: boolean;
      longterm: boolean;
      fast: boolean;
      force: boolean;
    }
  | { t: 'release'; i: number }
  | { t: 'vmsplice'; p: number; vma: number; page: number; drain: boolean }
  | { t: 'clear_refs'; p: number };

export const gupOpArb: fc.Arbitrary<GupOp> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('gup' as const),
      p: proc,
      vma: fc.nat(7),
      page: fc.nat(7),
      n: fc.integer({ min: 1, max: 3 }),
      pin: fc.boolean(),
      write: fc.boolean(),
      longterm: fc.boolean(),
      fast: fc.boolean(),
      force: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('release' as const), i: fc.nat(15) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('vmsplice' as const),
      p: proc,
      vma: fc.nat(7),
      page: fc.nat(7),
      drain: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('clear_refs' as const), p: proc }) },
);

/** The GUP references the test's "devices" hold (gupHold ids). */
export type Held = number[];

export function applyGup(w: ReturnType<typeof world>, held: Held, op: GupOp): void {
  if (op.t === 'release') {
    if (held.length === 0) return;
    const [id] = held.splice(op.i % held.length, 1);
    gupRelease(w.s, id!);
    return;
  }
  const procs = alive(w);
  if (procs.length === 0) return;
  const who = procs[op.p % procs.length]!;
  const mm = mmOf(w.s, who.mm);
  // GUP and vmsplice aim at a page of one of the process's mappings.
  if (op.t === 'clear_refs') {
    clear_refs_write(w.s, w.k, mm, 4);
    return;
  }
  if (mm.vmas.length === 0) return;
  const vma = mm.vmas[op.vma % mm.vmas.length]!;
  const addr = vma.vm_start + (op.page % ((vma.vm_end - vma.vm_start) / PAGE)) * PAGE;
  switch (op.t) {
    case 'gup': {
      const flags =
        (op.pin ? FOLL_PIN : FOLL_GET) |
        (op.write ? FOLL_WRITE : 0) |
        (op.pin && op.longterm ? FOLL_LONGTERM : 0) |
        (op.force ? FOLL_FORCE : 0);
      const gup = op.fast ? get_user_pages_fast : __get_user_pages;
      const pages = gup(w.s, w.k, mm, addr, op.n, flags);
      if (typeof pages !== 'number') for (const p of pages) held.push(gupHold(w.s, w.k, p, flags));
      break;
    }
    case 'vmsplice': {
      const id = do_pipe2(w.s, who);
      vmsplice_to_pipe(w.s, w.k, who, mm, id, addr, PAGE);
      if (op.drain) pipe_read(w.s, who, id);
      break;
    }
  }
}
