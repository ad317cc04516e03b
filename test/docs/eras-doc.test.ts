/** docs/eras.md's decision table is the policies' own (regenerate with npm run docs:eras). */

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERAS } from '../../src/policy/registry.js';
import { erasDecisionTable } from '../../src/report/eras-table.js';

describe('docs/eras.md', () => {
  const doc = readFileSync('docs/eras.md', 'utf8');
  it('shows the decision table of the code', () => {
    const block = /<!-- decision-table:start -->\n([\s\S]*?)<!-- decision-table:end -->/.exec(
      doc,
    )?.[1];
    const policies = ERAS.flatMap((e) => (e.policy ? [e.policy] : []));
    expect(block).toBe(erasDecisionTable(policies));
  });

  it('has a section for every era and proposal id', () => {
    for (const e of ERAS) expect(doc).toContain(`### \`${e.id}\``);
  });
});
