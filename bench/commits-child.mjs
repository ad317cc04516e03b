// One measurement for bench/commits.mjs: node commits-child.mjs DIST own:K|same:K|library
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cowThreads } from './programs.mjs';

const [dist, what] = process.argv.slice(2);
const { explore } = await import(join(dist, 'explore/explore.js'));
const { parseScenario } = await import(join(dist, 'scenario/parse.js'));
const { checkScenario } = await import(join(dist, 'scenario/check.js'));
const { eraInfo, completeEraIds } = await import(join(dist, 'policy/registry.js'));

function scenario(text, file) {
  const sc = parseScenario(text, file);
  checkScenario(sc);
  return sc;
}

if (what === 'library') {
  const files = [];
  const walk = (p) => {
    for (const n of readdirSync(p).sort()) {
      const q = join(p, n);
      if (statSync(q).isDirectory()) walk(q);
      else if (n.endsWith('.cow')) files.push(q);
    }
  };
  walk(join(dirname(fileURLToPath(import.meta.url)), '..', 'scenarios'));
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
