import { describe, expect, it } from 'vitest';
import { copy_process } from '../../../src/core/kernel/fork.js';
import { do_madvise, MADV_DONTNEED } from '../../../src/core/mm/madvise.js';
import { pte_clear, pte_index, pteTable } from '../../../src/core/mm/memory/pgtable.js';
import { PROT_READ } from '../../../src/core/mm/mmap.js';
import { mremap_fixed } from '../../../src/core/mm/mremap.js';
import {
  PT_WALK_RULES,
  ptPromiseBroken,
  ptWalkRules,
  ptWalkRulesOf,
} from '../../../src/core/mm/pt_walk.js';
import type { PtStrategy } from '../../../src/core/points.js';
import { ARENA, expectSound, mapAnon, mmOfTask, ptArena, world, write } from '../helpers.js';

const A = ARENA;

/** A PTE table whose only entry was cleared behind the design's back (no put). */
function emptiedBehindItsBack(ptStrategy: PtStrategy) {
  const { w, table: t } = ptArena(ptStrategy);
  pte_clear(w.s, t, pte_index(A));
  return { w, t };
}

describe('PT003: the free a page-table design promises', () => {
  it('pte-refcount: an empty linked PTE table nobody visits should have been freed', () => {
    const { w, t } = emptiedBehindItsBack('pte-refcount');
    expect(ptPromiseBroken(w.s, w.k.config)).toMatch(new RegExp(`PTE table ${t} has no entry`));
    w.s.pt.visitors[t] = 1; // a walker's pte_tryget(): its put will free it
    expect(ptPromiseBroken(w.s, w.k.config)).toBeNull();
  });

  it('the other designs promise nothing a state can show', () => {
    for (const pt of ['none', 'pt-reclaim', 'pt-rwsem', 'madv-cleanup'] as const) {
      const { w } = emptiedBehindItsBack(pt);
      expect(ptPromiseBroken(w.s, w.k.config), pt).toBeNull();
    }
  });

  it('an unsafe variant keeps its design', () => {
    expect(ptWalkRules(world({ ptStrategy: 'pte-refcount-notryget' }).k.config).design).toBe(
      'pte-refcount',
    );
  });
});

describe("the walk rules' answers, field by field", () => {
  it('each strategy answers as its design does, with and without the RCU walk', () => {
    for (const rcu of [false, true])
      for (const id of Object.keys(PT_WALK_RULES) as PtStrategy[]) {
        const r = ptWalkRulesOf(rcu, id);
        const d = r.design;
        expect([id, rcu, r.pteRefcount, r.walkAtomics, r.rwsem]).toEqual([
          id,
          rcu,
          d === 'pte-refcount',
          d === 'pte-refcount' || d === 'pt-rwsem',
          d === 'pt-rwsem',
        ]);
      }
  });

  it('rules given in the configuration are the ones read', () => {
    const w = world({ ptStrategy: 'none' });
    const given = ptWalkRulesOf(true, 'pt-rwsem');
    expect(ptWalkRules({ ...w.k.config, ptWalk: given })).toBe(given);
    expect(ptWalkRules(w.k.config)).toBe(ptWalkRulesOf(w.k.config.policy.pte_map_rcu, 'none'));
  });
});

describe('mremap frees per design what free_pgtables() leaves to a neighbour', () => {
  /** Whether the PTE table the moved VMA shared with its untouched neighbour is still there. */
  const kept = (ptStrategy: PtStrategy) => {
    const w = world({ ptStrategy });
    mapAnon(w, w.init, A, 1 << 20);
    mapAnon(w, w.init, A + (1 << 20), 1 << 20, false, PROT_READ); // the neighbour
    write(w, w.init, A, 1);
    const mm = mmOfTask(w, w.init);
    expect(mremap_fixed(w.s, mm, A, 1 << 20, 0x7f0000000000, w.k)).toBe(0x7f0000000000);
    expectSound(w);
    return pteTable(w.s, mm, A + (1 << 20)) !== 0;
  };

  it('none and pt-reclaim keep it; the refcount and the rwsem free it', () => {
    expect(kept('none')).toBe(true);
    expect(kept('pt-reclaim')).toBe(true);
    expect(kept('pte-refcount')).toBe(false);
    expect(kept('pt-rwsem')).toBe(false);
  });
});

describe("fork: the child's PTE table a copy left empty", () => {
  /** Whether the child has a PTE table for a private VMA whose 2 MiB maps only a shared VMA's page. */
  const childTable = (ptStrategy: PtStrategy) => {
    const w = world({ ptStrategy });
    mapAnon(w, w.init, A, 1 << 20); // private: copied at fork
    mapAnon(w, w.init, A + (1 << 20), 1 << 20, true); // shared: not copied
    write(w, w.init, A, 1);
    write(w, w.init, A + (1 << 20), 2);
    const mm = mmOfTask(w, w.init);
    expect(do_madvise(w.s, w.k, mm, A, 4096, MADV_DONTNEED)).toBe(0);
    const child = copy_process(w.s, w.k, w.init, false);
    expectSound(w);
    return pteTable(w.s, mmOfTask(w, child), A) !== 0;
  };

  it('stays under mainline (copy_pte_range() allocated it); the refcount puts and frees it', () => {
    expect(childTable('none')).toBe(true);
    expect(childTable('pte-refcount')).toBe(false);
  });
});
