import type { ApiLimit } from './api-policy.js';

/** Time as the limiter sees it: a millisecond reading and a way to wait. Injected so tests control both. */
export interface Timer {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** A FIFO counting semaphore. `acquire` resolves with a release function. */
export class Semaphore {
  private available: number;
  private readonly waiters: Array<() => void> = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`semaphore size must be a positive integer, got ${size}`);
    this.available = size;
  }

  /** Wait for a slot; call the returned function exactly once to give it back. */
  async acquire(): Promise<() => void> {
    if (this.available > 0) {
      this.available--;
    } else {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      // Hand the slot straight to the next waiter so a newcomer cannot jump the queue.
      if (next) next();
      else this.available++;
    };
  }

  /** Callers waiting for a slot. */
  get queued(): number {
    return this.waiters.length;
  }
}

/**
 * A token bucket that can never let more than `limit` calls start in any window of `windowMs`,
 * however the calls are timed.
 *
 * A plain bucket with capacity C refilling at limit/window admits C + limit calls in the window that
 * starts with a full bucket — a burst WeCom would count against the per-minute limit
 * (docs/wecom-protocol.md §API rate limits). Here the refill rate is (limit − burst)/window, so any window holds at
 * most the `burst` tokens present at its start plus (limit − burst) refilled during it: `limit` in total. The price is
 * a slightly lower steady rate; the default burst of a tenth keeps that to 10%. With limit 1 the bucket refills one
 * token per window, which still admits one call per window.
 *
 * WeCom counts calls when they arrive, we count them when they leave; network jitter can squeeze
 * calls sent over a little more than a window into one window at the server. The refill is therefore
 * spread over `windowMs + guardMs`, so a window at the server holds at most `limit` calls as long as
 * the jitter stays under guardMs (default 5% of the window, at most 1 s).
 */
export class WindowSafeTokenBucket {
  readonly burst: number;
  private readonly refillPerMs: number;
  private tokens: number;
  private last: number;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    private readonly timer: Timer,
    burst?: number,
    guardMs = Math.min(1000, windowMs * 0.05),
  ) {
    if (!(limit >= 1) || !Number.isFinite(limit)) throw new RangeError(`rate limit must be ≥ 1, got ${limit}`);
    if (!(windowMs > 0)) throw new RangeError(`rate window must be > 0 ms, got ${windowMs}`);
    const wanted = burst ?? Math.floor(limit / 10);
    this.burst = Math.max(1, Math.min(Math.floor(wanted), Math.floor(limit) - 1));
    this.refillPerMs = Math.max(Math.floor(limit) - this.burst, 1) / (windowMs + Math.max(0, guardMs));
    this.tokens = this.burst;
    this.last = timer.now();
  }

  /** Take a token now if one is there; otherwise say how many ms until one will be. */
  tryTake(): { taken: true } | { taken: false; waitMs: number } {
    const waitMs = this.waitMs();
    if (waitMs > 0) return { taken: false, waitMs };
    this.tokens -= 1;
    return { taken: true };
  }

  /** 0 when a token is there now (without taking it), else the ms until one will be. */
  waitMs(): number {
    const now = this.timer.now();
    // A clock stepping backwards must not mint tokens; only forward time refills.
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.refillPerMs);
      this.last = now;
    }
    return this.tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - this.tokens) / this.refillPerMs));
  }
}

/**
 * Everything that stands between a caller and one WeCom API: a concurrency cap, a window-safe token
 * bucket, and a block imposed by 45009. Callers queue in FIFO order instead of hammering
 * (docs/wecom-protocol.md §API rate limits). It counts this process's calls only: the client uses it when it has no
 * shared store; with one (the app's database or Redis), SharedApiGate counts for every instance (docs/rate-limits.md).
 */
export class ApiGate {
  private readonly slots: Semaphore;
  private readonly bucket: WindowSafeTokenBucket;
  /**
   * WeCom's hourly limit (docs/wecom-protocol.md §API rate limits), as a second bucket over 60 windows; a call needs a
   * token from both.
   */
  private readonly hourly: WindowSafeTokenBucket | null;
  private blockedUntil = 0;
  // Serialises the wait for a token so the queue stays FIFO and each token goes to exactly one caller.
  private tokenQueue: Promise<void> = Promise.resolve();

  constructor(
    limit: ApiLimit,
    windowMs: number,
    private readonly timer: Timer,
    guardMs?: number,
  ) {
    this.slots = new Semaphore(limit.concurrency);
    this.bucket = new WindowSafeTokenBucket(limit.perMinute, windowMs, timer, limit.burst, guardMs);
    this.hourly = limit.perHour ? new WindowSafeTokenBucket(limit.perHour, windowMs * 60, timer, limit.hourlyBurst, guardMs) : null;
  }

  /** Wait for a concurrency slot, any block to lift, and a rate token; resolves with the slot's release. */
  async enter(): Promise<() => void> {
    const release = await this.slots.acquire();
    try {
      const turn = this.tokenQueue.then(() => this.waitForToken());
      this.tokenQueue = turn.catch(() => undefined);
      await turn;
      return release;
    } catch (err) {
      release();
      throw err;
    }
  }

  /**
   * Stop all calls to this API until `ms` from now (45009, docs/wecom-protocol.md §API rate limits: per-minute block is
   * 60 s).
   */
  block(ms: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, this.timer.now() + ms);
  }

  /** Whether a 45009 block is in force. */
  isBlocked(): boolean {
    return this.timer.now() < this.blockedUntil;
  }

  /** Callers waiting for a concurrency slot. */
  get queued(): number {
    return this.slots.queued;
  }

  private async waitForToken(): Promise<void> {
    for (;;) {
      const now = this.timer.now();
      if (now < this.blockedUntil) {
        await this.timer.sleep(this.blockedUntil - now);
        continue;
      }
      const waitMs = Math.max(this.bucket.waitMs(), this.hourly?.waitMs() ?? 0);
      if (waitMs === 0) {
        this.bucket.tryTake();
        this.hourly?.tryTake();
        return;
      }
      await this.timer.sleep(waitMs);
    }
  }
}
