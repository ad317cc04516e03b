/**
 * `cowherd report --html OUT [PATHS…]`: the viewer as a static site that
 * works from the file system (no server, no network): index.html, the
 * bundle, and one data/*.js file per record (view-keys.ts), written for the
 * matrix, every scenario, every witness and broken invariant's path, the
 * era diffs asked for, and the traces and simulations given. With
 * `--single-file`, one self-contained HTML file per trace instead, to attach
 * to a mail. OUT is new, empty or an earlier report (whose files it lists in
 * .cowherd-report and which alone are replaced); anything else is VW003.
 */

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { dataScript, viewerPage } from '../report/view-html.js';
import { dataFile, viewKey } from '../report/view-keys.js';
import { InputError } from '../scenario/errors.js';
import { checkMemo, checkPair } from './check.js';
import type { Io } from './common.js';
import {
  EXIT_INPUT,
  EXIT_OK,
  interruptedCode,
  itemProgress,
  memoryBudget,
  selectEras,
} from './common.js';
import { viewerBundle } from './view.js';
import { loadViewInputs, ViewStore } from './view-store.js';

export interface ReportCliOptions {
  html?: string;
  singleFile?: boolean;
  era: string;
  pt?: string;
  /** Era pairs A,B to write the diff of (each scenario whose verdicts differ). */
  diff?: string[];
}

const MARKER = '.cowherd-report';

/** Make OUT ready: VW003 when it holds files that are not an earlier report's. */
function prepareOut(out: string): void {
  if (!existsSync(out)) {
    mkdirSync(out, { recursive: true });
    return;
  }
  const entries = readdirSync(out);
  if (entries.length === 0) return;
  if (!entries.includes(MARKER))
    throw new InputError(
      'VW003',
      `${out} is not empty and is not an earlier report: nothing written (name a new directory)`,
      out,
      null,
    );
  const listed = readFileSync(join(out, MARKER), 'utf8').split('\n').filter(Boolean);
  for (const f of listed)
    if (!f.includes('..') && !f.startsWith('/')) rmSync(join(out, f), { force: true });
}

/** A file name from a scenario name and era id. */
function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_');
}

export function cmdReport(io: Io, paths: string[], o: ReportCliOptions): number {
  const out = o.html;
  if (!out) {
    io.err('cowherd report: --html OUT is required (the only report kind so far)\n');
    return EXIT_INPUT;
  }
  let written: string[] = [];
  try {
    const { policies } = selectEras(o.era, o.pt);
    const eras: string[] = policies.map((p) => p.id);
    const pairs = (o.diff ?? []).map((d) => {
      const [a, b, ...rest] = d.split(',').map((x) => x.trim());
      if (!a || !b || rest.length || !eras.includes(a) || !eras.includes(b))
        throw new InputError(
          'CLI001',
          `--diff ${d}: two eras of --era, written A,B`,
          '--diff',
          null,
        );
      return [a, b] as const;
    });
    const inputs = loadViewInputs(paths);
    for (const e of inputs.errors) io.err(`${e.format()}\n`);
    if (inputs.errors.length) return EXIT_INPUT;
    const bundle = viewerBundle();
    prepareOut(out);
    const store = new ViewStore(inputs, eras, false, pairs);
    const total = inputs.scenarios.length * policies.length;
    const progress = itemProgress(io, 'report', total, () => performance.now());
    let done = 0;
    const budget = { maxStates: undefined, memory: memoryBudget(undefined) };
    for (const sc of inputs.scenarios) {
      // Each behaviour of the scenario explored once (explore/era-memo.ts).
      const memo = checkMemo(io, sc, budget);
      for (const p of policies) {
        progress.tick(done++);
        if (interruptedCode(io)) return interruptedCode(io);
        const row = checkPair(io, sc, p, budget, undefined, memo);
        if (row) store.setCell(row);
      }
    }
    progress.end();

    const index = store.index();
    const traces: { key: string; name: string; file: string; token: string }[] = [];
    for (const c of index.cells) {
      const name = index.scenarios.find((s) => s.file === c.file)!.name;
      if (c.witness)
        traces.push({
          key: viewKey.trace(c.witness),
          name: `${name}.${slug(c.era)}`,
          file: c.file,
          token: c.witness,
        });
      for (const f of c.findingPaths ?? [])
        traces.push({
          key: viewKey.trace(f.replay),
          name: `${name}.${slug(c.era)}.${f.code}`,
          file: c.file,
          token: f.replay,
        });
    }
    for (const t of inputs.traces)
      traces.push({
        key: viewKey.trace(t.token),
        name: slug(basename(t.title).replace(/\.json$/, '')),
        file: t.token.split(':')[0]!,
        token: t.token,
      });
    const write = (rel: string, text: string) => {
      writeFileSync(join(out, rel), text);
      written.push(rel);
    };
    if (o.singleFile) {
      const seen = new Set<string>();
      for (const t of traces) {
        if (seen.has(t.name)) continue;
        seen.add(t.name);
        const records = {
          [viewKey.trace(t.token)]: store.record(viewKey.trace(t.token)),
          [viewKey.scenario(t.file)]: store.record(viewKey.scenario(t.file)),
        };
        write(
          `${t.name}.html`,
          viewerPage({
            title: `cowherd: ${t.name}`,
            mode: 'single',
            script: { text: bundle.js },
            css: { text: bundle.css },
            records,
            start: `#/trace/${encodeURIComponent(t.token)}`,
          }),
        );
      }
    } else {
      mkdirSync(join(out, 'data'), { recursive: true });
      write(
        'index.html',
        viewerPage({
          title: 'cowherd report',
          mode: 'static',
          script: { src: 'viewer.js' },
          css: { href: 'viewer.css' },
        }),
      );
      write('viewer.js', bundle.js);
      write('viewer.css', bundle.css);
      const keys = new Set<string>([viewKey.index()]);
      for (const s of index.scenarios) keys.add(viewKey.scenario(s.file));
      for (const t of traces) keys.add(t.key);
      for (const t of inputs.traces) keys.add(viewKey.traceFile(t.id));
      for (const s of inputs.sims) keys.add(viewKey.sim(s.id));
      for (const [a, b] of pairs)
        for (const s of index.scenarios) {
          const va = store.cell(s.file, a)?.verdict;
          const vb = store.cell(s.file, b)?.verdict;
          if (va !== vb) keys.add(viewKey.diff(s.file, a, b));
        }
      for (const k of keys) write(dataFile(k), dataScript(k, store.record(k)));
    }
    writeFileSync(join(out, MARKER), `${written.join('\n')}\n`);
    io.out(
      `cowherd report: ${written.length} file(s) written to ${out}${o.singleFile ? '' : ` (open ${join(out, 'index.html')})`}\n`,
    );
    return EXIT_OK;
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    if (written.length) writeFileSync(join(out, MARKER), `${written.join('\n')}\n`);
    written = [];
    io.err(`${e.format()}\n`);
    return EXIT_INPUT;
  }
}
