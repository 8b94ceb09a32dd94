import { describe, expect, it } from 'vitest';
import type { Timer } from '../../../../src/wecom/client/rate-limiter.js';
import { MemoryRateLeaseStore, SharedApiGate, leaseSize, type LeaseResult, type RateWindow } from '../../../../src/wecom/client/shared-rate-gate.js';

/** Virtual time: sleep() parks until run() advances the clock to the wake-up time. */
class VirtualTimer implements Timer {
  private readonly sleepers: Array<{ at: number; wake: () => void }> = [];
  constructor(private current = 0) {}

  now(): number {
    return this.current;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((wake) => this.sleepers.push({ at: this.current + ms, wake }));
  }

  /** Advance to each wake-up in turn until nothing sleeps, letting promises settle in between. */
  async run(): Promise<void> {
    for (;;) {
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      if (this.sleepers.length === 0) return;
      this.sleepers.sort((a, b) => a.at - b.at);
      const next = this.sleepers.shift()!;
      this.current = Math.max(this.current, next.at);
      next.wake();
    }
  }
}

/** Calls started per aligned window. */
function perWindow(starts: number[], windowMs: number): Map<number, number> {
  const counts = new Map<number, number>();
  for (const t of starts) counts.set(Math.floor(t / windowMs), (counts.get(Math.floor(t / windowMs)) ?? 0) + 1);
  return counts;
}

/** `workers` callers per gate, each calling as fast as the gate lets it (a call takes `callMs`) until `untilMs`. */
function hammer(timer: VirtualTimer, gates: SharedApiGate[], opts: { workers: number; untilMs: number; callMs?: number }): number[][] {
  const starts = gates.map(() => [] as number[]);
  gates.forEach((gate, g) => {
    for (let w = 0; w < opts.workers; w++) {
      void (async () => {
        while (timer.now() < opts.untilMs) {
          const release = await gate.enter();
          if (timer.now() >= opts.untilMs) {
            release();
            return;
          }
          starts[g].push(timer.now());
          await timer.sleep(opts.callMs ?? 1);
          release();
        }
      })();
    }
  });
  return starts;
}

describe(leaseSize.name, () => {
  const base = { limit: 9000, spanMs: 60_000, windowStart: 0, now: 0, step: 1, waiting: 1 };

  it('starts at one token and doubles with each lease, up to 5 % of the limit', () => {
    expect(leaseSize(base)).toBe(1);
    expect(leaseSize({ ...base, step: 2 })).toBe(2);
    expect(leaseSize({ ...base, step: 64 })).toBe(64);
    expect(leaseSize({ ...base, step: 4096 })).toBe(450);
  });

  it('takes as many as callers are waiting, still within 5 %', () => {
    expect(leaseSize({ ...base, waiting: 30 })).toBe(30);
    expect(leaseSize({ ...base, waiting: 5000 })).toBe(450);
  });

  it('shrinks near the end of the window to the limit’s share of the time left', () => {
    // 600 ms of a minute left: 9000 × 0.01 = 90.
    expect(leaseSize({ ...base, now: 59_400, step: 4096 })).toBe(90);
    expect(leaseSize({ ...base, now: 59_999, step: 4096 })).toBe(1);
  });

  it('never asks for less than one, even for a limit of one', () => {
    expect(leaseSize({ ...base, limit: 1, step: 8, waiting: 8 })).toBe(1);
  });
});

describe(SharedApiGate.name, () => {
  it('two instances hammering one API stay within the limit in every aligned window and together use at least 90 % of it', async () => {
    const timer = new VirtualTimer(1_000_000);
    const store = new MemoryRateLeaseStore();
    const limit = { perMinute: 200, concurrency: 5 };
    const gates = [0, 1].map(() => new SharedApiGate('externalcontact/get', limit, timer, store, { windowMs: 2000, guardMs: 20 }));
    const starts = hammer(timer, gates, { workers: 5, untilMs: 1_000_000 + 5 * 2000 });
    await timer.run();

    const all = starts.flat();
    const windows = perWindow(all, 2000);
    expect(windows.size).toBe(5);
    for (const n of windows.values()) {
      expect(n).toBeLessThanOrEqual(200);
      expect(n).toBeGreaterThanOrEqual(180);
    }
    // Both instances got a share, and the store saw one write per batch, not one per call.
    expect(starts[0].length).toBeGreaterThan(100);
    expect(starts[1].length).toBeGreaterThan(100);
    expect(store.leases).toBeLessThan(all.length / 4);
  });

  it('starts no call in the last guardMs of a window', async () => {
    const timer = new VirtualTimer(0);
    const gate = new SharedApiGate('externalcontact/get', { perMinute: 10_000, concurrency: 1 }, timer, new MemoryRateLeaseStore(), { windowMs: 1000, guardMs: 50 });
    const [starts] = hammer(timer, [gate], { workers: 1, untilMs: 3000, callMs: 7 });
    await timer.run();
    expect(starts.length).toBeGreaterThan(300);
    expect(starts.filter((t) => t % 1000 >= 950)).toEqual([]);
  });

  it('does not wait forever in the guard when the clock is frozen (a test’s fixed clock)', async () => {
    const frozen: Timer = { now: () => 59_800, sleep: () => new Promise((r) => setTimeout(r, 1)) };
    const gate = new SharedApiGate('externalcontact/get', { perMinute: 100, concurrency: 1 }, frozen, new MemoryRateLeaseStore(), { windowMs: 60_000, guardMs: 500 });
    const release = await gate.enter();
    release();
  });

  it('keeps to the hourly limit across minute windows', async () => {
    const timer = new VirtualTimer(0);
    const store = new MemoryRateLeaseStore();
    const limit = { perMinute: 100, perHour: 250, concurrency: 5 };
    const gates = [0, 1].map(() => new SharedApiGate('externalcontact/get', limit, timer, store, { windowMs: 1000, guardMs: 10 }));
    // The "hour" is 60 windows of 1 s; hammer 5 of them.
    const starts = hammer(timer, gates, { workers: 3, untilMs: 5000 });
    await timer.run();
    const all = starts.flat();
    expect(all.length).toBe(250);
    for (const n of perWindow(all, 1000).values()) expect(n).toBeLessThanOrEqual(100);
  });

  it('a 45009 met by one instance stops the other within its block-check interval', async () => {
    const timer = new VirtualTimer(0);
    const store = new MemoryRateLeaseStore();
    const limit = { perMinute: 100_000, concurrency: 2 };
    const [a, b] = [0, 1].map(() => new SharedApiGate('kf/sync_msg', limit, timer, store, { windowMs: 60_000, blockCheckMs: 100 }));
    const [, startsB] = hammer(timer, [a, b], { workers: 2, untilMs: 20_000, callMs: 5 });
    void timer.sleep(1000).then(() => a.block(10_000));
    await timer.run();
    // B may finish what it started and spend until its next look at the store (≤ 100 ms), then nothing until 11 000.
    expect(startsB.filter((t) => t > 1100 && t < 11_000)).toEqual([]);
    expect(startsB.some((t) => t >= 11_000)).toBe(true);
  });

  it('waits, and lets nothing through uncounted, while the store fails', async () => {
    const timer = new VirtualTimer(0);
    const inner = new MemoryRateLeaseStore();
    let failing = true;
    const errors: unknown[] = [];
    const store = {
      lease: (api: string, w: readonly RateWindow[], want: number, now: number): Promise<LeaseResult> =>
        failing ? Promise.reject(new Error('db down')) : inner.lease(api, w, want, now),
      block: inner.block.bind(inner),
      blockedUntil: inner.blockedUntil.bind(inner),
    };
    const gate = new SharedApiGate('externalcontact/get', { perMinute: 100, concurrency: 1 }, timer, store, {
      windowMs: 60_000,
      storeRetryMs: 500,
      onStoreError: (e) => errors.push(e),
    });
    const entered: number[] = [];
    const call = gate.enter().then((release) => {
      entered.push(timer.now());
      release();
    });
    void timer.sleep(2000).then(() => (failing = false));
    await timer.run();
    await call;
    expect(errors.length).toBeGreaterThanOrEqual(3);
    expect(entered).toEqual([2000]);
    expect([...inner.counts.values()]).toEqual([1]);
  });
});
