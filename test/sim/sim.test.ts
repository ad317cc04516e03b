import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VM_EVENT_NAMES } from '../../src/core/vmstat.js';
import { completeEraIds, eraInfo } from '../../src/policy/registry.js';
import { simJson } from '../../src/report/sim.js';
import { checkScenario } from '../../src/scenario/check.js';
import { parseScenario, parseWorkload } from '../../src/scenario/parse.js';
import { runSequential } from '../../src/scenario/run.js';
import { checkWorkload, estimateSteps, simulate } from '../../src/sim/sim.js';

const policy = (id: string) => eraInfo(id)!.policy!;

const FORCESWAP = `scenario forceswap-mini
const ROUNDS = 50000
setup {
  mmap m pages=2 private rw
  write m = 1
}
thread main {
  repeat r in 0..ROUNDS {
    madvise m pageout
    repeat i in 0..2 {
      read m[i]
      write m[i] = r
    }
  }
}
forall (value(main, m[1]) == ROUNDS - 1)
`;

const USEMEM = `scenario usemem-mini
const N = 6
setup {
  mmap m pages=8 private rw
  write m = 1
}
thread parent {
  repeat k in 0..N { fork child[k] }
  phase forked
  repeat k in 0..N { wait child[k] }
  phase done
}
thread child[k in 0..N] {
  write m = k + 2
  exit
}
forall (value(parent, m[7]) == 1)
`;

function workload(src: string) {
  const w = parseWorkload(src, 'w.cow');
  checkWorkload(w);
  return w;
}

describe('cowherd sim', () => {
  it('runs a loop of 250,000 statements without expanding it, and counts what the kernel counts', () => {
    const w = workload(FORCESWAP);
    // check, run and explore refuse it: the expansion is too large.
    expect(() => parseScenario(FORCESWAP, 'w.cow')).toThrow(/SC009|expand/);
    const r = simulate(w, policy('v6.18'), { seed: 1, cpus: 1, env: { writebackEnd: 1 } });
    expect(r.kind).toBe('done');
    expect(r.steps).toBe(2 + 50000 * 5);
    expect(estimateSteps(w)).toBe(r.steps);
    expect(r.holds).toBe(true);
    // Each round swaps both pages out (the writes end at once here) and faults them back.
    expect(r.counters.pswpout).toBe(2 * 50000);
    expect(r.counters.pgfault).toBeGreaterThanOrEqual(2 * 50000);
  });

  it('estimates the steps of thread arrays and loops for progress', () => {
    const w = workload(USEMEM);
    const r = simulate(w, policy('v6.18'), { seed: 1, cpus: 1 });
    expect(estimateSteps(w)).toBe(r.steps);
  });

  it('gives byte-identical output for the same seed, and samples the counters at each phase', () => {
    const w = workload(USEMEM);
    const out = (seed: number) =>
      simJson(
        completeEraIds().map((e) => ({
          scenario: w.name,
          file: w.file,
          result: simulate(w, policy(e), { seed, cpus: 2 }),
        })),
        { seed, cpus: 2, writebackEnd: 0.1 },
      );
    const a = out(7);
    expect(out(7)).toBe(a);
    const parsed = JSON.parse(a) as {
      results: { era: string; phases: { phase: string; counters: Record<string, number> }[] }[];
    };
    for (const r of parsed.results) {
      expect(r.phases.map((p) => p.phase)).toEqual(['forked', 'done']);
      // Every child's write faults on each of the 8 pages (COW, or a fresh page in an era that copies at fork).
      expect(r.phases[1]!.counters.pgfault, r.era).toBeGreaterThanOrEqual(8);
    }
  });

  it('reaches the sequential run’s final counters and registers on single-threaded workloads (property, every era)', () => {
    const op = fc.oneof(
      fc.tuple(
        fc.constant('write'),
        fc.integer({ min: 0, max: 1 }),
        fc.integer({ min: 1, max: 9 }),
      ),
      fc.tuple(fc.constant('read'), fc.integer({ min: 0, max: 1 }), fc.constant(0)),
      fc.tuple(fc.constant('dontneed'), fc.integer({ min: 0, max: 1 }), fc.constant(0)),
      fc.tuple(fc.constant('mprotect'), fc.constant(0), fc.integer({ min: 0, max: 1 })),
      fc.tuple(
        fc.constant('repeat'),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 9 }),
      ),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 8 }), (ops) => {
        const body = ops
          .map(([o, a, b], i) => {
            if (o === 'write') return `write m[${a}] = ${b}`;
            if (o === 'read') return `read m[${a}] -> r${i}`;
            if (o === 'dontneed') return `madvise m[${a}] dontneed`;
            if (o === 'mprotect') return `mprotect m ${b ? 'rw' : 'r'}`;
            return `repeat j in 0..${a} { write m[1] = j + ${b} }`;
          })
          .join('\n  ');
        const src = `scenario p\nsetup { mmap m pages=2 private rw }\nthread t {\n  ${body}\n  mprotect m rw\n  read m[1] -> last\n}\nexists (last >= 0)\n`;
        for (const era of completeEraIds()) {
          const sc = parseScenario(src, 'p.cow');
          checkScenario(sc);
          const run = runSequential(sc, policy(era), {});
          const sim = simulate(workload(src), policy(era), {
            seed: 3,
            cpus: 1,
            env: { lruBatching: false },
          });
          if (run.kind !== 'done') throw new Error(run.kind);
          expect(sim.kind, era).toBe('done');
          expect(sim.holds, era).toBe(run.holds);
          expect(sim.regs, era).toEqual(Object.fromEntries([...run.regs].sort()));
          VM_EVENT_NAMES.forEach((n, i) => {
            expect(sim.counters[n], `${era} ${n}`).toBe(run.final.vmstat[i]);
          });
        }
      }),
      { numRuns: 15 },
    );
  });
});
