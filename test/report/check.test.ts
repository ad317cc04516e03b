// The verdict matrix of `cowherd check`: the directory column, the compact
// layout for a narrow terminal, colour, and rows that stream.
import { describe, expect, it } from 'vitest';
import { terminalIo } from '../../src/cli/common.js';
import type { CheckRow } from '../../src/report/check.js';
import {
  checkText,
  eraAbbrev,
  matrixHeader,
  matrixLayout,
  matrixRow,
  matrixSummary,
} from '../../src/report/check.js';

function row(
  file: string,
  era: string,
  verdict: CheckRow['verdict'],
  expected: CheckRow['expected'],
): CheckRow {
  const scenario = file.replace(/^.*\//, '').replace(/\.cow$/, '');
  const ok = expected === null || expected === verdict;
  return { scenario, file, era, verdict, expected, provenance: null, ok };
}

const ERAS = ['v5.7', 'v6.18', 'linus-rules'];
const ROWS: CheckRow[] = [
  row('scenarios/cow/a.cow', 'v5.7', 'Always', 'Always'),
  row('scenarios/cow/a.cow', 'v6.18', 'Never', 'Always'),
  row('scenarios/cow/a.cow', 'linus-rules', 'Sometimes', null),
  row('scenarios/cow/b.cow', 'v5.7', 'Never', 'Never'),
  row('scenarios/cow/b.cow', 'v6.18', 'Never', 'Never'),
  row('scenarios/cow/b.cow', 'linus-rules', 'limit', 'Never'),
  row('scenarios/ksm/c.cow', 'v5.7', 'Hang', 'Hang'),
  row('scenarios/ksm/c.cow', 'v6.18', 'Hang', 'Hang'),
  row('scenarios/ksm/c.cow', 'linus-rules', 'Hang', 'Hang'),
];

describe('the check matrix', () => {
  it('names each directory once, in a first column, when the files come from several', () => {
    const lines = checkText(ROWS, ERAS, []).split('\n');
    expect(lines[0]).toMatch(/^dir +scenario +v5\.7 +v6\.18 +linus-rules$/);
    expect(lines[1]).toMatch(/^cow +a +Always +Never\* +Sometimes\?$/);
    expect(lines[2]).toMatch(/^ {5}b +Never +Never +limit!$/);
    expect(lines[3]).toMatch(/^ksm +c +Hang/);
    // One directory: no column.
    expect(checkText(ROWS.slice(0, 6), ERAS, []).split('\n')[0]).toMatch(/^scenario +v5\.7/);
  });

  it('is compact (one letter per verdict, short era ids, a legend) when asked or when the terminal is too narrow', () => {
    expect(eraAbbrev('v5.18')).toBe('5.18');
    expect(eraAbbrev('foll-break-cow')).toBe('fbc');
    const wide = checkText(ROWS, ERAS, []);
    const width = Math.max(
      ...wide
        .split('\n')
        .slice(0, 4)
        .map((l) => l.length),
    );
    expect(checkText(ROWS, ERAS, [], { columns: width + 20 })).toBe(wide);
    const compact = checkText(ROWS, ERAS, [], { columns: 40 });
    expect(compact).toBe(checkText(ROWS, ERAS, [], { compact: true }));
    const lines = compact.split('\n');
    expect(lines[0]).toMatch(/^dir +scenario +5\.7 +6\.18 +lr$/);
    expect(lines[1]).toMatch(/^cow +a +A +N\* +S\?$/);
    expect(Math.max(...lines.slice(0, 4).map((l) => l.length))).toBeLessThanOrEqual(40);
    expect(compact).toMatch(
      /\nN Never, S Sometimes, A Always, H Hang, L budget, E error, B tool bug; lr linus-rules\n$/,
    );
  });

  it('colours the cells that need a look, and nothing without colour', () => {
    const plain = checkText(ROWS, ERAS, []);
    expect(plain).not.toContain('\x1b[');
    const coloured = checkText(ROWS, ERAS, [], { colour: true });
    expect(coloured).toContain('\x1b[31mNever*\x1b[0m');
    expect(coloured).toContain('\x1b[33mSometimes?\x1b[0m');
    expect(coloured).toContain('\x1b[35mlimit!\x1b[0m');
    // The same layout once the colour codes are taken out.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the ANSI escape is what is removed
    expect(coloured.replace(/\x1b\[\d+m/g, '')).toBe(plain);
  });

  it('streams: the header, each row and the summary make the whole matrix', () => {
    const scenarios = [
      { name: 'a', file: 'scenarios/cow/a.cow' },
      { name: 'b', file: 'scenarios/cow/b.cow' },
      { name: 'c', file: 'scenarios/ksm/c.cow' },
    ];
    const layout = matrixLayout(scenarios, ERAS);
    const streamed =
      matrixHeader(layout) +
      scenarios.map((s, i) => matrixRow(layout, s, ROWS, scenarios[i - 1] ?? null)).join('') +
      matrixSummary(layout, 3, ROWS, []);
    expect(streamed).toBe(checkText(ROWS, ERAS, []));
    const partial = matrixSummary(layout, 1, ROWS.slice(0, 2), [], {
      done: 2,
      total: 9,
      checkpoint: 'cp.json',
    });
    expect(partial).toContain(
      "interrupted after 2 of 9 scenario/era pairs: the matrix is partial ('-' not run); continue with --resume cp.json",
    );
    expect(matrixRow(layout, scenarios[0]!, ROWS.slice(0, 2), null)).toMatch(/Never\* +-$/m);
  });

  it('takes colour and the width from a terminal only, and never with NO_COLOR', () => {
    const tty = { isTTY: true, columns: 100 };
    expect(terminalIo(tty, {})).toEqual({ colour: true, columns: 100 });
    expect(terminalIo(tty, { NO_COLOR: '1' }).colour).toBe(false);
    expect(terminalIo(tty, { NO_COLOR: '' }).colour).toBe(true);
    expect(terminalIo(tty, { TERM: 'dumb' }).colour).toBe(false);
    expect(terminalIo({ isTTY: false, columns: 100 }, {})).toEqual({ colour: false });
  });
});
