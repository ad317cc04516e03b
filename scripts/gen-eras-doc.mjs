// Regenerates the decision table in docs/eras.md from the policies:
//   npm run build && node scripts/gen-eras-doc.mjs
// (test/docs/eras-doc.test.ts checks the page against the code).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { erasDecisionTable } = await import(join(root, 'dist', 'report', 'eras-table.js'));
const { ERAS } = await import(join(root, 'dist', 'policy', 'registry.js'));
const file = join(root, 'docs', 'eras.md');
const doc = readFileSync(file, 'utf8');
const table = erasDecisionTable(ERAS.filter((e) => e.policy).map((e) => e.policy));
writeFileSync(
  file,
  doc.replace(
    /(<!-- decision-table:start -->\n)[\s\S]*?(<!-- decision-table:end -->)/,
    `$1${table}$2`,
  ),
);
