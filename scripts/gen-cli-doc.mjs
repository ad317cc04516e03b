// Regenerates docs/cli.md from the real CLI output: npm run build && node scripts/gen-cli-doc.mjs > docs/cli.md
// (test/docs/cli-transcripts.test.ts then checks the page against the CLI).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { main } = await import(join(root, 'dist', 'cli', 'main.js'));
const cmds = [
  ['Every era and proposal, and whether it is modelled yet:', 'eras'],
  [
    'The verdict matrix of a directory of scenarios under one era:',
    'check scenarios/cow --era v6.18',
  ],
  ['The same as JSON, for scripts:', 'check scenarios/cow/cow-anon-fork-basic.cow --json'],
  [
    'Scenarios from several directories, every era, compact: one letter per verdict and short era ids, as on a terminal too narrow for the wide matrix (`--compact` asks for it anywhere; on a terminal the cells that need a look are coloured, unless NO_COLOR is set):',
    'check scenarios/bugs scenarios/lru --compact',
  ],
  [
    'Every step of one run and what it changed:',
    'run scenarios/anon/anon-zeropage-read-then-write.cow --era v6.18',
  ],
  [
    'Every interleaving of one scenario (one statement is one step): the counts of final states of each kind and a shortest interleaving that makes the condition true:',
    'explore test/fixtures/race-shared-read.cow --era v6.18',
  ],
  [
    'The shortest interleaving that shows CVE-2020-29374 on 5.7 (the child reads, through the pipe, what the parent wrote after fork), with the decision each step took and what it changed; the last line is a replay token:',
    'explore scenarios/bugs/bug-cve-2020-29374-vmsplice.cow --era v5.7',
  ],
  [
    'No interleaving shows it on 6.18:',
    'explore scenarios/bugs/bug-cve-2020-29374-vmsplice.cow --era v6.18',
  ],
  [
    'Environment actors: with per-CPU LRU batches (`env lru_batches`) a fresh page holds an extra reference in the batch of the CPU that faulted it in, until that CPU drains it, which may happen between any two steps. A write on another CPU copies unless CPU 0 drained first:',
    'explore scenarios/lru/cow-lru-batch-remote-cpu.cow --era v6.18',
  ],
  [
    "The visited set keeps each state's 64-bit fingerprint (hash-compact); the line under the counts gives the chance that two states shared one. `--bitstate MIB` keeps 3 bits per state in a bit array of MIB, as SPIN's bitstate mode, for spaces that do not fit: the line gives the expected number of states it took for visited ones and the coverage estimate. `--memory MIB` keeps fingerprints while they fit in MIB, then switches to a bit array of MIB:",
    'explore scenarios/anon/cow-anon-reclaim-lock-race.cow --era v6.18 --bitstate 1',
  ],
  [
    "A replay token re-runs exactly one interleaving, the environment's steps and the kernel's choices included:",
    'REPLAY scenarios/lru/cow-lru-batch-remote-cpu.cow v5.9',
  ],
  [
    'Which scenarios two eras answer differently over every interleaving (as check does; --sequential compares the sequential runs only), each with the first step where the sequential runs part (the decision point and what each era chose); the exit status is 1 when any differs:',
    'diff v5.9 v6.18 scenarios/cow',
  ],
  [
    'A verdict that differs from its expectation is marked `*`, explained below the matrix, and the exit status is 1:',
    'check test/fixtures/wrong-expectation.cow --era v6.18',
  ],
  [
    'A design can hang: under wait-for-gup the parent sleeps in its write fault until the pipe drops its reference, which the child does only after that write. `Hang` is a verdict like the others (no final state, so the condition is not evaluated), expected here:',
    'check scenarios/bugs/bug-cve-2020-29374-vmsplice.cow --era all',
  ],
  [
    'An input error names the file, line, column and a code, and exits with 2:',
    'check test/fixtures/bad-syntax.cow',
  ],
  [
    "The same scenarios on the running kernel (as root): each runs N times through the C probe, with the counts of runs where the condition held, did not, and hung; `--compare` adds the model's verdict for the era of `uname -r` and exits 1 on a disagreement. The output depends on the machine: docs/fidelity.md has this machine's, and what it taught the model:",
    'kernel --help',
  ],
  [
    'The viewer (docs/viewer.md): the matrix, scenarios, traces with the state after every step, era diffs and simulations in a browser, served on a loopback address until Ctrl-C:',
    'view --help',
  ],
  [
    'The same pages written as files that open with no server and no network, or one self-contained page per trace to attach to a mail:',
    'report --help',
  ],
  [
    "A workload once per era, at full scale, with the kernel's counters (docs/sim.md): eight children each write every page of a prefaulted 1 MiB range; the loops run without being expanded, the same seed gives the same output:",
    'sim workloads/usemem-small.cow --era v6.18',
  ],
];
// `REPLAY FILE ERA` stands for `replay TOKEN` with the token `explore FILE --era ERA --json` prints.
function resolve(cmd) {
  if (!cmd.startsWith('REPLAY ')) return cmd;
  const [, file, era] = cmd.split(' ');
  let out = '';
  main(['explore', file, '--era', era, '--json'], {
    out: (s) => {
      out += s;
    },
    err: () => {},
  });
  return `replay ${JSON.parse(out).replay}`;
}
for (const c of cmds) c[1] = resolve(c[1]);
let md = `# cowherd on the command line\n\nThese transcripts are checked by the test suite (test/docs/cli-transcripts.test.ts): the\noutput below is exactly what the commands print, so this page cannot go stale.\n`;
process.chdir(root);
for (const [text, cmd] of cmds) {
  let out = '';
  const code = main(cmd.split(' '), { out: (s) => (out += s), err: (s) => (out += s) });
  md += `\n${text}\n\n\`\`\`console\n$ cowherd ${cmd}\n${out}${code ? `(exit status ${code})\n` : ''}\`\`\`\n`;
}
process.stdout.write(md);
