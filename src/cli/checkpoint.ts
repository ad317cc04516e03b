/**
 * Checkpoints of `cowherd check` (--checkpoint FILE, --resume FILE): the rows
 * finished so far, with a key of the run they belong to — the eras, the state
 * budget and every scenario file with a hash of its text. A resumed run takes
 * the rows it holds and runs the rest, so its output is the output of a run
 * never stopped. The file is replaced atomically (written beside, then
 * renamed), so a run killed even by SIGKILL leaves the last whole checkpoint.
 */

import { createHash } from 'node:crypto';
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import type { CheckRow } from '../report/check.js';
import type { Scenario } from '../scenario/ast.js';
import { InputError } from '../scenario/errors.js';

const KIND = 'cowherd check checkpoint';
const VERSION = 1;

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
      sha256: createHash('sha256').update(sc.source).digest('hex'),
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

/** The rows of a checkpoint of this run (CLI002 unreadable, CLI004 not a checkpoint or of another run). */
export function readCheckpoint(path: string, want: CheckRunKey): CheckRow[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new InputError('CLI002', `cannot read the checkpoint ${path}`, path, null);
  }
  let doc: { kind?: unknown; version?: unknown; run?: CheckRunKey; rows?: CheckRow[] };
  try {
    doc = JSON.parse(text);
  } catch {
    doc = {};
  }
  if (doc?.kind !== KIND || doc.version !== VERSION || !doc.run || !Array.isArray(doc.rows))
    throw new InputError(
      'CLI004',
      `${path} is not a checkpoint of cowherd check (version ${VERSION})`,
      path,
      null,
    );
  const why = difference(doc.run, want);
  if (why !== null)
    throw new InputError(
      'CLI004',
      `${path} is a checkpoint of another run: ${why}; resume with the same files and options, or start afresh with --checkpoint NEWFILE`,
      path,
      null,
    );
  return doc.rows;
}

/** Replace the checkpoint at `path` with these rows, atomically. */
export function writeCheckpoint(path: string, run: CheckRunKey, rows: readonly CheckRow[]): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, `${JSON.stringify({ kind: KIND, version: VERSION, run, rows })}\n`);
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
