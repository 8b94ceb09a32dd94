import type { Clock } from '../../shared/clock.js';

/** What a fetch of an expiring credential returns: the value and WeCom's `expires_in` in seconds. */
export interface Expiring<T> {
  value: T;
  expiresInSeconds: number;
}

/**
 * Where several instances share a credential (docs/reliability.md §Shared WeCom credentials: one cached token per app,
 * refreshed under a row lock, compare-and-swap on invalidation), so N instances call gettoken once per expiry instead
 * of N times.
 */
export interface SharedCredentialStore {
  /**
   * The shared value when its refresh time has not come and it is not `rejected`; otherwise, holding the
   * credential's lock so other instances wait for it, `fetch`, store and return the fresh one with its refresh time
   * (`refreshAtFor`).
   */
  getOrRefresh(
    name: string,
    fetch: () => Promise<Expiring<string>>,
    opts: { now: number; marginSeconds: number; rejected: string | null },
  ): Promise<{ value: string; refreshAt: number }>;
}

/**
 * When a credential fetched at `fetchedAt` should be replaced: `marginSeconds` before WeCom's expiry, but never
 * after less than half its lifetime, so a short expires_in still caches.
 */
export function refreshAtFor(fetchedAt: number, expiresInSeconds: number, marginSeconds: number): number {
  return fetchedAt + Math.max(expiresInSeconds - marginSeconds, expiresInSeconds / 2) * 1000;
}

/**
 * One cached, expiring credential (an access_token or a jsapi ticket) with a single-flight refresh.
 *
 * docs/wecom-protocol.md §Access tokens: cache for `expires_in − margin`, never call gettoken per request ("不能频繁调用"),
 * let concurrent callers share one refresh, and re-fetch when WeCom invalidates the token early.
 */
export class SingleFlightCache<T> {
  private current: { value: T; expiresAt: number } | null = null;
  private inFlight: Promise<T> | null = null;
  /** The value WeCom last refused, so the shared store replaces it rather than handing it back. */
  private rejected: T | null = null;

  constructor(
    private readonly fetch: () => Promise<Expiring<T>>,
    private readonly clock: Clock,
    /**
     * Refresh this many seconds before WeCom's expiry (five minutes is suggested:
     * docs/wecom-protocol.md §Access tokens).
     */
    private readonly marginSeconds = 300,
    /** Share the credential with other instances through this store, under this name (MySQL deployments). */
    private readonly shared?: { store: SharedCredentialStore; name: string },
  ) {}

  /** The cached value, or the result of the one refresh in progress, or a new refresh. */
  get(): Promise<T> {
    const now = this.clock.now().getTime();
    if (this.current && now < this.current.expiresAt) return Promise.resolve(this.current.value);
    if (!this.inFlight) {
      const started = now;
      const refresh = this.shared ? this.refreshShared(this.shared, started) : this.refreshLocal(started);
      this.inFlight = refresh
        .then((fresh) => {
          this.current = fresh;
          this.rejected = null;
          return fresh.value;
        })
        .finally(() => {
          this.inFlight = null;
        });
    }
    return this.inFlight;
  }

  /** This process's own fetch. */
  private async refreshLocal(started: number): Promise<{ value: T; expiresAt: number }> {
    const { value, expiresInSeconds } = await this.fetch();
    return { value, expiresAt: refreshAtFor(started, expiresInSeconds, this.marginSeconds) };
  }

  /** Another instance's credential when it is still good, else one fetch for all of them under the store's lock. */
  private async refreshShared(shared: { store: SharedCredentialStore; name: string }, now: number): Promise<{ value: T; expiresAt: number }> {
    const got = await shared.store.getOrRefresh(shared.name, this.fetch as unknown as () => Promise<Expiring<string>>, {
      now,
      marginSeconds: this.marginSeconds,
      rejected: this.rejected as string | null,
    });
    return { value: got.value as T, expiresAt: got.refreshAt };
  }

  /**
   * Drop the cached value, but only if it is still `rejected` (compare-and-swap,
   * docs/reliability.md §Shared WeCom credentials): when 100 calls fail with the same stale token, the first
   * invalidates and the other 99 find the fresh one already in place, so there is exactly one refresh. With a shared
   * store the same compare happens there, across instances.
   */
  invalidate(rejected: T): void {
    if (this.current && this.current.value === rejected) {
      this.current = null;
      this.rejected = rejected;
    }
  }

  /** Drop whatever is cached. */
  clear(): void {
    this.current = null;
  }
}
