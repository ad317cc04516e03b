/** Small helpers the views share: loading a record, the route, formatting. */

import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import type { Source } from './source.js';

export const SourceContext = createContext<Source | null>(null);

export function useSource(): Source {
  return useContext(SourceContext)!;
}

export type Loaded<T> =
  | { readonly state: 'loading' }
  | { readonly state: 'error'; readonly error: string }
  | { readonly state: 'ok'; readonly data: T };

/** The record `key`, loaded once per key (again every `pollMs` while `poll` says so). */
export function useRecord<T>(
  key: string | null,
  poll?: (x: T) => boolean,
  pollMs = 1000,
): Loaded<T> {
  const source = useSource();
  const [r, setR] = useState<Loaded<T>>({ state: 'loading' });
  useEffect(() => {
    if (key === null) return;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setR({ state: 'loading' });
    const load = () =>
      source.get<T>(key).then(
        (data) => {
          if (!live) return;
          setR({ state: 'ok', data });
          if (poll?.(data)) timer = setTimeout(load, pollMs);
        },
        (e: Error) => live && setR({ state: 'error', error: e.message }),
      );
    void load();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [key]);
  return r;
}

export interface Route {
  readonly view: string;
  readonly args: readonly string[];
  readonly query: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const h = hash.replace(/^#\/?/, '');
  const [path, q] = h.split('?', 2) as [string, string | undefined];
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { view: parts[0] ?? '', args: parts.slice(1), query: new URLSearchParams(q ?? '') };
}

export function href(view: string, ...args: (string | number)[]): string {
  return `#/${[view, ...args.map((a) => encodeURIComponent(String(a)))].join('/')}`;
}

export function useRoute(): Route {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return parseRoute(hash);
}

export const hex = (n: number) => `0x${n.toString(16)}`;

export function Status<T>({ r, what }: { r: Loaded<T>; what: string }) {
  if (r.state === 'loading') return <p class="muted">loading {what}…</p>;
  if (r.state === 'error')
    return (
      <p class="error" data-testid="error">
        {what}: {r.error}
      </p>
    );
  return null;
}

/** A labelled drop-down of `options` (value, or [value, text]), with a first "any" entry when `none` names it. */
export function Pick({
  label,
  value,
  set,
  options,
  none,
  testid,
}: {
  label: string;
  value: string;
  set: (v: string) => void;
  options: readonly (string | readonly [string, string])[];
  none?: string;
  testid: string;
}) {
  return (
    <label>
      {label}{' '}
      <select value={value} onChange={(e) => set(e.currentTarget.value)} data-testid={testid}>
        {none !== undefined ? <option value="">{none}</option> : null}
        {options.map((o) =>
          typeof o === 'string' ? (
            <option value={o}>{o}</option>
          ) : (
            <option value={o[0]}>{o[1]}</option>
          ),
        )}
      </select>
    </label>
  );
}
