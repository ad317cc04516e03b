/**
 * Pin coherence, the promise of "COW fixes part 2/3" (v5.19) and of reliable
 * R/O long-term pinning in COW mappings (84209e87c696, v6.2): once a page of a
 * private mapping is pinned with FOLL_LONGTERM, the process's page tables keep
 * mapping exactly the pinned page — whatever it does short of unmapping it
 * (writes, forks and children that write and exit, mprotect, clear_refs,
 * MADV_DONTFORK, vmsplice and other GUP references). It holds for every pin
 * on v6.2 and v6.18, for pins of anonymous pages on v5.19 and the
 * full-accuracy and linus-rules proposals, and fast-check finds a program that
 * breaks it on every era before v5.19.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { userAccess } from '../../src/core/arch/x86/mm/fault.js';
import { do_pipe2, vmsplice_to_pipe } from '../../src/core/fs/pipe.js';
import { clear_refs_write, pagemapEntry } from '../../src/core/fs/proc/task_mmu.js';
import { checkInvariants } from '../../src/core/invariants.js';
import { do_group_exit } from '../../src/core/kernel/exit.js';
import { copy_process } from '../../src/core/kernel/fork.js';
import {
  __get_user_pages,
  FOLL_GET,
  FOLL_LONGTERM,
  FOLL_PIN,
  FOLL_WRITE,
  get_user_pages_fast,
  gupHold,
  gupRelease,
} from '../../src/core/mm/gup.js';
import { do_madvise, MADV_DOFORK, MADV_DONTFORK } from '../../src/core/mm/madvise.js';
import { do_mmap, MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE } from '../../src/core/mm/mmap.js';
import { do_mprotect_pkey } from '../../src/core/mm/mprotect.js';
import { mmOf, TASK_RUNNING, type Task } from '../../src/core/mm_types.js';
import type { Policy } from '../../src/core/points.js';
import { eraInfo } from '../../src/policy/registry.js';
import { world } from '../core/helpers.js';

const BASE = 0x10000000;
const PAGES = 4;
const PAGE = 4096;

interface Pinning {
  /** Which pages the program writes before pinning (an untouched page maps the zero page). */
  readonly touched: readonly boolean[];
  readonly write: boolean;
  readonly fast: boolean;
}

type Op =
  | { t: 'write'; who: number; page: number; value: number }
  | { t: 'read'; who: number; page: number }
  | { t: 'fork' }
  | { t: 'exit'; who: number }
  | { t: 'mprotect'; prot: number }
  | { t: 'clear_refs' }
  | { t: 'dontfork'; on: boolean }
  | { t: 'vmsplice'; page: number }
  | { t: 'gup'; page: number; write: boolean }
  | { t: 'put'; i: number };

const page = fc.nat(PAGES - 1);
const who = fc.nat(3);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ t: fc.constant('write' as const), who, page, value: fc.nat(999) }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('read' as const), who, page }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('fork' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('exit' as const), who }) },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('mprotect' as const), prot: fc.constantFrom(1, 3) }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('clear_refs' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('dontfork' as const), on: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('vmsplice' as const), page }) },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('gup' as const), page, write: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('put' as const), i: fc.nat(7) }) },
);
const pinningArb: fc.Arbitrary<Pinning> = fc.record({
  touched: fc.array(fc.boolean(), { minLength: PAGES, maxLength: PAGES }),
  write: fc.boolean(),
  fast: fc.boolean(),
});

/** Run one program; returns a description of the first incoherence, or null. */
function incoherence(policy: Policy, pinning: Pinning, ops: readonly Op[]): string | null {
  const w = world({ policy, ptStrategy: policy.ptStrategy });
  const owner = w.init;
  const mm = mmOf(w.s, owner.mm);
  do_mmap(w.s, w.k, mm, BASE, PAGES * PAGE, 3, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
  pinning.touched.forEach((t, i) => {
    if (t) userAccess(w.s, w.k, mm, BASE + i * PAGE, 1 + i);
    else userAccess(w.s, w.k, mm, BASE + i * PAGE); // read: the zero page
  });
  const flags = FOLL_PIN | FOLL_LONGTERM | (pinning.write ? FOLL_WRITE : 0);
  const gup = pinning.fast ? get_user_pages_fast : __get_user_pages;
  const pinned = gup(w.s, w.k, mm, BASE, PAGES, flags);
  if (typeof pinned === 'number') return `pin failed: ${pinned}`;
  const pins = pinned.map((p) => gupHold(w.s, w.k, p, flags));
  const refs: number[] = [];
  const children: Task[] = [];
  const check = (after: string): string | null => {
    if (checkInvariants(w.s).length) return `accounting broken after ${after}`;
    for (let i = 0; i < PAGES; i++) {
      const pfn = pagemapEntry(w.s, mm, BASE + i * PAGE).pfn;
      if (pfn !== pinned[i])
        return `after ${after}: page ${i} maps pfn ${pfn}, pinned ${pinned[i]}`;
    }
    return null;
  };
  for (const op of ops) {
    const live = children.filter((c) => c.state === TASK_RUNNING);
    const actor = (n: number): Task =>
      n === 0 || live.length === 0 ? owner : live[n % live.length]!;
    switch (op.t) {
      case 'write':
      case 'read': {
        const t = actor(op.who);
        const v = op.t === 'write' ? op.value : undefined;
        const r = userAccess(w.s, w.k, mmOf(w.s, t.mm), BASE + op.page * PAGE, v);
        if (!r.ok && t !== owner) do_group_exit(w.s, t, 139);
        break;
      }
      case 'fork':
        if (children.length < 4) children.push(copy_process(w.s, w.k, owner, false));
        break;
      case 'exit': {
        const t = actor(op.who);
        if (t !== owner) do_group_exit(w.s, t, 0);
        break;
      }
      case 'mprotect':
        do_mprotect_pkey(w.s, w.k, mm, BASE, PAGES * PAGE, op.prot);
        break;
      case 'clear_refs':
        clear_refs_write(w.s, w.k, mm, 4);
        break;
      case 'dontfork':
        do_madvise(w.s, w.k, mm, BASE, PAGES * PAGE, op.on ? MADV_DONTFORK : MADV_DOFORK);
        break;
      case 'vmsplice':
        vmsplice_to_pipe(w.s, w.k, owner, mm, do_pipe2(w.s, owner), BASE + op.page * PAGE, PAGE);
        break;
      case 'gup': {
        const f = FOLL_GET | (op.write ? FOLL_WRITE : 0);
        const got = __get_user_pages(w.s, w.k, mm, BASE + op.page * PAGE, 1, f);
        if (typeof got !== 'number') refs.push(gupHold(w.s, w.k, got[0]!, f));
        break;
      }
      case 'put':
        if (refs.length) gupRelease(w.s, refs.splice(op.i % refs.length, 1)[0]!);
        break;
    }
    const bad = check(JSON.stringify(op));
    if (bad) return bad;
  }
  for (const id of [...pins, ...refs]) gupRelease(w.s, id);
  return null;
}

const policyOf = (id: string): Policy => eraInfo(id)!.policy!;
const ops = fc.array(opArb, { minLength: 1, maxLength: 30, size: 'max' });
/** Any pin: some pages are the zero page when pinned (never written before). */
const anyPin = fc.tuple(pinningArb, ops);
/** Pins of anonymous pages only (every page written before the pin). */
const anonPin = fc.tuple(
  fc.record({
    touched: fc.constant([true, true, true, true]),
    write: fc.boolean(),
    fast: fc.boolean(),
  }),
  ops,
);

const holds = (id: string, program: typeof anyPin) =>
  fc.assert(
    fc.property(program, ([pinning, prog]) => {
      expect(incoherence(policyOf(id), pinning, prog)).toBeNull();
    }),
    { numRuns: 400, seed: 5190 },
  );
const breaks = (id: string, program: typeof anyPin) =>
  expect(
    fc.check(
      fc.property(program, ([pinning, prog]) => incoherence(policyOf(id), pinning, prog) === null),
      { numRuns: 2000, seed: 5190 },
    ).failed,
  ).toBe(true);

describe('pin coherence under random programs', () => {
  for (const id of ['v6.2', 'v6.18'])
    it(`${id}: every long-term pin, zero page included, stays the page mapped at its address`, () =>
      holds(id, anyPin));
  for (const id of ['v5.19', 'full-accuracy', 'linus-rules']) {
    it(`${id}: a long-term pin of an anonymous page stays coherent`, () => holds(id, anonPin));
    it(`${id}: a long-term R/O pin of the zero page does not (the write maps a new page)`, () =>
      breaks(id, anyPin));
  }
  // v5.7: fork, then the owner's write copies (mapcount 2); v5.8 and
  // foll-break-cow: GUP's forced COW break after fork; v5.9: clear_refs before
  // pte_is_pinned(); v5.18: mprotect(R) then RW, then page_count() copies;
  // wait-for-gup: v5.9's rules for long-term pins.
  for (const id of ['v5.7', 'v5.8', 'v5.9', 'v5.18', 'foll-break-cow', 'wait-for-gup'])
    it(`${id}: fast-check finds a program that separates an anonymous pin from the mapping`, () =>
      breaks(id, anonPin));
});
