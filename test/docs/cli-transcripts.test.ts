/**
 * docs/cli.md is a transcript: every ```console block starts with
 * `$ cowherd ARGS`, then the exact output (stdout and stderr), then
 * `(exit status N)` when the status is not 0. This test replays each block.
 */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

const doc = readFileSync('docs/cli.md', 'utf8');
const blocks = [...doc.matchAll(/```console\n\$ cowherd ([^\n]*)\n([\s\S]*?)```/g)];

describe('docs/cli.md transcripts', () => {
  it('has transcripts', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(5);
  });
  for (const [, args, body] of blocks) {
    it(`cowherd ${args}`, () => {
      const m = /\(exit status (\d+)\)\n$/.exec(body!);
      const expected = m ? body!.slice(0, m.index) : body!;
      let out = '';
      const code = main(args!.split(' '), { out: (s) => (out += s), err: (s) => (out += s) });
      expect(out).toBe(expected);
      expect(code).toBe(m ? Number(m[1]) : 0);
    });
  }
});
