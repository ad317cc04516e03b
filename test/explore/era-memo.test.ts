// One scenario under several eras, each behaviour explored once
// (src/explore/era-memo.ts): an era gets another's result only when every
// decision point the exploration read is the same in both, and then gets
// exactly what exploring it gives.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Policy } from '../../src/core/points.js';
import { EraMemo, recordingPolicy } from '../../src/explore/era-memo.js';
import { explore } from '../../src/explore/explore.js';
import { eraInfo } from '../../src/policy/registry.js';
import { copy_present_pte_share, do_wp_page_mapcount } from '../../src/policy/rules.js';
import { checkScenario } from '../../src/scenario/check.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { expectEraMemoExact, librarySample } from './library.js';

const policy = (id: string) => eraInfo(id)!.policy!;

function load(f: string) {
  const sc = parseScenario(readFileSync(f, 'utf8'), f);
  checkScenario(sc);
  return sc;
}

// A private page written after fork: do_wp_page() decides, by era.
const COW = 'scenarios/cow/cow-anon-fork-basic.cow';
// The child's vmsplice() pin survives the parent's write fault only where
// do_wp_page() reuses by mapcount: the answer changes with that rule alone.
const VMSPLICE = 'scenarios/bugs/bug-cve-2020-29374-vmsplice.cow';

describe('EraMemo', () => {
  it('notes the decision points an exploration reads, and no labels', () => {
    const { policy: p, read } = recordingPolicy(policy('v6.18'));
    expect(p.id).toBe('v6.18');
    expect(read.size).toBe(0);
    explore(load(COW), p);
    expect(read.has('do_wp_page')).toBe(true);
    expect(read.has('ptStrategy')).toBe(true);
    for (const label of ['id', 'title', 'kernels', 'complete', 'cites'])
      expect(read.has(label)).toBe(false);
    // A scenario without KSM never asks the KSM decision points.
    expect(read.has('break_ksm_unshare')).toBe(false);
    // Nor one without large folios the reuse of a page of one.
    expect(read.has('wp_can_reuse_large_anon_folio')).toBe(false);
  });

  it('asks wp_can_reuse_large_anon_folio for a write to a page of a PTE-mapped THP', () => {
    const { policy: p, read } = recordingPolicy(policy('v6.18'));
    explore(load('scenarios/cow/cow-anon-fork-basic-thp-pte.cow'), p);
    expect(read.has('wp_can_reuse_large_anon_folio')).toBe(true);
  });

  it('gives an era the result of one with the same decisions, under its own id', () => {
    const sc = load(COW);
    const memo = new EraMemo(sc);
    const a = memo.explore(policy('v6.18'));
    // The same decisions under another name: shared.
    const twin: Policy = { ...policy('v6.18'), id: 'v6.2', title: 'a twin' };
    const b = memo.explore(twin);
    expect([memo.explored, memo.shared]).toEqual([1, 1]);
    expect(b.era).toBe('v6.2');
    expect({ ...b, era: a.era }).toEqual(a);
  });

  it('explores again when a decision point it read differs, not when one it did not read does', () => {
    const sc = load(COW);
    const memo = new EraMemo(sc);
    memo.explore(policy('v6.18'));
    // A KSM decision this scenario never reaches: shared.
    memo.explore({ ...policy('v6.18'), break_ksm_unshare: !policy('v6.18').break_ksm_unshare });
    expect([memo.explored, memo.shared]).toEqual([1, 1]);
    // do_wp_page() by mapcount, as in v5.7: explored, and its own answer.
    const other: Policy = { ...policy('v6.18'), do_wp_page: do_wp_page_mapcount };
    const r = memo.explore(other);
    expect([memo.explored, memo.shared]).toEqual([2, 1]);
    expect(JSON.stringify(r)).toBe(JSON.stringify(explore(sc, other)));
    // The same function object as an earlier era: equal decisions compare equal.
    memo.explore({ ...other, id: 'v5.9' });
    expect([memo.explored, memo.shared]).toEqual([2, 2]);
    // Another page-table strategy (a flag every exploration reads).
    memo.explore({ ...policy('v6.18'), ptStrategy: 'none' });
    expect([memo.explored, memo.shared]).toEqual([3, 2]);
  });

  it('an era explored again takes the expansions that read only decisions it makes the same way', () => {
    const sc = load(VMSPLICE);
    const memo = new EraMemo(sc);
    const a = memo.explore(policy('v6.18'));
    expect(memo.reused).toBe(0);
    const made = memo.expansions;
    // do_wp_page() by mapcount: every state before the parent's write is
    // expanded the same way, the write fault and what follows it are not.
    const other: Policy = { ...policy('v6.18'), do_wp_page: do_wp_page_mapcount };
    const r = memo.explore(other);
    expect(memo.explored).toBe(2);
    expect(memo.reused).toBeGreaterThan(0);
    expect(memo.expansions).toBeGreaterThan(made);
    const plain = explore(sc, other);
    expect(JSON.stringify(r)).toBe(JSON.stringify(plain));
    // The eras' answers differ, so a write fault taken from v6.18 would show.
    expect(JSON.stringify({ ...a, era: plain.era })).not.toBe(JSON.stringify(plain));
  });

  it("the decisions of the expansions an era took count as read by that era's exploration", () => {
    const sc = load(VMSPLICE);
    const memo = new EraMemo(sc);
    memo.explore(policy('v6.18'));
    const other: Policy = { ...policy('v6.18'), do_wp_page: do_wp_page_mapcount };
    memo.explore(other);
    // fork() ran in expansions `other` took from v6.18: it rests on
    // copy_present_pte() all the same, so an era differing there is explored.
    const third: Policy = { ...other, copy_present_pte: copy_present_pte_share };
    const r = memo.explore(third);
    expect([memo.explored, memo.shared]).toEqual([3, 0]);
    expect(JSON.stringify(r)).toBe(JSON.stringify(explore(sc, third)));
  });

  it('runs the steps of machines it took from another era under its own budgets', () => {
    // The parent's write faults in 4,096 pages: a long step, which reads the
    // budgets after 4,096 pages through its machine (Machine.interrupt). The
    // state after fork() is a machine the first era made; the child's write
    // fault there reads do_wp_page(), so the second era expands it itself.
    const sc = parseScenario(
      [
        'scenario long-write-after-fork',
        'setup {',
        '  mmap a pages=1 private rw',
        '  write a[0] = 1',
        '  mmap b len=16M private rw',
        '}',
        'thread parent {',
        '  fork child',
        '  write b = 2',
        '}',
        'thread child {',
        '  write a[0] = 3',
        '}',
        'exists (value(parent, a[0]) == 1)',
      ].join('\n'),
      'long-write.cow',
    );
    checkScenario(sc);
    let now = 0;
    const opts = { maxMillis: 1000, clock: () => now };
    const memo = new EraMemo(sc, opts);
    expect(memo.explore(policy('v6.18')).kind).toBe('done');
    // Past the first era's deadline, well within the second's.
    now = 5000;
    const other: Policy = { ...policy('v6.18'), do_wp_page: do_wp_page_mapcount };
    const r = memo.explore(other);
    expect(memo.reused).toBeGreaterThan(0);
    expect(r.kind).toBe('done');
    expect(JSON.stringify(r)).toBe(JSON.stringify(explore(sc, other, opts)));
  });

  it("compares page-table strategies by the walk rules' fields read, not by name", () => {
    // v6.2 (none) and v6.18 (pt-reclaim): a fault asks whether a walk costs
    // atomics and whether entries are counted, and both say no.
    const sc = load(COW);
    const memo = new EraMemo(sc);
    memo.explore(policy('v6.2'));
    const r = memo.explore(policy('v6.18'));
    const taken = memo.reused;
    expect(taken).toBeGreaterThan(0);
    expect(JSON.stringify(r)).toBe(JSON.stringify(explore(sc, policy('v6.18'))));
    // pte_refcount answers yes to both: only the steps that walk no page
    // table (a signal, a load from a page mapped already) are taken.
    const refcount: Policy = { ...policy('v6.2'), ptStrategy: 'pte-refcount' };
    const q = memo.explore(refcount);
    expect(memo.reused - taken).toBeLessThan(taken);
    expect(JSON.stringify(q)).toBe(JSON.stringify(explore(sc, refcount)));
  });

  it('an era whose strategy frees what another keeps gets its own answer', () => {
    // MADV_DONTNEED frees the emptied PTE tables under PT_RECLAIM only: the
    // steps up to it are taken from v6.2, the zap is v6.18's own.
    const sc = load('scenarios/pgtable/pt-sparse-1t-dontneed.cow');
    const memo = new EraMemo(sc);
    const a = memo.explore(policy('v6.2'));
    const b = memo.explore(policy('v6.18'));
    expect(memo.reused).toBeGreaterThan(0);
    expect(a.kind === 'done' && a.verdict).toBe('Never');
    expect(b.kind === 'done' && b.verdict).toBe('Always');
    expect(JSON.stringify(b)).toBe(JSON.stringify(explore(sc, policy('v6.18'))));
  });

  it('keeps no result cut by the clock', () => {
    // Enough states for the clock to be read (every 16 new states).
    const sc = load('test/fixtures/many-threads.cow');
    let now = 0;
    const memo = new EraMemo(sc, { maxMillis: 1, clock: () => (now += 1000) });
    const a = memo.explore(policy('v6.18'));
    expect(a.kind === 'limit' && a.limit).toBe('time');
    memo.explore(policy('v6.18'));
    expect([memo.explored, memo.shared]).toEqual([2, 0]);
  });

  it("an era given another era's result gets what exploring it gives (a sample of the library)", () => {
    const { explored, shared } = expectEraMemoExact(librarySample(12));
    expect(shared).toBeGreaterThan(0);
    expect(explored).toBeGreaterThan(0);
  }, 120_000);
});
