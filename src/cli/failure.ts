/** What the CLI prints when a command fails instead of giving a result, and its exit code. */

import { ToolBug } from '../core/bug.js';
import { InputError } from '../scenario/errors.js';
import type { Io } from './common.js';
import { EXIT_INPUT, EXIT_TOOL_BUG } from './common.js';

/**
 * An input error (exit 2), a tool bug the model found in itself (exit 3),
 * or, the last resort, any other exception: a bug of cowherd's, reported
 * with the command and where it was thrown (exit 3).
 */
export function reportFailure(io: Io, argv: readonly string[], e: unknown): number {
  if (e instanceof InputError) {
    io.err(`${e.format()}\n`);
    return EXIT_INPUT;
  }
  if (e instanceof ToolBug) {
    io.err(
      `cowherd: tool bug (the model reached an impossible state; please report): ${e.message}\n`,
    );
    return EXIT_TOOL_BUG;
  }
  io.err(toolBugReport(argv, e));
  return EXIT_TOOL_BUG;
}

/**
 * What an unexpected exception prints: the command, the error and where it
 * was thrown (the innermost frames), to report as is.
 */
export function toolBugReport(argv: readonly string[], e: unknown): string {
  const err = e instanceof Error ? e : new Error(String(e));
  const frames = (err.stack ?? '')
    .split('\n')
    .filter((l) => /^\s+at /.test(l))
    .slice(0, 4)
    .map((l) => `  ${l.trim()}`);
  const what =
    err instanceof RangeError && /call stack/i.test(err.message)
      ? 'the input nests deeper than cowherd can follow'
      : 'an unexpected error';
  return [
    `cowherd: tool bug (${what}; please report it with the command and input): ${err.name}: ${err.message}`,
    `  command: cowherd ${argv.join(' ')}`,
    ...frames,
    '',
  ].join('\n');
}
