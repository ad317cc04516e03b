import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Fingerprint, hashState } from '../../src/core/canon.js';
import { spawnInit } from '../../src/core/kernel/fork.js';
import {
  cloneState,
  contentW,
  flagsW,
  mapcountW,
  newState,
  orderW,
  PT_DENSE_WORDS,
  PT_SPARSE_MAX,
  ptAllocTable,
  ptBits,
  ptEntries,
  ptSet,
  ptVal,
  refcountW,
  swapW,
  taskW,
} from '../../src/core/mm_types.js';
import { PT_LEVEL_PTE } from '../../src/core/pgtable_types.js';

/** A sequence of entry writes: index, val, bits (0, 0 clears the entry). */
const writes = fc.array(
  fc.tuple(
    fc.integer({ min: 0, max: 511 }),
    fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 32 - 1 })),
    fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 20 - 1 })),
  ),
  { maxLength: 120 },
);

describe('page tables, sparse and dense (mm_types.ts ptSet)', () => {
  it('reads back what a plain 512-entry array would hold, in either form (property)', () => {
    fc.assert(
      fc.property(writes, (ws) => {
        const s = newState();
        const id = ptAllocTable(s, PT_LEVEL_PTE);
        const ref = new Map<number, [number, number]>();
        for (const [i, v, b] of ws) {
          ptSet(s, id, i, v, b);
          if (v === 0 && b === 0) ref.delete(i);
          else ref.set(i, [v, b]);
        }
        const tab = s.pt.tables[id]!;
        for (let i = 0; i < 512; i++) {
          expect(ptVal(tab, i)).toBe(ref.get(i)?.[0] ?? 0);
          expect(ptBits(tab, i)).toBe(ref.get(i)?.[1] ?? 0);
        }
        const seen: number[] = [];
        ptEntries(tab, (i) => seen.push(i));
        expect(seen).toEqual([...ref.keys()].sort((a, b) => a - b));
        // Sparse while it never held more than PT_SPARSE_MAX entries at once.
        if (tab.length !== PT_DENSE_WORDS) expect(tab[0]).toBe(ref.size);
      }),
      { numRuns: 200 },
    );
  });

  it('turns dense at its 33rd entry, and fingerprints the same entries alike in both forms', () => {
    const a = newState();
    const ta = ptAllocTable(a, PT_LEVEL_PTE);
    for (let i = 0; i <= PT_SPARSE_MAX; i++) ptSet(a, ta, i, i + 1, 1);
    expect(a.pt.tables[ta]!.length).toBe(PT_DENSE_WORDS);
    for (let i = 3; i <= PT_SPARSE_MAX; i++) ptSet(a, ta, i, 0, 0);
    const b = newState();
    const tb = ptAllocTable(b, PT_LEVEL_PTE);
    for (let i = 0; i < 3; i++) ptSet(b, tb, i, i + 1, 1);
    expect(b.pt.tables[tb]!.length).toBeLessThan(PT_DENSE_WORDS);
    const h = (s: typeof a) => {
      const f = new Fingerprint();
      hashState(s, f);
      return f.hex();
    };
    expect(h(a)).toBe(h(b));
  });

  it('copies a shared table on the first write and leaves the other state alone', () => {
    const s = newState();
    const id = ptAllocTable(s, PT_LEVEL_PTE);
    ptSet(s, id, 7, 70, 1);
    const c = cloneState(s);
    ptSet(c, id, 7, 71, 1);
    ptSet(c, id, 9, 90, 1);
    expect(ptVal(s.pt.tables[id]!, 7)).toBe(70);
    expect(ptVal(s.pt.tables[id]!, 9)).toBe(0);
    expect(ptVal(c.pt.tables[id]!, 7)).toBe(71);
  });
});

describe('the memmap, shared copy-on-write (mm_types.ts flagsW() and its kin)', () => {
  const fields = ['flags', 'refcount', 'mapcount', 'content', 'order'] as const;
  const writable = {
    flags: flagsW,
    refcount: refcountW,
    mapcount: mapcountW,
    content: contentW,
    order: orderW,
  } as const;

  it('a write on either side of a copy, or of a copy of a copy, is seen on that side only (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 2 }), // which state: the original, a copy, a copy of the copy
            fc.constantFrom(...fields),
            fc.integer({ min: 0, max: 63 }),
            fc.integer({ min: 0, max: 200 }),
          ),
          { maxLength: 60 },
        ),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 60 }),
        (ws, copyAt, copy2At) => {
          const states = [newState()];
          const model = [fields.map((f) => Array.from(states[0]!.mem[f]))];
          ws.forEach(([who, f, pfn, v], i) => {
            if (i === copyAt || i === copy2At) {
              const from = states.length - 1;
              states.push(cloneState(states[from]!));
              model.push(model[from]!.map((a) => a.slice()));
            }
            const at = Math.min(who, states.length - 1);
            writable[f](states[at]!.mem)[pfn] = v;
            model[at]![fields.indexOf(f)]![pfn] = v;
          });
          for (const [i, s] of states.entries())
            for (const [j, f] of fields.entries())
              expect(Array.from(s.mem[f])).toEqual(model[i]![j]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a copy shares the arrays until it writes, and then copies only the array it writes', () => {
    const s = newState();
    const c = cloneState(s);
    for (const f of fields) expect(c.mem[f]).toBe(s.mem[f]);
    refcountW(c.mem)[5] = 3;
    expect(c.mem.refcount).not.toBe(s.mem.refcount);
    expect(s.mem.refcount[5]).toBe(0);
    for (const f of fields) if (f !== 'refcount') expect(c.mem[f]).toBe(s.mem[f]);
    const again = c.mem.refcount;
    refcountW(c.mem)[6] = 1; // owned now: written in place
    expect(c.mem.refcount).toBe(again);
  });
});

describe('records shared between a state and its copies (taskW(), swapW())', () => {
  it('a task is copied by its first writer in a state, and written in place after that', () => {
    const s = newState();
    const init = spawnInit(s);
    const c = cloneState(s);
    expect(c.tasks[init.pid]).toBe(s.tasks[init.pid]);
    const w = taskW(c, init.pid);
    w.exit_code = 7;
    expect(s.tasks[init.pid]!.exit_code).toBe(0);
    expect(c.tasks[init.pid]!.exit_code).toBe(7);
    expect(taskW(c, init.pid)).toBe(w); // owned now
    taskW(s, init.pid).state = 3; // the original copies too: its record is shared
    expect(c.tasks[init.pid]!.state).not.toBe(3);
  });

  it("the swap device is copied by a state's first write, on either side", () => {
    const s = newState();
    const c = cloneState(s);
    expect(c.swap).toBe(s.swap);
    swapW(c).map.push(1);
    expect(s.swap.map).toEqual([0]);
    expect(c.swap.map).toEqual([0, 1]);
    swapW(s).free_hint = 5;
    expect(c.swap.free_hint).toBe(1);
  });
});
