/**
 * Workloads on the real kernel: the probe compiler keeps long loops as
 * `loop`/`next` over the thread's loop variables, unrolls short ones,
 * numbers the instances of thread and event arrays consecutively, and says
 * why a loop it cannot run is refused.
 */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseProbeOutput } from '../../src/kernel/probe.js';
import { compileProbe } from '../../src/kernel/program.js';
import { parseWorkload } from '../../src/scenario/parse.js';
import { checkWorkload } from '../../src/sim/sim.js';

function workload(src: string) {
  const w = parseWorkload(src, 'w.cow');
  checkWorkload(w);
  return w;
}

function ops(text: string, thread: string): string[] {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.startsWith('thread ') && l.endsWith(` ${thread}`));
  const end = lines.indexOf('end', at);
  return lines.slice(at + 1, end).map((l) => l.replace(/^op /, ''));
}

describe('compileProbe() of a workload', () => {
  it('keeps a long loop as loop/next, with its variable in values and page indices', () => {
    const c = compileProbe(
      workload(`scenario w
setup { mmap m pages=4 private rw at=0x40000000; write m = 1 }
thread main {
  repeat r in 0..1000 {
    madvise m pageout
    repeat i in 0..2 { read m[i]; write m[i] = r + 2 }
    write m[r / 250] = r
  }
}
forall (value(main, m[0]) == 750)
`),
    );
    if (!c.ok) throw new Error(c.reason);
    expect(ops(c.program.text, 'main')).toEqual([
      'mmap 0 16384 3 1048610 1073741824 -1 -1',
      'write 0 0 4 1 = #1',
      // loop VAR FROM TO END: END is the index of its `next`.
      'loop 0 0 1000 9',
      'madvise 0 0 16384 21 -1',
      // The inner loop (4 statements in all) is unrolled: its index is a number.
      'read 0 0 1 1 -1',
      'write 0 0 1 1 = l0 #2 +',
      'read 0 1 2 1 -1',
      'write 0 1 2 1 = l0 #2 +',
      // A page the loop variable decides: computed when the operation runs.
      'write 0 $l0,#250,/ $l0,#250,/,#1,+ 1 = l0',
      'next 0 1000 2',
    ]);
    // The time budget counts every iteration's pages.
    expect(c.program.pages).toBe(4 + 1000 * (4 + 4 + 1));
  });

  it("numbers a thread array's instances and an event array's instances consecutively", () => {
    const w = parseWorkload(readFileSync('workloads/usemem-seed000.cow', 'utf8'), 'u.cow');
    const c = compileProbe(w);
    if (!c.ok) throw new Error(c.reason);
    const p = c.program;
    expect(p.threads).toHaveLength(105);
    expect(p.threads.slice(0, 3)).toEqual(['parent', 'child[0]', 'child[1]']);
    const parent = ops(p.text, 'parent');
    // fork child[k]: thread index k + 1; await written[k]: the block after `done`.
    expect(parent).toContain('fork $l0,#1,+');
    expect(parent).toContain('await $l0,#1,+');
    expect(parent).toContain('signal 0');
    expect(ops(p.text, 'child[5]')).toEqual([
      'write 0 0 234204 1 = #7',
      'signal $#5,#1,+',
      'await 0',
      'exit = #0',
    ]);
    // The final condition names the initial thread's pages.
    expect(p.text).toContain('prim value 0 0 234203 - 1 1');
  });

  it('says why a loop cannot run on the probe', () => {
    const refuse = (body: string) => {
      const c = compileProbe(
        workload(`scenario w
setup { mmap m pages=4096 private rw }
thread main { ${body} }
forall (1)
`),
      );
      return c.ok ? '' : c.reason;
    };
    expect(refuse('repeat i in 0..4096 { observe pfn(main, m[i]) -> x }')).toMatch(
      /pfn\(\) of a page a long loop's variable decides/,
    );
    expect(refuse('repeat i in 0..100 { repeat j in 0..i { write m[j] = 1 } }')).toMatch(
      /loop bound that depends on an enclosing loop's variable/,
    );
    expect(refuse('repeat i in 0..100 { write m[i] = 1; exec }')).toMatch(/exec inside a loop/);
  });

  it('compiles a scenario without loops as before (no loop, no $ argument)', () => {
    const c = compileProbe(
      workload(`scenario s
setup { mmap m pages=1 private rw; write m = 1 }
thread a { fork b; wait b }
thread b { write m = 2; exit }
forall (value(a, m[0]) == 1)
`),
    );
    if (!c.ok) throw new Error(c.reason);
    expect(c.program.text).not.toMatch(/\$|op loop/);
    expect(ops(c.program.text, 'a')).toEqual([
      'mmap 0 4096 3 34 0 -1 -1',
      'write 0 0 1 1 = #1',
      'fork 1',
      'wait 1 -1',
    ]);
  });
});

describe("the probe's per-thread records", () => {
  it('parses T and B: faults, VmPTE, times and CPU time of each thread', () => {
    const [run] = parseProbeOutput(
      'run 0 done\nF 0 1\nT 0 285 0 44 1211693 13142932 1749194\nT 1 -1 -1 -1 2079704 -1 -1\nB 40\nQ 0\n',
    );
    expect(run!.threads.get(0)).toEqual({
      minflt: 285,
      majflt: 0,
      vmpteKb: 44,
      startNs: 1211693,
      endNs: 13142932,
      cpuNs: 1749194,
    });
    expect(run!.threads.get(1)!.endNs).toBe(-1);
    expect(run!.baseVmpteKb).toBe(40);
  });
});
