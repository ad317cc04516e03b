/**
 * Where the page gets its records (report/view-keys.ts): from `cowherd view`
 * over HTTP, from the data/*.js files of a static report (script elements,
 * which work from file:// where fetch does not), or from the page itself
 * (a single-file report).
 */

import { dataFile } from '../../src/report/view-keys.js';
import type { ViewCell } from '../../src/report/view-types.js';

export interface Exploration {
  /** The cell once explored; null when cancelled. */
  readonly done: Promise<ViewCell | null>;
  cancel(): void;
}

export interface Source {
  readonly mode: 'live' | 'static' | 'single';
  get<T>(key: string): Promise<T>;
  /** Explore one cell on the server, with its progress (live only). */
  explore?(file: string, era: string, progress: (states: number) => void): Exploration;
}

declare global {
  interface Window {
    cowherdBoot?: { mode: 'live' | 'static' | 'single'; start?: string };
    cowherdData?: (key: string, record: unknown) => void;
  }
}

async function fetchJson<T>(url: string, init?: RequestInit): Promise<T> {
  const r = await fetch(url, init);
  const body = await r.json();
  if (!r.ok) throw new Error(body.error ?? `${r.status} ${r.statusText}`);
  return body as T;
}

function liveSource(): Source {
  return {
    mode: 'live',
    get: (key) => fetchJson(`api/data?key=${encodeURIComponent(key)}`),
    explore(file, era, progress) {
      let id: string | null = null;
      let cancelled = false;
      const q = `file=${encodeURIComponent(file)}&era=${encodeURIComponent(era)}`;
      const done = (async (): Promise<ViewCell | null> => {
        id = (await fetchJson<{ job: string }>(`api/explore?${q}`, { method: 'POST' })).job;
        for (;;) {
          if (cancelled) return null;
          const j = await fetchJson<{
            status: string;
            states: number;
            cell?: ViewCell | null;
            error?: string;
          }>(`api/job?id=${id}&${q}`);
          progress(j.states);
          if (j.status === 'done') return j.cell ?? null;
          if (j.status === 'cancelled') return null;
          if (j.status === 'failed') throw new Error(j.error ?? 'the exploration failed');
          await new Promise((r) => setTimeout(r, 300));
        }
      })();
      return {
        done,
        cancel() {
          cancelled = true;
          if (id !== null) void fetch(`api/cancel?id=${id}`, { method: 'POST' });
        },
      };
    },
  };
}

function staticSource(): Source {
  const waiting = new Map<string, { resolve: (x: unknown) => void }[]>();
  const have = new Map<string, unknown>();
  window.cowherdData = (key, record) => {
    have.set(key, record);
    for (const w of waiting.get(key) ?? []) w.resolve(record);
    waiting.delete(key);
  };
  return {
    mode: 'static',
    get<T>(key: string): Promise<T> {
      if (have.has(key)) return Promise.resolve(have.get(key) as T);
      return new Promise<T>((resolve, reject) => {
        const list = waiting.get(key) ?? [];
        list.push({ resolve: resolve as (x: unknown) => void });
        waiting.set(key, list);
        if (list.length > 1) return;
        const s = document.createElement('script');
        s.src = dataFile(key);
        s.onerror = () => {
          waiting.delete(key);
          reject(
            new Error(
              'not in this report (write it with cowherd report --html, or open cowherd view)',
            ),
          );
        };
        document.head.appendChild(s);
      });
    },
  };
}

function singleSource(): Source {
  const el = document.getElementById('cowherd-records');
  const records = JSON.parse(el?.textContent ?? '{}') as Record<string, unknown>;
  return {
    mode: 'single',
    get: <T>(key: string) =>
      key in records
        ? Promise.resolve(records[key] as T)
        : Promise.reject(
            new Error('not in this file: it holds one trace (cowherd view shows the rest)'),
          ),
  };
}

export function makeSource(): Source {
  const mode = window.cowherdBoot?.mode ?? 'live';
  return mode === 'static' ? staticSource() : mode === 'single' ? singleSource() : liveSource();
}
