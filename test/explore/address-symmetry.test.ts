import { describe, expect, it } from 'vitest';
import { forcedPages, ownPages } from '../../src/explore/address-symmetry.js';
import { expand } from '../../src/explore/expand.js';
import { explore } from '../../src/explore/explore.js';
import { permutable } from '../../src/explore/thread-symmetry.js';
import { eraInfo } from '../../src/policy/registry.js';
import type { Machine } from '../../src/scenario/machine.js';
import { newMachine } from '../../src/scenario/machine.js';
import { configFor } from '../../src/scenario/run.js';
import { load } from './symmetry-props.js';

const policy = eraInfo('v6.18')!.policy!;

/** A mapping a THP fits in: 2 MiB, 2 MiB aligned. */
const THP = 'mmap o pages=512 at=0x7e0000200000 private rw';

/** Two threads writing their own page of `o` (pages `p` and `q`), after `setup`. */
const twoOwners = (setup: string, p = 0, q = 1, mmap = 'mmap o pages=8 private rw') =>
  load(
    `scenario own\nsetup {\n  ${mmap}\n${setup}}\nthread parent {\n  fork child\n  spawn t0\n  spawn t1\n}\nthread t0 {\n  write o[${p}] = 2\n}\nthread t1 {\n  write o[${q}] = 3\n}\nthread child {\n}\nexists (anon_wp_copy_count > 0)`,
  );

/** The machine once the parent has forked and spawned (its moves come first). */
function afterParent(src: ReturnType<typeof load>): Machine {
  const config = configFor(src, policy);
  let m = newMachine(src);
  while (!m.threads[0]!.done) m = expand(m, config, true).succs[0]!.m;
  return m;
}

/** What swapping t0 and t1 does to the pages: a renaming, or 'pinned'. */
function swapPages(sc: ReturnType<typeof load>) {
  const m = afterParent(sc);
  expect(permutable(m)).toEqual([[2, 3]]);
  const order = m.threads.map((_, i) => i);
  order[2] = 3;
  order[3] = 2;
  return forcedPages(m, order);
}

describe('pages of their own (address-symmetry.ts)', () => {
  it('are the pages only their owner reads or writes, one at a time', () => {
    expect(ownPages(twoOwners('')).pages.map((l) => l.map(([, i]) => i))).toEqual([
      [],
      [0],
      [1],
      [],
    ]);
    // Named by anything else: no page of the mapping is anyone's.
    for (const src of [
      'scenario s\nsetup {\n  mmap o pages=2 private rw\n}\nthread p {\n  spawn t\n}\nthread t {\n  write o[0..2] = 2\n}\nexists (pgfault > 0)',
      'scenario s\nsetup {\n  mmap o pages=2 private rw\n}\nthread p {\n  spawn t\n  read o[1]\n}\nthread t {\n  write o[0] = 2\n}\nexists (pgfault > 0)',
      'scenario s\nsetup {\n  mmap o pages=2 private rw\n}\nthread p {\n  spawn t\n}\nthread t {\n  write o[0] = 2\n}\nexists (value(p, o[1]) == 0)',
      // A PFN's number read (of another mapping): exits free moved pages in another order.
      'scenario s\nsetup {\n  mmap o pages=2 private rw\n  mmap a pages=1 private rw\n  write a[0] = 1\n}\nthread p {\n  spawn t\n  observe pfn(a[0]) -> x\n}\nthread t {\n  write o[0] = 2\n}\nexists (x != 0)',
    ])
      expect(ownPages(load(src)).maps.size).toBe(0);
  });

  it('move with their threads in one PTE table of an anonymous private VMA', () => {
    const a = swapPages(twoOwners('  write o[0..8] = 1\n'));
    expect(a).not.toBe('pinned');
    expect(a).not.toBeNull();
    if (a === 'pinned' || a === null) return;
    // The two PTE indices trade places.
    const pairs = [...a.index];
    expect(pairs.length).toBe(2);
    const [x, y] = pairs[0]!;
    expect(pairs[1]).toEqual([y, x]);
    expect(x).not.toBe(y);
    // Parent and child: one PTE table each.
    expect(a.tables.size).toBe(2);
    expect(a.pages.size).toBe(2);
  });

  it('stay where something pins them: two PTE tables, two VMAs, THP', () => {
    const pinned = [
      // Pages 2 and 3 on either side of a 2 MiB boundary.
      twoOwners('  write o[0..8] = 1\n', 2, 3, 'mmap o pages=8 at=0x7e00001fd000 private rw'),
      // A VMA split between them (flags that differ).
      twoOwners('  madvise o[1..8] nohugepage\n  write o[0..8] = 1\n'),
      // VM_HUGEPAGE: a THP may be faulted in there.
      twoOwners('  madvise o hugepage\n'),
      // A THP mapped by its PMD, VM_HUGEPAGE cleared since.
      twoOwners('  madvise o hugepage\n  write o[0] = 1\n  madvise o nohugepage\n', 0, 1, THP),
      // And mapped by PTEs (the PMD split by a change of protection undone).
      twoOwners(
        '  madvise o hugepage\n  write o[0] = 1\n  madvise o nohugepage\n  mprotect o[5..6] r\n  mprotect o[5..6] rw\n',
        0,
        1,
        THP,
      ),
    ];
    expect(pinned.map((sc) => swapPages(sc) === 'pinned')).toEqual(pinned.map(() => true));
  });

  it('changes no verdict where they are pinned or moved (every era)', () => {
    for (const sc of [
      twoOwners('  write o[0..8] = 1\n', 2, 3, 'mmap o pages=8 at=0x7e00001fd000 private rw'),
      twoOwners('  madvise o hugepage\n  write o[0..8] = 1\n'),
      twoOwners('  madvise o[1..8] nohugepage\n  write o[0..8] = 1\n'),
      twoOwners('  write o[0..8] = 1\n'),
    ])
      for (const era of ['v5.9', 'v6.18', 'linus-rules']) {
        const p = eraInfo(era)!.policy!;
        const [all, values] = ([true, 'values'] as const).map((symmetry) =>
          explore(sc, p, { symmetry, por: false }),
        );
        expect([all!.kind, values!.kind]).toEqual(['done', 'done']);
        if (all!.kind !== 'done' || values!.kind !== 'done') return;
        expect(all!.verdict).toBe(values!.verdict);
        expect(all!.finals.holds > 0).toBe(values!.finals.holds > 0);
        expect(all!.states).toBeLessThanOrEqual(values!.states);
      }
  });
});
