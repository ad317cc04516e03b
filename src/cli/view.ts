/**
 * `cowherd view [PATHS…]`: the viewer served on a loopback address. The
 * matrix fills in a worker thread while the page shows it; a cell asked for
 * from the page is explored in another worker, with its progress, and ends
 * when cancelled. The server reads nothing but its inputs and its own
 * bundle: every record is asked for by key and built from the inputs
 * (view-store.ts), and requests naming another host are refused (a page on
 * another site cannot reach it through DNS rebinding).
 */

import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIPv4 } from 'node:net';
import { Worker } from 'node:worker_threads';
import { viewerPage } from '../report/view-html.js';
import { InputError } from '../scenario/errors.js';
import type { Io } from './common.js';
import { distUrl, EXIT_INPUT, EXIT_OK, positiveInt, selectEras } from './common.js';
import { toolBugReport } from './failure.js';
import { loadViewInputs, ViewStore } from './view-store.js';
import type { ViewJob, ViewWorkerMessage } from './view-worker.js';

export interface ViewCliOptions {
  era: string;
  pt?: string;
  port?: string;
  host?: string;
}

/** The viewer's bundle (npm run build writes it with Vite). */
export function viewerBundle(): { js: string; css: string } {
  try {
    return {
      js: readFileSync(distUrl('web/viewer.js'), 'utf8'),
      css: readFileSync(distUrl('web/viewer.css'), 'utf8'),
    };
  } catch {
    throw new InputError(
      'CLI002',
      'the viewer is not built (dist/web/viewer.js is missing): run npm run build',
      'dist/web',
      null,
    );
  }
}

function loopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIPv4(host) && host.startsWith('127.'));
}

interface Job {
  status: 'running' | 'done' | 'cancelled' | 'failed';
  states: number;
  worker: Worker;
  error?: string;
}

export interface ViewServer {
  readonly url: string;
  readonly store: ViewStore;
  /** Settles when every matrix cell is known. */
  readonly matrixDone: Promise<void>;
  close(): Promise<void>;
}

function startWorker(job: ViewJob, onMessage: (m: ViewWorkerMessage) => void): Worker {
  const w = new Worker(distUrl('cli/view-worker.js'), { workerData: job });
  w.on('message', onMessage);
  return w;
}

/** Start the server; InputError for bad options or inputs. */
export async function startViewServer(
  io: Io,
  paths: readonly string[],
  opts: ViewCliOptions,
): Promise<ViewServer> {
  const host = opts.host ?? '127.0.0.1';
  if (!loopback(host))
    throw new InputError(
      'VW001',
      `--host ${host}: the viewer serves on a loopback address only (127.0.0.1, ::1, localhost)`,
      '--host',
      null,
    );
  const port = opts.port === undefined || opts.port === '0' ? 0 : positiveInt(opts.port, '--port')!;
  if (port > 65535) throw new InputError('VW001', `--port ${port}: not a TCP port`, '--port', null);
  const { policies } = selectEras(opts.era, opts.pt);
  const inputs = loadViewInputs(paths);
  if (inputs.errors.length) throw new AggregateError(inputs.errors, 'bad inputs');
  const bundle = viewerBundle();
  const store = new ViewStore(
    inputs,
    policies.map((p) => p.id),
    true,
  );
  const page = viewerPage({
    title: 'cowherd',
    mode: 'live',
    script: { src: 'viewer.js' },
    css: { href: 'viewer.css' },
  });

  const workers = new Set<Worker>();
  const files = inputs.scenarios.map((s) => s.file);
  const matrixDone = new Promise<void>((resolve) => {
    if (files.length === 0 || policies.length === 0) return resolve();
    const w = startWorker({ files, eras: store.eras, progress: false }, (m) => {
      if (m.kind === 'cell') store.setCell(m.row);
    });
    workers.add(w);
    w.on('exit', () => {
      workers.delete(w);
      resolve();
    });
    w.on('error', (e) => io.err(toolBugReport(['view', ...paths], e)));
  });

  const jobs = new Map<string, Job>();
  const startJob = (file: string, era: string): string => {
    store.scenario(file);
    const id = String(jobs.size + 1);
    const job: Job = {
      status: 'running',
      states: 0,
      worker: startWorker({ files: [file], eras: [era], progress: true }, (m) => {
        if (m.kind === 'progress') job.states = m.states;
        else if (m.kind === 'cell') {
          store.setCell(m.row);
          job.status = 'done';
          job.states = m.row.states ?? job.states;
        }
      }),
    };
    workers.add(job.worker);
    job.worker.on('error', (e) => {
      job.status = 'failed';
      job.error = toolBugReport(['view', file, '--era', era], e);
    });
    job.worker.on('exit', () => {
      workers.delete(job.worker);
      if (job.status === 'running') job.status = 'failed';
    });
    jobs.set(id, job);
    return id;
  };

  const send = (res: ServerResponse, status: number, type: string, body: string) => {
    res.writeHead(status, {
      'content-type': type,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.end(body);
  };
  const json = (res: ServerResponse, status: number, x: unknown) =>
    send(res, status, 'application/json; charset=utf-8', JSON.stringify(x));

  let bound = '';
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const hostHeader = (req.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    if (!loopback(hostHeader) && hostHeader !== bound)
      return send(
        res,
        403,
        'text/plain',
        'cowherd view answers requests for its loopback address only\n',
      );
    const url = new URL(req.url ?? '/', 'http://localhost');
    const q = (name: string) => url.searchParams.get(name) ?? '';
    try {
      if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/index.html'))
        return send(res, 200, 'text/html; charset=utf-8', page);
      if (req.method === 'GET' && url.pathname === '/viewer.js')
        return send(res, 200, 'text/javascript; charset=utf-8', bundle.js);
      if (req.method === 'GET' && url.pathname === '/viewer.css')
        return send(res, 200, 'text/css; charset=utf-8', bundle.css);
      if (req.method === 'GET' && url.pathname === '/api/data')
        return json(res, 200, store.record(q('key')));
      if (req.method === 'POST' && url.pathname === '/api/explore')
        return json(res, 200, { job: startJob(q('file'), q('era')) });
      if (req.method === 'GET' && url.pathname === '/api/job') {
        const j = jobs.get(q('id'));
        if (!j) return json(res, 404, { code: 'VW004', error: `no job ${q('id')}` });
        const [file, era] = [q('file'), q('era')];
        return json(res, 200, {
          status: j.status,
          states: j.states,
          ...(j.status === 'done' && file ? { cell: store.cell(file, era) ?? null } : {}),
          ...(j.error ? { error: j.error } : {}),
        });
      }
      if (req.method === 'POST' && url.pathname === '/api/cancel') {
        const j = jobs.get(q('id'));
        if (j && j.status === 'running') {
          j.status = 'cancelled';
          void j.worker.terminate();
        }
        return json(res, 200, { status: j?.status ?? 'none' });
      }
      return send(res, 404, 'text/plain', 'not found\n');
    } catch (e) {
      if (e instanceof InputError) return json(res, 404, { code: e.code, error: e.format() });
      return json(res, 500, { code: 'tool-bug', error: toolBugReport(['view', ...paths], e) });
    }
  };

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new InputError(
          'VW001',
          `cannot listen on ${host}:${port}: ${e.code ?? e.message}`,
          '--port',
          null,
        ),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  bound = host;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${actual}/`,
    store,
    matrixDone,
    close: async () => {
      await Promise.all([...workers].map((w) => w.terminate()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function cmdView(io: Io, paths: string[], opts: ViewCliOptions): Promise<number> {
  let srv: ViewServer;
  try {
    srv = await startViewServer(io, paths, opts);
  } catch (e) {
    const list = e instanceof AggregateError ? e.errors : [e];
    if (!list.every((x) => x instanceof InputError)) throw e;
    for (const x of list as InputError[]) io.err(`${x.format()}\n`);
    return EXIT_INPUT;
  }
  const n = srv.store.inputs;
  io.out(
    `cowherd view: ${n.scenarios.length} scenario(s) × ${srv.store.eras.length} era(s), ${n.traces.length} trace(s), ${n.sims.length} simulation(s)\n`,
  );
  io.out(`serving ${srv.url} (Ctrl-C stops)\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await srv.close();
  return EXIT_OK;
}
