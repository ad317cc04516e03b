import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { explore } from '../../src/explore/explore.js';
import { eraInfo } from '../../src/policy/registry.js';
import { checkScenario } from '../../src/scenario/check.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { runSequential } from '../../src/scenario/run.js';

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

  it('a design that can only hang gives Hang', () => {
    const f = 'scenarios/bugs/bug-cve-2020-29374-vmsplice.cow';
    const sc = parseScenario(readFileSync(f, 'utf8'), f);
    checkScenario(sc);
    const r = explore(sc, policy('wait-for-gup'));
    expect(r.kind === 'done' && r.verdict).toBe('Hang');
  });

  it('agrees with the sequential run on every library scenario (they synchronise every order that matters)', () => {
    const files: string[] = [];
    const walk = (p: string) => {
      for (const n of readdirSync(p).sort()) {
        const q = join(p, n);
        if (statSync(q).isDirectory()) walk(q);
        else if (n.endsWith('.cow')) files.push(q);
      }
    };
    walk('scenarios');
    for (const f of files) {
      const sc = parseScenario(readFileSync(f, 'utf8'), f);
      checkScenario(sc);
      for (const era of ['v5.9', 'v6.18', 'wait-for-gup']) {
        const x = explore(sc, policy(era));
        const s = runSequential(sc, policy(era));
        if (x.kind !== 'done' || s.kind !== 'done') throw new Error(`${sc.name} ${era}`);
        expect([sc.name, era, x.verdict]).toEqual([sc.name, era, s.verdict]);
      }
    }
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
