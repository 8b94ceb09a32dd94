import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { addSandboxCustomer } from '../fixtures/scheduling.js';
import { FixedClock } from '../../src/shared/clock.js';

const sh = (local: string) => new Date(`${local}+08:00`);

/**
 * docs/churn.md §Win-back: a campaign that enters by churn risk counts a customer as won back when their risk falls
 * below the threshold, not when they merely write again: a customer at risk who complains once more is still at risk,
 * and one who left is not won back by the message they wrote before leaving.
 */
describe.each(testEngines())('win-back entered by churn risk (%s)', (engine) => {
  let app: TestApp;
  const clock = new FixedClock(sh('2026-05-02T10:00:00'));
  const ids = { complainer: '', buyer: '', leaver: '' };
  let rule = '';
  const kf = async (ext: string, text: string) => {
    await app.container.sandbox!.sendKfMessage({ openKfId: 'wkChurnWinback', externalUserId: ext, text });
    await app.container.archive.kf.pull('wkChurnWinback');
  };
  const job = async (name: 'churn' | 'winback') => {
    const run = await app.container.scheduling.jobs.get(name).run({ at: clock.now(), clock, occasionKey: clock.now().toISOString().slice(0, 10), isDryRun: false, runId: null, log: app.log, report: () => undefined });
    return run as Record<string, unknown>;
  };
  const statuses = async () => {
    const rows = await app.container.db.query<{ external_user_id: string; status: string }>('SELECT external_user_id, status FROM campaign_enrolments WHERE rule_id = ? ORDER BY external_user_id', [rule]);
    return Object.fromEntries(rows.map((r) => [r.external_user_id, r.status]));
  };

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    ids.complainer = await addSandboxCustomer(app.container, 'zhangsan', { name: '投诉客户' });
    ids.buyer = await addSandboxCustomer(app.container, 'zhangsan', { name: '月度客户' });
    ids.leaver = await addSandboxCustomer(app.container, 'zhangsan', { name: '要走的客户' });
    // The buyer ordered every 30 days until 2026-05-01.
    const orders = ['2026-01-01', '2026-01-31', '2026-03-02', '2026-04-01', '2026-05-01'].map((d, i) => ({ orderNo: `WB-${i}`, externalUserId: ids.buyer, amount: 100, orderedAt: `${d} 12:00` }));
    expect((await api(app, 'POST', '/api/v1/orders/import', { orders })).status).toBe(200);
    const created = await api(app, 'POST', '/api/v1/care-rules', {
      name: '流失预警挽回',
      occasion: { type: 'winback', entry: 'churn_risk', steps: [{ day: 0, channel: 'mass_task', template: '{{name}}您好，好久不见' }, { day: 7, channel: 'mass_task', template: '{{name}}您好，回归礼还在' }] },
      template: '{{name}}您好，好久不见',
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    rule = created.body.id as string;
  }, 60_000);
  afterAll(() => app?.close());

  it('counts as won back the customer whose risk fell, not the one who complained again nor the one who left', async () => {
    clock.set(sh('2026-07-30T10:00:00'));
    await kf(ids.complainer, '东西坏了，我要投诉');
    await kf(ids.leaver, '东西坏了，我要投诉');
    clock.set(sh('2026-07-31T03:45:00'));
    await job('churn');
    clock.set(sh('2026-07-31T10:00:00'));
    expect(await job('winback')).toMatchObject({ enrolled: 3, reactivated: 0 });

    // The next day: the complainer writes again, still unhappy; the leaver writes, then deletes their member; the
    // buyer orders again.
    clock.set(sh('2026-08-01T11:00:00'));
    await kf(ids.complainer, '还是没人处理，我要投诉');
    await kf(ids.leaver, '算了，不用了');
    await app.container.db.query("UPDATE follow_relations SET status = 'deleted_by_customer' WHERE external_user_id = ?", [ids.leaver]);
    expect((await api(app, 'POST', '/api/v1/orders/import', { orders: [{ orderNo: 'WB-5', externalUserId: ids.buyer, amount: 100, orderedAt: '2026-08-01 12:00' }] })).status).toBe(200);
    clock.set(sh('2026-08-02T03:45:00'));
    await job('churn');
    expect((await api(app, 'GET', `/api/v1/customers/${ids.complainer}/churn-risk`)).body.level).toBe('high');
    expect((await api(app, 'GET', `/api/v1/customers/${ids.buyer}/churn-risk`)).body.level).toBe('low');

    clock.set(sh('2026-08-02T10:00:00'));
    expect(await job('winback')).toMatchObject({ reactivated: 1 });
    expect(await statuses()).toEqual({ [ids.buyer]: 'reactivated', [ids.complainer]: 'active', [ids.leaver]: 'active' });
    const stats = await api(app, 'GET', `/api/v1/care-rules/${rule}/stats`);
    expect(stats.status, JSON.stringify(stats.body)).toBe(200);
    expect(stats.body).toMatchObject({ enrolled: 3, reactivated: 1 });
  });
});
