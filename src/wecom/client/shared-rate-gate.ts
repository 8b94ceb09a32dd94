import type { ApiLimit } from './api-policy.js';
import { Semaphore, type Timer } from './rate-limiter.js';

/**
 * WeCom's per-API limits are per corp, not per instance (docs/rate-limits.md §Why shared). This file holds the
 * client side of the shared limiter: windows aligned to the clock, tokens leased from a store shared by every
 * instance in batches (never one write per call), and spent locally.
 */

/** One aligned window of one API: its start (epoch ms, a multiple of `spanMs`), length and limit. */
export interface RateWindow {
  spanMs: number;
  start: number;
  limit: number;
}

/** What a lease came to. */
export interface LeaseResult {
  /** Tokens granted, 0 … want: the same number was added to every window's count. */
  granted: number;
  /** A 45009 block stored by any instance (epoch ms; 0 or past for none). */
  blockedUntil: number;
}

/**
 * Counters shared by every instance (the app's database, or Redis): per API and aligned window, how many calls were
 * granted. Implementations must be atomic across processes (docs/rate-limits.md §Leases).
 */
export interface RateLeaseStore {
  /** Grant min(want, what every window has left) tokens at once, and report any stored block. */
  lease(api: string, windows: readonly RateWindow[], want: number, now: number): Promise<LeaseResult>;
  /** Record a 45009 block until `until`; a later block wins, an earlier one changes nothing. */
  block(api: string, until: number, now: number): Promise<void>;
  /** The stored block (epoch ms; 0 for none). A read only. */
  blockedUntil(api: string): Promise<number>;
}

/** The aligned window containing `now`. WeCom counts by its own clock, which we assume is close to ours. */
export function alignedWindow(now: number, spanMs: number, limit: number): RateWindow {
  return { spanMs, start: Math.floor(now / spanMs) * spanMs, limit };
}

/** Largest lease as a share of the window's limit: 5 %, so one instance holding unspent tokens costs others little. */
export const MAX_LEASE_SHARE = 1 / 20;

/**
 * How many tokens to ask for (docs/rate-limits.md §Leases). The lease doubles with each lease this instance takes in
 * the window (`step`: 1, 2, 4 …), starts larger when callers are already waiting, and never exceeds
 * - 5 % of the limit, so instances that stop calling strand at most that much each, and
 * - the limit's share of the time left in the window, so near the window's end nobody leases what it cannot spend.
 * The store grants fewer still when fewer remain.
 */
export function leaseSize(p: { limit: number; spanMs: number; windowStart: number; now: number; step: number; waiting: number }): number {
  const maxBatch = Math.max(1, Math.floor(p.limit * MAX_LEASE_SHARE));
  const timeLeft = Math.max(0, p.windowStart + p.spanMs - p.now);
  const timeShare = Math.max(1, Math.ceil((p.limit * timeLeft) / p.spanMs));
  const wanted = Math.max(1, p.step, p.waiting);
  return Math.min(wanted, maxBatch, timeShare);
}

/** Options of SharedApiGate beyond the limit. */
export interface SharedGateOptions {
  /** The aligned window `perMinute` applies to (60 000 in production). */
  windowMs: number;
  /**
   * No call starts in the last `guardMs` of a window: it could reach WeCom in the next window, where it was not
   * counted. Default 1 % of the window, at most 500 ms (docs/rate-limits.md §Windows and the guard).
   */
  guardMs?: number;
  /** While spending leased tokens, re-read the stored 45009 block at most this often. Default min(1000, window/20). */
  blockCheckMs?: number;
  /** Wait after a store error before trying again. Default 500 ms. */
  storeRetryMs?: number;
  /** Told about store errors (calls wait meanwhile; they never go out uncounted). */
  onStoreError?: (err: unknown) => void;
}

/**
 * The shared-limit counterpart of ApiGate: a local concurrency cap, tokens leased in batches from a RateLeaseStore for
 * the current aligned minute (and hour) window, and a 45009 block stored for every instance. Callers queue in FIFO
 * order, as with ApiGate.
 */
export class SharedApiGate {
  private readonly slots: Semaphore;
  private readonly guardMs: number;
  private readonly blockCheckMs: number;
  private readonly storeRetryMs: number;
  /** Tokens leased for the window starting at `tokensWindow`; they are worthless in any other window. */
  private tokens = 0;
  private tokensWindow = -1;
  private step = 1;
  private blockedUntil = 0;
  private lastBlockCheck = Number.NEGATIVE_INFINITY;
  private tokenQueue: Promise<void> = Promise.resolve();

  constructor(
    private readonly api: string,
    private readonly limit: ApiLimit,
    private readonly timer: Timer,
    private readonly store: RateLeaseStore,
    private readonly opts: SharedGateOptions,
  ) {
    if (!(limit.perMinute >= 1)) throw new RangeError(`rate limit must be ≥ 1, got ${limit.perMinute}`);
    if (!(opts.windowMs > 0)) throw new RangeError(`rate window must be > 0 ms, got ${opts.windowMs}`);
    this.slots = new Semaphore(limit.concurrency);
    this.guardMs = Math.max(0, Math.min(opts.guardMs ?? Math.min(500, opts.windowMs * 0.01), opts.windowMs / 4));
    this.blockCheckMs = opts.blockCheckMs ?? Math.min(1000, opts.windowMs / 20);
    this.storeRetryMs = opts.storeRetryMs ?? 500;
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
   * Stop all calls to this API until `ms` from now, here at once and in every other instance at its next look at the
   * store (45009: WeCom blocks the API for the whole corp, so whoever sees it tells everyone).
   */
  block(ms: number): void {
    const until = this.timer.now() + ms;
    this.blockedUntil = Math.max(this.blockedUntil, until);
    // Tokens leased before the block are for a window WeCom will refuse anyway.
    this.tokens = 0;
    this.store.block(this.api, until, this.timer.now()).catch((err) => this.opts.onStoreError?.(err));
  }

  /** Whether a 45009 block is in force (as far as this instance knows). */
  isBlocked(): boolean {
    return this.timer.now() < this.blockedUntil;
  }

  /** Callers waiting for a concurrency slot. */
  get queued(): number {
    return this.slots.queued;
  }

  /** Tokens leased and not yet spent, for tests and metrics. */
  get held(): number {
    return this.tokens;
  }

  private windows(now: number): RateWindow[] {
    const list = [alignedWindow(now, this.opts.windowMs, this.limit.perMinute)];
    // The hourly window is 60 minute windows, aligned the same way, so its boundaries are minute boundaries too.
    if (this.limit.perHour) list.push(alignedWindow(now, this.opts.windowMs * 60, this.limit.perHour));
    return list;
  }

  private async waitForToken(): Promise<void> {
    for (;;) {
      const now = this.timer.now();
      if (now < this.blockedUntil) {
        await this.timer.sleep(this.blockedUntil - now);
        continue;
      }
      const windows = this.windows(now);
      const minute = windows[0];
      const end = minute.start + minute.spanMs;
      if (now >= end - this.guardMs) {
        // The tail guard: wait for the next window rather than risk a call WeCom counts in a window it was not leased in.
        await this.timer.sleep(end - now);
        // A clock that did not move while we slept is a test's frozen clock: waiting for it would never end.
        if (this.timer.now() !== now) continue;
      }
      if (this.tokensWindow !== minute.start) {
        this.tokensWindow = minute.start;
        this.tokens = 0;
        this.step = 1;
      }
      if (this.tokens > 0) {
        if (now - this.lastBlockCheck >= this.blockCheckMs) {
          // A read, not a write: another instance may have met 45009 since this one leased.
          this.lastBlockCheck = now;
          try {
            this.noteBlock(await this.store.blockedUntil(this.api));
          } catch (err) {
            this.opts.onStoreError?.(err);
          }
          continue;
        }
        this.tokens--;
        return;
      }
      const want = leaseSize({ limit: minute.limit, spanMs: minute.spanMs, windowStart: minute.start, now, step: this.step, waiting: this.slots.queued + 1 });
      let result: LeaseResult;
      try {
        result = await this.store.lease(this.api, windows, want, now);
      } catch (err) {
        this.opts.onStoreError?.(err);
        await this.timer.sleep(this.storeRetryMs);
        continue;
      }
      this.lastBlockCheck = now;
      this.noteBlock(result.blockedUntil);
      if (result.granted > 0) {
        // Tokens for the window they were leased in only; the loop drops them if that window has passed meanwhile.
        if (this.tokensWindow === minute.start) this.tokens += result.granted;
        this.step = Math.min(this.step * 2, Math.max(1, Math.floor(minute.limit * MAX_LEASE_SHARE)));
        continue;
      }
      // Nothing left in this minute (or this hour): try again when the minute turns.
      const wait = end - this.timer.now();
      if (wait > 0) await this.timer.sleep(wait);
    }
  }

  private noteBlock(until: number): void {
    if (until > this.blockedUntil) {
      this.blockedUntil = until;
      if (until > this.timer.now()) this.tokens = 0;
    }
  }
}

/**
 * A RateLeaseStore in memory: for tests, and for clients in one process that share one budget. Not shared across
 * processes.
 */
export class MemoryRateLeaseStore implements RateLeaseStore {
  readonly counts = new Map<string, number>();
  private readonly blocks = new Map<string, number>();
  /** Leases taken, for tests that count store writes. */
  leases = 0;

  async lease(api: string, windows: readonly RateWindow[], want: number, now: number): Promise<LeaseResult> {
    this.leases++;
    void now;
    const keys = windows.map((w) => `${api}|${w.spanMs}|${w.start}`);
    const left = Math.min(...windows.map((w, i) => w.limit - (this.counts.get(keys[i]) ?? 0)));
    const granted = Math.max(0, Math.min(want, left));
    if (granted > 0) keys.forEach((k) => this.counts.set(k, (this.counts.get(k) ?? 0) + granted));
    return { granted, blockedUntil: this.blocks.get(api) ?? 0 };
  }

  async block(api: string, until: number): Promise<void> {
    this.blocks.set(api, Math.max(until, this.blocks.get(api) ?? 0));
  }

  async blockedUntil(api: string): Promise<number> {
    return this.blocks.get(api) ?? 0;
  }
}
