import { describe, expect, it } from 'vitest';
import { alloc_pages, folio_put, page_folio, pfnInUse } from '../../../src/core/mm/page_alloc.js';
import { newState, ZERO_PFN } from '../../../src/core/mm_types.js';

describe('page allocator', () => {
  it('hands out PFNs deterministically, reusing the last freed first', () => {
    const s = newState();
    const a = alloc_pages(s, 0);
    const b = alloc_pages(s, 0);
    expect([a, b]).toEqual([ZERO_PFN + 1, ZERO_PFN + 2]);
    folio_put(s, a);
    expect(pfnInUse(s, a)).toBe(false);
    expect(alloc_pages(s, 0)).toBe(a);
  });

  it('aligns large folios naturally and finds the head of a tail page', () => {
    const s = newState();
    alloc_pages(s, 0);
    const head = alloc_pages(s, 9);
    expect(head % 512).toBe(0);
    expect(page_folio(s, head + 100)).toBe(head);
    expect(s.mem.refcount[head]).toBe(1);
    // The skipped PFNs are free order-0 pages.
    expect(pfnInUse(s, ZERO_PFN + 2)).toBe(false);
    folio_put(s, head);
    expect(pfnInUse(s, head + 100)).toBe(false);
  });

  it('grows the memmap past its initial capacity', () => {
    const s = newState();
    for (let i = 0; i < 1000; i++) alloc_pages(s, 0);
    expect(s.mem.flags.length).toBeGreaterThanOrEqual(1002);
    expect(s.mem.refcount[1001]).toBe(1);
  });
});
