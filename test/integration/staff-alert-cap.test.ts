import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { FixedClock } from '../../src/shared/clock.js';
import { createDataSource } from '../../src/persistence/data-source.js';
import { Db } from '../../src/persistence/db.js';
import { StaffMessageRepository } from '../../src/persistence/repositories/staff-message.repository.js';

/**
 * WeCom delivers at most 30 app messages a minute to one member and drops the rest without an error
 * (docs/wecom-protocol.md §API rate limits; the sandbox does the same). A burst of 删人提醒 (here 40 customers deleting one
 * member within a minute) must reach the member and the admin in full: the first alerts directly, the rest in a digest
 * once their budget allows.
 */
describe.each(testEngines())('churn alerts within the per-member message cap on %s', (engine) => {
  let app: TestApp;
  const clock = new FixedClock(new Date('2026-04-01T02:00:00Z'));
  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock }, overrides: { alerts: { adminUserids: ['lisi'] } } });
    await app.container.archive.fullSync.run();
  }, 60_000);
  afterAll(() => app?.close());

  /** The text of every app message the member actually received. */
  const received = (userid: string) =>
    app.container.sandbox!.store.appMessages.filter((m) => m.touser.includes(userid) && !m.dropped.includes(userid)).map((m) => String((m.payload as { content: string }).content));

  it('40 customers deleting one member in a minute: every alert reaches the member and the admin, none dropped', async () => {
    const c = app.container;
    const sandbox = c.sandbox!;
    const gone = sandbox.store
      .relationsOfUser('zhangsan')
      .filter((r) => !r.isDeletedByCustomer)
      .slice(0, 40);
    expect(gone).toHaveLength(40);
    const names = gone.map((r) => sandbox.store.customers.get(r.externalUserId)!.name);
    for (const r of gone) {
      await sandbox.customerDeletesStaff({ userid: 'zhangsan', externalUserId: r.externalUserId });
      clock.advance(1000);
    }
    await c.inboxProcessor.drain();

    // Within the minute: at most 30 per member reached WeCom's delivery, so WeCom dropped nothing.
    expect(sandbox.store.appMessages.filter((m) => m.dropped.length > 0)).toEqual([]);
    expect(received('zhangsan').length).toBeLessThanOrEqual(30);
    expect(received('zhangsan').length).toBeLessThan(40);

    // The digest job, a minute at a time, sends what waited.
    const m = c.scheduling;
    for (let minute = 0; minute < 5; minute++) {
      clock.advance(60_000);
      await m.scheduler.runNow('staff-digest');
    }
    expect(sandbox.store.appMessages.filter((msg) => msg.dropped.length > 0)).toEqual([]);
    for (const who of ['zhangsan', 'lisi']) {
      const text = received(who).join('\n');
      const missing = names.filter((n) => !text.includes(`客户「${n}」删除了员工`));
      expect(missing, who).toEqual([]);
      expect(text).toContain('【提醒汇总】');
    }
    const [{ n }] = await c.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM staff_message_digest WHERE sent_at IS NULL');
    expect(Number(n)).toBe(0);
  });

  it('a follow-up reminder for a member at the cap stays planned and goes out in the next minute, not dropped', async () => {
    const c = app.container;
    const m = c.scheduling;
    const archive = c.archive;
    // wangwu's minute is used up (by alerts, say).
    while (await archive.messenger.reserve('wangwu'));
    const ext = c.sandbox!.store.relationsOfUser('wangwu')[0].externalUserId;
    const now = clock.now();
    const planned = await m.ledger.plan({
      source: 'care:cap-test', kind: 'care', externalUserId: ext, occasion: 'followup:cap', channel: 'staff_reminder', priority: 1, senderUserid: 'wangwu',
      text: '请跟进客户：上周咨询过会员卡', attachments: [], localDate: '2026-04-01', notBefore: now, expiresAt: new Date(now.getTime() + 86_400_000),
    });
    expect(planned).toMatchObject({ result: 'planned' });
    const before = c.sandbox!.store.appMessages.length;
    const first = await m.dispatcher.dispatch(clock.now());
    expect(first.deferredCap).toBe(1);
    expect(c.sandbox!.store.appMessages.length).toBe(before);
    clock.advance(60_000);
    const second = await m.dispatcher.dispatch(clock.now());
    expect(second.remindersSent).toBe(1);
    expect(received('wangwu').at(-1)).toContain('上周咨询过会员卡');
  });

  // Instances share MySQL; two connections to one SQLite file in one process would block each other's thread.
  it.runIf(engine === 'mysql')('two instances reserving one member\'s messages at once grant no more than the cap between them', async () => {
    const ds = createDataSource({ databaseUrl: app.config.databaseUrl });
    await ds.initialize();
    try {
      const mine = new StaffMessageRepository(app.container.db);
      const theirs = new StaffMessageRepository(new Db(ds));
      const now = Date.parse('2026-04-02T03:00:10Z');
      const caps = { perMinute: 15, perHour: 500 };
      const granted = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? mine : theirs).reserve('wangwu', now, caps)));
      expect(granted.filter(Boolean)).toHaveLength(15);
      // The next calendar minute has its own 15, and the hour counts all of them.
      const next = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? mine : theirs).reserve('wangwu', now + 60_000, caps)));
      expect(next.filter(Boolean)).toHaveLength(15);
      expect(await mine.reserve('wangwu', now + 120_000, { perMinute: 15, perHour: 30 })).toBe(false);
    } finally {
      await ds.destroy();
    }
  });
});
