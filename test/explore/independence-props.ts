/**
 * The independence of accesses to private pages (src/explore/independence.ts)
 * on random programs: threads of one process, some with a forked child
 * sharing its pages, reading and writing pages of private mappings (some
 * never touched, one without a PTE table yet), with now and then a
 * statement that reaches across pages (MADV_DONTNEED, mprotect, MADV_PAGEOUT,
 * a pin) or a local `sched_setaffinity`. Under the symmetry over PFN
 * allocation order, exploring with the partial-order reduction gives exactly what exploring without it gives:
 * the verdict, the broken design invariants (an accounting violation is a
 * tool bug, in neither), and the number of final states of each kind (each counted once up to the
 * renaming of PFNs), in at most as many states.
 */

import fc from 'fast-check';
import { expect } from 'vitest';
import { explore } from '../../src/explore/explore.js';
import { eraInfo } from '../../src/policy/registry.js';
import { load, readArb, statementsArb, writeArb } from './symmetry-props.js';

/** One statement of thread `t`; `n` numbers its registers. */
const stmtArb = (t: string, n: number) =>
  fc.oneof(
    { weight: 6, arbitrary: writeArb(4, 5) },
    { weight: 4, arbitrary: readArb(4, `${t}${n}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'write a[1..3] = 7',
        'read a[2..4]',
        `read b[0] -> ${t}${n}`,
        'write b[1] = 3',
      ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'madvise a[1] dontneed',
        'mprotect a r',
        'madvise a[0] pageout',
        `pin a[0] ro longterm -> ${t}pin${n}\n  unpin ${t}pin${n}`,
        // A local move, taken alone unless a thread of its group can end the group (local-move.ts).
        'sched_setaffinity 1',
      ),
    },
  );

const threadArb = (t: string, max: number) => statementsArb((n) => stmtArb(t, n), 0, max);

/** Up to three threads of a process (one may fork a child that runs too), on four private pages. */
export const accessScenarioArb = fc
  .record({
    t1: threadArb('x', 3),
    t2: threadArb('y', 3),
    t3: threadArb('z', 2),
    child: threadArb('c', 2),
    fork: fc.constantFrom('none', 'first', 'last'),
    touched: fc.constantFrom('a[0..4]', 'a[0]', 'a[0..2]'),
    cond: fc.constantFrom(
      'value(main, a[0]) == 2',
      'anon_wp_copy_count > 1',
      'pgfault > 3',
      'value(main, a[1]) == value(main, a[2])',
      'pfn(main, a[0]) != pfn(main, a[1])',
    ),
  })
  .map((g) =>
    [
      'scenario access',
      'setup {',
      '  mmap a pages=4 private rw',
      // b's pages are 2 MiB away: no PTE table until a fault makes one.
      '  mmap b pages=2 private rw',
      `  write ${g.touched} = 1`,
      '}',
      'thread main {',
      ...(g.fork === 'first' ? ['  fork child'] : []),
      '  spawn t1',
      '  spawn t2',
      ...(g.fork === 'last' ? ['  fork child'] : []),
      ...g.t3.map((s) => `  ${s}`),
      '}',
      'thread t1 {',
      ...g.t1.map((s) => `  ${s}`),
      '}',
      'thread t2 {',
      ...g.t2.map((s) => `  ${s}`),
      '}',
      ...(g.fork === 'none' ? [] : ['thread child {', ...g.child.map((s) => `  ${s}`), '}']),
      `exists (${g.cond})`,
    ].join('\n'),
  );

/**
 * accessScenarioArb's programs with an environment actor: with the per-CPU
 * LRU batches drained at any time (`env lru_batches`), reads of present
 * pages are still taken alone where they are not their thread's last
 * statement; with reclaim, which may unmap any page, nothing is
 * (independence.ts).
 */
export const envAccessScenarioArb = (env: 'lru_batches' | 'reclaim') =>
  accessScenarioArb.map((src) => src.replace('scenario access\n', `scenario access\nenv ${env}\n`));

/** One statement of a forked child (or the parent's thread) on three pages shared since the fork. */
const forkedStmtArb = (t: string, n: number) =>
  fc.oneof(
    writeArb(3, 5),
    readArb(3, `${t}${n}`),
    fc.constantFrom('write a[0..3] = 7', 'read a[1..3]', 'sched_setaffinity 1'),
  );

const forkedThreadArb = (t: string) => statementsArb((n) => forkedStmtArb(t, n), 1, 3);

/**
 * A process that forks two or three children (writing and reading between
 * its forks) and may spawn a thread; they write and read pages of a private
 * mapping the fork left shared (the folios the reduction lets faults of
 * different mms share, and forks taken alone while the children run).
 */
export const forkedScenarioArb = fc
  .record({
    pt: fc.option(forkedThreadArb('p'), { nil: null }),
    // The parent's own accesses between its forks (a page it copied is writable at the next fork).
    mid: fc.option(forkedThreadArb('m'), { nil: null }),
    c1: forkedThreadArb('x'),
    c2: forkedThreadArb('y'),
    c3: fc.option(forkedThreadArb('z'), { nil: null }),
    // What forkAlone() must see: the parent's thread alive during the forks,
    // a pin in the parent's mm (MMF_HAS_PINNED), a child creating a thread.
    ptFirst: fc.boolean(),
    pin: fc.boolean(),
    grandchild: fc.option(forkedThreadArb('g'), { nil: null }),
    touched: fc.constantFrom('a[0..3]', 'a[0..2]', 'a[0]'),
    cond: fc.constantFrom(
      'anon_wp_copy_count > 2',
      'value(main, a[0]) == 1',
      'pfn(c1, a[0]) != pfn(c2, a[0])',
      'pgfault > 4',
    ),
  })
  .map((g) => {
    const body = (name: string, xs: readonly string[] | null) =>
      xs ? [`thread ${name} {`, ...xs.map((x) => `  ${x}`), '}'] : [];
    return [
      'scenario forked',
      `setup {\n  mmap a pages=3 private rw\n  write ${g.touched} = 1\n}`,
      'thread main {',
      ...(g.pin ? ['  pin a[0] ro longterm -> pp'] : []),
      ...(g.pt && g.ptFirst ? ['  spawn pt'] : []),
      '  fork c1',
      ...(g.mid ?? []).map((x) => `  ${x}`),
      '  fork c2',
      ...(g.c3 ? ['  fork c3'] : []),
      ...(g.pt && !g.ptFirst ? ['  spawn pt'] : []),
      '}',
      ...body('pt', g.pt),
      ...body('c1', g.grandchild ? ['spawn gc', ...g.c1] : g.c1),
      ...body('gc', g.grandchild),
      ...body('c2', g.c2),
      ...body('c3', g.c3),
      `exists (${g.cond})`,
    ].join('\n');
  });

/**
 * With the symmetry on, the reduction changes no verdict, finding or count of
 * final states. Returns how many of the programs it explored in fewer states.
 */
export function independenceIdentity(
  numRuns: number,
  seed = 29,
  eras: readonly string[] = ['v5.9', 'v6.2', 'v6.18'],
  programs: fc.Arbitrary<string> = accessScenarioArb,
): number {
  let fewer = 0;
  fc.assert(
    fc.property(programs, fc.constantFrom(...eras), (src, era) => {
      const sc = load(src);
      const policy = eraInfo(era)!.policy!;
      const a = explore(sc, policy, { maxStates: 20_000, symmetry: true, por: false });
      const b = explore(sc, policy, { maxStates: 20_000, symmetry: true });
      expect(b.symmetry?.applied).toBe(true);
      expect([a.kind, b.kind]).not.toContain('tool-bug');
      if (a.kind !== 'done' || b.kind !== 'done') return;
      expect(b.verdict).toBe(a.verdict);
      const codes = (r: typeof a) => r.findings.map((f) => f.code).sort();
      expect(codes(b)).toEqual(codes(a));
      expect(b.finals).toEqual(a.finals);
      expect(b.states).toBeLessThanOrEqual(a.states);
      if (b.states < a.states) fewer++;
    }),
    { numRuns, seed },
  );
  return fewer;
}
