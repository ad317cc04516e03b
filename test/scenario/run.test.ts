import { describe, expect, it } from 'vitest';
import { eraInfo } from '../../src/policy/registry.js';
import { checkScenario } from '../../src/scenario/check.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { runSequential } from '../../src/scenario/run.js';

function run(src: string, era: string) {
  const sc = parseScenario(src, 't.cow');
  checkScenario(sc);
  return runSequential(sc, eraInfo(era)!.policy!, { decisions: true });
}

// A COW fault on a page a pipe still references (vmsplice): wait-for-gup
// sleeps until another thread drains the pipe, then reuses the page.
const RESUME = `scenario wfg-resume
setup {
  mmap p pages=1 private rw
  write p[0] = 1
  pipe pp
}
thread a {
  vmsplice p[0] -> pp
  mprotect p r
  mprotect p rw
  observe pfn(p[0]) -> before
  spawn b
  write p[0] = 2
  observe pfn(p[0]) -> after
  await drained
}
thread b {
  read pipe pp -> got
  signal drained
}
exists (after == before && got == 1)
`;

describe('threads asleep in the kernel', () => {
  it('a write that waits for a GUP reference resumes once another thread drops it', () => {
    const r = run(RESUME, 'wait-for-gup');
    if (r.kind !== 'done') throw new Error(r.kind);
    expect(r.verdict).toBe('Always');
    const blocked = r.steps.filter((s) => s.note.startsWith('blocked'));
    expect(blocked).toHaveLength(1);
    expect(blocked[0]!.decisions[0]).toMatchObject({ point: 'do_wp_page', choice: 'wait' });
    // The same program on v5.9 copies at once (page_count() == 2).
    const v59 = run(RESUME, 'v5.9');
    expect(v59.kind === 'done' && v59.verdict).toBe('Never');
  });

  it('is a Hang, not an input error, when nothing can wake the sleeper', () => {
    const src = RESUME.replace('  read pipe pp -> got\n', '').replace(
      'exists (after == before && got == 1)',
      'exists (after == before)',
    );
    const r = run(src, 'wait-for-gup');
    if (r.kind !== 'done') throw new Error(r.kind);
    expect(r.verdict).toBe('Hang');
    expect(r.hung).toEqual(["a asleep in the kernel at 'write p[0] = 2'"]);
    expect(r.steps.at(-1)!.note).toMatch(/^blocked: the write fault sleeps/);
  });
});

// fork() with UFFD_FEATURE_EVENT_FORK returns once its message is read.
const FORK_EVENT = `scenario fe
setup {
  mmap mem pages=1 private rw
  write mem[0] = 1
  userfaultfd u event_fork
  uffd register u mem
  uffd wp u mem
}
thread parent {
  spawn monitor
  fork child
  wait child
  observe uffd_wp(mem[0]) -> pwp
}
thread monitor {
  uffd read u fork uc -> e
  uffd read uc -> fault
  uffd unwp uc mem -> r
}
thread child {
  write mem[0] = 2
  observe uffd_wp(mem[0]) -> cwp
  exit
}
exists (e == 0 && fault != 0 && r == 0 && cwp == 0 && pwp == 1)
`;

describe('UFFD_EVENT_FORK', () => {
  it("holds fork() until the monitor reads the event, then serves the child's fault through the child's context", () => {
    const r = run(FORK_EVENT, 'v6.18');
    if (r.kind !== 'done') throw new Error(r.kind);
    expect(r.verdict).toBe('Always');
    const notes = r.steps.map((s) => s.note);
    const waits = notes.findIndex((n) => n.includes('waits in dup_userfaultfd_complete()'));
    const read = notes.findIndex((n) => n.startsWith('UFFD_EVENT_FORK from parent'));
    const returns = notes.findIndex((n) => n.startsWith('fork() returns'));
    expect(waits).toBeGreaterThanOrEqual(0);
    expect(read).toBeGreaterThan(waits);
    expect(returns).toBeGreaterThan(read);
    // The child ran nothing before its fork returned.
    expect(r.steps.slice(0, returns).some((s) => s.thread === 'child')).toBe(false);
  });

  it('is a Hang when nobody reads the event', () => {
    const src = `scenario fe-hang
setup {
  mmap mem pages=1 private rw
  userfaultfd u event_fork
  uffd register u mem
}
thread parent {
  fork child
  wait child
}
thread child { exit }
exists (1)
`;
    const r = run(src, 'v6.18');
    if (r.kind !== 'done') throw new Error(r.kind);
    expect(r.verdict).toBe('Hang');
    expect(r.hung).toEqual(["parent asleep in the kernel at 'fork child'"]);
    // Without the feature the same fork returns at once.
    const plain = run(src.replace(' event_fork', ''), 'v6.18');
    expect(plain.kind === 'done' && plain.verdict).toBe('Always');
  });
});
