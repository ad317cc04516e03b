/**
 * The settings guardian (settings.ts): started detached with a pipe from
 * `cowherd kernel` on its stdin and the journal's path as its argument. When
 * the pipe closes (the runner finished, crashed or was killed, even with
 * SIGKILL), it replays whatever the journal still records and deletes it.
 */

import { recoverJournal } from './settings.js';

/**
 * How long to let the probe's processes notice that their coordinator is gone
 * (they check every 100 ms) before restoring, so that none writes a knob
 * after the restore.
 */
const SETTLE_MS = 500;

const path = process.argv[2];
if (path) {
  const restore = () =>
    setTimeout(() => {
      recoverJournal(path);
      process.exit(0);
    }, SETTLE_MS);
  process.stdin.resume();
  process.stdin.on('end', restore);
  process.stdin.on('error', restore);
}
