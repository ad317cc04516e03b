// Ctrl-C during a long `cowherd sim`, on the real process: the simulation
// runs in a worker thread so that SIGINT reaches the CLI, which prints the
// counters so far and exits 130 (docs/sim.md, "Output").
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('cowherd sim and SIGINT', () => {
  it('stops a long run at the next step, prints what it counted and exits 130', async () => {
    const child = spawn(
      process.execPath,
      ['bin/cowherd.js', 'sim', 'workloads/usemem-seed000.cow', '--era', 'v5.9', '--costs', 'none'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    // The first progress line (after 2 s) shows the run is under way.
    await new Promise<void>((r) =>
      child.stderr.on('data', (d) => {
        err += d;
        if (/^sim usemem-seed000 v5\.9: /m.test(err)) r();
      }),
    );
    child.kill('SIGINT');
    const code = await exited;
    expect(code).toBe(130);
    expect(out).toMatch(/\noutcome +stopped\n/);
    expect(out).toMatch(/\npgfault +\d+\n/);
  }, 120_000);
});
