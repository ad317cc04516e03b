/**
 * A hole punch stopped in its rmap walk holds the file's i_mmap lock for
 * reading (machine.ts waitsForPunch()): whatever unlinks or splits a VMA of
 * the file waits, MADV_DONTNEED (the mmap lock for reading only) does not.
 */

import { describe, expect, it } from 'vitest';
import { expand } from '../../src/explore/expand.js';
import { policyById } from '../../src/policy/registry.js';
import { checkScenario } from '../../src/scenario/check.js';
import type { Machine } from '../../src/scenario/machine.js';
import { newMachine } from '../../src/scenario/machine.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { configFor } from '../../src/scenario/run.js';

function scenario(childStmt: string) {
  const src = [
    'scenario punch-waits',
    'setup {',
    '  memfd f pages=512',
    '  mmap m len=2M at=0x7e0000200000 shared rw file=f',
    '  write m[0] = 1',
    '}',
    'thread parent {',
    '  fork child',
    '  madvise m remove',
    '}',
    'thread child {',
    '  read m[1] -> a',
    `  ${childStmt}`,
    '}',
    'exists (1 == 1)',
  ].join('\n');
  const sc = parseScenario(src, 'punch-waits.cow');
  checkScenario(sc);
  return sc;
}

/**
 * Every reachable machine: whether the child's second statement ever ran
 * while the punch was stopped with the child's table in hand.
 */
function ranDuringPunch(childStmt: string): { stopped: number; ran: boolean } {
  const sc = scenario(childStmt);
  const config = configFor(sc, policyById('v6.18/pt-reclaim'), { lockBreaks: true });
  let stopped = 0;
  let ran = false;
  const walkHolds = (m: Machine) => {
    const p = m.threads[0]!.kpath?.pending;
    return p?.kind === 'unmap_mapping' && p.tables.some((x) => x.mm !== m.s.tasks[1]!.mm);
  };
  const stack: Machine[] = [newMachine(sc)];
  while (stack.length > 0) {
    const m = stack.pop()!;
    const { succs } = expand(m, config, false);
    for (const x of succs) {
      const child = x.m.threads[1];
      if (walkHolds(m) && walkHolds(x.m)) {
        stopped++;
        if (child && child.pc === 2 && m.threads[1]!.pc === 1) ran = true;
      }
      stack.push(x.m);
    }
  }
  return { stopped, ran };
}

describe('a stopped hole punch and the i_mmap lock', () => {
  it('munmap of a mapping of the file waits for it', () => {
    const r = ranDuringPunch('munmap m');
    expect(r.stopped).toBeGreaterThan(0);
    expect(r.ran).toBe(false);
  });

  it('MADV_DONTNEED does not: it races with the walk', () => {
    expect(ranDuringPunch('madvise m dontneed').ran).toBe(true);
  });
});
