import { afterAll, beforeAll, describe, expect, it as vitestIt } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { randomBytes } from 'node:crypto';
import { WecomRateRepository } from '../../src/persistence/repositories/wecom-rate.repository.js';
import { RedisRateLeaseStore } from '../../src/wecom/client/redis-rate-store.js';
import { alignedWindow, type RateLeaseStore } from '../../src/wecom/client/shared-rate-gate.js';

/** Redis runs only when TEST_REDIS_URL is set (e.g. redis://127.0.0.1:6379). */
const redisUrl = process.env.TEST_REDIS_URL;
if (!redisUrl) process.stderr.write('[wecom-ops tests] TEST_REDIS_URL is not set: the Redis rate store is skipped.\n');

const stores: { name: string; run: boolean; open: () => Promise<{ store: RateLeaseStore; close: () => Promise<void> }> }[] = [
  ...testEngines().map((engine) => ({
    name: engine,
    run: true,
    open: async () => {
      const app: TestApp = await startTestApp(engine);
      return { store: new WecomRateRepository(app.container.db), close: () => app.close() };
    },
  })),
  {
    name: 'redis',
    run: !!redisUrl,
    open: async () => {
      const store = new RedisRateLeaseStore(redisUrl!, `wecom-ops-test:${randomBytes(6).toString('hex')}`);
      return { store, close: () => store.close() };
    },
  },
];

/**
 * The shared WeCom rate-limit counters (docs/rate-limits.md §Leases), in the app's database on each engine and in
 * Redis: partial grants at the limit, the hour counted with the minute, concurrent leases never overselling, and a
 * stored 45009 block that only ever moves later.
 */
describe.each(stores)('rate lease store ($name)', ({ run, open }) => {
  let store: RateLeaseStore;
  let close: (() => Promise<void>) | undefined;
  const now = 1_800_000_000_000;
  beforeAll(async () => {
    if (!run) return;
    ({ store, close } = await open());
  }, 60_000);
  afterAll(() => close?.());
  const it = run ? vitestIt : vitestIt.skip;

  it('grants what is asked while it lasts, then the remainder, then nothing', async () => {
    const w = [alignedWindow(now, 60_000, 10)];
    expect((await store.lease('a/one', w, 4, now)).granted).toBe(4);
    expect((await store.lease('a/one', w, 4, now)).granted).toBe(4);
    expect((await store.lease('a/one', w, 4, now)).granted).toBe(2);
    expect((await store.lease('a/one', w, 4, now)).granted).toBe(0);
    // The next window starts afresh.
    expect((await store.lease('a/one', [alignedWindow(now + 60_000, 60_000, 10)], 4, now + 60_000)).granted).toBe(4);
  });

  it('takes from the minute and the hour together, limited by whichever has less left', async () => {
    const at = (t: number) => [alignedWindow(t, 60_000, 100), alignedWindow(t, 3_600_000, 150)];
    expect((await store.lease('a/hour', at(now), 100, now)).granted).toBe(100);
    expect((await store.lease('a/hour', at(now + 60_000), 100, now + 60_000)).granted).toBe(50);
    expect((await store.lease('a/hour', at(now + 120_000), 100, now + 120_000)).granted).toBe(0);
  });

  it('never grants more than the limit to leases racing each other', async () => {
    const w = [alignedWindow(now, 60_000, 97)];
    const grants = await Promise.all(Array.from({ length: 40 }, () => store.lease('a/race', w, 5, now).then((r) => r.granted)));
    expect(grants.reduce((a, b) => a + b, 0)).toBe(97);
  });

  it('stores a 45009 block for every instance and keeps the later of two', async () => {
    expect(await store.blockedUntil('a/block')).toBe(0);
    await store.block('a/block', now + 60_000, now);
    await store.block('a/block', now + 30_000, now + 1);
    expect(await store.blockedUntil('a/block')).toBe(now + 60_000);
    expect((await store.lease('a/block', [alignedWindow(now, 60_000, 10)], 1, now)).blockedUntil).toBe(now + 60_000);
  });
});
