import { LRUCache } from 'lru-cache';

/**
 * Requests per key per minute, counted in this process (a fixed window that starts with the key's first request).
 * Bounded: at most `maxKeys` keys are remembered, the least recently seen forgotten first, so a flood of made-up keys
 * costs memory once and evicts itself (docs/loyalty.md §Rate limits).
 */
export class RateWindow {
  private readonly windows: LRUCache<string, { start: number; count: number }>;

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number,
    maxKeys = 100_000,
  ) {
    // Bounded by size (each key counts 1), not by `max`: lru-cache allocates room for `max` entries up front, about
    // 2.8 MB per window at 100,000 keys, and the bot builds six of them (two per public page) in every process, the
    // planner's included, though most never see a request (docs/audiences.md §Memory while planning).
    this.windows = new LRUCache({ maxSize: maxKeys, sizeCalculation: () => 1 });
  }

  /** Count one request; the seconds until the key may ask again when it is over its limit, else 0. */
  hit(key: string): number {
    const t = this.now();
    const w = this.windows.get(key);
    if (!w || t - w.start >= 60_000) {
      this.windows.set(key, { start: t, count: 1 });
      return 0;
    }
    w.count += 1;
    return w.count > this.perMinute ? Math.max(1, Math.ceil((w.start + 60_000 - t) / 1000)) : 0;
  }
}
