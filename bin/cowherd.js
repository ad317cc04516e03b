#!/usr/bin/env node
// Entry point of `npx cowherd`: runs the compiled CLI (built by `npm ci` through the prepare script).
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    'cowherd: not built yet; run `npm ci` (or `npm run build`) in the cowherd directory first\n',
  );
  process.exit(2);
}
const { main: run, terminalIo } = await import(main.href);
const code = await run(process.argv.slice(2), {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  detach: true,
  progress: process.stderr.isTTY === true,
  ...terminalIo(process.stdout, process.env),
});
process.exitCode = code;
