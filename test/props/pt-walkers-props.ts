/**
 * Properties of the page-table strategies on random two-thread programs of faults, GUP-fast
 * pins and MADV_DONTNEED over two PTE tables, with or without reclaim's
 * rmap walk, over anonymous memory or a shared memfd mapping with hole
 * punches (MADV_REMOVE, whose zap walks the i_mmap tree) (issue 17, ADR 0013):
 *  - under every design, every interleaving keeps the kernel's accounting
 *    (VmPTE included: MM004) and breaks no page-table invariant;
 *  - an unsafe variant breaks nothing but PT001/PT002, and never the
 *    model's own accounting; pte_refcount without its reference breaks
 *    PT001 before 6.5 (v5.18) and nothing on v6.18, whose walkers map
 *    under RCU and recheck the PMD entry;
 *  - at the end of a random interleaving, pte-refcount has freed every PTE
 *    table it emptied (the last put frees) and pt-rwsem every empty table of
 *    every level its zaps covered: no empty table is left linked.
 */

import fc from 'fast-check';
import { expect } from 'vitest';
import { tableEmpty } from '../../src/core/mm/memory/pgtable.js';
import type { Config } from '../../src/core/points.js';
import { expand } from '../../src/explore/expand.js';
import { explore } from '../../src/explore/explore.js';
import { policyById } from '../../src/policy/registry.js';
import { checkScenario } from '../../src/scenario/check.js';
import { newMachine } from '../../src/scenario/machine.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { configFor } from '../../src/scenario/run.js';

/**
 * Pairs that must break nothing: the designs on v6.18 and on an era before
 * 6.5's RCU walk (v5.18), and pte_refcount without its reference on v6.18,
 * where every walker's RCU read side and PMD recheck already cover it.
 */
const SAFE = [
  ...['none', 'pte-refcount', 'pt-rwsem', 'madv-cleanup', 'pt-reclaim'].map((d) => `v6.18/${d}`),
  'v5.18/pte-refcount',
  'v5.18/pt-rwsem',
  'v6.18/pte-refcount-notryget',
];
/** Pairs that may break PT001/PT002 (and with `variantsBreak` must, somewhere). */
const UNSAFE = [
  'v6.18/pt-reclaim-norecheck',
  'v6.18/pt-reclaim-norcu',
  'v5.18/pte-refcount-notryget',
];

/** Pages in both PTE tables of the 4 MiB arena, and ranges: whole PMDs, part of one, both. */
const page = fc.constantFrom(0, 1, 511, 512, 700);
const range = fc.constantFrom('0..512', '0..4', '512..1024', '0..1024', '1..2');

const stmtArb = (thread: string, n: number, pins: boolean, file: boolean) =>
  fc.oneof(
    fc.tuple(page, fc.integer({ min: 2, max: 9 })).map(([p, v]) => `write arena[${p}] = ${v}`),
    page.map((p) => `read arena[${p}] -> ${thread}r${n}`),
    range.map((r) => `madvise arena[${r}] dontneed`),
    ...(pins ? [page.map((p) => `pin arena[${p}] rw fast -> ${thread}p${n}`)] : []),
    // A hole punch zaps both threads' mappings of the file through the i_mmap tree.
    ...(file ? [range.map((r) => `madvise arena[${r}] remove`)] : []),
  );

/**
 * A thread's statements. With reclaim, which may take any folio between
 * any two steps, programs are shorter and pin nothing, so that every
 * exploration ends well inside its budget.
 */
const program = (thread: string, reclaim: boolean, file: boolean) =>
  fc
    .array(fc.nat(3), { minLength: 1, maxLength: reclaim ? 2 : 3 })
    .chain((ns) => fc.tuple(...ns.map((_, i) => stmtArb(thread, i, !reclaim, file))));

/**
 * Programs with reclaim's rmap walk (`env reclaim`) among the walkers, or
 * without; over private anonymous memory, or (`file`) a shared mapping of a
 * memfd, where `madvise remove` punches holes.
 */
const scenarioArb = (envs: readonly string[], file = false) =>
  fc
    .constantFrom(...envs)
    .chain((env) =>
      fc.record({
        main: program('m', env !== '', file),
        other: program('o', env !== '', file),
        env: fc.constant(env),
      }),
    )
    .map((g) =>
      [
        'scenario random-pt',
        g.env,
        'setup {',
        ...(file
          ? ['  memfd f pages=1024', '  mmap arena len=4M at=0x7e0000200000 shared rw file=f']
          : ['  mmap arena len=4M at=0x7e0000200000 private rw']),
        '  write arena[0] = 1',
        '}',
        'thread main {',
        '  spawn other',
        ...g.main.map((s) => `  ${s}`),
        '}',
        'thread other {',
        ...g.other.map((s) => `  ${s}`),
        '}',
        'exists (1 == 1)',
      ]
        .filter((l) => l !== '')
        .join('\n'),
    );

function load(src: string) {
  const sc = parseScenario(src, 'random-pt.cow');
  checkScenario(sc);
  return sc;
}

/**
 * The empty PUD, PMD and PTE tables still linked and held by no walker, as
 * "level:id" (every allocated table but those waiting for their grace
 * period is linked: MM004).
 */
function emptyLinked(s: ReturnType<typeof newMachine>['s']): string[] {
  const out: string[] = [];
  for (let id = 1; id < s.pt.tables.length; id++) {
    const level = s.pt.level[id]!;
    const held = (s.pt.visitors[id] ?? 0) > 0; // a walker's pte_tryget(): its put frees it
    if (s.pt.tables[id] && level < 4 && !held && !s.pt.deferred.includes(id) && tableEmpty(s, id))
      out.push(`${level}:${id}`);
  }
  return out;
}

/**
 * Every strategy explored on `numRuns` random programs: designs break
 * nothing and keep the accounting; unsafe variants break only PT001/PT002,
 * and (with `variantsBreak`) each breaks what it should somewhere.
 */
export function exploreAll(
  envs: readonly string[],
  numRuns: number,
  seed: number,
  variantsBreak: boolean,
  file = false,
): void {
  const broken = new Set<string>();
  fc.assert(
    fc.property(scenarioArb(envs, file), (src) => {
      const sc = load(src);
      for (const pt of [...SAFE, ...UNSAFE]) {
        const r = explore(sc, policyById(pt), { maxStates: 50_000 });
        expect(r.kind, `${pt}\n${src}`).toBe('done');
        const codes = new Set(r.findings.map((f) => f.code));
        if (SAFE.includes(pt)) expect([...codes], pt).toEqual([]);
        else
          for (const c of codes) {
            expect(['PT001', 'PT002']).toContain(c);
            broken.add(`${pt} ${c}`);
          }
      }
    }),
    { numRuns, seed },
  );
  // The programs are racy enough for every variant to break what it should somewhere.
  if (variantsBreak)
    expect([...broken].sort()).toEqual([
      'v5.18/pte-refcount-notryget PT001',
      'v6.18/pt-reclaim-norcu PT001',
      'v6.18/pt-reclaim-norecheck PT002',
    ]);
}

/** At the end of a random interleaving, pte-refcount and pt-rwsem left no empty table linked. */
export function promisedFrees(
  envs: readonly string[],
  numRuns: number,
  seed: number,
  file = false,
): void {
  fc.assert(
    fc.property(
      scenarioArb(envs, file),
      fc.array(fc.nat(), { minLength: 64, maxLength: 64 }),
      (src, picks) => {
        const sc = load(src);
        for (const pt of ['pte-refcount', 'pt-rwsem'] as const) {
          const config: Config = configFor(sc, policyById(`v6.18/${pt}`), { lockBreaks: true });
          let m = newMachine(sc);
          for (let i = 0; ; i++) {
            const { succs, final } = expand(m, config, false);
            if (final) break;
            m = succs[picks[i % picks.length]! % succs.length]!.m;
          }
          const left = emptyLinked(m.s).filter((x) => pt === 'pt-rwsem' || x.startsWith('1:'));
          expect(left, `${pt}\n${src}`).toEqual([]);
        }
      },
    ),
    { numRuns, seed },
  );
}
