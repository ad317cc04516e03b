import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { explore } from '../../src/explore/explore.js';
import { replay } from '../../src/explore/replay.js';
import { eraInfo } from '../../src/policy/registry.js';
import { checkScenario } from '../../src/scenario/check.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { runSequential } from '../../src/scenario/run.js';
import {
  expectPorSound,
  expectSequentialContained,
  libraryFiles,
  librarySample,
} from './library.js';

const policy = (id: string) => eraInfo(id)!.policy!;
function scenario(src: string) {
  const sc = parseScenario(src, 't.cow');
  checkScenario(sc);
  return sc;
}

// The child reads while the parent writes, with no synchronisation: whether
// it sees the old value depends on the interleaving only, never on the era.
const RACE = `scenario race
setup {
  mmap a pages=1 shared rw
  write a[0] = 1
}
thread parent {
  fork child
  write a[0] = 2
  wait child
}
thread child {
  read a[0] -> seen
  exit
}
exists (seen == 2)
`;

describe('explore', () => {
  it('finds both outcomes of a race: Sometimes, with counts and a shortest witness', () => {
    const r = explore(scenario(RACE), policy('v6.18'));
    if (r.kind !== 'done') throw new Error(r.kind);
    expect(r.verdict).toBe('Sometimes');
    expect(r.finals).toEqual({ holds: 1, fails: 1, hangs: 0 });
    // Shortest: mmap, write, fork, the parent's write before the child's read, then the exits.
    expect(r.witness!.map((s) => `${s.thread}: ${s.stmt}`)).toEqual([
      'parent: mmap a len=0x1000 shared rw',
      'parent: write a[0] = 1',
      'parent: fork child',
      'parent: write a[0] = 2',
      'child: read a[0] -> seen',
      'child: exit',
      'parent: wait child',
    ]);
    expect(r.states).toBeGreaterThan(r.depth);
  });

  it('DFS visits the same states and gives the same verdict', () => {
    const bfs = explore(scenario(RACE), policy('v6.18'));
    const dfs = explore(scenario(RACE), policy('v6.18'), { dfs: true });
    expect(dfs.kind === 'done' && dfs.verdict).toBe('Sometimes');
    expect(dfs.states).toBe(bfs.states);
  });

  it('ends with kind limit, and its statistics, when the state budget runs out', () => {
    const r = explore(scenario(RACE), policy('v6.18'), { maxStates: 3 });
    expect(r.kind).toBe('limit');
    expect(r.states).toBe(3);
  });

  it("ends with a time limit, as data, when the caller's clock passes the budget", () => {
    let src = 'scenario many\nsetup {\n  mmap mem pages=5 private rw\n  write mem[0..5] = 1\n}\n';
    src += 'thread parent {\n  fork child\n';
    for (let i = 0; i < 5; i++) src += `  spawn t${i}\n`;
    src += '}\n';
    for (let i = 0; i < 5; i++) src += `thread t${i} {\n  write mem[${i}] = 2\n}\n`;
    src += 'thread child {\n}\nexists (1 == 1)\n';
    const sc = scenario(src);
    let now = 0;
    const r = explore(sc, policy('v6.18'), { maxMillis: 10, clock: () => (now += 100) });
    expect(r.kind).toBe('limit');
    if (r.kind === 'limit') expect(r.limit).toBe('time');
    // The clock is read every 16 new states (and while a node's successors are made).
    expect(r.states).toBe(16);
    const full = explore(sc, policy('v6.18'));
    expect(full.kind === 'done' && full.states).toBeGreaterThan(16);
    const few = explore(sc, policy('v6.18'), { maxStates: 10 });
    expect(few.kind === 'limit' && few.limit).toBe('states');
  });

  it('a design that can only hang gives Hang', () => {
    const f = 'scenarios/bugs/bug-cve-2020-29374-vmsplice.cow';
    const sc = parseScenario(readFileSync(f, 'utf8'), f);
    checkScenario(sc);
    const r = explore(sc, policy('wait-for-gup'));
    expect(r.kind === 'done' && r.verdict).toBe('Hang');
  });

  it('contains the sequential run: the same verdict where the explorer finds one outcome, one of the two where it says Sometimes (every 6th library file; test/slow has all)', () => {
    for (const f of librarySample(6)) expectSequentialContained(f);
  }, 120_000);
});

describe('explore: machine identity', () => {
  it('keeps apart two orders that bind the same VMAs to different names', () => {
    const src = `scenario names
thread a {
  spawn b
  mmap x pages=1 private rw
  write x[0] = 1
}
thread b {
  mmap y pages=1 private rw
}
exists (value(a, x[0]) == 1 && pfn(a, x[0]) != 0)
`;
    const r = explore(scenario(src), policy('v6.18'));
    if (r.kind !== 'done') throw new Error(r.kind);
    expect(r.verdict).toBe('Always');
    // x at the higher or at the lower address: two distinct final states, not one.
    expect(r.finals.holds).toBe(2);
  });
});

/** Every scenario file of the library, sorted. */
/** The child exits, then the parent writes its once-shared page: did the write copy it? */
const CHILD_EXITS_PARENT_WRITES = `setup {
  mmap mem pages=1 private rw
  write mem[0] = 1
  observe pfn(mem[0]) -> before
}
thread parent {
  fork child
  wait child
  write mem[0] = 2
  observe pfn(mem[0]) -> after
}
thread child {
  exit
}
exists (after != before)
`;

describe('explore: environment actors', () => {
  const load = (f: string) => {
    const sc = parseScenario(readFileSync(f, 'utf8'), f);
    checkScenario(sc);
    return sc;
  };

  it('LRU batches: a write on another CPU copies Sometimes on v6.18, on the same CPU it reuses', () => {
    const remote = explore(load('scenarios/lru/cow-lru-batch-remote-cpu.cow'), policy('v6.18'));
    const same = explore(load('scenarios/lru/cow-lru-batch-same-cpu.cow'), policy('v6.18'));
    if (remote.kind !== 'done' || same.kind !== 'done') throw new Error('not done');
    expect(remote.verdict).toBe('Sometimes');
    expect(same.verdict).toBe('Never');
    // The shortest copy: nobody drained CPU 0 before the write on CPU 1.
    const w = remote.witness!;
    expect(w.some((s) => s.thread.startsWith('lru_add_drain'))).toBe(false);
    const write = w.find((s) => s.stmt === 'write mem[0] = 2')!;
    expect(write.cpu).toBe(1);
  });

  it('reclaim holding a folio makes a write fault copy on v6.18 (Sometimes), and names itself in the path', () => {
    // The write copies (a PFN change alone could also be reclaim swapping the page out and in).
    const copies = CHILD_EXITS_PARENT_WRITES.replace(
      '(after != before)',
      '(anon_wp_copy_count > 0)',
    );
    const sc = scenario(`scenario reclaim-holder\nenv reclaim\n${copies}`);
    const r = explore(sc, policy('v6.18'));
    if (r.kind !== 'done') throw new Error(r.kind);
    expect(r.verdict).toBe('Sometimes');
    // Reclaim got the folio before the write's reuse check: as an actor step, or racing inside it.
    const write = r.witness!.findIndex((s) => s.stmt === 'write mem[0] = 2');
    const take = r.witness!.findIndex(
      (s) =>
        (s.thread === 'reclaim' && s.note.includes('isolates')) ||
        s.choices.some((c) => c.what === 'reclaim races for the folio lock' && c.pick === 1),
    );
    expect(take).toBeGreaterThanOrEqual(0);
    expect(take).toBeLessThanOrEqual(write);
    // v5.7 decides by mapcount: the reference reclaim holds does not matter.
    const old = explore(sc, policy('v5.7'));
    expect(old.kind === 'done' && old.verdict).toBe('Never');
  });

  it('a process that exits while reclaim holds its folio in the swap cache leaks nothing (MM006)', () => {
    // The last process goes between add_to_swap() and try_to_unmap(): reclaim
    // still holds the folio, and the swap slot it caches goes with it.
    const sc = scenario(
      [
        'scenario exit-under-reclaim',
        'env reclaim',
        'setup {\n  mmap a pages=2 private rw\n  write a[0..2] = 1\n}',
        'thread parent {\n  spawn sibling\n  read a[0] -> p0\n}',
        'thread sibling {\n  exit\n}',
        'exists (p0 == 1)',
      ].join('\n'),
    );
    const r = explore(sc, policy('v5.9'));
    expect(r.kind).toBe('done');
    expect(r.kind === 'done' && r.verdict).toBe('Sometimes');
  });

  it('page tables freed while reclaim walks them wait for the walk, not reported as a leak (MM006)', () => {
    // A SIGSEGV ends the parent while try_to_unmap() stopped inside its
    // tables, and the child unmaps the folio's other mapping and exits: no
    // mm is left, and the tables wait for the walk to leave (v6.18 walks under RCU).
    const sc = scenario(
      [
        'scenario killed-under-rmap-walk',
        'env reclaim',
        'setup {\n  mmap a pages=2 private rw\n  write a[0..2] = 1\n}',
        'thread parent {\n  spawn sibling\n  fork child\n}',
        'thread child {\n  munmap a\n}',
        'thread sibling {\n  mprotect a r\n  write a[0] = 2\n}',
        'exists (1 == 1)',
      ].join('\n'),
    );
    const r = explore(sc, policy('v6.18'));
    expect(r.kind).toBe('done');
  });

  it('swap: reclaim swaps a page out between add_to_swap() and the pin (bug-iouring-swap): PIN001 on v5.18, refused from v5.19', () => {
    const sc = load('scenarios/swap/bug-iouring-swap.cow');
    const r = explore(sc, policy('v5.18'));
    if (r.kind !== 'done') throw new Error(r.kind);
    expect(r.verdict).toBe('Sometimes');
    expect(r.findings.map((f) => f.code)).toContain('PIN001');
    // A fault asleep on the folio lock reclaim holds is woken when reclaim lets go: nothing hangs.
    expect(r.finals.hangs).toBe(0);
    const notes = r.witness!.map((s) => s.note).join('\n');
    expect(notes).toContain('added to the swap cache');
    const v519 = explore(sc, policy('v5.19'));
    expect(v519.kind === 'done' && [v519.verdict, v519.findings]).toEqual(['Never', []]);
  });

  it('forceswap with reclaim: v5.18 copies because the folio trylock fails, and the trace names reclaim as the holder', () => {
    const r = explore(load('scenarios/swap/forceswap-reclaim-lock.cow'), policy('v5.18'));
    if (r.kind !== 'done') throw new Error(r.kind);
    expect(r.verdict).toBe('Sometimes');
    const sc = load('scenarios/swap/forceswap-reclaim-lock.cow');
    const steps = replay(
      sc,
      policy('v5.18'),
      r.witness!.map((s) => s.move),
    ).steps;
    const d = steps.flatMap((s) => s.decisions).find((x) => x.point === 'folio_trylock');
    expect(d?.why).toMatch(/locked by reclaim/);
  });

  it('reclaim racing for the folio lock makes a write copy for the lock (anon_wp_copy_lock), as a traced choice', () => {
    const f = 'scenarios/anon/cow-anon-reclaim-lock-race.cow';
    const sc = parseScenario(readFileSync(f, 'utf8'), f);
    checkScenario(sc);
    const r = explore(sc, policy('v6.18'));
    if (r.kind !== 'done') throw new Error(r.kind);
    expect(r.verdict).toBe('Sometimes');
    const write = r.witness!.find((s) => s.choices.length > 0)!;
    expect(write.choices[0]).toMatchObject({ what: 'reclaim races for the folio lock', pick: 1 });
    expect(write.stmt).toBe('write mem[0] = 2');
    // 5.7 sleeps in lock_page() instead of copying.
    const old = explore(sc, policy('v5.7'));
    expect(old.kind === 'done' && old.verdict).toBe('Never');
  });

  it('branches over every nondeterministic choice a kernel path asks for', () => {
    const v618 = policy('v6.18');
    // A test design whose do_wp_page() leaves reuse-or-copy to an unmodelled fact.
    const coin: typeof v618 = {
      ...v618,
      do_wp_page: (s, k, vmf) =>
        k.choose('coin', ['reuse', 'copy'] as const) === 'reuse'
          ? v618.do_wp_page(s, k, vmf)
          : { action: 'copy', why: 'the coin said so', reason: 'other' },
    };
    const sc = scenario(`scenario coin\n${CHILD_EXITS_PARENT_WRITES}`);
    const r = explore(sc, coin);
    if (r.kind !== 'done') throw new Error(r.kind);
    expect(r.verdict).toBe('Sometimes');
    const pick = r.witness!.find((s) => s.choices.length > 0)!;
    expect(pick.choices).toEqual([{ what: 'coin', options: ['reuse', 'copy'], pick: 1 }]);
    expect(pick.move).toMatchObject({ kind: 'thread', picks: [1] });
  });
});

describe('explore: lock-boundary steps', () => {
  it('two threads COWing one page: both decide to copy, the second pte_same() fails and its copy is dropped', () => {
    const f = 'scenarios/anon/cow-anon-two-threads-race-copy.cow';
    const sc = parseScenario(readFileSync(f, 'utf8'), f);
    checkScenario(sc);
    const r = explore(sc, policy('v6.18'));
    if (r.kind !== 'done') throw new Error(r.kind);
    expect(r.verdict).toBe('Sometimes');
    const notes = r.witness!.map((s) => s.note);
    expect(notes.filter((n) => n.startsWith('do_wp_page() decided to copy'))).toHaveLength(2);
    expect(notes.some((n) => n.includes('PTE changed: drops the copy'))).toBe(true);
    // A sequential run takes each fault in one step: one copy, never two.
    const seq = runSequential(sc, policy('v6.18'));
    expect(seq.kind === 'done' && seq.verdict).toBe('Never');
  });

  it('a fault stopped inside the mmap lock keeps mmap/munmap/mprotect/fork of the same mm waiting', async () => {
    const { replay } = await import('../../src/explore/replay.js');
    const { parseMove } = await import('../../src/explore/moves.js');
    const sc = scenario(`scenario lock
setup {
  mmap mem pages=1 private rw
  write mem[0] = 1
}
thread parent {
  fork child
  spawn sibling
  write mem[0] = 2
}
thread sibling {
  munmap mem
}
thread child {
}
exists (value(parent, mem[0]) == 2)
`);
    const moves = (t: string) => t.split('-').map((x) => parseMove(x)!);
    // parent: mmap, write (two steps: the munmap makes page-table walks stop at
    // pte_offset_map_lock()), fork, spawn, then the write stops in
    // wp_page_copy(); the sibling (thread 2) must wait.
    expect(() => replay(sc, policy('v6.18'), moves('0-0-0-0-0-0-2'))).toThrow(
      /RP002|cannot be taken/,
    );
    // Once the fault is done the munmap may run.
    const out = replay(sc, policy('v6.18'), moves('0-0-0-0-0-0-0-2'));
    expect(out.steps.at(-1)!.stmt).toBe('munmap mem');
  });
});

describe('explore: khugepaged', () => {
  it('a khugepaged step has a replay key (h<mm>.<2 MiB index>) and fails on a pinned range', async () => {
    const { parseMove, moveKey } = await import('../../src/explore/moves.js');
    const f = 'scenarios/thp/khugepaged-pinned.cow';
    const sc = parseScenario(readFileSync(f, 'utf8'), f);
    checkScenario(sc);
    const moves = '0-0-0-0-h1.512-0-0-0-0'.split('-').map((x) => parseMove(x)!);
    expect(moves.map(moveKey).join('-')).toBe('0-0-0-0-h1.512-0-0-0-0');
    const out = replay(sc, policy('v6.18'), moves);
    const d = out.steps.flatMap((s) => s.decisions).find((x) => x.point === 'khugepaged');
    expect(d).toMatchObject({ choice: 'failed' });
  });
});

describe('explore: GUP-fast against fork()', () => {
  const f = 'scenarios/bugs/bug-gup-fast-fork-race.cow';
  const load = () => {
    const sc = parseScenario(readFileSync(f, 'utf8'), f);
    checkScenario(sc);
    return sc;
  };

  it("v5.9: a pin between fork()'s copy and its write-protect is lost (Sometimes, PIN001)", () => {
    const r = explore(load(), policy('v5.9'));
    if (r.kind !== 'done') throw new Error(r.kind);
    expect(r.verdict).toBe('Sometimes');
    const notes = r.witness!.map((s) => `${s.thread}: ${s.note}`);
    const copied = notes.findIndex((n) => n.startsWith('parent: fork() copied the page tables'));
    const pinned = notes.findIndex((n) => n.startsWith('dma: 1 page(s)'));
    const wrprotected = notes.findIndex((n) => n.startsWith('parent: fork() continues'));
    expect(copied).toBeGreaterThanOrEqual(0);
    expect(copied < pinned && pinned < wrprotected).toBe(true);
    expect(r.findings.map((x) => x.code)).toEqual(['PIN001']);
  });

  it('v6.18: GUP-fast falls back while write_protect_seq is odd, and the slow path waits for fork()', async () => {
    const { replay } = await import('../../src/explore/replay.js');
    const { parseMove } = await import('../../src/explore/moves.js');
    const r = explore(load(), policy('v6.18'));
    expect(r.kind === 'done' && r.verdict).toBe('Never');
    // mmap, write, spawn, fork (stops before write-protecting), then the sibling's pin.
    const out = replay(
      load(),
      policy('v6.18'),
      '0-0-0-0-1'.split('-').map((x) => parseMove(x)!),
    );
    const last = out.steps.at(-1)!;
    expect(last.thread).toBe('dma');
    expect(last.note).toMatch(/^blocked/);
    expect(last.decisions.map((d) => `${d.point}=${d.choice}`)).toContain('gup_fast=fallback');
  });
});

describe('replay', () => {
  it('re-runs a witness exactly: same steps, same final condition', async () => {
    const { replay, replayToken, parseReplayToken } = await import('../../src/explore/replay.js');
    const sc = parseScenario(
      readFileSync('scenarios/lru/cow-lru-batch-remote-cpu.cow', 'utf8'),
      'scenarios/lru/cow-lru-batch-remote-cpu.cow',
    );
    checkScenario(sc);
    const r = explore(sc, policy('v5.9'));
    if (r.kind !== 'done') throw new Error(r.kind);
    const moves = r.witness!.map((s) => s.move);
    const token = replayToken(sc, 'v5.9', moves);
    const parsed = parseReplayToken(token);
    expect(parsed.moves).toEqual(moves);
    const out = replay(sc, policy('v5.9'), parsed.moves);
    expect(out.end).toBe('finished');
    expect(out.holds).toBe(true);
    expect(out.steps.map((s) => `${s.thread} ${s.stmt}`)).toEqual(
      r.witness!.map((s) => `${s.thread} ${s.stmt}`),
    );
  });
});

describe('explore: partial-order reduction', () => {
  it('gives the same verdicts and final-state counts with and without it (every 6th library file, every era; test/slow has all)', () => {
    const files = librarySample(6);
    files.push('test/fixtures/race-shared-read.cow');
    const { reduced, full } = expectPorSound(files);
    expect(reduced).toBeLessThan(full);
  }, 240_000);

  it('takes a local move alone: signal, await and sched_setaffinity commute with everything', () => {
    const sc = scenario(`scenario local
thread a {
  spawn b
  signal x
  sched_setaffinity 1
  signal y
}
thread b {
  signal z
  sched_setaffinity 2
  await x
}
exists (1 == 1)
`);
    const a = explore(sc, policy('v6.18'));
    const b = explore(sc, policy('v6.18'), { por: false });
    expect(a.kind === 'done' && a.verdict).toBe('Always');
    expect(b.kind === 'done' && b.verdict).toBe('Always');
    // With the reduction one order is explored (a line of states); without it every interleaving.
    expect(a.states).toBe(a.depth + 1);
    expect(b.states).toBeGreaterThan(a.states);
  });
});

describe('explore: design invariants (ghost state)', () => {
  const load = (f: string) => {
    const sc = parseScenario(readFileSync(f, 'utf8'), f);
    checkScenario(sc);
    return sc;
  };
  const codes = (f: string, era: string) =>
    explore(load(f), policy(era))
      .findings.map((x) => x.code)
      .sort();

  it("isolation: CVE-2020-29374 breaks ISO001 on v5.7 (the pipe shows the parent's write), not on v5.8 or v6.18", () => {
    const f = 'scenarios/bugs/bug-cve-2020-29374-vmsplice.cow';
    const r = explore(load(f), policy('v5.7'));
    expect(r.findings.map((x) => x.code)).toEqual(['ISO001']);
    expect(r.findings[0]!.detail).toMatch(/pipe 1 buffer 0 \(vmspliced\) holds 6211559/);
    // Shortest: the finding appears right after the parent's write.
    expect(r.findings[0]!.path.at(-1)!.stmt).toBe('write p[0] = 6211559');
    expect(codes(f, 'v5.8')).toEqual([]);
    expect(codes(f, 'v6.18')).toEqual([]);
  });

  it('pin coherence: the RDMA wrong COW breaks PIN001 on v5.7, not on v6.18', () => {
    expect(codes('scenarios/bugs/bug-rdma-fork-5.9rc.cow', 'v5.7')).toEqual(['PIN001']);
    expect(codes('scenarios/bugs/bug-rdma-fork-5.9rc.cow', 'v6.18')).toEqual([]);
  });

  it('lost DMA write: the O_DIRECT fork race breaks DMA001 while O_DIRECT takes FOLL_GET, not on v6.18', () => {
    expect(codes('scenarios/bugs/bug-odirect-fork-race.cow', 'v5.9')).toContain('DMA001');
    expect(codes('scenarios/bugs/bug-odirect-fork-race.cow', 'v6.18')).toEqual([]);
  });

  it("agree with the library's own conditions: a bug scenario breaks an invariant exactly where its condition finds the bug", () => {
    const bugs = /^(bug-|cow-anon-(vmsplice|ro-pin|iouring)|cow-nonanon-ro)/;
    for (const f of libraryFiles()) {
      const sc = load(f);
      if (!bugs.test(sc.name)) continue;
      for (const era of ['v5.7', 'v5.9', 'v6.18']) {
        const r = explore(sc, policy(era));
        if (r.kind !== 'done') throw new Error(`${sc.name} ${era}: ${r.kind}`);
        const buggy = r.verdict === 'Always' || r.verdict === 'Sometimes';
        expect([sc.name, era, r.findings.length > 0]).toEqual([sc.name, era, buggy]);
      }
    }
  }, 60_000);

  it('a process writing its own spliced page is not a breach; another process writing it is', () => {
    const own = scenario(`scenario own
setup {
  mmap p pages=1 private rw
  write p[0] = 1
  pipe pp
}
thread parent {
  fork child
  wait child
}
thread child {
  vmsplice p[0] -> pp
  write p[0] = 2
  read pipe pp -> got
  exit
}
exists (got == 2)
`);
    for (const era of ['v5.7', 'v6.18']) {
      const r = explore(own, policy(era));
      expect([era, r.findings]).toEqual([era, []]);
    }
  });
});

describe('explore: worker threads', () => {
  // The workers run the compiled explorer (dist/, built by `npm ci` and `npm run build`).
  it('gives the sequential result, byte for byte, with 1, 2 and 3 workers', async () => {
    const { exploreParallel } = await import('../../src/explore/parallel.js');
    for (const [f, era] of [
      ['scenarios/bugs/bug-cve-2020-29374-vmsplice.cow', 'v5.7'],
      ['scenarios/lru/cow-lru-batch-remote-cpu.cow', 'v6.18'],
      ['scenarios/anon/cow-anon-two-threads-race-copy.cow', 'v5.9'],
      ['scenarios/bugs/bug-rdma-fork-5.9rc.cow', 'v5.7'],
      ['test/fixtures/race-shared-read.cow', 'v6.18'],
    ] as const) {
      const sc = parseScenario(readFileSync(f, 'utf8'), f);
      checkScenario(sc);
      const want = JSON.stringify(explore(sc, policy(era)));
      for (const workers of [1, 2, 3]) {
        const got = JSON.stringify(exploreParallel(sc, policy(era), { workers }));
        expect([f, workers, got]).toEqual([f, workers, want]);
      }
      const limited = JSON.stringify(explore(sc, policy(era), { maxStates: 5 }));
      expect(JSON.stringify(exploreParallel(sc, policy(era), { workers: 2, maxStates: 5 }))).toBe(
        limited,
      );
    }
  }, 60_000);
});
