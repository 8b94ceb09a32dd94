import { describe, expect, it } from 'vitest';
import { RateWindow } from '../../../src/http/rate-window.js';

describe('RateWindow', () => {
  it('limits each key per minute and starts a new window a minute after its first request', () => {
    let t = 0;
    const w = new RateWindow(2, () => t);
    expect([w.hit('a'), w.hit('a')]).toEqual([0, 0]);
    t = 15_000;
    expect(w.hit('a')).toBe(45);
    expect(w.hit('b')).toBe(0);
    t = 60_000;
    expect(w.hit('a')).toBe(0);
  });

  it('forgets the least recently seen key past maxKeys', () => {
    const w = new RateWindow(1, () => 0, 3);
    w.hit('a');
    for (const k of ['b', 'c', 'd']) w.hit(k);
    // 'a' was forgotten when 'd' came, so it starts a new window instead of being over its limit.
    expect(w.hit('a')).toBe(0);
    expect(w.hit('d')).toBeGreaterThan(0);
  });

  it('takes no memory for keys it has not seen (docs/audiences.md §Memory while planning)', () => {
    // lru-cache with `max` allocated typed arrays for every possible key at once: 1.2 MB of ArrayBuffers per window
    // at the default 100,000 keys, and more on the heap.
    const before = process.memoryUsage().arrayBuffers;
    const windows = Array.from({ length: 10 }, () => new RateWindow(60, () => 0));
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1_000_000);
    expect(windows.every((w) => w.hit('k') === 0)).toBe(true);
  });
});
