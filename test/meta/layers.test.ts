/**
 * The house rules that a linter does not know: the layer order
 * core ← policy ← scenario ← explore/sim/kernel ← report/fuzz ← cli/web, a pure core, and
 * no era checks inside core.
 */

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const LAYERS = [
  'core',
  'policy',
  'scenario',
  'explore',
  'sim',
  'kernel',
  'report',
  'fuzz',
  'cli',
  'web',
];
const RANK: Record<string, number> = {
  core: 0,
  policy: 1,
  scenario: 2,
  explore: 3,
  sim: 3,
  kernel: 3,
  report: 4,
  // The fuzzer drives scenario and explore as the CLI would (scripts/fuzz.mjs, tests).
  fuzz: 4,
  cli: 5,
  web: 5,
};

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const SRC = files('src');

function layerOf(path: string): string {
  return relative('src', path).split('/')[0] ?? '';
}

describe('layering', () => {
  it('every source file belongs to a known layer', () => {
    expect(SRC.filter((f) => !LAYERS.includes(layerOf(f)))).toEqual([]);
  });

  it('imports only go to the same or a lower layer', () => {
    const bad: string[] = [];
    for (const f of SRC) {
      const from = RANK[layerOf(f)]!;
      for (const m of readFileSync(f, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
        const target = relative('src', join(f, '..', m[1]!)).split('/')[0]!;
        const to = RANK[target];
        if (to !== undefined && (to > from || (to === from && target !== layerOf(f)))) {
          bad.push(`${f} imports ${m[1]}`);
        }
      }
    }
    expect(bad).toEqual([]);
  });

  it("the viewer (web/) knows cowherd only through report's data: view-types and view-keys", () => {
    const allowed = new Set(['src/report/view-types.ts', 'src/report/view-keys.ts']);
    const web = (function all(dir: string): string[] {
      return readdirSync(dir).flatMap((n) => {
        const p = join(dir, n);
        return statSync(p).isDirectory() ? all(p) : /\.tsx?$/.test(p) ? [p] : [];
      });
    })(join('web', 'src'));
    expect(web.length).toBeGreaterThan(3);
    const bad: string[] = [];
    for (const f of web)
      for (const m of readFileSync(f, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
        const target = relative('.', join(f, '..', m[1]!)).replace(/\.js$/, '.ts');
        if (target.startsWith('src/') && !allowed.has(target)) bad.push(`${f} imports ${m[1]}`);
      }
    expect(bad).toEqual([]);
  });

  it('core is pure: no fs, process, console, clock or ambient randomness', () => {
    const impure =
      /from ['"](node:)?(fs|path|child_process|os|worker_threads|process)['"]|\bconsole\.|\bprocess\.|Math\.random|Date\.now|new Date\(|performance\.now/;
    expect(
      SRC.filter((f) => layerOf(f) === 'core' && impure.test(readFileSync(f, 'utf8'))),
    ).toEqual([]);
  });

  it('core has no era checks (eras differ only at policy decision points)', () => {
    const era = /era\s*(>=|<=|>|<|===|==)|\.id\s*===?\s*['"]v[0-9]|['"]v[56]\.[0-9]+['"]/;
    const hits = SRC.filter(
      (f) => layerOf(f) === 'core' && f !== join('src', 'core', 'points.ts'),
    ).filter((f) => era.test(readFileSync(f, 'utf8')));
    expect(hits).toEqual([]);
  });
});
