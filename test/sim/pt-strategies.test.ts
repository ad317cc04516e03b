// The page-table strategies in sim (ADR 0013, issue 17): what each frees
// over an allocator's churn, and what it pays per walk, in the work account.
import { describe, expect, it } from 'vitest';
import { simByStrategy } from './pt-run.js';

interface Row {
  era: string;
  vmpte: { peak: number; final: number };
  work: Record<string, Record<string, number>>;
}

const total = (r: Row, kind: string) =>
  Object.values(r.work).reduce((a, w) => a + (w[kind] ?? 0), 0);

describe('page-table strategies priced in sim', () => {
  const { code, byStrategy: rows } = simByStrategy<Row>('workloads/malloc-churn-small.cow');

  it('frees the tables the churn empties under pte-refcount and the rwsem, and no others', () => {
    expect(code).toBe(0);
    const none = rows.get('none')!;
    for (const s of ['pt-reclaim', 'madv-cleanup']) expect(rows.get(s)!.vmpte).toEqual(none.vmpte);
    for (const s of ['pte-refcount', 'pt-rwsem']) {
      const r = rows.get(s)!;
      expect(r.vmpte.final).toBeLessThan(none.vmpte.final / 4);
      // The price: a table allocated again for nearly every object.
      expect(total(r, 'pt_alloc')).toBeGreaterThan(20 * total(none, 'pt_alloc'));
      expect(total(r, 'pt_free')).toBeGreaterThan(0);
    }
    expect(total(none, 'pt_free')).toBe(0);
  });

  it('charges two atomics per walk (faults and zaps), and pte_refcount one per entry made or cleared', () => {
    const none = rows.get('none')!;
    const calls = (r: Row) => r.work.handle_mm_fault!.calls!;
    const faults = calls(none);
    const zaps = none.work.unmap!.calls!;
    const extra = (s: string) => total(rows.get(s)!, 'atomics') - total(none, 'atomics');
    expect(extra('pt-rwsem')).toBe(2 * (faults + zaps));
    expect(extra('pte-refcount')).toBeGreaterThan(extra('pt-rwsem'));
    expect(extra('pt-reclaim')).toBe(0);
    expect(extra('madv-cleanup')).toBe(0);
  });
});
