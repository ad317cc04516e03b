// Builds of other commits for the benches that compare them (commits.mjs, check.mjs).

import { execFileSync } from 'node:child_process';
import { existsSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * COMMIT checked out into a git worktree under the system's temp directory
 * and compiled there (tsc, the same as `npm run build` without the viewer);
 * the worktree is kept for the next run and reused. Returns its short sha,
 * its directory and its dist/.
 */
export function build(commit) {
  const sha = execFileSync('git', ['rev-parse', '--short', commit], {
    cwd: root,
    encoding: 'utf8',
  }).trim();
  const dir = join(tmpdir(), `cowherd-commit-${sha}`);
  if (!existsSync(join(dir, 'dist', 'explore', 'explore.js'))) {
    if (!existsSync(dir))
      execFileSync('git', ['worktree', 'add', '--detach', dir, sha], {
        cwd: root,
        stdio: 'ignore',
      });
    if (!existsSync(join(dir, 'node_modules')))
      symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: dir, stdio: 'inherit' });
  }
  return { sha, dir, dist: join(dir, 'dist') };
}
