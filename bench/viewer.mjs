// Viewer benchmark (docs/viewer.md): a trace of 10,000 steps in the browser.
//
// Measures, in one run on this machine, in Debian's Chromium:
//  1. the single-file page of a 10,000-step trace (`report --html --single-file`):
//     its size, the time to first contentful paint and the time until the step
//     list and the state panel are on screen;
//  2. the reference: the same trace as `cowherd replay`'s text in a <pre>,
//     the page a reader had before the viewer; the ratio of the two;
//  3. scrolling the whole step list in 240 animation frames: the frame times
//     (a smooth scroll keeps them near the display's 16.7 ms).
//
// Usage: node bench/viewer.mjs [--steps N]   (needs `npm run build`)

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const CHROMIUM = process.env.COWHERD_CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(join(root, 'dist', 'web', 'viewer.js'))) {
  console.error('bench: run `npm run build` first');
  process.exit(2);
}
if (!existsSync(CHROMIUM)) {
  console.error(`bench: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
  process.exit(2);
}
const at = process.argv.indexOf('--steps');
const STEPS = at > 0 ? Number(process.argv[at + 1]) : 10_000;

const dir = mkdtempSync(join(tmpdir(), 'cowherd-bench-viewer-'));
const file = join(dir, 'long-trace.cow');
// One thread that writes and reads four pages in turn: STEPS steps, each one
// statement, the first touch of each page a fault.
writeFileSync(
  file,
  [
    'scenario long-trace',
    'setup {',
    '  mmap p pages=4 private rw',
    '}',
    'thread t {',
    `  repeat k in 0..${STEPS / 2} {`,
    '    write p[k % 4] = k',
    '    read p[(k + 1) % 4] -> x',
    '  }',
    '}',
    'exists (x >= 0)',
    '',
  ].join('\n'),
);
const cli = (...args) =>
  execFileSync(process.execPath, [join(root, 'bin', 'cowherd.js'), ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
const out = join(dir, 'report');
const t0 = performance.now();
cli('report', '--html', out, '--single-file', file, '--era', 'v6.18');
const reportSecs = (performance.now() - t0) / 1000;
const page = readdirSync(out).find((f) => f.endsWith('.html'));
const html = join(out, page);
const token = /"replay":"([^"]+)"/.exec(
  execFileSync('grep', ['-o', '"replay":"[^"]*"', html], { encoding: 'utf8' }),
)[1];
const text = cli('replay', token, '--full');
const ref = join(dir, 'text.html');
const esc = (s) => s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]);
writeFileSync(ref, `<!doctype html><meta charset="utf-8"><pre id="t">${esc(text)}</pre>\n`);

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});

async function load(url, ready) {
  const p = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const start = performance.now();
  await p.goto(url);
  await p.waitForSelector(ready);
  const readyMs = performance.now() - start;
  const fcp = await p.evaluate(
    () => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN,
  );
  return { p, readyMs, fcp };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const runs = { viewer: [], text: [] };
for (let i = 0; i < 3; i++) {
  const v = await load(`file://${html}`, '[data-testid="state"]');
  runs.viewer.push(v);
  if (i < 2) await v.p.close();
  const t = await load(`file://${ref}`, '#t');
  runs.text.push(t);
  await t.p.close();
}

// Scroll the whole list in 240 frames, timing each frame.
const last = runs.viewer[2].p;
const frames = await last.evaluate(
  () =>
    new Promise((resolve) => {
      const el = document.querySelector('[data-testid="steps"]');
      const total = el.scrollHeight - el.clientHeight;
      const times = [];
      let prev = performance.now();
      let n = 0;
      const tick = (now) => {
        times.push(now - prev);
        prev = now;
        n += 1;
        el.scrollTop = (total * n) / 240;
        if (n < 240) requestAnimationFrame(tick);
        else resolve(times.slice(1));
      };
      requestAnimationFrame(tick);
    }),
);
const shown = await last.locator('[data-testid="step"]').count();
const steps = Number(/^(\d+) step/.exec(await last.locator('.keys').innerText())?.[1]);
await browser.close();

const mb = (f) => (statSync(f).size / 1e6).toFixed(1);
const vFcp = median(runs.viewer.map((r) => r.fcp));
const tFcp = median(runs.text.map((r) => r.fcp));
const vReady = median(runs.viewer.map((r) => r.readyMs));
const tReady = median(runs.text.map((r) => r.readyMs));
const sorted = [...frames].sort((a, b) => a - b);
console.log(
  `viewer benchmark: a trace of ${steps} steps (${STEPS} statements), Chromium ${CHROMIUM}`,
);
console.log(`  report --single-file wrote ${mb(html)} MB in ${reportSecs.toFixed(1)} s`);
console.log('                         first paint   steps and state shown');
console.log(
  `  viewer (single file)   ${vFcp.toFixed(0).padStart(8)} ms   ${vReady.toFixed(0).padStart(8)} ms`,
);
console.log(
  `  text in a <pre> (ref)  ${tFcp.toFixed(0).padStart(8)} ms   ${tReady.toFixed(0).padStart(8)} ms  (${mb(ref)} MB)`,
);
console.log(
  `  ratio viewer/text      ${(vFcp / tFcp).toFixed(2).padStart(8)}      ${(vReady / tReady).toFixed(2).padStart(8)}`,
);
console.log(
  `  scrolling all ${steps} steps in 240 frames: median ${median(frames).toFixed(1)} ms, p95 ${sorted[Math.floor(sorted.length * 0.95)].toFixed(1)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms per frame; ${shown} step rows in the DOM`,
);
