import { describe, expect, it } from 'vitest';
import { VM_EVENT_NAMES } from '../../src/core/vmstat.js';
import { checkScenario } from '../../src/scenario/check.js';
import { countersRead } from '../../src/scenario/counters.js';
import { parseScenario } from '../../src/scenario/parse.js';

const sc = (text: string) => {
  const s = parseScenario(text, 't.cow');
  checkScenario(s);
  return s;
};

describe('countersRead', () => {
  it('finds the vmstat counters in the condition and in observe statements, nothing else', () => {
    const s = sc(`scenario c
setup {
  mmap m pages=1 private rw
}
thread t {
  write m[0] = 1
  observe pswpout -> out
}
exists (anon_wp_copy_lock > 0 && out == 0)
`);
    expect(countersRead(s).map((i) => VM_EVENT_NAMES[i])).toEqual(['pswpout', 'anon_wp_copy_lock']);
  });

  it('is empty for a scenario that reads no counter', () => {
    const s = sc(`scenario c
setup {
  mmap m pages=1 private rw
}
thread t {
  write m[0] = 1
  read m[0] -> v
}
exists (v == 1)
`);
    expect(countersRead(s)).toEqual([]);
  });
});
