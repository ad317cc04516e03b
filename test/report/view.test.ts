/**
 * The viewer's data: states interned without loss, the same JSON for the
 * same inputs, snapshots that say what the state says, and era diffs whose
 * rows keep both runs whole and in order.
 */

import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { replay, sequentialMoves } from '../../src/explore/replay.js';
import { lookupPolicy } from '../../src/policy/registry.js';
import { alignSteps, viewDiff, viewTrace } from '../../src/report/view.js';
import { resolveState, type ViewStep } from '../../src/report/view-types.js';
import { checkScenario } from '../../src/scenario/check.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { type PtTableSnap, SNAPSHOT_LIMITS } from '../../src/scenario/snapshot.js';

function load(file: string) {
  const sc = parseScenario(readFileSync(file, 'utf8'), file);
  checkScenario(sc);
  return sc;
}

function policy(id: string) {
  const r = lookupPolicy(id);
  if (!('policy' in r)) throw new Error(id);
  return r.policy;
}

/** Every leaf entry of a table tree. */
function leaves(
  t: PtTableSnap | null,
): { addr: number; kind: string; target: number; bits: readonly string[] }[] {
  if (!t) return [];
  return t.entries.flatMap((e) => (e.child ? leaves(e.child) : [e]));
}

const VMSPLICE = 'scenarios/bugs/bug-cve-2020-29374-vmsplice.cow';
const FORK = 'scenarios/cow/cow-anon-fork-basic.cow';

describe('viewTrace', () => {
  it('interns the states without losing any, and gives the same JSON twice', () => {
    const sc = load(VMSPLICE);
    const p = policy('v5.7');
    const moves = sequentialMoves(sc, p);
    const r = replay(sc, p, moves, { snapshots: true });
    const t = viewTrace(sc, r, null);
    expect(t.states.length).toBe(r.steps.length + 1);
    expect(resolveState(t, 0)).toEqual(r.initialState);
    r.steps.forEach((st, i) => {
      expect(resolveState(t, i + 1)).toEqual(st.state);
    });
    const parts = t.states.reduce((n, s) => n + s.mms.length + s.folios.length + 4, 0);
    expect(t.pool.length).toBeLessThan(parts);
    const again = viewTrace(sc, replay(sc, p, moves, { snapshots: true }), null);
    expect(JSON.stringify(again)).toBe(JSON.stringify(t));
  });

  it('marks a broken invariant fresh only on the step that broke it', () => {
    const sc = load(VMSPLICE);
    const p = policy('v5.7');
    const t = viewTrace(sc, replay(sc, p, sequentialMoves(sc, p), { snapshots: true }), null);
    const fresh = t.steps.filter((s) => s.findings.some((f) => f.fresh));
    expect(fresh.length).toBe(1);
    const after = t.steps.slice(fresh[0]!.index + 1);
    expect(after.some((s) => s.findings.length > 0 && s.findings.every((f) => !f.fresh))).toBe(
      true,
    );
  });
});

describe('snapshotState', () => {
  it('after fork, parent and child map the same page read-only, and its folio counts both', () => {
    const sc = load(FORK);
    const p = policy('v6.18');
    const r = replay(sc, p, sequentialMoves(sc, p), { snapshots: true });
    const fork = r.steps.findIndex((s) => s.stmt.startsWith('fork'));
    const s = r.steps[fork]!.state!;
    expect(s.mms.length).toBe(2);
    const [a, b] = s.mms.map((m) => leaves(m.pgd).filter((e) => e.kind === 'present'));
    expect(a!.length).toBe(1);
    expect(b!.map((e) => [e.addr, e.target])).toEqual(a!.map((e) => [e.addr, e.target]));
    for (const e of [...a!, ...b!]) expect(e.bits).toContain('R');
    const folio = s.folios.find((f) => f.pfn === a![0]!.target)!;
    expect(folio.mapcount).toBe(2);
    expect(folio.flags).not.toContain('anon_exclusive');
  });

  it('every page a PTE maps is among the folios, with its refcount at least its mapcount', () => {
    let swapped = 0;
    for (const file of [VMSPLICE, FORK, 'scenarios/swap/pageout-swap-cache-minor-fault.cow']) {
      const sc = load(file);
      const p = policy('v6.18');
      const r = replay(sc, p, sequentialMoves(sc, p), { snapshots: true });
      for (const st of r.steps) {
        const s = st.state!;
        const pfns = new Set(s.folios.map((f) => f.pfn));
        for (const m of s.mms)
          for (const e of leaves(m.pgd))
            if (e.kind === 'present' && e.target > 1)
              expect(pfns.has(e.target), `${file} #${st.index}`).toBe(true);
        for (const f of s.folios)
          expect(f.refcount).toBeGreaterThanOrEqual(f.large ? f.large.mapcount : f.mapcount);
        swapped += s.swap.length;
        for (const x of s.swap)
          if (x.cache) expect(s.folios.find((f) => f.pfn === x.cache)?.swapSlot).toBe(x.slot);
      }
    }
    expect(swapped).toBeGreaterThan(0);
  });
});

describe('snapshot limits', () => {
  it('a 1 TiB sparse mapping shows at most the limits, counts the rest, and still round-trips', () => {
    const sc = load('scenarios/pgtable/pt-sparse-1t-dontneed.cow');
    const p = policy('v6.18');
    const r = replay(sc, p, sequentialMoves(sc, p), { snapshots: true });
    let omitted = 0;
    for (const st of r.steps) {
      const s = st.state!;
      expect(s.folios.length).toBeLessThanOrEqual(SNAPSHOT_LIMITS.folios);
      for (const m of s.mms)
        expect(leaves(m.pgd).length).toBeLessThanOrEqual(SNAPSHOT_LIMITS.entries);
      omitted += s.omittedFolios ?? 0;
    }
    expect(omitted).toBeGreaterThan(0);
    const t = viewTrace(sc, r, null);
    r.steps.forEach((st, i) => {
      expect(resolveState(t, i + 1)).toEqual(st.state);
    });
    expect(JSON.stringify(t).length).toBeLessThan(5_000_000);
  });
});

const step = (actor: string, stmt: string): ViewStep => ({
  index: 0,
  actor,
  pid: 1,
  cpu: 0,
  stmt,
  pos: null,
  note: '',
  choices: [],
  decisions: [],
  findings: [],
  threads: [],
  regs: {},
  events: [],
  changed: { ptes: [], pfns: [], lines: [] },
});

/** The length of a longest common subsequence, the slow way. */
function lcsLength(a: readonly string[], b: readonly string[]): number {
  const memo = new Map<string, number>();
  const go = (i: number, j: number): number => {
    if (i === a.length || j === b.length) return 0;
    const k = `${i},${j}`;
    const hit = memo.get(k);
    if (hit !== undefined) return hit;
    const v = a[i] === b[j] ? 1 + go(i + 1, j + 1) : Math.max(go(i + 1, j), go(i, j + 1));
    memo.set(k, v);
    return v;
  };
  return go(0, 0);
}

describe('alignSteps', () => {
  it('keeps both runs whole and in order, pairs equal steps only, and pairs as many as it can', () => {
    const arb = fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 14 });
    fc.assert(
      fc.property(arb, arb, (xa, xb) => {
        const a = xa.map((s) => step('t', s));
        const b = xb.map((s) => step('t', s));
        const rows = alignSteps(a, b);
        expect(rows.flatMap((r) => (r.a === null ? [] : [r.a]))).toEqual(xa.map((_, i) => i));
        expect(rows.flatMap((r) => (r.b === null ? [] : [r.b]))).toEqual(xb.map((_, i) => i));
        const pairs = rows.filter((r) => r.a !== null && r.b !== null);
        for (const r of pairs) expect(xa[r.a!]).toBe(xb[r.b!]);
        expect(pairs.length).toBe(lcsLength(xa, xb));
      }),
      { seed: 18, numRuns: 300 },
    );
  });

  it('the vmsplice diff parts where v5.7 reuses the page and v6.18 copies it', () => {
    const sc = load(VMSPLICE);
    const run = (id: string) => {
      const p = policy(id);
      return viewTrace(sc, replay(sc, p, sequentialMoves(sc, p), { snapshots: true }), null);
    };
    const d = viewDiff(run('v5.7'), run('v6.18'), { a: null, b: null });
    const row = d.rows[d.divergence!]!;
    const a = d.a.steps[row.a!]!;
    const b = d.b.steps[row.b!]!;
    expect(a.decisions.map((x) => `${x.point}=${x.choice}`)).toEqual(['do_wp_page=reuse']);
    expect(b.decisions.map((x) => `${x.point}=${x.choice}`)).toEqual(['do_wp_page=copy']);
    // Every row before it pairs the same statement with the same decisions.
    for (const r of d.rows.slice(0, d.divergence!)) {
      expect(r.a).not.toBeNull();
      expect(r.b).not.toBeNull();
    }
  });
});
