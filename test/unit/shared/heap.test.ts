import { describe, expect, it } from 'vitest';
import { collectGarbageNow } from '../../../src/shared/heap.js';

/** Makes half a million small objects and drops them: garbage, most of it promoted out of the young generation. */
const garbage = () => Array.from({ length: 500_000 }, (_, i) => ({ i, s: `x${i}` })).length;

describe('collectGarbageNow', () => {
  it('runs a full collection without --expose-gc (docs/audiences.md §Memory while planning)', () => {
    expect(garbage()).toBe(500_000);
    const before = process.memoryUsage().heapUsed;
    expect(collectGarbageNow()).toBe(true);
    expect(before - process.memoryUsage().heapUsed).toBeGreaterThan(20_000_000);
    expect(collectGarbageNow()).toBe(true);
  });
});
