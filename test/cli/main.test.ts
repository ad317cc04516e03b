import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tempDirs } from './run-cli.js';

const tempDir = tempDirs('cowherd-');

const basic = 'scenarios/cow/cow-anon-fork-basic.cow';

describe('cowherd CLI', () => {
  it('check prints the matrix and exits 0 when every verdict is as expected', () => {
    const r = cli('check', basic, '--era', 'v6.18');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^scenario\s+v6\.18\ncow-anon-fork-basic\s+Never\n/);
  });

  it('check exits 1 and marks a verdict that differs from the expectation', () => {
    const dir = tempDir();
    const f = join(dir, 'flipped.cow');
    writeFileSync(
      f,
      readFileSync(basic, 'utf8').replace('v6.18: Never [obs]', 'v6.18: Always [obs]'),
    );
    const r = cli('check', f, '--json', '--era', 'v6.18');
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j.results).toEqual([
      {
        scenario: 'cow-anon-fork-basic',
        era: 'v6.18',
        verdict: 'Never',
        expected: 'Always',
        ok: false,
        provenance: 'obs',
        states: 14,
      },
    ]);
    expect(cli('check', f, '--era', 'v6.18').out).toMatch(/Never\*/);
  });

  it('check explores: Sometimes in the matrix, and a replay token under a verdict that differs', () => {
    const remote = 'scenarios/lru/cow-lru-batch-remote-cpu.cow';
    expect(cli('check', remote, '--era', 'v6.18').out).toMatch(/Sometimes/);
    const dir = tempDir();
    const f = join(dir, 'flipped.cow');
    writeFileSync(
      f,
      readFileSync(remote, 'utf8').replace('v6.18: Sometimes [obs]', 'v6.18: Never [obs]'),
    );
    const r = cli('check', f, '--era', 'v6.18');
    expect(r.code).toBe(1);
    const token = /replay: cowherd replay (\S+)/.exec(r.out)![1]!;
    const back = cli('replay', token);
    expect(back.code).toBe(0);
    expect(back.out).toMatch(/^exists condition holds on this path$/m);
  });

  it('input errors exit 2 with file:line:col and a code, never a stack trace', () => {
    const dir = tempDir();
    const f = join(dir, 'bad.cow');
    writeFileSync(f, 'scenario bad\nthread t {\n  mprotect a rw\n}\nexists (1==1)\n');
    const r = cli('check', f);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bad\.cow:3:12: error SC003: unknown mapping 'a'/);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(cli('check', '--era', 'v99').code).toBe(2);
    expect(cli('check', join(dir, 'missing.cow')).err).toMatch(/CLI002/);
    expect(cli('check', '--nope').code).toBe(2);
  });

  it('a bad file in a directory is reported and the others still run; exit 2 at the end', () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'a-bad.cow'),
      'scenario bad\nthread t {\n  mprotect a rw\n}\nexists (1==1)\n',
    );
    writeFileSync(join(dir, 'b-good.cow'), readFileSync(basic, 'utf8'));
    const r = cli('check', dir, '--era', 'v6.18');
    expect(r.err).toMatch(/a-bad\.cow:3:12: error SC003/);
    expect(r.out).toMatch(/cow-anon-fork-basic\s+Never/);
    expect(r.code).toBe(2);
  });

  it('eras lists every era id with its kernels and completeness', () => {
    const j = JSON.parse(cli('eras', '--json').out);
    expect(j.eras.map((e: { id: string }) => e.id)).toEqual([
      'v5.7',
      'v5.8',
      'v5.9',
      'v5.18',
      'v5.19',
      'v6.2',
      'v6.18',
      'foll-break-cow',
      'full-accuracy',
      'linus-rules',
      'wait-for-gup',
    ]);
    expect(j.eras.find((e: { id: string }) => e.id === 'v6.18')).toMatchObject({
      kernels: '6.15–newest',
      complete: true,
    });
    expect(cli('eras').out).toMatch(/v6\.18\s+6\.15–newest\s+complete/);
  });

  it('run prints each step with what it changed, deterministically', () => {
    const a = cli('run', basic, '--era', 'v6.18');
    expect(a.code).toBe(0);
    expect(a.out).toMatch(/#2 parent \[pid 1\] fork child/);
    expect(a.out).toMatch(
      /decide copy_present_pte: share \(exclusive, not pinned: PG_anon_exclusive cleared\)/,
    );
    expect(a.out).toMatch(/pte {4}mm1 0x7efffffff000: pfn 2 W D A sd -> pfn 2 R D A sd/);
    expect(a.out).toMatch(/decide do_wp_page: copy/);
    expect(a.out).toMatch(/exists condition does not hold: Never/);
    expect(cli('run', basic, '--era', 'v6.18').out).toBe(a.out);
    const j = JSON.parse(cli('run', basic, '--era', 'v6.18', '--json').out);
    expect(j.verdict).toBe('Never');
    expect(j.steps.length).toBeGreaterThan(5);
  });
});

describe('cowherd diff', () => {
  it('lists the scenarios whose verdicts differ, with the first divergence (decision point and choices)', () => {
    const r = cli('diff', 'v5.9', 'v6.18', 'scenarios/cow');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^cow-anon-ro-pin-shared: v5\.9 Always, v6\.18 Never$/m);
    expect(r.out).toMatch(/v5\.9: gup_must_unshare -> pin the mapped page/);
    expect(r.out).toMatch(/v6\.18: gup_must_unshare -> unshare first/);
    expect(r.out).not.toMatch(/^cow-anon-fork-basic:/m);
    const j = JSON.parse(
      cli('diff', 'v5.7', 'v5.8', 'scenarios/cow/cow-anon-vmsplice-child-unmap.cow', '--json').out,
    );
    expect(j.differences).toHaveLength(1);
    expect(j.differences[0].divergence.b[0]).toMatchObject({
      point: 'should_force_cow_break',
      choice: 'FOLL_WRITE',
    });
  });

  it('names writable_file_mapping_allowed as the divergence of a long-term write pin on ext4', () => {
    const j = JSON.parse(
      cli(
        'diff',
        'v6.2',
        'v6.18',
        'scenarios/gup_longterm/gupl-shared-rw-pin-tmpfile.cow',
        '--json',
      ).out,
    );
    expect(j.differences).toHaveLength(1);
    expect(j.differences[0].divergence.a[0]).toMatchObject({
      point: 'writable_file_mapping_allowed',
      choice: 'allow',
    });
    expect(j.differences[0].divergence.b[0]).toMatchObject({
      point: 'writable_file_mapping_allowed',
      choice: 'refuse (-EFAULT)',
    });
    // tmpfs does not track dirty pages: the same pin is taken on both.
    expect(
      cli('diff', 'v6.2', 'v6.18', 'scenarios/gup_longterm/gupl-shared-rw-pin-memfd.cow').code,
    ).toBe(0);
  });

  it('exits 0 when nothing differs and 2 for an unknown era', () => {
    expect(cli('diff', 'v6.2', 'v6.18', 'scenarios/gup_test').code).toBe(0);
    // 6.18 collapses a range fork() write-protected (SCAN_PAGE_RO dropped); 6.2 refuses.
    const cow = cli('diff', 'v6.2', 'v6.18', 'scenarios/cow');
    expect(cow.code).toBe(1);
    expect(cow.out).toMatch(/^cow-thp-collapse-after-fork-full: v6\.2 Never, v6\.18 Always$/m);
    expect(cli('diff', 'v6.2', 'v9').code).toBe(2);
  });
});

describe('cowherd explore', () => {
  it('prints the verdict over every interleaving, the final-state counts and a shortest witness', () => {
    const r = cli('explore', 'scenarios/cow/cow-anon-fork-basic.cow', '--era', 'v6.18');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^exists \(…\): Never$/m);
    const j = JSON.parse(
      cli('explore', 'scenarios/bugs/bug-cve-2020-29374-vmsplice.cow', '--era', 'v5.7', '--json')
        .out,
    );
    expect(j).toMatchObject({ verdict: 'Always', expected: 'Always', finals: { hangs: 0 } });
    expect(j.trace.states.length).toBeGreaterThan(5);
    // Every step of the witness reaches a new distinct state (state 0 is the initial machine).
    expect(j.states).toBeGreaterThanOrEqual(j.trace.states.length);
    expect(j.replay).toMatch(
      /^scenarios\/bugs\/bug-cve-2020-29374-vmsplice\.cow:v5\.7:[0-9a-f]{8}:/,
    );
  });

  it('--workers gives the same output as one thread; bad combinations exit 2', () => {
    const f = 'scenarios/lru/cow-lru-batch-remote-cpu.cow';
    const one = cli('explore', f, '--era', 'v6.18');
    const two = cli('explore', f, '--era', 'v6.18', '--workers', '2');
    expect(two.code).toBe(0);
    expect(two.out).toBe(one.out);
    expect(cli('explore', f, '--era', 'v6.18', '--workers', '2', '--dfs').code).toBe(2);
    expect(cli('explore', f, '--era', 'v6.18', '--workers', '0').err).toMatch(/error CLI001/);
  });

  it('--bitstate and --memory: the same verdict, the visited set named; bad sizes and combinations exit 2', () => {
    const f = 'scenarios/lru/cow-lru-batch-remote-cpu.cow';
    const exact = JSON.parse(cli('explore', f, '--era', 'v6.18', '--json').out);
    expect(exact.visited.mode).toBe('hash-compact');
    const bits = cli('explore', f, '--era', 'v6.18', '--json', '--bitstate', '2');
    expect(bits.code).toBe(0);
    const j = JSON.parse(bits.out);
    expect(j.visited).toMatchObject({ mode: 'bitstate', bytes: 2 * 2 ** 20, switchedAt: null });
    expect([j.verdict, j.states, j.finals]).toEqual([exact.verdict, exact.states, exact.finals]);
    const text = cli('explore', f, '--era', 'v6.18', '--memory', '1').out;
    expect(text).toMatch(/visited set: hash-compact, 64-bit fingerprints in \d+ KiB/);
    const bad = (...a: string[]) => cli('explore', f, '--era', 'v6.18', ...a);
    for (const r of [
      bad('--bitstate', '3'),
      bad('--bitstate', '1024'),
      bad('--memory', '0'),
      bad('--bitstate', '1', '--memory', '1'),
      bad('--bitstate', '1', '--workers', '2'),
      bad('--memory', '1', '--checkpoint', join(tempDir(), 'c.json')),
    ]) {
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/error CLI001/);
    }
  });

  it('--symmetry: the same verdict in fewer states, or why it was not used; the same with --workers, resumable', () => {
    const f = 'test/fixtures/many-threads.cow';
    const plain = JSON.parse(cli('explore', f, '--era', 'v6.18', '--json').out);
    const r = cli('explore', f, '--era', 'v6.18', '--json', '--symmetry');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.symmetry).toEqual({ applied: true, blocked: null, valuesBlocked: null, threads: [] });
    expect(j.verdict).toBe(plain.verdict);
    expect(j.states).toBeLessThan(plain.states / 5);
    expect(plain.symmetry).toBeUndefined();
    const off = cli('explore', 'scenarios/ksm/ksm-merge-count.cow', '--era', 'v6.18', '--symmetry');
    expect(off.out).toMatch(/symmetry: not used: a KSM scan picks KSM pages by PFN order/);
    expect(cli('explore', f, '--era', 'v6.18', '--json', '--symmetry', '--workers', '2').out).toBe(
      r.out,
    );
    // A checkpoint remembers --symmetry: resuming without it is another run.
    const c = join(tempDir(), 'c.json');
    expect(cli('explore', f, '--era', 'v6.18', '--symmetry', '--checkpoint', c).code).toBe(0);
    const other = cli('explore', f, '--era', 'v6.18', '--resume', c);
    expect(other.code).toBe(2);
    expect(other.err).toMatch(/it was run with --symmetry, this run without/);
    expect(cli('explore', f, '--era', 'v6.18', '--symmetry', '--resume', c).code).toBe(0);
  });

  it('prints a replay token that cowherd replay turns back into the same path', () => {
    const j = JSON.parse(
      cli('explore', 'test/fixtures/race-shared-read.cow', '--era', 'v6.18', '--json').out,
    );
    const r = cli('replay', j.replay, '--json');
    expect(r.code).toBe(0);
    const t = JSON.parse(r.out);
    expect(t).toEqual(j.trace);
    expect(t.holds).toBe(true);
    const text = cli('replay', j.replay);
    expect(text.out).toMatch(/^exists condition holds on this path$/m);
  });

  it('refuses a malformed token, a token for another scenario text, and a move that cannot be taken', () => {
    expect(cli('replay', 'nonsense').err).toMatch(/error RP001/);
    expect(cli('replay', 'nonsense').code).toBe(2);
    const stale = cli('replay', 'test/fixtures/race-shared-read.cow:v6.18:00000000:0');
    expect(stale.code).toBe(2);
    expect(stale.err).toMatch(/error RP002: .*changed since the token was made/);
    const j = JSON.parse(
      cli('explore', 'test/fixtures/race-shared-read.cow', '--era', 'v6.18', '--json').out,
    );
    const bad = cli('replay', j.replay.replace(/:[^:]*$/, ':5'));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/error RP002: step #0/);
  });

  it('exits 2 on a bad option and reports a limit as data', () => {
    expect(cli('explore', 'scenarios/cow/cow-anon-fork-basic.cow', '--era', 'all').code).toBe(2);
    expect(
      cli('explore', 'scenarios/cow/cow-anon-fork-basic.cow', '--era', 'v6.18', '--max-states', 'x')
        .code,
    ).toBe(2);
    const j = JSON.parse(
      cli(
        'explore',
        'scenarios/cow/cow-anon-fork-basic.cow',
        '--era',
        'v6.18',
        '--max-states',
        '2',
        '--json',
      ).out,
    );
    expect(j.verdict).toBe('limit');
  });

  it('exits 4 when a budget runs out before a verdict, in explore and check alike', () => {
    const f = 'scenarios/cow/cow-anon-fork-basic.cow';
    const ex = cli('explore', f, '--era', 'v6.18', '--max-states', '2');
    expect(ex.code).toBe(4);
    expect(ex.out).toMatch(/limit|no verdict/);
    expect(cli('check', f, '--era', 'v6.18', '--max-states', '2').code).toBe(4);
    expect(cli('check', f, '--era', 'v6.18').code).toBe(0);
  });
});
