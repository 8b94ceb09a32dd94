import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { FixedClock } from '../../../src/shared/clock.js';
import { addSandboxCustomer, ledgerOf } from '../../fixtures/scheduling.js';

const sh = (local: string) => new Date(`${local}+08:00`);

describe.each(testEngines())('care rules, follow-ups, win-back and the ledger API on %s', (engine) => {
  let app: TestApp;
  const clock = new FixedClock(sh('2026-08-03T09:00:00'));

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
  });
  afterAll(() => app?.close());

  it('GET /api/v1/care-rules lists the defaults seeded from config/care-rules.json', async () => {
    const res = await api(app, 'GET', '/api/v1/care-rules');
    expect(res.status).toBe(200);
    expect(res.body.items.map((r: { name: string }) => r.name)).toEqual(expect.arrayContaining(['生日祝福', '节日问候', '相识纪念', '新客跟进提醒', '沉睡客户唤醒']));
    expect(res.body.total).toBe(res.body.items.length);
  });

  it('POST creates a rule, PATCH edits it, and a bad audience or unknown holiday is a 400 naming the problem', async () => {
    const created = await api(app, 'POST', '/api/v1/care-rules', {
      name: 'VIP 中秋',
      occasion: { type: 'holiday', holidays: ['mid-autumn'] },
      audience: 'tag:VIP',
      template: '{{name}}，中秋快乐',
      priority: 250,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'VIP 中秋', sendTime: '09:00', channel: 'mass_task', enabled: true });
    const patched = await api(app, 'PATCH', `/api/v1/care-rules/${created.body.id}`, { enabled: false, sendTime: '10:30' });
    expect(patched.body).toMatchObject({ enabled: false, sendTime: '10:30', priority: 250 });

    const badAudience = await api(app, 'POST', '/api/v1/care-rules', { name: 'x', occasion: { type: 'birthday' }, audience: 'tag:VIP AND (', template: 't' });
    expect(badAudience.status).toBe(400);
    const badHoliday = await api(app, 'POST', '/api/v1/care-rules', { name: 'y', occasion: { type: 'holiday', holidays: ['halloween'] }, template: 't' });
    expect(badHoliday.status).toBe(400);
    expect(badHoliday.body.error.message).toContain('halloween');
    expect((await api(app, 'POST', '/api/v1/care-rules', { name: 'VIP 中秋', occasion: { type: 'birthday' }, template: 't' })).status).toBe(409);
  });

  it('a follow-up reminds the owner by app message instead of messaging the customer', async () => {
    clock.set(sh('2026-08-03T09:00:00'));
    const id = await addSandboxCustomer(app.container, 'wangwu', { name: '新客', firstAddedAt: sh('2026-07-31T15:00:00') });
    app.container.sandbox!.clearCalls();
    await app.container.scheduling.scheduler.runNow('care');
    const [row] = await ledgerOf(app.container.db, id);
    expect(row).toMatchObject({ occasion: 'followup:3d', status: 'sent' });
    const sent = app.container.sandbox!.calls('message/send').filter((c) => (c.params as { touser?: string }).touser === 'wangwu');
    expect(JSON.stringify(sent.map((c) => c.params))).toContain('客户「新客」添加 3 天还没有互动');
    expect(app.container.sandbox!.calls('externalcontact/add_msg_template')).toHaveLength(0);
  });

  it('GET /api/v1/deliveries filters the ledger by customer, rule and status', async () => {
    const rules = (await api(app, 'GET', '/api/v1/care-rules')).body.items as { id: string; name: string }[];
    const followup = rules.find((r) => r.name === '新客跟进提醒')!;
    const byRule = await api(app, 'GET', `/api/v1/deliveries?rule=${followup.id}`);
    expect(byRule.status).toBe(200);
    expect(byRule.body.total).toBe(1);
    expect(byRule.body.items[0]).toMatchObject({ ruleId: followup.id, channel: 'staff_reminder', status: 'sent', sender: 'wangwu' });
    const customer = byRule.body.items[0].externalUserId;
    expect((await api(app, 'GET', `/api/v1/deliveries?customer=${customer}&status=sent`)).body.total).toBe(1);
    expect((await api(app, 'GET', `/api/v1/deliveries?customer=${customer}&status=planned`)).body.total).toBe(0);
    expect((await api(app, 'GET', '/api/v1/deliveries?status=bogus')).status).toBe(400);
  });

  it('win-back: a dormant customer is enrolled, messaged on day 0 and 7, leaves as reactivated, and stats show it', async () => {
    const m = app.container.scheduling;
    const rules = (await api(app, 'GET', '/api/v1/care-rules')).body.items as { id: string; name: string }[];
    const winback = rules.find((r) => r.name === '沉睡客户唤醒')!;
    expect((await api(app, 'PATCH', `/api/v1/care-rules/${winback.id}`, { enabled: true })).status).toBe(200);

    clock.set(sh('2026-09-01T10:00:00'));
    // Everyone else talked to us recently, so only the customer below is dormant.
    await app.container.db.query('UPDATE customers SET last_interaction_at = ?', [sh('2026-08-31T10:00:00').getTime()]);
    const id = await addSandboxCustomer(app.container, 'zhaoliu', {
      name: '老朋友',
      firstAddedAt: sh('2026-01-01T10:00:00'),
      lastInteractionAt: sh('2026-07-20T10:00:00'),
    });
    const day0 = await m.scheduler.runNow('winback');
    expect(day0.counts).toMatchObject({ enrolled: 1, planned: 1 });
    expect((await ledgerOf(app.container.db, id)).map((r) => [r.occasion, r.status])).toEqual([['step:0:2026-07-20', 'submitted']]);

    clock.set(sh('2026-09-05T10:00:00'));
    expect((await m.scheduler.runNow('winback')).counts).toMatchObject({ enrolled: 0, planned: 0 });
    clock.set(sh('2026-09-08T10:00:00'));
    expect((await m.scheduler.runNow('winback')).counts).toMatchObject({ planned: 1 });
    expect((await ledgerOf(app.container.db, id)).map((r) => r.occasion)).toEqual(['step:0:2026-07-20', 'step:1:2026-07-20']);

    // The customer writes back; the next run lets them leave as reactivated and plans no day-14 task.
    await app.container.db.query('UPDATE customers SET last_interaction_at = ? WHERE external_user_id = ?', [sh('2026-09-09T12:00:00').getTime(), id]);
    clock.set(sh('2026-09-15T10:00:00'));
    expect((await m.scheduler.runNow('winback')).counts).toMatchObject({ reactivated: 1, planned: 0 });
    expect((await ledgerOf(app.container.db, id))).toHaveLength(2);
    const stats = await api(app, 'GET', `/api/v1/care-rules/${winback.id}/stats`);
    expect(stats.body).toMatchObject({ enrolled: 1, messaged: 1, reactivated: 1, rate: 1 });
    const [{ activity }] = await app.container.db.query<{ activity: string }>('SELECT activity FROM customers WHERE external_user_id = ?', [id]);
    expect(activity).toBe('active');
  });
});
