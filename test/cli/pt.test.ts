// The page-table strategy as a dimension beside the era (ADR 0013): --pt,
// ERA/STRATEGY ids everywhere an era goes, expectations per strategy, and
// `cowherd eras` listing the strategies.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectationFor, selectEras } from '../../src/cli/common.js';
import { checkScenario } from '../../src/scenario/check.js';
import { parseScenario } from '../../src/scenario/parse.js';
import { cli, tempDirs } from './run-cli.js';

const tmp = tempDirs('cowherd-pt-');
const SPARSE = 'scenarios/pgtable/pt-sparse-1t-dontneed.cow';

function scenario(expect: string) {
  const src = `scenario s\nthread t {\n  observe VmPTE -> v\n}\nforall (v == 0)\nexpect {\n${expect}\n}\n`;
  const sc = parseScenario(src, 's.cow');
  checkScenario(sc);
  return sc;
}

describe('page-table strategies', () => {
  it('--pt takes each era with each strategy, as ERA/STRATEGY', () => {
    const ids = (era: string, pt?: string) => selectEras(era, pt).policies.map((p) => p.id);
    expect(ids('v5.9,v6.18', 'none,pt-reclaim')).toEqual([
      'v5.9/none',
      'v5.9/pt-reclaim',
      'v6.18/none',
      'v6.18/pt-reclaim',
    ]);
    expect(ids('v6.18', 'all')).toEqual([
      'v6.18/none',
      'v6.18/pte-refcount',
      'v6.18/pt-rwsem',
      'v6.18/madv-cleanup',
      'v6.18/pt-reclaim',
      'v6.18/pt-reclaim-norecheck',
      'v6.18/pt-reclaim-norcu',
      'v6.18/pte-refcount-notryget',
    ]);
    // sim prices the designs: an unsafe variant costs what its design costs.
    expect(selectEras('v6.18', 'all', false).policies.map((p) => p.id)).toHaveLength(5);
    const p = selectEras('v5.9/pt-reclaim').policies[0]!;
    expect(p.ptStrategy).toBe('pt-reclaim');
    expect(p.GUP_PIN_COUNTING_BIAS).toBe(selectEras('v5.9').policies[0]!.GUP_PIN_COUNTING_BIAS);
  });

  it('refuses an unknown strategy (CLI001), and --pt on ERA/STRATEGY', () => {
    expect(cli('check', SPARSE, '--pt', 'bogus').err).toMatch(
      /CLI001: unknown page-table strategy 'bogus'/,
    );
    expect(cli('check', SPARSE, '--era', 'v6.18/bogus').err).toMatch(
      /CLI001: unknown page-table strategy/,
    );
    expect(cli('check', SPARSE, '--era', 'v6.18/none', '--pt', 'none').err).toMatch(
      /CLI001: --pt takes eras without/,
    );
    expect(cli('explore', SPARSE, '--era', 'v6.18', '--pt', 'all').err).toMatch(
      /CLI001: explore --era takes one page-table strategy/,
    );
  });

  it('looks up expectations: ERA/STRATEGY, then */STRATEGY, then the era only for its own strategy', () => {
    const sc = scenario(
      '  v6.18: Always\n  v5.9: Never\n  v6.18/none: Sometimes\n  */pt-reclaim: Hang\n  *: Never',
    );
    const v = (id: string) => expectationFor(sc, id)?.verdict ?? null;
    expect(v('v6.18')).toBe('Always');
    expect(v('v6.18/none')).toBe('Sometimes');
    expect(v('v6.18/pt-reclaim')).toBe('Hang');
    expect(v('v5.9/none')).toBe('Never'); // none is v5.9's own: the era's row
    expect(v('v5.7/none')).toBe('Never'); // and then *
    const plain = scenario('  v6.18: Always');
    expect(expectationFor(plain, 'v6.18/pt-reclaim')?.verdict).toBe('Always');
    expect(expectationFor(plain, 'v6.18/none')).toBeNull();
    expect(() => scenario('  v6.18/bogus: Never')).toThrow(
      /unknown era or page-table strategy 'v6\.18\/bogus'/,
    );
  });

  // v6.18 under every strategy is docs/pgtable-designs.md's transcript (test/docs).
  it('meets every expectation of scenarios/pgtable under every strategy, on an era before PT_RECLAIM', () => {
    const r = cli('check', 'scenarios/pgtable', '--era', 'v5.9', '--pt', 'all');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).not.toMatch(/[?*!]( |$)/m);
    // What each strategy frees after a 16 KiB MADV_DONTNEED that empties a PTE table.
    // The unsafe variants free as their designs do: pt-reclaim (twice), then pte-refcount.
    expect(r.out).toMatch(
      /^pt-dontneed-partial +Never +Always +Always +Never +Never +Never +Never +Always$/m,
    );
  });

  it('an ERA/STRATEGY replay token replays; explore --workers takes ERA/STRATEGY', () => {
    const dir = tmp();
    const f = join(dir, 'race.cow');
    writeFileSync(
      f,
      [
        'scenario race',
        'setup {',
        '  mmap a pages=1 private rw',
        '  write a[0] = 1',
        '}',
        'thread parent {',
        '  fork child',
        '  write a[0] = 2',
        '}',
        'thread child {',
        '  read a[0] -> r',
        '}',
        'exists (r == 1)',
        'expect {',
        '  v5.9/pt-reclaim: Always',
        '}',
      ].join('\n'),
    );
    const one = cli('explore', f, '--era', 'v5.9', '--pt', 'pt-reclaim');
    expect(one.code).toBe(0);
    expect(one.out).toMatch(/^scenario race on v5\.9\/pt-reclaim/);
    expect(cli('explore', f, '--era', 'v5.9/pt-reclaim', '--workers', '2').out).toBe(one.out);
    const seq = cli('run', f, '--era', 'v5.9/pt-reclaim', '--json');
    expect(seq.code).toBe(0);
    const token = JSON.parse(cli('explore', f, '--era', 'v5.9/pt-reclaim', '--json').out).witness
      ?.replay;
    if (token) expect(cli('replay', token).out).toMatch(/on v5\.9\/pt-reclaim: replay/);
  });

  it("cowherd eras lists the strategies, which are modelled, and each era's own", () => {
    const r = cli('eras');
    expect(r.out).toMatch(/^pt-reclaim +yes +.*the default of v6\.18\]$/m);
    expect(r.out).toMatch(
      /^pte-refcount +yes +.*\[Qi Zheng, "\[PATCH v3 00\/15\] Free user PTE page table pages", Nov 2021 \(seed 004\)\]$/m,
    );
    expect(r.out).toMatch(/^none +yes +.*the default of every era but v6\.18\]$/m);
    const j = JSON.parse(cli('eras', '--json').out);
    expect(j.ptStrategies.map((s: { id: string }) => s.id)).toEqual([
      'none',
      'pte-refcount',
      'pt-rwsem',
      'madv-cleanup',
      'pt-reclaim',
      'pt-reclaim-norecheck',
      'pt-reclaim-norcu',
      'pte-refcount-notryget',
    ]);
    expect(j.ptStrategies.at(-1).unsafe).toEqual({
      design: 'pte-refcount',
      without: "the walkers' pte_tryget()",
    });
    expect(r.out).toMatch(
      /^pt-reclaim-norcu +yes +unsafe: PT_RECLAIM, but the emptied table is freed at once/m,
    );
  });
});
