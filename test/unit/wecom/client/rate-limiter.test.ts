import { describe, expect, it } from 'vitest';
import { ApiGate, Semaphore, WindowSafeTokenBucket, type Timer } from '../../../../src/wecom/client/rate-limiter.js';

/** Virtual time: sleep() parks until run() advances the clock to the wake-up time. */
class VirtualTimer implements Timer {
  private current = 0;
  private readonly sleepers: Array<{ at: number; wake: () => void }> = [];

  now(): number {
    return this.current;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((wake) => this.sleepers.push({ at: this.current + ms, wake }));
  }

  /** Advance to each wake-up in turn until nothing sleeps, letting promises settle in between. */
  async run(): Promise<void> {
    for (;;) {
      await new Promise((r) => setImmediate(r));
      if (this.sleepers.length === 0) return;
      this.sleepers.sort((a, b) => a.at - b.at);
      const next = this.sleepers.shift()!;
      this.current = Math.max(this.current, next.at);
      next.wake();
    }
  }
}

function maxInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let max = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (j < sorted.length && sorted[j] < sorted[i] + windowMs) j++;
    max = Math.max(max, j - i);
  }
  return max;
}

describe(WindowSafeTokenBucket.name, () => {
  it.each([
    { limit: 1, windowMs: 60_000 },
    { limit: 2, windowMs: 60_000 },
    { limit: 60, windowMs: 60_000 },
    { limit: 1250, windowMs: 60_000 },
    { limit: 37, windowMs: 1000 },
  ])('admits at most $limit calls in any $windowMs ms window, however they arrive', async ({ limit, windowMs }) => {
    const timer = new VirtualTimer();
    const gate = new ApiGate({ perMinute: limit, concurrency: 1000 }, windowMs, timer);
    const starts: number[] = [];
    // Arrivals: a burst at 0, a trickle, then another burst later, 4 windows' worth in all.
    const arrivals = Array.from({ length: limit * 4 }, (_, i) => (i < limit * 2 ? 0 : Math.floor((i * windowMs) / limit)));
    const calls = arrivals.map(async (at) => {
      if (at > 0) await timer.sleep(at);
      const release = await gate.enter();
      starts.push(timer.now());
      release();
    });

    await timer.run();
    await Promise.all(calls);

    expect(starts).toHaveLength(limit * 4);
    expect(maxInWindow(starts, windowMs)).toBeLessThanOrEqual(limit);
  });

  it('starts with a burst of a tenth of the limit by default', () => {
    const timer = new VirtualTimer();
    const sut = new WindowSafeTokenBucket(100, 60_000, timer);

    const taken = Array.from({ length: 12 }, () => sut.tryTake().taken).filter(Boolean);

    expect(sut.burst).toBe(10);
    expect(taken).toHaveLength(10);
  });

  it('says how long until the next token', () => {
    const timer = new VirtualTimer();
    const sut = new WindowSafeTokenBucket(11, 1000, timer, 1, 0);
    sut.tryTake();

    // (11 − 1) tokens per 1000 ms → one every 100 ms.
    expect(sut.tryTake()).toEqual({ taken: false, waitMs: 100 });
  });
});

describe(ApiGate.name, () => {
  it('lets nothing through while a 45009 block is in force', async () => {
    const timer = new VirtualTimer();
    const sut = new ApiGate({ perMinute: 1000, concurrency: 5 }, 60_000, timer);
    sut.block(60_000);
    const starts: number[] = [];

    const calls = Array.from({ length: 3 }, async () => {
      const release = await sut.enter();
      starts.push(timer.now());
      release();
    });
    await timer.run();
    await Promise.all(calls);

    expect(starts).toEqual([60_000, 60_000, 60_000]);
    expect(sut.isBlocked()).toBe(false);
  });

  it('with an hourly limit, serves a burst at once yet keeps every minute and every hour within bounds', async () => {
    const timer = new VirtualTimer();
    // Scaled down: minute 100 (burst 50), hour 1,500 (burst 150): the hour, not the minute, bounds the long run.
    const sut = new ApiGate({ perMinute: 100, burst: 50, perHour: 1500, hourlyBurst: 150, concurrency: 1000 }, 60_000, timer);
    const starts: number[] = [];
    // 3,600 calls all wanting to go at once: far more than an hour allows.
    const calls = Array.from({ length: 3600 }, async () => {
      const release = await sut.enter();
      starts.push(timer.now());
      release();
    });
    await timer.run();
    await Promise.all(calls);

    expect(starts.filter((t) => t === 0)).toHaveLength(50);
    expect(maxInWindow(starts, 60_000)).toBeLessThanOrEqual(100);
    expect(maxInWindow(starts, 3_600_000)).toBeLessThanOrEqual(1500);
    // And it does not stall: the hour's allowance is used, not just the first minute's.
    expect(starts.filter((t) => t < 3_600_000).length).toBeGreaterThan(1400);
  });
});

describe(Semaphore.name, () => {
  it('caps holders and hands slots over in arrival order', async () => {
    const sut = new Semaphore(2);
    const order: number[] = [];
    const a = await sut.acquire();
    const b = await sut.acquire();
    const waiting = [3, 4].map(async (n) => {
      const release = await sut.acquire();
      order.push(n);
      return release;
    });

    expect(sut.queued).toBe(2);
    a();
    b();
    b(); // a second release of the same slot is ignored
    await Promise.all(waiting);

    expect(order).toEqual([3, 4]);
    expect(sut.queued).toBe(0);
  });
});
