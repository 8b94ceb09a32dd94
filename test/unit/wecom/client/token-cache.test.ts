import { describe, expect, it } from 'vitest';
import { FixedClock } from '../../../../src/shared/clock.js';
import { SingleFlightCache } from '../../../../src/wecom/client/token-cache.js';

function fetcher(expiresInSeconds = 7200) {
  let n = 0;
  let pending: Array<() => void> = [];
  const fetch = () =>
    new Promise<{ value: string; expiresInSeconds: number }>((resolve) => {
      const value = `t${++n}`;
      pending.push(() => resolve({ value, expiresInSeconds }));
    });
  return {
    fetch,
    count: () => n,
    settle: () => {
      const all = pending;
      pending = [];
      for (const resolve of all) resolve();
    },
  };
}

describe(SingleFlightCache.name, () => {
  it('shares one fetch among concurrent callers', async () => {
    const f = fetcher();
    const sut = new SingleFlightCache(f.fetch, new FixedClock('2026-01-01T00:00:00Z'));

    const gets = Array.from({ length: 50 }, () => sut.get());
    f.settle();

    expect(new Set(await Promise.all(gets))).toEqual(new Set(['t1']));
    expect(f.count()).toBe(1);
  });

  it('refreshes margin seconds before expiry', async () => {
    const f = fetcher(7200);
    const clock = new FixedClock('2026-01-01T00:00:00Z');
    const sut = new SingleFlightCache(f.fetch, clock, 300);
    const first = sut.get();
    f.settle();
    await first;

    clock.advance(6899_000);
    await expect(sut.get()).resolves.toBe('t1');
    clock.advance(1_000);
    const second = sut.get();
    f.settle();

    await expect(second).resolves.toBe('t2');
  });

  it('invalidates only the value that was rejected (compare-and-swap)', async () => {
    const f = fetcher();
    const sut = new SingleFlightCache(f.fetch, new FixedClock('2026-01-01T00:00:00Z'));
    const first = sut.get();
    f.settle();
    await first;

    sut.invalidate('t1');
    const second = sut.get();
    f.settle();
    await second;
    sut.invalidate('t1'); // a late caller reporting the old token must not drop the new one

    await expect(sut.get()).resolves.toBe('t2');
    expect(f.count()).toBe(2);
  });

  it('lets the next caller retry after a failed fetch', async () => {
    let n = 0;
    const sut = new SingleFlightCache(async () => {
      if (++n === 1) throw new Error('gettoken failed');
      return { value: 'ok', expiresInSeconds: 7200 };
    }, new FixedClock('2026-01-01T00:00:00Z'));

    await expect(sut.get()).rejects.toThrow('gettoken failed');
    await expect(sut.get()).resolves.toBe('ok');
  });
});
