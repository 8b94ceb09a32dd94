import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { LoyaltyRepository } from '../../src/persistence/repositories/loyalty.repository.js';

/**
 * Instances that start together write the configured tiers at once (LoyaltyRepository.replaceTiers, each start). CI
 * caught three MySQL processes booting at the same instant failing one of them with "Duplicate entry '0' for key
 * 'PRIMARY'": each found the table empty and inserted rank 0. Every concurrent writer now succeeds and the table ends
 * as configured.
 */
describe.each(testEngines())('loyalty tiers written by instances starting together (%s)', (engine) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(engine, { startServices: false });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
  });

  it('lets every writer through and keeps one row per configured rank', async () => {
    const tiers = [
      { name: '普通', threshold: 0, benefits: '' },
      { name: '银卡', threshold: 1000, benefits: '生日双倍积分' },
      { name: '金卡', threshold: 5000, benefits: '专属客服' },
    ];
    for (let round = 0; round < 5; round++) {
      await app.container.db.query('DELETE FROM loyalty_tiers');
      // Four "instances", each with its own repository over the shared database.
      const results = await Promise.allSettled(Array.from({ length: 4 }, () => new LoyaltyRepository(app.container.db).replaceTiers(tiers)));
      expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
      const rows = await app.container.db.query<{ tier_rank: number | string; name: string }>('SELECT tier_rank, name FROM loyalty_tiers ORDER BY tier_rank');
      expect(rows.map((r) => [Number(r.tier_rank), r.name])).toEqual([
        [0, '普通'],
        [1, '银卡'],
        [2, '金卡'],
      ]);
    }
  });
});
