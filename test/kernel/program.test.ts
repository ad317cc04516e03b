import { describe, expect, it } from 'vitest';
import { eraOfRelease } from '../../src/kernel/era.js';
import { parseProbeOutput } from '../../src/kernel/probe.js';
import { compileProbe } from '../../src/kernel/program.js';
import { consistent, evalObserved, verdictOf } from '../../src/kernel/run.js';
import { checkScenario } from '../../src/scenario/check.js';
import { parseScenario } from '../../src/scenario/parse.js';

function scenario(src: string) {
  const sc = parseScenario(src, 't.cow');
  checkScenario(sc);
  return sc;
}

const forkBasic = scenario(`scenario fb
setup { mmap mem pages=1 private rw; write mem[0] = 1 }
thread parent { fork child; await ready; write mem[0] = 0xff; signal done; wait child -> st }
thread child { read mem[0] -> old; signal ready; await done; read mem[0] -> new; exit }
exists (new != old && pfn(parent, mem[0]) != 0)
`);

describe('compileProbe()', () => {
  it('resolves names to indices and expressions to RPN, with the final primitives listed', () => {
    const c = compileProbe(forkBasic);
    if (!c.ok) throw new Error(c.reason);
    const p = c.program;
    expect(p.regs).toEqual(['st', 'old', 'new']);
    expect(p.threads).toEqual(['parent', 'child']);
    expect(p.text).toContain('op mmap 0 4096 3 34 0 -1 -1\n');
    expect(p.text).toContain('op write 0 0 1 1 = #255\n');
    expect(p.text).toContain('op fork 1\n');
    expect(p.text).toContain('op wait 1 0\n');
    expect(p.text).toContain('op exit = #0\n');
    expect(p.prims).toEqual([{ kind: 'pfn', thread: 0, map: 0, page: 0, name: '' }]);
    expect(p.finals).toEqual([0]);
    expect(p.needs).toEqual({
      swap: false,
      ksm: false,
      khugepaged: false,
      softdirty: false,
      ext4: false,
      io_uring: false,
      userfaultfd: false,
    });
  });

  it('says why a scenario cannot run: unobservable state, pins, seed counters', () => {
    const why = (body: string, cond = '1 == 1') => {
      const c = compileProbe(
        scenario(
          `scenario x\nsetup { mmap m pages=1 private rw }\nthread t { ${body} }\nforall (${cond})`,
        ),
      );
      return c.ok ? null : c.reason;
    };
    expect(why('observe refcount(m[0]) -> r')).toMatch(/refcount\(\): page refcount/);
    expect(why('pin m[0] longterm -> p')).toMatch(/R\/O long-term reference needs CONFIG_GUP_TEST/);
    expect(why('pin m[0] rw longterm -> p')).toBeNull();
    expect(why('pin m[0] rw longterm fast -> p')).toBeNull(); // io_pin_pages() is GUP-fast
    expect(why('pin m[0] rw fast -> p')).toMatch(/R\/W GUP-fast reference needs CONFIG_GUP_TEST/);
    expect(why('odirect read m[0] -> p')).toMatch(/O_DIRECT/);
    // Completed at once by its own thread: a real synchronous O_DIRECT transfer.
    expect(why('odirect write m[0] -> p; unpin p')).toBeNull();
    expect(why('odirect write m[0] -> p; read m[0]; unpin p')).toMatch(/held in flight/);
    expect(why('observe anon_wp_copy_count -> r')).toMatch(/seed 003/);
    expect(why('read m[0]')).toBeNull();
  });

  it("says which per-name count is over the probe's limit, and counts the pages a run touches", () => {
    const spawns = Array.from({ length: 128 }, (_, i) => `spawn t${i + 1}`).join('; ');
    const threads = [
      `thread t0 { ${spawns} }`,
      ...Array.from({ length: 128 }, (_, i) => `thread t${i + 1} { read m[0] }`),
    ].join('\n');
    const c = compileProbe(
      scenario(
        `scenario x\nsetup { mmap m pages=4 private rw populate }\n${threads}\nforall (1 == 1)`,
      ),
    );
    expect(c.ok ? null : c.reason).toBe('129 threads: the probe holds at most 128');
    const d = compileProbe(
      scenario(
        'scenario y\nsetup { mmap m pages=4 private rw populate }\nthread t { write m = 1; read m[0..4 step 2] }\nforall (1 == 1)',
      ),
    );
    if (!d.ok) throw new Error(d.reason);
    expect(d.program.pages).toBe(4 + 4 + 2);
    const step = compileProbe(
      scenario(
        'scenario w\nsetup { mmap m pages=4 private rw }\nthread t { madvise m[0..4 step 2] dontneed }\nforall (1 == 1)',
      ),
    );
    if (!step.ok) throw new Error(step.reason);
    // One madvise() per page, each its own operation.
    expect(step.program.text).toContain(
      'op madvise 0 0 4096 4 -1\nop madvise 0 8192 4096 4 -1\nend',
    );
    const e = compileProbe(
      scenario(
        'scenario z\nsetup { mmap m pages=8 private rw }\nthread t { observe present(m[0..8 step 2]) + distinct_pfns(m[0..8]) -> n }\nforall (n == 0)',
      ),
    );
    if (!e.ok) throw new Error(e.reason);
    expect(e.program.text).toContain('prim present 0 0 0 - 4 2\n');
    expect(e.program.text).toContain('prim distinct_pfns 0 0 0 - 8 1\n');
    const f = compileProbe(
      scenario(
        'scenario k\nsetup { mmap m pages=1 private rw }\nthread t { write m[0] = 1; observe pfn(m[0]) -> p; observe kpf_writeback(p) -> wb }\nforall (kpf_swapcache(p) == 0)',
      ),
    );
    if (!f.ok) throw new Error(f.reason);
    expect(f.program.text).toContain('prim kpf -1 -1 0 8 1 1\n');
    expect(f.program.text).toContain('prim kpf -1 -1 0 13 1 1\n');
    expect(() =>
      scenario(
        'scenario b\nsetup { mmap m pages=1 private rw }\nthread t { observe kpf_mmap(m[0]) -> x }\nforall (x == 0)',
      ),
    ).toThrow(/a register holding a PFN/);
  });

  it('records what the host must provide', () => {
    const c = compileProbe(
      scenario(
        'scenario x\nsetup { mmap m pages=1 private rw }\nthread t { write m[0] = 1; madvise m pageout; ksm_scan; clear_refs 4 }\nforall (swapped(t, m[0]))',
      ),
    );
    if (!c.ok) throw new Error(c.reason);
    expect(c.program.needs).toMatchObject({
      swap: true,
      ksm: true,
      khugepaged: false,
      softdirty: true,
    });
    expect(c.program.text).toContain('op ksm_scan 0\n');
  });

  it("compiles exec, and refuses what the exec'd image cannot do", () => {
    const c = compileProbe(
      scenario(
        'scenario x\nsetup { mmap m pages=1 private rw }\nthread t { fork c; wait c }\nthread c { exec; mmap n pages=1 private rw; write n[0] = 1; exit }\nforall (1 == 1)',
      ),
    );
    if (!c.ok) throw new Error(c.reason);
    expect(c.program.text).toMatch(/thread 1 c\nop exec\nop mmap /);
    const why = (src: string) => {
      const r = compileProbe(scenario(src));
      return r.ok ? null : r.reason;
    };
    expect(
      why(
        'scenario x\nsetup { pipe p }\nthread t { fork c; wait c }\nthread c { exec; write pipe p = 1; exit }\nforall (1 == 1)',
      ),
    ).toMatch(/used after exec/);
    expect(why('scenario x\nthread t { spawn u; exec }\nthread u { }\nforall (1 == 1)')).toMatch(
      /de_thread\(\) of a multi-threaded process/,
    );
  });

  it("compiles UFFD_FEATURE_EVENT_FORK and a read that names the child's context", () => {
    const c = compileProbe(
      scenario(
        'scenario x\nsetup { mmap m pages=1 private rw; userfaultfd u event_fork; uffd register u m }\nthread t { spawn h; fork c; wait c }\nthread h { uffd read u fork uc -> e; uffd read uc -> a }\nthread c { exit }\nforall (e == 0)',
      ),
    );
    if (!c.ok) throw new Error(c.reason);
    expect(c.program.needs.userfaultfd).toBe(true);
    expect(c.program.text).toContain('op userfaultfd 0 0 1\n');
    expect(c.program.text).toMatch(/op uffdread 0 1 \d+\n/);
    expect(c.program.text).toMatch(/op uffdread 1 -1 \d+\n/);
  });
});

describe('the probe output and the verdict', () => {
  it('parses records and evaluates the condition from registers and final primitives', () => {
    const c = compileProbe(forkBasic);
    if (!c.ok) throw new Error(c.reason);
    const runs = parseProbeOutput(
      'run 0 done\nR 0 0\nR 1 1\nR 2 1\nF 0 77\nrun 1 done\nR 0 0\nR 1 1\nR 2 255\nF 0 78\nrun 2 hang\nR 0 0\n',
    );
    expect(runs.map((r) => r.outcome)).toEqual(['done', 'done', 'hang']);
    const held = runs
      .filter((r) => r.outcome === 'done')
      .map((r) =>
        evalObserved(forkBasic.condition, c.program, r, (e) => {
          const i = c.program.leafPrims.get(e);
          return i === undefined ? undefined : r.finals.get(i);
        }),
      );
    expect(held).toEqual([0, 1]);
    expect(verdictOf(0, 5, 0)).toBe('Never');
    expect(verdictOf(5, 0, 1)).toBe('Always');
    expect(verdictOf(1, 4, 0)).toBe('Sometimes');
    expect(verdictOf(0, 0, 3)).toBe('Hang');
  });

  it('bounds a system-wide counter: the scenario caused at most what was read', () => {
    const sc = scenario(`scenario sw
setup { mmap mem pages=1 private rw }
thread t { write mem[0] = 1; observe pgreuse -> early; observe pgreuse * 2 -> doubled }
forall (pgreuse == 1 && pfn(t, mem[0]) != 0)
`);
    const c = compileProbe(sc);
    if (!c.ok) throw new Error(c.reason);
    expect(c.program.noisyRegs).toEqual(
      new Map([
        ['early', 'sum'],
        ['doubled', 'any'],
      ]),
    );
    const ofFinals = (pgreuse: number, pfn: number) => {
      const [run] = parseProbeOutput(
        `run 0 done\nR 0 0\nR 1 0\n${c.program.finals
          .map((i) => `F ${i} ${c.program.prims[i]!.kind === 'vm' ? pgreuse : pfn}`)
          .join('\n')}\n`,
      );
      return evalObserved(sc.condition, c.program, run!, (e) => {
        const i = c.program.leafPrims.get(e);
        return i === undefined ? undefined : run!.finals.get(i);
      });
    };
    // Other processes may have added to a read of 3, so 1 of them may be ours.
    expect(ofFinals(3, 7)).toBeUndefined();
    // A read of 0 rules out one of our own; a missing PFN decides without it.
    expect(ofFinals(0, 7)).toBe(0);
    expect(ofFinals(3, 0)).toBe(0);
    expect(verdictOf(0, 0, 0)).toBe('Never');
    expect(consistent('Always', 'Unknown')).toEqual({ agree: true, partial: true });
  });

  it("takes KSM's counters as exact in a run where no other process had merged pages", () => {
    const sc = scenario(`scenario k
setup { mmap mem pages=2 private rw; write mem = 5; madvise mem mergeable }
thread t { ksm_scan; observe ksm_pages_shared + ksm_pages_sharing -> both }
forall (both == 2 && ksm_pages_shared == 1)
`);
    const c = compileProbe(sc);
    if (!c.ok) throw new Error(c.reason);
    expect(c.program.noisyRegs.get('both')).toBe('ksm');
    const shared = c.program.prims.findIndex((p) => p.kind === 'ksm_pages_shared');
    const verdict = (q: string) => {
      const [run] = parseProbeOutput(`run 0 done\nR 0 3\nF ${shared} 2\n${q}`);
      return evalObserved(sc.condition, c.program, run!, (e) => {
        const i = c.program.leafPrims.get(e);
        return i === undefined ? undefined : run!.finals.get(i);
      });
    };
    // 3 and 2 read: exactly so when KSM is quiet elsewhere (the condition fails),
    // possibly 2 and 1 of them ours when another process had merged pages.
    expect(verdict('Q 0\n')).toBe(0);
    expect(verdict('Q 1\n')).toBeUndefined();
    expect(verdict('')).toBeUndefined();
  });

  it('agrees when every observed outcome is one the model allows', () => {
    expect(consistent('Sometimes', 'Always')).toEqual({ agree: true, partial: true });
    expect(consistent('Sometimes', 'Sometimes')).toEqual({ agree: true, partial: false });
    expect(consistent('Never', 'Sometimes')).toEqual({ agree: false, partial: false });
    expect(consistent('Always', 'Never')).toEqual({ agree: false, partial: false });
    expect(consistent('Sometimes', 'Hang')).toEqual({ agree: false, partial: false });
    expect(consistent('Hang', 'Hang')).toEqual({ agree: true, partial: false });
  });

  it('maps uname -r to the era of DESIGN.md', () => {
    expect(eraOfRelease('6.18.44-fc-v669')).toBe('v6.18');
    expect(eraOfRelease('6.15.0')).toBe('v6.18');
    expect(eraOfRelease('6.14.2')).toBe('v6.2');
    expect(eraOfRelease('6.1.100')).toBe('v5.19');
    expect(eraOfRelease('5.18.0')).toBe('v5.18');
    expect(eraOfRelease('5.10.13')).toBe('v5.9');
    expect(eraOfRelease('5.8.18')).toBe('v5.8');
    expect(eraOfRelease('4.19.0')).toBe('v5.7');
    expect(eraOfRelease('nonsense')).toBeNull();
  });
});
