// One measurement for bench/commits.mjs: node commits-child.mjs DIST own:K|same:K|library|library:memo [top:N]
// With `library top:N`, the N slowest scenarios (seconds over every era, and
// states) go to standard error as a table; standard output stays one line of JSON.
// `library:memo` explores each scenario's eras through one EraMemo, as
// `cowherd check` does (builds from 2f22898 on); `library` explores every era.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cowThreads, libraryFiles } from './programs.mjs';

const [distArg, what, topArg] = process.argv.slice(2);
const top = topArg?.startsWith('top:') ? Number(topArg.slice(4)) : 0;
// DIST may be relative to the working directory.
const dist = pathToFileURL(resolve(distArg)).href;
const { explore } = await import(`${dist}/explore/explore.js`);
const { parseScenario } = await import(`${dist}/scenario/parse.js`);
const { checkScenario } = await import(`${dist}/scenario/check.js`);
const { eraInfo, completeEraIds } = await import(`${dist}/policy/registry.js`);

function scenario(text, file) {
  const sc = parseScenario(text, file);
  checkScenario(sc);
  return sc;
}

if (what === 'library' || what === 'library:memo') {
  const memo = what === 'library:memo';
  const { EraMemo } = memo ? await import(`${dist}/explore/era-memo.js`) : {};
  const files = libraryFiles();
  const h = createHash('sha256');
  const t = performance.now();
  const rows = [];
  for (const f of files) {
    const sc = scenario(readFileSync(f, 'utf8'), f);
    const t0 = performance.now();
    let states = 0;
    const byEra = memo ? new EraMemo(sc) : null;
    for (const era of completeEraIds()) {
      const p = eraInfo(era).policy;
      const r = byEra ? byEra.explore(p) : explore(sc, p);
      states += r.states;
      h.update(`${f} ${era} ${r.kind} ${r.verdict ?? ''} ${r.states}\n`);
    }
    rows.push({ f, s: (performance.now() - t0) / 1000, states });
  }
  console.log(JSON.stringify({ s: (performance.now() - t) / 1000, digest: h.digest('hex') }));
  if (top > 0) {
    console.error('| scenario | states (every era) | s |\n| --- | --- | --- |');
    for (const r of rows.sort((a, b) => b.s - a.s).slice(0, top))
      console.error(
        `| ${basename(r.f, '.cow')} | ${r.states.toLocaleString('en-US')} | ${r.s.toFixed(2)} |`,
      );
  }
} else {
  const [kind, k] = what.split(':');
  const sc = scenario(cowThreads(Number(k), kind === 'same'), 'bench.cow');
  const t = performance.now();
  const r = explore(sc, eraInfo('v6.18').policy, { por: false });
  console.log(
    JSON.stringify({ s: (performance.now() - t) / 1000, states: r.states, verdict: r.verdict }),
  );
}
