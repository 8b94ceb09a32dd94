import type { Clock } from '../../shared/clock.js';

/** What a fetch of an expiring credential returns: the value and WeCom's `expires_in` in seconds. */
export interface Expiring<T> {
  value: T;
  expiresInSeconds: number;
}

/**
 * One cached, expiring credential (an access_token or a jsapi ticket) with a single-flight refresh.
 *
 * Reference §3: cache for `expires_in − margin`, never call gettoken per request ("不能频繁调用"), let
 * concurrent callers share one refresh, and re-fetch when WeCom invalidates the token early.
 */
export class SingleFlightCache<T> {
  private current: { value: T; expiresAt: number } | null = null;
  private inFlight: Promise<T> | null = null;

  constructor(
    private readonly fetch: () => Promise<Expiring<T>>,
    private readonly clock: Clock,
    /** Refresh this many seconds before WeCom's expiry (§3 suggests 5 min). */
    private readonly marginSeconds = 300,
  ) {}

  /** The cached value, or the result of the one refresh in progress, or a new refresh. */
  get(): Promise<T> {
    const now = this.clock.now().getTime();
    if (this.current && now < this.current.expiresAt) return Promise.resolve(this.current.value);
    if (!this.inFlight) {
      const started = now;
      this.inFlight = this.fetch()
        .then(({ value, expiresInSeconds }) => {
          // Never let the margin eat more than half the lifetime, so a short expires_in still caches.
          const ttlSeconds = Math.max(expiresInSeconds - this.marginSeconds, expiresInSeconds / 2);
          this.current = { value, expiresAt: started + ttlSeconds * 1000 };
          return value;
        })
        .finally(() => {
          this.inFlight = null;
        });
    }
    return this.inFlight;
  }

  /**
   * Drop the cached value, but only if it is still `rejected` (compare-and-swap, reliability §3.5):
   * when 100 calls fail with the same stale token, the first invalidates and the other 99 find the
   * fresh one already in place, so there is exactly one refresh.
   */
  invalidate(rejected: T): void {
    if (this.current && this.current.value === rejected) this.current = null;
  }

  /** Drop whatever is cached. */
  clear(): void {
    this.current = null;
  }
}
