/**
 * Every modelled era and proposal keeps the model's accounting exact under
 * random operation sequences that include GUP users (get/pin, fast and slow,
 * long-term, FOLL_FORCE, vmsplice, clear_refs) interleaved with fork, COW
 * faults, mprotect, madvise and exit: each era's rules may decide differently,
 * but none may break refcount, mapcount, RSS or page-table accounting
 * (MM001–MM006), and once every reference is released and every process has
 * exited, every page and table is free again.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkInvariants } from '../../src/core/invariants.js';
import { do_group_exit } from '../../src/core/kernel/exit.js';
import { gupRelease } from '../../src/core/mm/gup.js';
import { ERAS } from '../../src/policy/registry.js';
import { world } from '../core/helpers.js';
import { alive, apply, applyGup, type GupOp, gupOpArb, type Held, type Op, opArb } from './gen.js';

// Exits are rarer here than in ops.test.ts, so that pins meet forks and COW faults.
const anyOp: fc.Arbitrary<Op | GupOp> = fc.oneof(
  { weight: 12, arbitrary: opArb.filter((op) => op.t !== 'exit') },
  { weight: 1, arbitrary: opArb.filter((op) => op.t === 'exit') },
  { weight: 5, arbitrary: gupOpArb },
);
// Every run starts with a private and a shared mapping, so that GUP has pages to take.
const SETUP: readonly Op[] = [
  { t: 'mmap', slot: 0, pages: 8, shared: false, prot: 3 },
  { t: 'mmap', slot: 2, pages: 4, shared: true, prot: 3 },
];
const isGup = (op: Op | GupOp): op is GupOp =>
  op.t === 'gup' || op.t === 'release' || op.t === 'vmsplice' || op.t === 'clear_refs';

describe('every era under random operations with GUP users', () => {
  for (const era of ERAS) {
    const policy = era.policy;
    if (!policy) continue;
    it(`${era.id}: accounting stays exact and everything is freed at the end`, () => {
      fc.assert(
        fc.property(fc.array(anyOp, { minLength: 5, maxLength: 40, size: 'medium' }), (ops) => {
          const w = world({ policy, ptStrategy: policy.ptStrategy });
          const held: Held = [];
          for (const op of [...SETUP, ...ops]) {
            if (isGup(op)) applyGup(w, held, op);
            else apply(w, op);
            const v = checkInvariants(w.s);
            if (v.length)
              throw new Error(
                `after ${JSON.stringify(op)}: ${v.map((x) => `${x.code} ${x.detail}`).join('; ')}`,
              );
          }
          for (const t of alive(w)) do_group_exit(w.s, t, 0);
          for (const id of held) gupRelease(w.s, id);
          expect(checkInvariants(w.s)).toEqual([]);
          expect(w.s.mem.nr_free + 2).toBe(w.s.mem.end);
        }),
        { numRuns: 300, seed: 20261122 },
      );
    });
  }
});
