/**
 * The viewer's one HTML page: the bundle (dist/web/viewer.js and .css) by
 * reference or inlined, and how the page gets its records: from the server
 * (`cowherd view`), from data/*.js files beside it (`report --html`), or
 * from the page itself (`report --html --single-file`).
 */

export type ViewerMode = 'live' | 'static' | 'single';

export interface ViewerPage {
  readonly title: string;
  readonly mode: ViewerMode;
  /** The bundle by URL (relative to the page) or its text, inlined. */
  readonly script: { readonly src: string } | { readonly text: string };
  readonly css: { readonly href: string } | { readonly text: string };
  /** A single-file page's records, by key (view-keys.ts). */
  readonly records?: Readonly<Record<string, unknown>>;
  /** The route to open first (a single-file page opens its trace). */
  readonly start?: string;
}

const esc = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** JSON that cannot end the <script> element it sits in. */
export function scriptJson(x: unknown): string {
  return JSON.stringify(x)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** A data file of a static report: it hands its record to the page. */
export function dataScript(key: string, record: unknown): string {
  return `window.cowherdData(${scriptJson(key)},${scriptJson(record)});\n`;
}

export function viewerPage(p: ViewerPage): string {
  const css =
    'href' in p.css
      ? `<link rel="stylesheet" href="${esc(p.css.href)}">`
      : `<style>${p.css.text.replace(/<\/(style)/gi, '<\\/$1')}</style>`;
  const script =
    'src' in p.script
      ? `<script src="${esc(p.script.src)}"></script>`
      : `<script>${p.script.text.replace(/<\/(script)/gi, '<\\/$1')}</script>`;
  const boot = { mode: p.mode, ...(p.start ? { start: p.start } : {}) };
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<link rel="icon" href="data:,">',
    `<title>${esc(p.title)}</title>`,
    css,
    '</head>',
    '<body>',
    '<div id="app"></div>',
    `<script>window.cowherdBoot=${scriptJson(boot)};</script>`,
    ...(p.records
      ? [`<script type="application/json" id="cowherd-records">${scriptJson(p.records)}</script>`]
      : []),
    script,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
