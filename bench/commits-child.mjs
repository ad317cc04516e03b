// One measurement for bench/commits.mjs: node commits-child.mjs DIST own:K|same:K|library
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cowThreads, libraryFiles } from './programs.mjs';

const [distArg, what] = process.argv.slice(2);
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

if (what === 'library') {
  const files = libraryFiles();
  const h = createHash('sha256');
  const t = performance.now();
  for (const f of files) {
    const sc = scenario(readFileSync(f, 'utf8'), f);
    for (const era of completeEraIds()) {
      const r = explore(sc, eraInfo(era).policy);
      h.update(`${f} ${era} ${r.kind} ${r.verdict ?? ''} ${r.states}\n`);
    }
  }
  console.log(JSON.stringify({ s: (performance.now() - t) / 1000, digest: h.digest('hex') }));
} else {
  const [kind, k] = what.split(':');
  const sc = scenario(cowThreads(Number(k), kind === 'same'), 'bench.cow');
  const t = performance.now();
  const r = explore(sc, eraInfo('v6.18').policy, { por: false });
  console.log(
    JSON.stringify({ s: (performance.now() - t) / 1000, states: r.states, verdict: r.verdict }),
  );
}
