import { describe, expect, it } from 'vitest';
import { checkScenario } from '../../src/scenario/check.js';
import { InputError } from '../../src/scenario/errors.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { stmtText } from '../../src/scenario/print.js';

const ok = `# comment
scenario demo-1
doc "a \\"demo\\""
cite "x"
setup { mmap a len=2M at=0x40000000 private rw noreserve; write a[0..2M step 64K] = 7 }
thread main {
  read a[1] -> r0   # trailing comment
  observe VmPTE -> vm
}
exists (r0 == 7 && vm - 0 >= 12 || !present(main, a[3]))
expect { v6.18, v5.19: Always [obs]; *: Never [der] }
`;

function errorOf(src: string): InputError {
  try {
    checkScenario(parseScenario(src, 't.cow'));
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('parseScenario', () => {
  it('parses sections, units, ranges with steps and tagged expectations', () => {
    const sc = parseScenario(ok, 't.cow');
    checkScenario(sc);
    expect(sc.name).toBe('demo-1');
    expect(sc.doc).toBe('a "demo"');
    const mm = sc.setup[0]!;
    expect(mm).toMatchObject({
      op: 'mmap',
      name: 'a',
      len: 2 * 1024 * 1024,
      at: 0x40000000,
      noreserve: true,
      shared: false,
    });
    expect(sc.setup[1]).toMatchObject({
      op: 'write',
      ref: { map: 'a', from: 0, to: 512, step: 16 },
    });
    expect(sc.expect.map((e) => [e.era, e.verdict, e.provenance])).toEqual([
      ['v6.18', 'Always', 'obs'],
      ['v5.19', 'Always', 'obs'],
      ['*', 'Never', 'der'],
    ]);
  });

  it.each([
    ['scenario x\nthread t { writ a[0] = 1 }\nexists (1==1)', 'SC002', 2, 12],
    [
      'scenario x\nthread t { mmap a pages=1 private rw; write a[1] = 1 }\nexists (1==1)',
      'SC004',
      2,
      45,
    ],
    ['scenario x\nthread t { mmap a pages=1 private rw }\nexists (r9 == 1)', 'SC003', 3, 9],
    ['scenario x\nthread t { }\nexists (1==1)\nexpect { v9.1: Never }', 'SC006', 4, 10],
    ['scenario x\nthread t { fork u }\nthread u { }\nthread v { }\nexists (1==1)', 'SC007', 4, 8],
    ['scenario x\nthread t { mmap a len=0 private rw }\nexists (1==1)', 'SC004', 2, 23],
    ['scenario x\nthread t { mmap a pages=1 }\nexists (1==1)', 'SC004', 2, 12],
    ['scenario x\nthread t { await go }\nexists (1==1)', 'SC003', 2, 12],
    ['scenario x\nthread t { }\nexists (1 = 1)', 'SC002', 3, 11],
    ['scenario x\nthread t { }\nexists (1==1)\nbogus', 'SC002', 4, 1],
    ['thread t { }\nexists (1==1)', 'SC008', 1, 1],
    ['scenario x\nthread t { $ }', 'SC001', 2, 12],
    ['scenario x\nenv lru_batches, kcompactd\nthread t { }\nexists (1==1)', 'SC002', 2, 18],
    ['scenario x\nthread t { sched_setaffinity 9 }\nexists (1==1)', 'SC004', 2, 30],
    ['scenario x\nthread t { sched_setaffinity 4K }\nexists (1==1)', 'SC004', 2, 30],
    [
      'scenario x\nthread t { mmap a pages=1 private rw; mmap a pages=1 private rw }\nexists (1==1)',
      'SC005',
      2,
      39,
    ],
    ['scenario x\nthread t { ksm_scan zero }\nexists (1==1)', 'SC002', 2, 21],
    ['scenario x\nthread t { prctl memory_merge 1 }\nexists (1==1)', 'SC004', 2, 18],
    ['scenario x\nthread t { prctl set_memory_merge on }\nexists (1==1)', 'SC004', 2, 35],
    ['scenario x\nthread t { userfaultfd u wp_async }\nexists (1==1)', 'SC002', 2, 26],
  ])('reports %j as %s at line %i col %i', (src, code, line, col) => {
    const e = errorOf(src);
    expect(e.code).toBe(code);
    expect(e.pos).toEqual({ line, col });
    expect(e.format()).toMatch(new RegExp(`^t\\.cow:${line}:${col}: error ${code}: `));
  });
});

describe('environment and CPUs', () => {
  it('reads env lines (each actor once) and sched_setaffinity', () => {
    const sc = parseScenario(
      'scenario x\nenv lru_batches\nenv reclaim, lru_batches\nthread t { sched_setaffinity 1 }\nexists (1==1)',
      'x.cow',
    );
    expect(sc.env).toEqual(['lru_batches', 'reclaim']);
    expect(sc.threads[0]!.body[0]).toMatchObject({ op: 'sched_setaffinity', cpu: 1 });
  });
});

describe('expression operators', () => {
  it('lets a condition span lines inside parentheses, and still ends statements at a line break', () => {
    const sc = parseScenario(
      `scenario multi
setup { mmap a pages=2 private rw }
thread t {
  observe (present(a[0]) +
           present(a[1])) -> n
  read a[0]
}
forall (n == 2 &&
        value(t, a[0]) == 0)
`,
      'multi.cow',
    );
    checkScenario(sc);
    expect(sc.threads[0]!.body.map((st) => st.op)).toEqual(['observe', 'read']);
    expect(sc.condition.kind).toBe('binary');
    expect(() =>
      parseScenario('scenario x\nthread t { read a[0]\n observe (1 + \n}', 'x.cow'),
    ).toThrow(/found '\}'/); // an unclosed parenthesis ends where the statement had to
  });

  it('accepts herd-style /\\ and \\/ as && and ||, with && binding tighter', () => {
    const a = parseScenario(
      'scenario x\nthread t { }\nexists (1 == 1 /\\ 2 == 2 \\/ 3 == 4)',
      'x.cow',
    );
    const b = parseScenario(
      'scenario x\nthread t { }\nexists (1 == 1 && 2 == 2 || 3 == 4)',
      'x.cow',
    );
    const strip = (e: unknown): unknown =>
      JSON.parse(JSON.stringify(e, (k, v) => (k === 'pos' ? undefined : v)));
    expect(strip(a.condition)).toEqual(strip(b.condition));
    expect(a.condition).toMatchObject({ kind: 'binary', op: '||', left: { op: '&&' } });
  });
});

describe('KSM and userfaultfd options', () => {
  it('reads ksm_scan use_zero_pages, prctl and userfaultfd features, and prints them back', () => {
    const src =
      'scenario x\nthread t {\n  ksm_scan use_zero_pages\n  prctl set_memory_merge 1 -> r\n  prctl get_memory_merge -> g\n  userfaultfd u event_fork wp_unpopulated\n}\nexists (r == 0 && g == 1)';
    const sc = parseScenario(src, 'x.cow');
    expect(sc.threads[0]!.body).toMatchObject([
      { op: 'ksm_scan', use_zero_pages: true },
      { op: 'prctl', option: 'set_memory_merge', arg: 1, ret: 'r' },
      { op: 'prctl', option: 'get_memory_merge', ret: 'g' },
      { op: 'userfaultfd', event_fork: true, wp_unpopulated: true },
    ]);
    const body = sc.threads[0]!.body;
    const again = parseScenario(
      `scenario x\nthread t {\n${body.map((st) => `  ${stmtText(st)}`).join('\n')}\n}\nexists (1==1)`,
      'x.cow',
    );
    const strip = (e: unknown): unknown =>
      JSON.parse(JSON.stringify(e, (k, v) => (k === 'pos' ? undefined : v)));
    expect(strip(again.threads[0]!.body)).toEqual(strip(body));
  });
});

describe('uffd read of a fork event', () => {
  it('reads `uffd read u fork uc -> r`, prints it back, and defines uc once', () => {
    const src =
      'scenario x\nthread t {\n  userfaultfd u event_fork\n  uffd read u fork uc -> r\n  uffd read uc\n}\nexists (r == 0)';
    const sc = parseScenario(src, 'x.cow');
    checkScenario(sc);
    const body = sc.threads[0]!.body;
    expect(body[1]).toMatchObject({ op: 'uffd-read', uffd: 'u', fork: 'uc', reg: 'r' });
    expect(body[2]).toMatchObject({ op: 'uffd-read', uffd: 'uc', fork: null, reg: null });
    expect(body.map(stmtText)).toEqual([
      'userfaultfd u event_fork',
      'uffd read u fork uc -> r',
      'uffd read uc',
    ]);
    const twice = parseScenario(src.replace('uffd read uc', 'uffd read u fork uc'), 'x.cow');
    expect(() => checkScenario(twice)).toThrow(
      expect.objectContaining({ code: 'SC005', message: "'uc' is already defined" }),
    );
  });
});
