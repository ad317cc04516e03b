/**
 * docs/cli.md is a transcript: every ```console block starts with
 * `$ cowherd ARGS`, then the exact output (stdout and stderr), then
 * `(exit status N)` when the status is not 0. This test replays each block,
 * and those of the other pages that quote the CLI.
 */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

const PAGES = ['docs/cli.md', 'docs/pgtable-designs.md'];
const blocks = PAGES.flatMap((page) =>
  [...readFileSync(page, 'utf8').matchAll(/```console\n\$ cowherd ([^\n]*)\n([\s\S]*?)```/g)].map(
    (m) => [page, m[1], m[2]] as const,
  ),
);

describe('CLI transcripts in the docs', () => {
  it('has transcripts', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    expect(blocks.filter((b) => b[0] === 'docs/pgtable-designs.md').length).toBe(4);
  });
  for (const [page, args, body] of blocks) {
    it(`${page}: cowherd ${args}`, () => {
      const m = /\(exit status (\d+)\)\n$/.exec(body!);
      const expected = m ? body!.slice(0, m.index) : body!;
      let out = '';
      const code = main(args!.split(' '), { out: (s) => (out += s), err: (s) => (out += s) });
      // sim's progress lines (stderr, every 2 s of a slow run) depend on the machine's load.
      out = out.replace(/^sim .*: \d+\/\d+ steps \(.*\n/gm, '');
      expect(out).toBe(expected);
      expect(code).toBe(m ? Number(m[1]) : 0);
    });
  }
});
