import { main } from '../../src/cli/main.js';

/** Run the CLI in-process; its exit code and what it printed. */
export function cli(...argv: string[]) {
  let out = '';
  let err = '';
  const code = main(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}
