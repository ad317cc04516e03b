/** The bundled scenario library runs inside the test suite: every expectation of every modelled era, explored as `cowherd check` does. */

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { explore } from '../../src/explore/explore.js';
import { completeEraIds, eraInfo } from '../../src/policy/registry.js';
import { checkScenario } from '../../src/scenario/check.js';
import { parseScenario } from '../../src/scenario/parse.js';

function files(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? files(p) : p.endsWith('.cow') ? [p] : [];
    });
}

const library = files('scenarios');

describe('scenario library', () => {
  it('holds the scenarios this version promises', () => {
    const names = library.map((f) => parseScenario(readFileSync(f, 'utf8'), f).name);
    for (const n of [
      'cow-anon-fork-basic',
      'cow-anon-fork-basic-mprotect',
      'anon-zeropage-read-then-write',
      'cow-anon-parent-writes-first',
      'cow-anon-child-writes-first',
      'cow-anon-child-exit-parent-reuse',
      'anon-madv-dontfork',
      'anon-madv-dontneed-read-zeropage',
      'pt-dense-1g',
      'pt-sparse-1t-dontneed',
    ]) {
      expect(names).toContain(n);
    }
  });

  for (const f of library) {
    const sc = parseScenario(readFileSync(f, 'utf8'), f);
    for (const era of completeEraIds()) {
      const exp = sc.expect.find((e) => e.era === era) ?? sc.expect.find((e) => e.era === '*');
      it(`${sc.name} on ${era} is ${exp?.verdict ?? '(no expectation)'}`, () => {
        checkScenario(sc);
        expect(exp, 'every scenario states its expectation for every modelled era').toBeDefined();
        const r = explore(sc, eraInfo(era)!.policy!);
        expect(r.kind === 'tool-bug' ? r.violations : []).toEqual([]);
        expect(r.kind).toBe('done');
        if (r.kind === 'done') expect(r.verdict).toBe(exp!.verdict);
      });
    }
  }
});
