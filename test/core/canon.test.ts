import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { userAccess } from '../../src/core/arch/x86/mm/fault.js';
import { fingerprint } from '../../src/core/canon.js';
import { checkInvariants } from '../../src/core/invariants.js';
import { copy_process } from '../../src/core/kernel/fork.js';
import { cloneState, mmOf, OWN_MEMMAP, type State } from '../../src/core/mm_types.js';
import { mapAnon, world } from './helpers.js';

const A = 0x10000000;

/** A copy of `s` whose memmap arrays are new objects, owned, with no digest known (hashed from scratch). */
function unshared(s: State): State {
  const c = cloneState(s);
  const m = c.mem;
  Object.assign(m, {
    flags: m.flags.slice(),
    refcount: m.refcount.slice(),
    mapcount: m.mapcount.slice(),
    content: m.content.slice(),
    order: m.order.slice(),
    own: OWN_MEMMAP,
    flagsD: null,
    refcountD: null,
    mapcountD: null,
    contentD: null,
    orderD: null,
    flagsFrom: null,
    refcountFrom: null,
    mapcountFrom: null,
    contentFrom: null,
    orderFrom: null,
  });
  return c;
}

function build(values: number[]) {
  const w = world();
  mapAnon(w, w.init, A, 8 * 4096);
  values.forEach((v, i) => {
    userAccess(w.s, w.k, mmOf(w.s, w.init.mm), A + (i % 8) * 4096, v);
  });
  return w;
}

describe('fingerprint and cloning', () => {
  it('is deterministic: the same operations give the same fingerprint', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(9), { maxLength: 12 }), (vals) => {
        expect(fingerprint(build(vals).s)).toBe(fingerprint(build(vals).s));
      }),
      { numRuns: 100, seed: 1 },
    );
  });

  it('hashes a page table and the memmap arrays the same whether still writable or frozen (cached digests)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(9), { minLength: 1, maxLength: 10 }),
        fc.nat(7),
        fc.nat(9),
        (vals, page, v) => {
          const w = build(vals);
          const live = fingerprint(w.s); // tables owned by the state: hashed afresh
          const copy = cloneState(w.s); // now every table is frozen, shared by both
          expect(fingerprint(w.s)).toBe(live);
          expect(fingerprint(copy)).toBe(live);
          // Writing the copy re-owns the tables it touches; the original keeps its (cached) digest.
          userAccess(copy, w.k, mmOf(copy, w.init.mm), A + page * 4096, v + 100);
          expect(fingerprint(w.s)).toBe(live);
          expect(fingerprint(copy)).not.toBe(live);
          expect(fingerprint(copy)).toBe(fingerprint(cloneState(copy)));
          // A cached digest is the one computed afresh (over arrays no cache has seen).
          expect(fingerprint(copy)).toBe(fingerprint(unshared(copy)));
          expect(fingerprint(w.s)).toBe(fingerprint(unshared(w.s)));
        },
      ),
      { numRuns: 60, seed: 3 },
    );
  });

  it('hashes a memmap array written after its copy as a full hash would, along chains of copies', () => {
    // A written array is digested as its source's digest plus the PFNs that
    // differ (canon.ts pages()): values written back to the source's, to 0,
    // or to new pages must all come out as a hash from scratch would.
    fc.assert(
      fc.property(
        fc.array(fc.nat(9), { minLength: 1, maxLength: 6 }),
        fc.array(fc.tuple(fc.nat(7), fc.nat(3)), { minLength: 1, maxLength: 8 }),
        (vals, steps) => {
          const w = build(vals);
          let s = w.s;
          for (const [page, v] of steps) {
            fingerprint(s); // the source's digests are cached by now
            const next = cloneState(s);
            userAccess(next, w.k, mmOf(next, w.init.mm), A + page * 4096, v);
            expect(fingerprint(next)).toBe(fingerprint(unshared(next)));
            // Written again after it was hashed: the digest it kept is stale and must not be used.
            userAccess(next, w.k, mmOf(next, w.init.mm), A + ((page + 3) % 8) * 4096, v + 5);
            expect(fingerprint(next)).toBe(fingerprint(unshared(next)));
            s = next;
          }
        },
      ),
      { numRuns: 60, seed: 4 },
    );
  });

  it('tells different contents apart', () => {
    expect(fingerprint(build([1, 2]).s)).not.toBe(fingerprint(build([1, 3]).s));
    expect(fingerprint(build([1, 2]).s)).not.toBe(fingerprint(build([2, 1]).s));
  });

  it('a clone is independent: changing it leaves the original (and its shared tables) unchanged', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(9), { minLength: 1, maxLength: 10 }),
        fc.nat(7),
        fc.nat(1000),
        (vals, page, v) => {
          const w = build(vals);
          const child = copy_process(w.s, w.k, w.init, false);
          const before = fingerprint(w.s);
          const c = cloneState(w.s);
          expect(fingerprint(c)).toBe(before);
          userAccess(c, w.k, mmOf(c, child.mm), A + page * 4096, v + 1);
          userAccess(c, w.k, mmOf(c, w.init.mm), A + ((page + 1) % 8) * 4096, v + 2);
          expect(fingerprint(w.s)).toBe(before);
          expect(checkInvariants(w.s)).toEqual([]);
          expect(checkInvariants(c)).toEqual([]);
          // And the original can still move on by itself.
          userAccess(w.s, w.k, mmOf(w.s, w.init.mm), A, 7);
          expect(checkInvariants(w.s)).toEqual([]);
        },
      ),
      { numRuns: 100, seed: 2 },
    );
  });
});
