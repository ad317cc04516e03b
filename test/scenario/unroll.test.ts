import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eraInfo } from '../../src/policy/registry.js';
import { checkScenario } from '../../src/scenario/check.js';
import { parseScenario, parseWorkload } from '../../src/scenario/parse.js';
import { stmtText } from '../../src/scenario/print.js';
import { runSequential } from '../../src/scenario/run.js';
import { MAX_EXPANDED } from '../../src/scenario/unroll.js';

const USEMEM = `scenario usemem-small
const N = 2
const PAGES = 3
setup {
  mmap m pages=PAGES private rw
  repeat i in 0..PAGES {
    write m[i] = i + 1
  }
}
thread parent {
  repeat k in 0..N { fork child[k] }
  repeat k in 0..N { wait child[k] -> st }
}
thread child[k in 0..N] {
  write m[k..k+2] = 10 + k
  phase written
  exit k
}
forall (exitcode(child[1]) == 1 && st == 1 && value(parent, m[2]) == 3)
`;

function codeOf(f: () => unknown): { code: string; line: number; col: number } | null {
  try {
    f();
    return null;
  } catch (e) {
    const x = e as { code: string; pos: { line: number; col: number } | null };
    return { code: x.code, line: x.pos?.line ?? 0, col: x.pos?.col ?? 0 };
  }
}

describe('loops, thread arrays and consts (unroll.ts)', () => {
  it('expands repeat and thread arrays into the statements check, run and explore take', () => {
    const sc = parseScenario(USEMEM, 'u.cow');
    checkScenario(sc);
    expect(sc.threads.map((t) => t.name)).toEqual(['parent', 'child[0]', 'child[1]']);
    expect(sc.setup.map(stmtText)).toEqual([
      'mmap m len=0x3000 private rw',
      'write m[0] = 1',
      'write m[1] = 2',
      'write m[2] = 3',
    ]);
    expect(sc.threads[0]!.body.map(stmtText)).toEqual([
      'fork child[0]',
      'fork child[1]',
      'wait child[0] -> st',
      'wait child[1] -> st',
    ]);
    expect(sc.threads[2]!.body.map(stmtText)).toEqual([
      'write m[1..3] = 11',
      'phase written',
      'exit 1',
    ]);
    // Positions stay those of the statements as written.
    expect(sc.setup[3]!.pos).toEqual({ line: 7, col: 5 });
    expect(sc.condition).toMatchObject({
      left: { left: { left: { args: [{ kind: 'ident', name: 'child[1]' }] } } },
    });
    const r = runSequential(sc, eraInfo('v6.18')!.policy!, {});
    if (r.kind !== 'done') throw new Error(r.kind);
    expect(r.verdict).toBe('Always');
  });

  it('keeps the loops for sim (parseWorkload) and prints them back as written', () => {
    const w = parseWorkload(USEMEM, 'u.cow');
    expect(w.threads[1]!.array).toMatchObject({ var: 'k' });
    const loop = w.setup[1]!;
    expect(stmtText(loop)).toBe('repeat i in 0..3 { write m[i] = i + 1 }');
    const again = parseWorkload(
      `scenario x\nsetup { mmap m pages=3 private rw }\nthread t {\n  ${stmtText(loop)}\n}\nexists (1)`,
      'x.cow',
    );
    expect(stmtText(again.threads[0]!.body[0]!)).toBe(stmtText(loop));
  });

  it(`refuses (SC009) an expansion over ${MAX_EXPANDED} statements, at the loop`, () => {
    const src = `scenario big
setup { mmap m pages=2 private rw }
thread t {
  repeat 1000000 {
    madvise m pageout
    read m[0]
  }
}
exists (1)
`;
    expect(codeOf(() => parseScenario(src, 'b.cow'))).toEqual({ code: 'SC009', line: 4, col: 3 });
    // As written it parses: sim takes it.
    expect(parseWorkload(src, 'b.cow').threads[0]!.body[0]!.op).toBe('repeat');
  });

  it('says what is wrong with an index or a bound, where', () => {
    const bad = (body: string) =>
      codeOf(() =>
        parseScenario(
          `scenario x\nsetup { mmap m pages=4 private rw }\nthread t {\n${body}\n}\nexists (1)`,
          'x.cow',
        ),
      );
    expect(bad('repeat i in 0..2 { write m[j] = 1 }')).toEqual({ code: 'SC003', line: 4, col: 28 });
    expect(bad('repeat i in 0..2 { write m[i..i] = 1 }')).toMatchObject({ code: 'SC004' });
    expect(bad('repeat i in 0..2 { read m[i - 1] }')).toMatchObject({ code: 'SC004' });
    expect(bad('repeat i in 0..4 { write m[i] = 1 }')).toBeNull();
    // Out of the mapping: the checker's usual SC004 on the expanded statement.
    expect(bad('repeat i in 0..5 { write m[i] = 1 }')).toBeNull();
    expect(
      codeOf(() => {
        const sc = parseScenario(
          'scenario x\nsetup { mmap m pages=4 private rw }\nthread t {\nrepeat i in 0..5 { write m[i] = 1 }\n}\nexists (1)',
          'x.cow',
        );
        checkScenario(sc);
      }),
    ).toMatchObject({ code: 'SC004', line: 4 });
    expect(
      codeOf(() => parseScenario('scenario x\nthread t[i in 0..2] { }\nexists (1)', 'x.cow')),
    ).toMatchObject({ code: 'SC007' });
    expect(
      codeOf(() =>
        parseScenario('scenario x\nconst N = 1\nconst N = 2\nthread t { }\nexists (1)', 'x.cow'),
      ),
    ).toMatchObject({ code: 'SC004', line: 3 });
  });

  it('runs a loop as its hand-written expansion runs (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), (n, pages) => {
        const head = `scenario p\nsetup { mmap m pages=${pages} private rw }\n`;
        const looped = `${head}thread t {\n  repeat r in 0..${n} {\n    repeat i in 0..${pages} { write m[i] = r * ${pages} + i }\n    fork c[r]\n    wait c[r]\n  }\n  read m[${pages - 1}] -> last\n}\nthread c[k in 0..${n}] { write m = k; exit }\nforall (last == ${(n - 1) * pages + pages - 1})\n`;
        let plain = `${head}thread t {\n`;
        for (let r = 0; r < n; r++) {
          for (let i = 0; i < pages; i++) plain += `  write m[${i}] = ${r * pages + i}\n`;
          plain += `  fork c${r}\n  wait c${r}\n`;
        }
        plain += `  read m[${pages - 1}] -> last\n}\n`;
        for (let r = 0; r < n; r++) plain += `thread c${r} { write m = ${r}; exit }\n`;
        plain += `forall (last == ${(n - 1) * pages + pages - 1})\n`;
        const policy = eraInfo('v5.9')!.policy!;
        const a = runSequential(parseScenario(looped, 'l.cow'), policy, {});
        const b = runSequential(parseScenario(plain, 'p.cow'), policy, {});
        if (a.kind !== 'done' || b.kind !== 'done') throw new Error('not done');
        expect(a.verdict).toBe('Always');
        expect(b.verdict).toBe('Always');
        const text = (x: typeof a) =>
          x.steps.map((s) => `${s.stmt.replace(/c\[(\d+)\]/g, 'c$1')}|${s.note}`);
        expect(text(a)).toEqual(text(b));
      }),
      { numRuns: 12 },
    );
  });
});

describe('event arrays, claims and mmap lengths', () => {
  const EVENTS = `scenario events
claim v5.8 v5.9 "throughput +31.4%"
const N = 3
setup {
  mmap m len=5000 private rw
  write m = 1
}
thread parent {
  repeat k in 0..N { fork child[k] }
  repeat k in 0..N { await written[k] }
  signal done
  repeat k in 0..N { wait child[k] }
}
thread child[k in 0..N] {
  write m = k + 2
  signal written[k]
  await done
  exit
}
forall (value(parent, m[1]) == 1)
`;

  it('gives each index its own event, prints it as written, and runs to the end', () => {
    const sc = parseScenario(EVENTS, 'events.cow');
    checkScenario(sc);
    const child = sc.threads.find((t) => t.name === 'child[2]')!;
    expect(child.body.map(stmtText)).toContain('signal written[2]');
    const w = parseWorkload(EVENTS, 'events.cow');
    const body = w.threads.find((t) => t.name === 'child')!.body;
    expect(body.map(stmtText)).toContain('signal written[k]');
    const r = runSequential(sc, eraInfo('v6.18')!.policy!, {});
    if (r.kind !== 'done') throw new Error(r.kind);
    expect(r.verdict).toBe('Always');
  });

  it('keeps claims, and rounds an mmap length up to whole pages as mmap() does', () => {
    const sc = parseScenario(EVENTS, 'events.cow');
    expect(sc.claims).toEqual([
      expect.objectContaining({ from: 'v5.8', to: 'v5.9', text: 'throughput +31.4%' }),
    ]);
    const mmap = sc.setup.find((st) => st.op === 'mmap');
    expect(mmap && 'len' in mmap ? mmap.len : 0).toBe(8192);
    expect(
      codeOf(() => checkScenario(parseScenario(EVENTS.replace('v5.9', 'v9.9'), 'e.cow'))),
    ).toMatchObject({ code: 'SC006', line: 2 });
  });
});

describe('the remainder operator', () => {
  it('indexes pages and computes values as C does, and refuses a remainder by zero', () => {
    const sc = parseScenario(
      `scenario r
setup { mmap m pages=8 private rw }
thread t {
  repeat i in 0..6 { write m[(i * 5) % 8] = i % 4 + 10 }
  read m[7] -> x
}
forall (x == 13 && 7 % -2 == 1 && -7 % 2 == -1 && 5 % 0 == 0)
`,
      'r.cow',
    );
    checkScenario(sc);
    // i = 0..5 writes pages 0, 5, 2, 7, 4, 1: page 7 gets 3 % 4 + 10.
    expect(sc.threads[0]!.body.map(stmtText).slice(0, 4)).toEqual([
      'write m[0] = 0 % 4 + 10',
      'write m[5] = 1 % 4 + 10',
      'write m[2] = 2 % 4 + 10',
      'write m[7] = 3 % 4 + 10',
    ]);
    const r = runSequential(sc, eraInfo('v6.18')!.policy!, {});
    expect(r).toMatchObject({ kind: 'done', holds: true });
    expect(
      codeOf(() =>
        parseScenario(
          'scenario z\nsetup { mmap m pages=8 private rw }\nthread t { repeat i in 0..2 { write m[i % 0] = 1 } }\nforall (1)\n',
          'z.cow',
        ),
      ),
    ).toEqual({ code: 'SC004', line: 3, col: 41 });
  });
});
