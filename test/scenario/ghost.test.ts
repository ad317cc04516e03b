import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expand } from '../../src/explore/expand.js';
import { eraInfo } from '../../src/policy/registry.js';
import { checkScenario } from '../../src/scenario/check.js';
import { Ghost, ghostKey } from '../../src/scenario/ghost.js';
import { keyMm } from '../../src/scenario/ghost-mem.js';
import { newMachine } from '../../src/scenario/machine.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { configFor } from '../../src/scenario/run.js';

// The ghost's expectations live in copy-on-write chunks of pages; these
// properties compare them with a plain Map per ghost, copies included.

type Op =
  | { kind: 'expect'; g: number; mm: number; page: number; value: number; dma: boolean }
  | { kind: 'drop'; g: number; mm: number; page: number }
  | { kind: 'remap'; g: number; mm: number; page: number; pages: number }
  | { kind: 'copy'; g: number };

const PAGE = 4096;
const mm = fc.integer({ min: 0, max: 3 });
// Pages near chunk and PTE-table boundaries, and far apart.
const page = fc.oneof(
  fc.integer({ min: 0, max: 1100 }),
  fc.integer({ min: 2 ** 35 - 70, max: 2 ** 35 - 1 }),
);
const g = fc.nat({ max: 3 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('expect' as const),
    g,
    mm,
    page,
    value: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    dma: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('drop' as const), g, mm, page }),
  fc.record({
    kind: fc.constant('remap' as const),
    g,
    mm,
    page,
    pages: fc.integer({ min: 1, max: 600 }),
  }),
  fc.record({ kind: fc.constant('copy' as const), g }),
);

/** Every ghost's expectations, sorted by key, as the reference keeps them. */
function sorted(ref: Map<number, number>): [number, number][] {
  return [...ref].sort(([a], [b]) => a - b);
}

describe('Ghost expectations (copy-on-write chunks)', () => {
  it('match a plain map per ghost, and copies never see each other’s writes', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const ghosts = [new Ghost()];
        const refs = [new Map<number, number>()];
        for (const o of ops) {
          const i = o.g % ghosts.length;
          const gh = ghosts[i]!;
          const ref = refs[i]!;
          if (o.kind === 'copy') {
            ghosts.push(new Ghost(gh));
            refs.push(new Map(ref));
          } else if (o.kind === 'expect') {
            const key = ghostKey(o.mm, o.page * PAGE);
            gh.expect(key, o.value, o.dma);
            ref.set(key, o.value * 2 + (o.dma ? 1 : 0));
          } else if (o.kind === 'drop') {
            const key = ghostKey(o.mm, o.page * PAGE);
            gh.drop(key);
            ref.delete(key);
          } else {
            gh.remap(o.mm, o.page * PAGE, o.pages * PAGE);
            const lo = ghostKey(o.mm, o.page * PAGE);
            for (const k of [...ref.keys()]) if (k >= lo && k < lo + o.pages) ref.delete(k);
          }
        }
        ghosts.forEach((gh, i) => {
          const ref = refs[i]!;
          expect([...gh.mem()]).toEqual(sorted(ref));
          for (const [k, v] of ref) expect(gh.expected(k)).toBe(Math.floor(v / 2));
          // The running digest is a function of the expectations alone.
          const fresh = new Ghost();
          for (const [k, v] of ref) fresh.expect(k, Math.floor(v / 2), v % 2 === 1);
          expect(gh.digest()).toEqual(fresh.digest());
          // And survives the trip to another thread.
          const back = Ghost.fromData(structuredClone(gh.toData()));
          expect([...back.mem()]).toEqual(sorted(ref));
          expect(back.digest()).toEqual(gh.digest());
        });
      }),
      { numRuns: 300 },
    );
  });
});

describe('the ghost of a process that is gone', () => {
  // A process that exits or is killed frees its mm: what it was entitled to see goes with it.
  it('forgets the mm of a process that exited or was killed', () => {
    const policy = eraInfo('v6.18')!.policy!;
    for (const end of ['  exit 3', '  mprotect a r\n  write a[0] = 5']) {
      const sc = parseScenario(
        `scenario g\nsetup {\n  mmap a pages=1 private rw\n  write a[0] = 1\n}\nthread parent {\n  fork child\n}\nthread child {\n  write a[0] = 2\n${end}\n}\nexists (pgfault > 0)`,
        'g.cow',
      );
      checkScenario(sc);
      const config = configFor(sc, policy);
      let m = newMachine(sc);
      for (let n = 0; n < 20; n++) {
        const next = expand(m, config, false).succs[0];
        if (!next) break;
        m = next.m;
      }
      expect(m.threads.every((t) => t.done)).toBe(true);
      const mms = [...m.ghost.mem()].map(([key]) => keyMm(key));
      expect(mms.length).toBeGreaterThan(0);
      for (const mm of mms) expect(m.s.mms[mm]).toBeTruthy();
    }
  });
});
