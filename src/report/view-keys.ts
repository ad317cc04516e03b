/**
 * How the viewer names the records it loads: one key per record, the same
 * whether `cowherd view` serves it (/api/data?key=…) or a static report
 * holds it in a file (dataFile(key)). No imports: the web layer uses it.
 */

export const INDEX_KEY = 'index';

export const viewKey = {
  index: () => INDEX_KEY,
  scenario: (file: string) => `scenario\n${file}`,
  /** The path a replay token names, with the state after every step. */
  trace: (token: string) => `trace\n${token}`,
  /** A trace file given on the command line, by its place in the list. */
  traceFile: (id: string) => `tracefile\n${id}`,
  diff: (file: string, a: string, b: string) => `diff\n${file}\n${a}\n${b}`,
  sim: (id: string) => `sim\n${id}`,
};

/** FNV-1a over UTF-16 code units, two seeds: 16 hex digits. */
function hash64(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x01000193 + 2) >>> 0;
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}

/** The file of a static report that holds the record `key` (it calls window.cowherdData(key, record)). */
export function dataFile(key: string): string {
  return key === INDEX_KEY ? 'data/index.js' : `data/${hash64(key)}.js`;
}
