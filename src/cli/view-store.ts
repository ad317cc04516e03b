/**
 * What the viewer shows, by key (report/view-keys.ts): the inputs given on
 * the command line (scenarios, trace and sim JSON files), the matrix cells
 * found so far, and the records built from them on demand. `cowherd view`
 * serves it over HTTP; `cowherd report --html` writes it to files. Only
 * files among the inputs are ever read or replayed (VW004).
 */

import { readFileSync } from 'node:fs';
import {
  parseReplayToken,
  replay,
  replayToken,
  scenarioHash,
  sequentialMoves,
} from '../explore/replay.js';
import { completeEraIds, lookupPolicy } from '../policy/registry.js';
import type { CheckRow } from '../report/check.js';
import { viewDiff, viewScenario, viewTrace } from '../report/view.js';
import { viewKey } from '../report/view-keys.js';
import type { ViewCell, ViewIndex, ViewTrace } from '../report/view-types.js';
import type { Scenario } from '../scenario/ast.js';
import { InputError } from '../scenario/errors.js';
import { loadScenarios } from './common.js';

export interface TraceInput {
  readonly id: string;
  readonly title: string;
  readonly token: string;
}

export interface SimInput {
  readonly id: string;
  readonly title: string;
  readonly doc: unknown;
}

export interface ViewInputs {
  /** The scenarios given, in order. */
  readonly scenarios: readonly Scenario[];
  /** Scenarios that traces name (replayable), besides those given. */
  readonly traceScenarios: readonly Scenario[];
  readonly traces: readonly TraceInput[];
  readonly sims: readonly SimInput[];
  readonly errors: readonly InputError[];
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** The replay token of a trace document (replay --json, or explore --json's `trace`), or null. */
function traceToken(doc: unknown): string | null {
  if (!isObject(doc)) return null;
  const meta = doc['#meta'];
  if (isObject(meta) && meta.format === 'cowherd-trace' && typeof meta.replay === 'string')
    return meta.replay;
  if (isObject(doc.trace)) return traceToken(doc.trace);
  return null;
}

function isSimResult(doc: unknown): boolean {
  return (
    isObject(doc) &&
    Array.isArray(doc.results) &&
    doc.results.every((r) => isObject(r) && Array.isArray(r.phases) && isObject(r.counters))
  );
}

/** Scenarios (.cow files and folders), traces and sim results (.json), each bad one an error. */
export function loadViewInputs(paths: readonly string[]): ViewInputs {
  const cow = paths.filter((p) => !p.endsWith('.json'));
  const json = paths.filter((p) => p.endsWith('.json'));
  const errors: InputError[] = [];
  const { scenarios, errors: e1 } =
    cow.length || json.length === 0 ? loadScenarios(cow) : { scenarios: [], errors: [] };
  errors.push(...e1);
  const traces: TraceInput[] = [];
  const sims: SimInput[] = [];
  const traceFiles = new Set<string>();
  for (const path of json) {
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      errors.push(
        new InputError(
          e instanceof SyntaxError ? 'VW002' : 'CLI002',
          e instanceof SyntaxError ? `not JSON: ${e.message}` : `cannot read ${path}`,
          path,
          null,
        ),
      );
      continue;
    }
    const token = traceToken(doc);
    if (token !== null) {
      let file: string;
      try {
        file = parseReplayToken(token).file;
      } catch (e) {
        if (e instanceof InputError) errors.push(new InputError(e.code, e.message, path, null));
        continue;
      }
      traceFiles.add(file);
      traces.push({ id: String(traces.length), title: path, token });
    } else if (isSimResult(doc)) {
      sims.push({ id: String(sims.length), title: path, doc });
    } else {
      errors.push(
        new InputError(
          'VW002',
          'neither a trace (cowherd explore --json, cowherd replay --json) nor a simulation result (cowherd sim --json)',
          path,
          null,
        ),
      );
    }
  }
  const given = new Set(scenarios.map((s) => s.file));
  const extra = [...traceFiles].filter((f) => !given.has(f));
  const loaded = extra.length ? loadScenarios(extra) : { scenarios: [], errors: [] };
  errors.push(...loaded.errors);
  return { scenarios, traceScenarios: loaded.scenarios, traces, sims, errors };
}

/** The common folder of the files, and each file's folder below it. */
function folders(files: readonly string[]): Map<string, string> {
  const dirs = files.map((f) => f.split('/').slice(0, -1));
  let common = dirs[0] ?? [];
  for (const d of dirs) {
    let i = 0;
    while (i < common.length && i < d.length && common[i] === d[i]) i++;
    common = common.slice(0, i);
  }
  return new Map(files.map((f, i) => [f, dirs[i]!.slice(common.length).join('/')]));
}

export function cellOf(r: CheckRow): ViewCell {
  return {
    file: r.file,
    era: r.era,
    verdict: r.verdict,
    expected: r.expected,
    provenance: r.provenance,
    ok: r.ok,
    ...(r.states !== undefined ? { states: r.states } : {}),
    ...(r.findings?.length ? { findings: r.findings } : {}),
    ...(r.expectedBreaks ? { expectedBreaks: r.expectedBreaks } : {}),
    ...(r.witness ? { witness: r.witness } : {}),
    ...(r.findingPaths?.length ? { findingPaths: r.findingPaths } : {}),
    ...(r.detail ? { detail: r.detail } : {}),
  };
}

export class ViewStore {
  private readonly cells = new Map<string, ViewCell>();
  private readonly byFile = new Map<string, Scenario>();
  private readonly cache = new Map<string, unknown>();

  constructor(
    readonly inputs: ViewInputs,
    readonly eras: readonly string[],
    readonly live: boolean,
    readonly diffs: readonly (readonly [string, string])[] | null = null,
  ) {
    for (const sc of [...inputs.scenarios, ...inputs.traceScenarios]) this.byFile.set(sc.file, sc);
  }

  setCell(r: CheckRow): void {
    this.cells.set(`${r.file}\0${r.era}`, cellOf(r));
  }

  cell(file: string, era: string): ViewCell | undefined {
    return this.cells.get(`${file}\0${era}`);
  }

  index(): ViewIndex {
    const files = this.inputs.scenarios.map((s) => s.file);
    const dirs = folders(files);
    const cells: ViewCell[] = [];
    for (const f of files)
      for (const e of this.eras) {
        const c = this.cells.get(`${f}\0${e}`);
        if (c) cells.push(c);
      }
    return {
      format: 'cowherd-view',
      version: 1,
      live: this.live,
      eras: this.eras,
      scenarios: this.inputs.scenarios.map((s) => ({
        name: s.name,
        file: s.file,
        dir: dirs.get(s.file) ?? '',
        doc: s.doc,
      })),
      cells,
      done: cells.length,
      total: files.length * this.eras.length,
      traces: this.inputs.traces.map((t) => ({ id: t.id, title: t.title, replay: t.token })),
      sims: this.inputs.sims.map((s) => ({ id: s.id, title: s.title })),
      otherEras: this.live ? completeEraIds().filter((e) => !this.eras.includes(e)) : [],
      diffs: this.diffs,
    };
  }

  /** A scenario among the inputs, or VW004. */
  scenario(file: string): Scenario {
    const sc = this.byFile.get(file);
    if (!sc)
      throw new InputError('VW004', `not a scenario this viewer was given: ${file}`, file, null);
    return sc;
  }

  private policy(era: string) {
    const r = lookupPolicy(era);
    if (!('policy' in r)) throw new InputError('VW004', `not a modelled era: ${era}`, era, null);
    return r.policy;
  }

  /** The path a replay token names, replayed with the state after every step. */
  trace(token: string): ViewTrace {
    const t = parseReplayToken(token);
    const sc = this.scenario(t.file);
    if (scenarioHash(sc) !== t.hash)
      throw new InputError(
        'RP002',
        `the token is of another version of ${t.file} (its hash is ${t.hash}, the file's ${scenarioHash(sc)})`,
        t.file,
        null,
      );
    return viewTrace(sc, replay(sc, this.policy(t.era), t.moves, { snapshots: true }), token);
  }

  private runOf(sc: Scenario, era: string): ViewTrace {
    const p = this.policy(era);
    const moves = sequentialMoves(sc, p);
    return viewTrace(sc, replay(sc, p, moves, { snapshots: true }), replayToken(sc, p.id, moves));
  }

  /** The record a key names (view-keys.ts); an InputError for one that is not among the inputs. */
  record(key: string): unknown {
    if (key === viewKey.index()) return this.index();
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const [kind, ...rest] = key.split('\n');
    let out: unknown;
    if (kind === 'scenario' && rest.length === 1) out = viewScenario(this.scenario(rest[0]!));
    else if (kind === 'trace' && rest.length === 1) out = this.trace(rest[0]!);
    else if (kind === 'tracefile' && rest.length === 1) {
      const t = this.inputs.traces.find((x) => x.id === rest[0]);
      if (!t) throw new InputError('VW004', `no trace file #${rest[0]}`, key, null);
      out = this.trace(t.token);
    } else if (kind === 'sim' && rest.length === 1) {
      const s = this.inputs.sims.find((x) => x.id === rest[0]);
      if (!s) throw new InputError('VW004', `no simulation result #${rest[0]}`, key, null);
      out = s.doc;
    } else if (kind === 'diff' && rest.length === 3) {
      const [file, a, b] = rest as [string, string, string];
      const sc = this.scenario(file);
      out = viewDiff(this.runOf(sc, a), this.runOf(sc, b), {
        a: this.cell(file, a)?.verdict ?? null,
        b: this.cell(file, b)?.verdict ?? null,
      });
    } else throw new InputError('VW004', `no such record: ${JSON.stringify(key)}`, key, null);
    if (this.cache.size >= 32) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, out);
    return out;
  }
}
