/** The scenario × era verdict matrix of `cowherd check`, as text and as JSON. */

import type { Provenance, Verdict } from '../scenario/ast.js';

export interface CheckRow {
  readonly scenario: string;
  readonly file: string;
  readonly era: string;
  /**
   * The explorer's verdict; 'tool-bug' when the model broke its own
   * accounting (or cowherd failed), 'limit' when a budget ran out first,
   * 'error' when the scenario cannot run under this era (a runtime input
   * error, SC1xx).
   */
  readonly verdict: Verdict | 'tool-bug' | 'limit' | 'error';
  readonly expected: Verdict | null;
  readonly provenance: Provenance | null;
  readonly ok: boolean;
  readonly detail?: string;
  /** Distinct states explored. */
  readonly states?: number;
  /** A replay token of the witness (exists: a path where the condition holds; forall: where it fails). */
  readonly replay?: string;
  /** Codes of the design invariants broken in some reachable state (ISO001, PIN001, DMA001, PT001…). */
  readonly findings?: readonly string[];
  /** The codes the expectation says are broken (`breaks …`); absent when it does not say. */
  readonly expectedBreaks?: readonly string[];
  /** A replay token of the shortest witness, whether or not the verdict was expected (the viewer's). */
  readonly witness?: string;
  /** The shortest path to each broken design invariant (the viewer's). */
  readonly findingPaths?: readonly { readonly code: string; readonly replay: string }[];
  /** Each broken invariant with its shortest trace, when the expectation names what it breaks. */
  readonly findingTraces?: readonly FindingTrace[];
}

/** A broken design invariant and the shortest path to it, one line per step. */
export interface FindingTrace {
  readonly code: string;
  readonly detail: string;
  readonly steps: readonly string[];
  readonly replay: string;
}

export function checkJson(
  rows: readonly CheckRow[],
  partial: { readonly done: number; readonly total: number } | null = null,
): string {
  return `${JSON.stringify(
    {
      ...(partial ? { interrupted: { done: partial.done, total: partial.total } } : {}),
      results: rows.map((r) => ({
        scenario: r.scenario,
        era: r.era,
        verdict: r.verdict,
        expected: r.expected,
        ok: r.ok,
        ...(r.provenance ? { provenance: r.provenance } : {}),
        ...(r.detail ? { detail: r.detail } : {}),
        ...(r.states !== undefined ? { states: r.states } : {}),
        ...(r.replay ? { replay: r.replay } : {}),
        ...(r.findings?.length ? { findings: r.findings } : {}),
        ...(r.expectedBreaks ? { expectedBreaks: r.expectedBreaks } : {}),
      })),
    },
    null,
    2,
  )}\n`;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** One line of the matrix: which scenario (its file keys the row). */
export interface MatrixScenario {
  readonly name: string;
  readonly file: string;
}

/** How the matrix is laid out; fixed before the first row so that rows can stream. */
export interface MatrixLayout {
  readonly eras: readonly string[];
  /** Era ids as the header shows them (abbreviated when compact). */
  readonly heads: readonly string[];
  readonly compact: boolean;
  readonly colour: boolean;
  /** The directory of each file relative to their common directory; null when they share one. */
  readonly dirs: ReadonlyMap<string, string> | null;
  readonly widths: {
    readonly dir: number;
    readonly name: number;
    readonly eras: readonly number[];
  };
}

export interface MatrixOptions {
  /** One letter per verdict and abbreviated era ids (`--compact`). */
  readonly compact?: boolean;
  /** ANSI colour: mismatches red, tool bugs, errors and budgets magenta, no expectation yellow. */
  readonly colour?: boolean;
  /** The terminal's width: a wide matrix that would not fit is laid out compact. */
  readonly columns?: number;
}

const LETTER: Record<string, string> = {
  Never: 'N',
  Sometimes: 'S',
  Always: 'A',
  Hang: 'H',
  limit: 'L',
  error: 'E',
  'tool-bug': 'B',
};

/** A short era id for a compact header: v5.18 → 5.18, foll-break-cow → fbc. */
export function eraAbbrev(id: string): string {
  return id
    .split('/')
    .map((part) =>
      /^v\d/.test(part)
        ? part.slice(1)
        : part
            .split(/[-_]/)
            .map((w) => w[0] ?? '')
            .join(''),
    )
    .join('/');
}

function dirOf(file: string): string {
  const i = file.replace(/\\/g, '/').lastIndexOf('/');
  return i < 0 ? '.' : file.slice(0, i);
}

/** Each file's directory relative to the directory all of them share; null when there is one. */
function relativeDirs(files: readonly string[]): Map<string, string> | null {
  const dirs = [...new Set(files.map(dirOf))];
  if (dirs.length <= 1) return null;
  const parts = dirs.map((d) => d.split('/'));
  let common = 0;
  while (parts.every((p) => p.length > common && p[common] === parts[0]![common])) common++;
  return new Map(files.map((f) => [f, dirOf(f).split('/').slice(common).join('/') || '.']));
}

export function matrixLayout(
  scenarios: readonly MatrixScenario[],
  eras: readonly string[],
  o: MatrixOptions = {},
): MatrixLayout {
  const dirs = relativeDirs(scenarios.map((s) => s.file));
  const dir = dirs ? Math.max(3, ...[...dirs.values()].map((d) => d.length)) + 2 : 0;
  const name = Math.max(8, ...scenarios.map((s) => s.name.length)) + 2;
  const wide = eras.map((e) => Math.max(e.length, 10) + 2);
  const tooWide =
    o.columns !== undefined && dir + name + wide.reduce((a, b) => a + b, 0) > o.columns;
  const compact = o.compact === true || tooWide;
  const heads = compact ? eras.map(eraAbbrev) : eras;
  return {
    eras,
    heads,
    compact,
    colour: o.colour === true,
    dirs,
    widths: { dir, name, eras: compact ? heads.map((h) => Math.max(h.length, 2) + 1) : wide },
  };
}

const PAINT = { red: '\x1b[31m', magenta: '\x1b[35m', yellow: '\x1b[33m', bold: '\x1b[1m' };
const RESET = '\x1b[0m';

function codesText(codes: readonly string[] | undefined): string {
  return codes?.length ? codes.join(', ') : 'nothing';
}

function mark(r: CheckRow): string {
  if (r.verdict === 'tool-bug' || r.verdict === 'limit' || r.verdict === 'error') return '!';
  return r.expected === null ? '?' : r.ok ? '' : '*';
}

const PAINT_OF: Record<string, string> = { '!': PAINT.magenta, '*': PAINT.red, '?': PAINT.yellow };

/** A cell padded to `width`; the colour (if any) wraps the text, not the padding. */
function cellText(layout: MatrixLayout, r: CheckRow | undefined, width: number): string {
  if (!r) return pad('-', width);
  const m = mark(r);
  const broke = r.findings?.length ? '+' : '';
  const text = `${layout.compact ? (LETTER[r.verdict] ?? r.verdict) : r.verdict}${broke}${m}`;
  const paint = layout.colour ? PAINT_OF[m] : undefined;
  return paint
    ? paint + text + RESET + ' '.repeat(Math.max(0, width - text.length))
    : pad(text, width);
}

export function matrixHeader(layout: MatrixLayout): string {
  const { widths } = layout;
  const line =
    (layout.dirs ? pad('dir', widths.dir) : '') +
    pad('scenario', widths.name) +
    layout.heads.map((h, i) => pad(h, widths.eras[i]!)).join('');
  return `${layout.colour ? PAINT.bold + line.trimEnd() + RESET : line.trimEnd()}\n`;
}

/**
 * The row of one scenario (its cells from `rows`, '-' for an era not run).
 * `prev` is the scenario on the line above: the directory is printed when it changes.
 */
export function matrixRow(
  layout: MatrixLayout,
  sc: MatrixScenario,
  rows: readonly CheckRow[],
  prev: MatrixScenario | null,
): string {
  const { widths } = layout;
  const dir = layout.dirs?.get(sc.file) ?? '';
  const shownDir = layout.dirs
    ? pad(prev && layout.dirs.get(prev.file) === dir ? '' : dir, widths.dir)
    : '';
  const cells = layout.eras.map((e, i) =>
    cellText(
      layout,
      rows.find((r) => r.file === sc.file && r.era === e),
      widths.eras[i]!,
    ),
  );
  return `${(shownDir + pad(sc.name, widths.name) + cells.join('')).trimEnd()}\n`;
}

/** What a run stopped by a signal had done, for the summary. */
export interface MatrixPartial {
  readonly done: number;
  readonly total: number;
  readonly checkpoint: string | null;
}

/** The lines under the matrix: the counts, each verdict that differs, findings, the legend. */
export function matrixSummary(
  layout: MatrixLayout,
  scenarios: number,
  rows: readonly CheckRow[],
  skipped: readonly string[],
  partial: MatrixPartial | null = null,
): string {
  const bad = rows.filter((r) => !r.ok);
  const noExp = rows.filter((r) => r.expected === null);
  const lines: string[] = [''];
  lines.push(
    `${scenarios} scenario(s) x ${layout.eras.length} ${layout.eras.some((e) => e.includes('/')) ? 'era/strategy pair(s)' : 'era(s)'}: ${rows.length - bad.length} as expected, ${bad.length} differ${noExp.length ? `, ${noExp.length} without expectation (?)` : ''}`,
  );
  if (partial)
    lines.push(
      `interrupted after ${partial.done} of ${partial.total} scenario/era pairs: the matrix is partial ('-' not run)${partial.checkpoint ? `; continue with --resume ${partial.checkpoint}` : '; --checkpoint FILE makes a run resumable'}`,
    );
  for (const r of bad) {
    if (r.verdict === 'tool-bug')
      lines.push(`! ${r.scenario} on ${r.era}: tool bug: ${r.detail ?? ''}`);
    else if (r.verdict === 'limit')
      lines.push(`! ${r.scenario} on ${r.era}: ${r.detail ?? 'state limit reached'}`);
    else if (r.verdict === 'error') lines.push(`! ${r.scenario} on ${r.era}: ${r.detail ?? ''}`);
    else if (r.verdict !== r.expected)
      lines.push(
        `* ${r.scenario} on ${r.era}: ${r.verdict}, expected ${r.expected}${r.provenance ? ` [${r.provenance}]` : ''} (${r.file})`,
      );
    else
      lines.push(
        `* ${r.scenario} on ${r.era}: breaks ${codesText(r.findings)}, expected ${codesText(r.expectedBreaks)}${r.provenance ? ` [${r.provenance}]` : ''} (${r.file})`,
      );
    if (r.replay) lines.push(`    replay: cowherd replay ${r.replay}`);
  }
  const broken = rows.filter((r) => r.findings?.length);
  if (broken.length)
    lines.push(
      `+ design invariants broken in ${broken.length} scenario/era pair(s) (findings, not verdicts; --json lists them, cowherd explore shows the paths)`,
    );
  for (const r of rows)
    for (const f of r.findingTraces ?? []) {
      lines.push(
        `+ ${r.scenario} on ${r.era}: ${f.code} broken after ${f.steps.length} step(s): ${f.detail}`,
      );
      for (const [i, step] of f.steps.entries()) lines.push(`    #${i} ${step}`);
      lines.push(`    replay: cowherd replay ${f.replay}`);
    }
  if (skipped.length) lines.push(`not modelled yet, not checked: ${skipped.join(', ')}`);
  if (layout.compact) {
    // Versions only lose their `v`; the proposals' initials are spelt out.
    const abbrevs = layout.eras
      .map((e, i) =>
        layout.heads[i] !== e && `v${layout.heads[i]}` !== e ? `${layout.heads[i]} ${e}` : null,
      )
      .filter((x) => x !== null);
    lines.push(
      `N Never, S Sometimes, A Always, H Hang, L budget, E error, B tool bug${abbrevs.length ? `; ${abbrevs.join(', ')}` : ''}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The scenarios of `rows`, in the order of their first row. */
function scenariosOf(rows: readonly CheckRow[]): MatrixScenario[] {
  const seen = new Map<string, MatrixScenario>();
  for (const r of rows) if (!seen.has(r.file)) seen.set(r.file, { name: r.scenario, file: r.file });
  return [...seen.values()];
}

/**
 * herd-style matrix: one row per scenario, one column per era. A verdict that
 * differs from the expectation is marked `*`, one without an expectation `?`,
 * a run without a verdict `!`. With scenarios from several directories, the
 * first column names each one's directory.
 */
export function checkText(
  rows: readonly CheckRow[],
  eras: readonly string[],
  skipped: readonly string[],
  o: MatrixOptions = {},
): string {
  const scenarios = scenariosOf(rows);
  const layout = matrixLayout(scenarios, eras, o);
  let out = matrixHeader(layout);
  scenarios.forEach((s, i) => {
    out += matrixRow(layout, s, rows, scenarios[i - 1] ?? null);
  });
  return out + matrixSummary(layout, scenarios.length, rows, skipped);
}
