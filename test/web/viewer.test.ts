/**
 * The viewer in a real browser (Chromium through playwright-core): click
 * through matrix → scenario → trace and read the PTE and folio values at a
 * decision; the era diff marks the step where the eras part; a simulation
 * renders as charts with data points; a static report and a single-file
 * trace work from file:// with no request leaving the file system.
 * Screenshots of each view go to .cache/viewer/ for a person to look at.
 * The values the page shows are checked against the records the store
 * builds, not copied into the test.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startViewServer, type ViewServer } from '../../src/cli/view.js';
import { viewKey } from '../../src/report/view-keys.js';
import {
  resolveState,
  type ViewDiff,
  type ViewIndex,
  type ViewTrace,
} from '../../src/report/view-types.js';
import { cli } from '../cli/run-cli.js';
import { BROWSER_REQUIRED, HAVE_CHROMIUM, launch, NO_CHROMIUM, shotPath } from './browser.js';

/** The CLI in-process, for a command that finishes synchronously. */
function run(argv: string[]): { code: number; out: string; err: string } {
  const r = cli(...argv);
  if (typeof r.code !== 'number') throw new Error('expected a synchronous command');
  return r as { code: number; out: string; err: string };
}

const VMSPLICE = 'scenarios/bugs/bug-cve-2020-29374-vmsplice.cow';
const hex = (n: number) => `0x${n.toString(16)}`;

/** Every request the page makes, to check that a report stays on the file system. */
function requests(page: Page): string[] {
  const seen: string[] = [];
  page.on('request', (r) => seen.push(r.url()));
  return seen;
}

it.runIf(BROWSER_REQUIRED && !HAVE_CHROMIUM)(
  'Chromium is there when the browser tests are asked for',
  () => {
    expect(NO_CHROMIUM).toBe('');
  },
);

describe.skipIf(!HAVE_CHROMIUM)(
  `the viewer in Chromium${HAVE_CHROMIUM ? '' : ` (skipped: ${NO_CHROMIUM})`}`,
  () => {
    let browser: Browser;
    let srv: ViewServer;
    let dir: string;
    let simFile: string;
    let traceFile: string;
    const errors: string[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'cowherd-viewer-'));
      const sim = run(['sim', 'workloads/usemem-small.cow', '--era', 'v5.18,v6.18', '--json']);
      expect(sim.code).toBe(0);
      simFile = join(dir, 'sim.json');
      writeFileSync(simFile, sim.out);
      const ex = run(['explore', VMSPLICE, '--era', 'v5.7', '--json']);
      traceFile = join(dir, 'witness.json');
      writeFileSync(traceFile, ex.out);
      [browser, srv] = await Promise.all([
        launch(),
        startViewServer({ out: () => {}, err: () => {} }, ['scenarios/bugs', simFile, traceFile], {
          era: 'v5.7,v6.18',
        }),
      ]);
      await srv.matrixDone;
    });
    afterAll(async () => {
      await Promise.all([browser?.close(), srv?.close()]);
    });

    async function page(): Promise<Page> {
      const p = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      p.on('pageerror', (e) => errors.push(e.message));
      return p;
    }

    it('matrix → scenario → witness, stepping to a decision shows its PTEs and folios', async () => {
      const p = await page();
      await p.goto(srv.url);
      await p.waitForSelector('[data-testid="matrix"]');
      await p.screenshot({ path: shotPath('matrix') });
      const cell = p.locator(`tr[data-scenario="bug-cve-2020-29374-vmsplice"] td[data-era="v5.7"]`);
      expect(await cell.getAttribute('data-verdict')).toBe('Always');
      await cell.locator('a').click();
      await p.waitForSelector('[data-testid="eras"]');
      await p.screenshot({ path: shotPath('scenario') });
      await p.click('[data-testid="witness-v5.7"]');
      await p.waitForSelector('[data-testid="trace"]');

      const idx = srv.store.record(viewKey.index()) as ViewIndex;
      const token = idx.cells.find((c) => c.file === VMSPLICE && c.era === 'v5.7')!.witness!;
      const t = srv.store.record(viewKey.trace(token)) as ViewTrace;
      // The step that broke ISO001 is the write that reused the page: n twice from #0 (fork, then it).
      const target = t.steps.findIndex((s) => s.findings.some((f) => f.fresh));
      const decisionsBefore = t.steps.slice(1, target + 1).filter((s) => s.decisions.length).length;
      for (let i = 0; i < decisionsBefore; i++) await p.keyboard.press('n');
      const selected = p.locator('[data-testid="step"].selected');
      expect(await selected.getAttribute('data-step')).toBe(String(target));
      const st = t.steps[target]!;
      const detail = await p.locator('[data-testid="decisions"]').innerText();
      for (const d of st.decisions) expect(detail).toContain(`${d.point}: ${d.choice}`);

      const state = resolveState(t, target + 1)!;
      const pte = st.changed.ptes[0]!;
      const row = p.locator(
        `[data-testid="pte"][data-mm="${pte.mm}"][data-addr="${hex(pte.addr)}"]`,
      );
      await expect.poll(() => row.getAttribute('class')).toContain('changed');
      const leaf = (function find(
        tb: NonNullable<(typeof state.mms)[number]['pgd']>,
      ): { target: number; bits: readonly string[] } | null {
        for (const e of tb.entries) {
          if (e.child) {
            const x = find(e.child);
            if (x) return x;
          } else if (e.addr === pte.addr) return e;
        }
        return null;
      })(state.mms.find((m) => m.id === pte.mm)!.pgd!)!;
      expect(await row.getAttribute('data-target')).toBe(String(leaf.target));
      expect(await row.getAttribute('data-bits')).toBe(leaf.bits.join(' '));
      const folio = state.folios.find((f) => f.pfn === leaf.target)!;
      const frow = p.locator(`[data-testid="folio"][data-pfn="${folio.pfn}"]`);
      expect(await frow.locator('[data-field="refcount"]').innerText()).toBe(
        String(folio.refcount),
      );
      expect(await frow.locator('[data-field="mapcount"]').innerText()).toBe(
        String(folio.mapcount),
      );
      expect(await frow.locator('[data-field="held"]').innerText()).toBe(folio.heldBy.join(', '));
      await p.screenshot({ path: shotPath('trace') });
      // j/k move one step, and the URL keeps the step for a link.
      await p.keyboard.press('k');
      expect(await selected.getAttribute('data-step')).toBe(String(target - 1));
      expect(p.url()).toContain(`step=${target - 1}`);
      await p.close();
    });

    it('the era diff marks the first step where v5.7 and v6.18 decide differently', async () => {
      const p = await page();
      const d = srv.store.record(viewKey.diff(VMSPLICE, 'v5.7', 'v6.18')) as ViewDiff;
      expect(d.divergence).not.toBeNull();
      await p.goto(`${srv.url}#/scenario/${encodeURIComponent(VMSPLICE)}`);
      await p.click('[data-testid="diff-link"]');
      await p.waitForSelector('[data-testid="diff"]');
      const marked = p.locator('tr.divergent');
      expect(await marked.count()).toBe(1);
      const row = d.rows[d.divergence!]!;
      expect(await marked.getAttribute('data-a')).toBe(String(row.a ?? ''));
      expect(await marked.getAttribute('data-b')).toBe(String(row.b ?? ''));
      const a = d.a.steps[row.a!]!;
      expect(await marked.innerText()).toContain(
        `${a.decisions[0]!.point}: ${a.decisions[0]!.choice}`,
      );
      await p.screenshot({ path: shotPath('diff') });
      await p.close();
    });

    it('explores another era on demand from the scenario page', async () => {
      const p = await page();
      await p.goto(`${srv.url}#/scenario/${encodeURIComponent(VMSPLICE)}`);
      await p.selectOption('[data-testid="other-era-pick"]', 'v5.8');
      await p.click('[data-testid="explore-v5.8"]');
      await p.waitForSelector('[data-testid="verdict-v5.8"]');
      expect(await p.locator('[data-testid="verdict-v5.8"]').innerText()).toContain('Never');
      await p.close();
    });

    it('a trace file given on the command line opens with its states', async () => {
      const p = await page();
      await p.goto(srv.url);
      await p.click('text=witness.json');
      await p.waitForSelector('[data-testid="state"]');
      const token = JSON.parse(readFileSync(traceFile, 'utf8')).replay as string;
      expect(await p.locator('[data-testid="replay"]').innerText()).toBe(`cowherd replay ${token}`);
      await p.close();
    });

    it('a simulation renders as charts with data points', async () => {
      const p = await page();
      await p.goto(srv.url);
      await p.click('text=sim.json');
      await p.waitForSelector('[data-testid="chart-vmpte"] canvas');
      for (const chart of ['chart-vmpte', 'chart-counter', 'chart-work', 'chart-time']) {
        const points = Number(
          await p.locator(`[data-testid="${chart}"]`).first().getAttribute('data-points'),
        );
        expect(points, chart).toBeGreaterThan(0);
      }
      await p.screenshot({ path: shotPath('sim'), fullPage: true });
      await p.close();
    });

    it('a static report works from the file system with no network', async () => {
      const out = join(dir, 'report');
      const r = run([
        'report',
        '--html',
        out,
        'scenarios/bugs',
        simFile,
        '--era',
        'v5.7,v6.18',
        '--diff',
        'v5.7,v6.18',
      ]);
      expect(r.code, r.err).toBe(0);
      const p = await page();
      const seen = requests(p);
      await p.goto(`file://${resolve(out, 'index.html')}`);
      await p.waitForSelector('[data-testid="matrix"]');
      await p
        .locator(`tr[data-scenario="bug-cve-2020-29374-vmsplice"] td[data-era="v5.7"] a`)
        .click();
      await p.click('[data-testid="witness-v5.7"]');
      await p.waitForSelector('[data-testid="state"]');
      await p.goto(
        `file://${resolve(out, 'index.html')}#/diff/${encodeURIComponent(VMSPLICE)}/v5.7/v6.18`,
      );
      await p.waitForSelector('tr.divergent');
      await p.goto(`file://${resolve(out, 'index.html')}#/sim/0`);
      await p.waitForSelector('[data-testid="chart-vmpte"] canvas');
      expect(seen.filter((u) => !u.startsWith('file://') && !u.startsWith('data:'))).toEqual([]);
      await p.close();
    });

    it('a single-file trace opens with no network and shows the same trace', async () => {
      const out = join(dir, 'single');
      const r = run(['report', '--html', out, '--single-file', VMSPLICE, '--era', 'v5.7']);
      expect(r.code, r.err).toBe(0);
      const files = readdirSync(out).filter((f) => f.endsWith('.html'));
      expect(files).toContain('bug-cve-2020-29374-vmsplice.v5.7.html');
      const html = readFileSync(join(out, 'bug-cve-2020-29374-vmsplice.v5.7.html'), 'utf8');
      expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href="(?!data:)/);
      const p = await page();
      const seen = requests(p);
      await p.goto(`file://${resolve(out, 'bug-cve-2020-29374-vmsplice.v5.7.html')}`);
      await p.waitForSelector('[data-testid="state"]');
      const t = srv.store.record(
        viewKey.trace(
          (srv.store.record(viewKey.index()) as ViewIndex).cells.find(
            (c) => c.file === VMSPLICE && c.era === 'v5.7',
          )!.witness!,
        ),
      ) as ViewTrace;
      expect(await p.locator('[data-testid="step"]').count()).toBe(t.steps.length);
      expect(await p.locator('[data-testid="replay"]').innerText()).toBe(
        `cowherd replay ${t.replay}`,
      );
      expect(seen.filter((u) => !u.startsWith('file://') && !u.startsWith('data:'))).toEqual([]);
      await p.screenshot({ path: shotPath('single-file') });
      await p.close();
    });

    it('no page threw', () => {
      expect(errors).toEqual([]);
    });
  },
);

describe.skipIf(!HAVE_CHROMIUM)('bench/viewer.mjs', () => {
  it('measures a long trace beside its text (a smaller one here: the figures are the bench’s)', () => {
    const out = execFileSync(process.execPath, ['bench/viewer.mjs', '--steps', '2000'], {
      encoding: 'utf8',
    });
    expect(out).toMatch(/a trace of 200\d steps/);
    expect(out).toMatch(/ratio viewer\/text\s+\d+\.\d\d\s+\d+\.\d\d/);
    expect(out).toMatch(/scrolling all 200\d steps in 240 frames: median [\d.]+ ms/);
  });
});
