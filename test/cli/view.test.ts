/**
 * `cowherd view`'s server without a browser: loopback only, only its
 * inputs, records as the store builds them, explorations on demand with
 * progress and cancel.
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startViewServer, type ViewServer } from '../../src/cli/view.js';
import { viewKey } from '../../src/report/view-keys.js';
import type { ViewIndex, ViewTrace } from '../../src/report/view-types.js';

const io = { out: () => {}, err: () => {} };
const VMSPLICE = 'scenarios/bugs/bug-cve-2020-29374-vmsplice.cow';

function get(
  url: string,
  opts: { method?: string; host?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request(
      {
        hostname: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: opts.method ?? 'GET',
        headers: opts.host ? { host: opts.host } : {},
      },
      (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const data = async (srv: ViewServer, key: string) =>
  get(`${srv.url}api/data?key=${encodeURIComponent(key)}`);

describe('cowherd view: the server', () => {
  let srv: ViewServer;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cowherd-view-'));
    srv = await startViewServer(io, ['scenarios/bugs'], { era: 'v5.7,v6.18' });
    await srv.matrixDone;
  });
  afterAll(async () => {
    await srv.close();
  });

  it('serves on 127.0.0.1 and fills the whole matrix', async () => {
    expect(srv.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const r = await data(srv, viewKey.index());
    expect(r.status).toBe(200);
    const idx = JSON.parse(r.body) as ViewIndex;
    expect(idx.total).toBe(idx.scenarios.length * 2);
    expect(idx.done).toBe(idx.total);
    const cell = idx.cells.find((c) => c.file === VMSPLICE && c.era === 'v5.7')!;
    expect(cell.verdict).toBe('Always');
    expect(cell.witness).toMatch(/^scenarios\/bugs\/bug-cve-2020-29374-vmsplice\.cow:v5\.7:/);
    expect(idx.otherEras).toContain('v5.8');
    expect(idx.otherEras).not.toContain('v5.7');
  });

  it('replays a witness with the state after every step', async () => {
    const idx = JSON.parse((await data(srv, viewKey.index())).body) as ViewIndex;
    const token = idx.cells.find((c) => c.file === VMSPLICE && c.era === 'v5.7')!.witness!;
    const t = JSON.parse((await data(srv, viewKey.trace(token))).body) as ViewTrace;
    expect(t.states.length).toBe(t.steps.length + 1);
    expect(t.steps.some((s) => s.findings.some((f) => f.code === 'ISO001' && f.fresh))).toBe(true);
  });

  it('refuses files it was not given, tokens of edited files and unknown records', async () => {
    for (const key of [
      viewKey.scenario('/etc/passwd'),
      viewKey.scenario('../../../etc/passwd'),
      viewKey.trace('/etc/passwd:v6.18:00000000:0'),
      viewKey.diff('/etc/passwd', 'v5.7', 'v6.18'),
      'nonsense',
    ]) {
      const r = await data(srv, key);
      expect(r.status, key).toBe(404);
      expect(JSON.parse(r.body).code, key).toBe('VW004');
    }
    const stale = await data(srv, viewKey.trace(`${VMSPLICE}:v5.7:00000000:0`));
    expect(JSON.parse(stale.body).code).toBe('RP002');
    expect((await get(`${srv.url}../../etc/passwd`)).status).toBe(404);
    expect((await get(`${srv.url}%2e%2e/%2e%2e/etc/passwd`)).status).toBe(404);
  });

  it('answers requests for its loopback address only (DNS rebinding)', async () => {
    expect((await get(srv.url, { host: 'evil.example:80' })).status).toBe(403);
    expect((await get(srv.url, { host: `localhost:${new URL(srv.url).port}` })).status).toBe(200);
  });

  it('explores a cell on demand and reports its progress', async () => {
    const q = `file=${encodeURIComponent(VMSPLICE)}&era=v5.8`;
    const { job } = JSON.parse((await get(`${srv.url}api/explore?${q}`, { method: 'POST' })).body);
    let j: { status: string; states: number; cell?: { verdict: string } };
    do {
      await new Promise((r) => setTimeout(r, 50));
      j = JSON.parse((await get(`${srv.url}api/job?id=${job}&${q}`)).body);
    } while (j.status === 'running');
    expect(j.status).toBe('done');
    expect(j.cell?.verdict).toBe('Never');
    expect(j.states).toBeGreaterThan(0);
  });

  it('refuses to explore a file it was not given', async () => {
    const r = await get(`${srv.url}api/explore?file=%2Fetc%2Fpasswd&era=v6.18`, { method: 'POST' });
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body).code).toBe('VW004');
  });

  it('cancels a long exploration', async () => {
    // Eight threads writing their own page after fork: tens of seconds of search.
    const file = join(dir, 'slow.cow');
    let s = 'scenario slow\nsetup {\n  mmap mem pages=8 private rw\n  write mem[0..8] = 1\n}\n';
    s += `thread parent {\n  fork child\n${[0, 1, 2, 3, 4, 5, 6, 7].map((i) => `  spawn t${i}\n`).join('')}}\n`;
    for (let i = 0; i < 8; i++) s += `thread t${i} {\n  write mem[${i}] = ${i + 2}\n}\n`;
    s += 'thread child {\n}\nexists (anon_wp_copy_count == 8)\n';
    writeFileSync(file, s);
    const slow = await startViewServer(io, [file], { era: 'v6.18' });
    try {
      const shown = slow.store.inputs.scenarios[0]!.file;
      const q = `file=${encodeURIComponent(shown)}&era=v5.18`;
      const { job } = JSON.parse(
        (await get(`${slow.url}api/explore?${q}`, { method: 'POST' })).body,
      );
      let j: { status: string; states: number };
      do {
        await new Promise((r) => setTimeout(r, 100));
        j = JSON.parse((await get(`${slow.url}api/job?id=${job}&${q}`)).body);
      } while (j.status === 'running' && j.states === 0);
      expect(j.status).toBe('running');
      const c = JSON.parse((await get(`${slow.url}api/cancel?id=${job}`, { method: 'POST' })).body);
      expect(c.status).toBe('cancelled');
      j = JSON.parse((await get(`${slow.url}api/job?id=${job}&${q}`)).body);
      expect(j.status).toBe('cancelled');
    } finally {
      await slow.close();
    }
  });
});

describe('cowherd view: options', () => {
  it('takes loopback addresses only (VW001)', async () => {
    for (const host of ['0.0.0.0', '192.168.1.1', 'example.com', '::']) {
      await expect(
        startViewServer(io, ['scenarios/bugs'], { era: 'v6.18', host }),
      ).rejects.toMatchObject({
        code: 'VW001',
      });
    }
    await expect(
      startViewServer(io, ['scenarios/bugs'], { era: 'v6.18', port: '70000' }),
    ).rejects.toMatchObject({ code: 'VW001' });
  });

  it('reports every bad input at once, with its file (VW002, CLI002)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cowherd-view-'));
    writeFileSync(join(dir, 'a.json'), '{"hello": 1}');
    writeFileSync(join(dir, 'b.json'), 'not json');
    const e = await startViewServer(
      io,
      [join(dir, 'a.json'), join(dir, 'b.json'), join(dir, 'none.cow')],
      {
        era: 'v6.18',
      },
    ).catch((x) => x);
    expect(e).toBeInstanceOf(AggregateError);
    expect((e as AggregateError).errors.map((x) => x.code).sort()).toEqual([
      'CLI002',
      'VW002',
      'VW002',
    ]);
  });
});
