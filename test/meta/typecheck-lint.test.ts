/** Type checking and lint are part of the test suite (README: one test command). */

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

describe('static checks', () => {
  it('type-checks (tsc --noEmit, strict)', () => {
    const r = run(process.execPath, [
      'node_modules/typescript/bin/tsc',
      '-p',
      'tsconfig.json',
      '--noEmit',
    ]);
    expect(r.out.trim() === '' || r.status === 0 ? '' : r.out).toBe('');
  });

  it('type-checks the viewer (web/, DOM and Preact)', () => {
    const r = run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'web/tsconfig.json']);
    expect(r.out.trim() === '' || r.status === 0 ? '' : r.out).toBe('');
  });

  it('lints and is formatted (biome check)', () => {
    const r = run('node_modules/.bin/biome', ['check', '--max-diagnostics=20', '.']);
    expect(r.status === 0 ? '' : r.out).toBe('');
  });
});
