import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { AnalyticsRollupService } from '../../src/domain/analytics/analytics-rollup.service.js';
import { CounterDeltaRepository } from '../../src/persistence/repositories/counter-delta.repository.js';
import { silentLogger } from '../../src/shared/logger.js';
import { zonedTimeToUtc } from '../../src/shared/dates.js';
import { useMigratedWithout } from '../helpers/migrated-without.js';
import { CounterDeltas1795000000038 } from '../../migrations/0038-counter-deltas.js';

const TZ = 'Asia/Shanghai';
const DAY = '2026-11-20';
const at = (hh: number) => zonedTimeToUtc(DAY, `${String(hh).padStart(2, '0')}:00`, TZ);

/**
 * A live QR code's surge counts every add on the same rollup rows (docs/analytics.md §Counters every add shares). On
 * MySQL the adds append deltas that are folded later; what a user sees must be the same as on SQLite, where the rows
 * are updated in place: exact counts, at once, and a night's rebuild that counts nothing twice.
 */
describe.each(testEngines())('counters every add shares on %s', (engine) => {
  let app: TestApp;
  let channelId: string;
  beforeAll(async () => {
    app = await startTestApp(engine);
    const db = app.container.db;
    channelId = 'ch-surge';
    await db.query("INSERT INTO tag_groups (id, name, sort_order, source, updated_at) VALUES ('g1', '来源', 0, 'wecom', 0)");
    await db.query("INSERT INTO tags (id, group_id, name, sort_order, source, updated_at) VALUES ('t1', 'g1', '直播', 0, 'wecom', 0)");
  });
  afterAll(async () => {
    await app?.close();
  });

  const pending = async () => Number((await app.container.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM counter_deltas'))[0].n);

  /** `n` adds at once, each in its own transaction, through one member and channel, tagged 直播. */
  const surge = (n: number, prefix: string, when: Date) =>
    Promise.all(
      Array.from({ length: n }, (_, i) =>
        app.container.db.tx(async (em) => {
          await app.container.repos.analytics.recordInTx(
            em,
            { kind: 'added', userid: 'zhangsan', externalUserId: `wm${prefix}${i}`, channelId, occurredAt: when },
            DAY,
            [{ tagId: 't1', groupId: 'g1' }],
            when.getTime(),
            false,
          );
          await app.container.repos.channels.bumpInTx(em, channelId, DAY, 'adds');
        }),
      ),
    );

  it('counts 60 concurrent adds exactly on the growth, tag and channel rows, visible to the next read', async () => {
    await surge(60, 'a', at(10));
    // MySQL keeps them as deltas until a fold; the reads fold first.
    if (engine === 'mysql') expect(await pending()).toBe(180);
    else expect(await pending()).toBe(0);
    const growth = await app.container.repos.analytics.growthByDay(DAY, DAY, 'channel', {}, false);
    expect(growth).toEqual([expect.objectContaining({ day: DAY, key: channelId, added: 60 })]);
    expect(await pending()).toBe(0);
    const tags = await app.container.repos.analytics.growthTagsByDay(DAY, DAY, {}, false);
    expect(tags).toEqual([expect.objectContaining({ tagId: 't1', added: 60 })]);
    expect(await app.container.repos.channels.statsBetween(channelId, DAY, DAY)).toEqual([{ day: DAY, adds: 60, deletes: 0 }]);
  });

  it('two folds at once (two instances) count each delta once', async () => {
    await surge(40, 'b', at(11));
    const [x, y] = [new CounterDeltaRepository(app.container.db), new CounterDeltaRepository(app.container.db)];
    const folded = await Promise.all([x.fold(), y.fold(), x.fold()]);
    expect(folded.reduce((a, b) => a + b, 0)).toBe(engine === 'mysql' ? 120 : 0);
    expect(await app.container.repos.channels.statsBetween(channelId, DAY, DAY)).toEqual([{ day: DAY, adds: 100, deletes: 0 }]);
    const growth = await app.container.repos.analytics.growthByDay(DAY, DAY, 'none', {}, false);
    expect(growth[0].added).toBe(100);
  });

  it('a night that rebuilds the day from the ledger drops the deltas it counted, and keeps later ones', async () => {
    await surge(25, 'c', at(12));
    const rollup = new AnalyticsRollupService(app.container.repos.analytics, TZ, silentLogger);
    await rollup.rollDay(DAY, DAY, new Date());
    // 125 changes in the ledger, each counted once: the rebuild's, not again by a fold of its deltas. The channel's
    // own row is not rebuilt from the ledger, so its deltas stay to be folded.
    const left = await app.container.db.query<{ target: string; n: number | string }>('SELECT target, COUNT(*) AS n FROM counter_deltas GROUP BY target');
    expect(left.map((r) => [r.target, Number(r.n)])).toEqual(engine === 'mysql' ? [['channel_stats', 25]] : []);
    const summary = await app.container.repos.analytics.growthByDay(DAY, DAY, 'none', {}, true);
    expect(summary[0].added).toBe(125);
    // A late add of that day after the rebuild is still counted (on the rolled day's summary rows too).
    await app.container.db.tx((em) =>
      app.container.repos.analytics.recordInTx(em, { kind: 'added', userid: 'lisi', externalUserId: 'wmlate', channelId, occurredAt: at(23) }, DAY, [], Date.now(), true),
    );
    expect((await app.container.repos.analytics.growthByDay(DAY, DAY, 'none', {}, true))[0].added).toBe(126);
    expect((await app.container.repos.analytics.growthByDay(DAY, DAY, 'staff', { userid: 'lisi' }, false))[0].added).toBe(1);
  });

  it.runIf(engine === 'mysql')('folds in the background once a second while the services run', async () => {
    await app.container.services.find((s) => s.name === 'counter-folder')!.start();
    try {
      await surge(10, 'd', at(13));
      expect(await pending()).toBeGreaterThan(0);
      await waitFor(async () => (await pending()) === 0, 5000, 'deltas folded');
      const rows = await app.container.db.query<{ adds: number | string }>('SELECT adds FROM channel_stats WHERE channel_id = ? AND day = ?', [channelId, DAY]);
      expect(Number(rows[0].adds)).toBe(135);
    } finally {
      await app.container.services.find((s) => s.name === 'counter-folder')!.stop();
    }
  });
});

describe.each(testEngines())('migration 0038 (counter_deltas) on %s', (engine) => {
  const mig = useMigratedWithout(engine, [CounterDeltas1795000000038]);

  it('adds the table, removes it again, and adds it again', async () => {
    const has = async () => {
      const qr = mig.ds.createQueryRunner();
      try {
        return !!(await qr.getTable('counter_deltas'));
      } finally {
        await qr.release();
      }
    };
    expect(await has()).toBe(false);
    mig.ds.migrations.push(new CounterDeltas1795000000038());
    expect((await mig.ds.runMigrations({ transaction: 'each' })).map((m) => m.name)).toEqual(['CounterDeltas1795000000038']);
    expect(await has()).toBe(true);
    await mig.ds.undoLastMigration({ transaction: 'each' });
    expect(await has()).toBe(false);
    expect((await mig.ds.runMigrations({ transaction: 'each' })).map((m) => m.name)).toEqual(['CounterDeltas1795000000038']);
    expect(await has()).toBe(true);
  }, 60_000);
});
