/**
 * Checkpoints (--checkpoint FILE, --resume FILE) of `cowherd check` — the
 * rows finished so far — and of `cowherd explore` — the search between two
 * nodes (search.ts SearchSnapshot) — each with a key of the run it belongs
 * to: the eras or era, the options that change the result, and every
 * scenario file with a hash of its text. A resumed run goes on from there,
 * so its output is the output of a run never stopped. The file is replaced
 * atomically (written beside, then renamed), so a run killed even by SIGKILL
 * leaves the last whole checkpoint.
 */

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import type { SearchSnapshot } from '../explore/search.js';
import type { CheckRow } from '../report/check.js';
import type { Scenario } from '../scenario/ast.js';
import { InputError } from '../scenario/errors.js';

/**
 * 2: the fingerprints an explore checkpoint's visited set holds changed
 * (memmap arrays digested PFN by PFN, canon.ts): a version 1 search cannot
 * go on with them. 3: counters compared only with literals are saturated in
 * the fingerprint (scenario/counters.ts). 4: the partial-order reduction
 * takes other moves alone (spawns; local moves wait while their group can
 * end: explore/local-move.ts) and the symmetry's canonical renaming keeps
 * only PFN registers fixed (symmetry.ts): a search begun with version 3
 * would go on with states its queue reached by other rules. 5: under
 * --symmetry, the fingerprint renames page contents no statement still to
 * run stores (explore/value-symmetry.ts): the visited set of a version 4
 * search holds other keys.
 */
const VERSION = 5;

/** Seconds between checkpoints unless --checkpoint-every says otherwise. */
const CHECKPOINT_EVERY = 10;

/** The checkpoint options of check and explore, as commander passes them. */
export interface CheckpointOptions {
  readonly checkpoint?: string;
  readonly checkpointEvery?: string;
  readonly resume?: string;
}

/**
 * Where checkpoints go (--checkpoint FILE, else the --resume FILE, else
 * nowhere) and how often, ms. --checkpoint never names an existing file
 * (CLI002): nothing the user had is overwritten.
 */
export function checkpointPlan(o: CheckpointOptions): { path: string | null; everyMs: number } {
  const text = o.checkpointEvery;
  if (text !== undefined && (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))))
    throw new InputError(
      'CLI001',
      `--checkpoint-every takes a whole number of seconds, not '${text}'`,
      '--checkpoint-every',
      null,
    );
  if (o.checkpoint && o.checkpoint !== o.resume && existsSync(o.checkpoint))
    throw new InputError(
      'CLI002',
      `${o.checkpoint} exists: cowherd does not overwrite files; continue it with --resume ${o.checkpoint}, or name another file`,
      o.checkpoint,
      null,
    );
  return {
    path: o.checkpoint ?? o.resume ?? null,
    everyMs: (text === undefined ? CHECKPOINT_EVERY : Number(text)) * 1000,
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** What makes two runs the same run: resuming another's checkpoint is refused (CLI004). */
export interface CheckRunKey {
  readonly eras: readonly string[];
  readonly maxStates: number | null;
  readonly files: readonly { readonly file: string; readonly sha256: string }[];
}

export function checkRunKey(
  scenarios: readonly Scenario[],
  eras: readonly string[],
  maxStates: number | null,
): CheckRunKey {
  return {
    eras,
    maxStates,
    files: scenarios.map((sc) => ({
      file: sc.file,
      sha256: sha256(sc.source),
    })),
  };
}

/** How `want` differs from the run a checkpoint was written for, in words; null when it does not. */
function difference(had: CheckRunKey, want: CheckRunKey): string | null {
  if (had.eras.join(',') !== want.eras.join(','))
    return `it is of eras ${had.eras.join(',')}, this run checks ${want.eras.join(',')}`;
  if (had.maxStates !== want.maxStates)
    return `it was run with --max-states ${had.maxStates ?? 'default'}, this run with ${want.maxStates ?? 'default'}`;
  const hadFiles = new Map(had.files.map((f) => [f.file, f.sha256]));
  for (const f of want.files) {
    const h = hadFiles.get(f.file);
    if (h === undefined) return `${f.file} is not in it`;
    if (h !== f.sha256) return `${f.file} changed since it was written`;
  }
  if (had.files.length !== want.files.length)
    return `it holds ${had.files.length} scenario files, this run ${want.files.length}`;
  return null;
}

/** The document in a checkpoint file of `command` (CLI002 unreadable, CLI004 not one). */
function readDoc(path: string, command: string): { run: unknown; data: unknown } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new InputError('CLI002', `cannot read the checkpoint ${path}`, path, null);
  }
  let doc: { kind?: unknown; version?: unknown; run?: unknown; data?: unknown };
  try {
    doc = JSON.parse(text);
  } catch {
    doc = {};
  }
  if (
    doc?.kind !== `cowherd ${command} checkpoint` ||
    doc.version !== VERSION ||
    !doc.run ||
    !doc.data
  )
    throw new InputError(
      'CLI004',
      `${path} is not a checkpoint of cowherd ${command} (version ${VERSION})`,
      path,
      null,
    );
  return { run: doc.run, data: doc.data };
}

function otherRun(path: string, why: string): InputError {
  return new InputError(
    'CLI004',
    `${path} is a checkpoint of another run: ${why}; resume with the same files and options, or start afresh with --checkpoint NEWFILE`,
    path,
    null,
  );
}

/** Replace the checkpoint at `path`, atomically. */
function writeDoc(path: string, command: string, run: unknown, data: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(
      tmp,
      `${JSON.stringify({ kind: `cowherd ${command} checkpoint`, version: VERSION, run, data })}\n`,
    );
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {}
    throw new InputError(
      'CLI002',
      `cannot write the checkpoint ${path}: ${e instanceof Error ? e.message : String(e)}`,
      path,
      null,
    );
  }
}

/** The rows of a checkpoint of this run (CLI002 unreadable, CLI004 not a checkpoint or of another run). */
export function readCheckpoint(path: string, want: CheckRunKey): CheckRow[] {
  const { run, data } = readDoc(path, 'check');
  if (!Array.isArray(data)) throw otherRun(path, 'it holds no rows');
  const why = difference(run as CheckRunKey, want);
  if (why !== null) throw otherRun(path, why);
  return data as CheckRow[];
}

export function writeCheckpoint(path: string, run: CheckRunKey, rows: readonly CheckRow[]): void {
  writeDoc(path, 'check', run, rows);
}

/** What makes two explorations the same: the file's text, the era and the options that shape the search. */
export interface ExploreRunKey {
  readonly file: string;
  readonly sha256: string;
  readonly era: string;
  readonly por: boolean;
  readonly dfs: boolean;
  readonly maxStates: number | null;
  /** --symmetry (absent in checkpoints written before it existed: off). */
  readonly symmetry?: boolean;
}

export function exploreRunKey(
  sc: Scenario,
  era: string,
  o: { por: boolean; dfs: boolean; maxStates: number | null; symmetry: boolean },
): ExploreRunKey {
  return { file: sc.file, sha256: sha256(sc.source), era, ...o };
}

export function readExploreCheckpoint(path: string, want: ExploreRunKey): SearchSnapshot {
  const { run, data } = readDoc(path, 'explore');
  const had = run as ExploreRunKey;
  const why =
    had.file !== want.file
      ? `it is of ${had.file}, this run explores ${want.file}`
      : had.sha256 !== want.sha256
        ? `${want.file} changed since it was written`
        : had.era !== want.era
          ? `it is of era ${had.era}, this run explores ${want.era}`
          : had.por !== want.por || had.dfs !== want.dfs
            ? `it was run with${had.por ? '' : ' --no-por'}${had.dfs ? ' --dfs' : ''}${had.por && !had.dfs ? ' the defaults' : ''}, this run with${want.por ? '' : ' --no-por'}${want.dfs ? ' --dfs' : ''}${want.por && !want.dfs ? ' the defaults' : ''}`
            : had.maxStates !== want.maxStates
              ? `it was run with --max-states ${had.maxStates ?? 'default'}, this run with ${want.maxStates ?? 'default'}`
              : (had.symmetry ?? false) !== want.symmetry
                ? `it was run ${had.symmetry ? 'with' : 'without'} --symmetry, this run ${want.symmetry ? 'with' : 'without'}`
                : null;
  if (why !== null) throw otherRun(path, why);
  return data as SearchSnapshot;
}

export function writeExploreCheckpoint(
  path: string,
  run: ExploreRunKey,
  snapshot: SearchSnapshot,
): void {
  writeDoc(path, 'explore', run, snapshot);
}
