import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { buildCustomer } from '../factories/customers.js';
import { FixedClock } from '../../src/shared/clock.js';

// docs/surveys.md §Triggers, §Sending, §Priority: the daily `surveys` job plans invitations N days after the first order
// or the add, and once per period to an audience, through the delivery ledger; a missed day is caught up, a customer
// is never invited twice in a period, and a care greeting planned first keeps the customer's day.

describe.each(testEngines())('survey triggers in the surveys job (%s)', (engine) => {
  let app: TestApp;
  const clock = new FixedClock('2026-03-01T02:00:00Z');
  const runJob = async () =>
    app.container.scheduling.jobs.get('surveys').run({ at: clock.now(), clock, occasionKey: clock.now().toISOString().slice(0, 10), isDryRun: false, runId: null, log: app.log, report: () => undefined });
  const ledger = (source: string) => app.container.db.query<{ external_user_id: string; status: string; occasion: string; reason: string | null }>('SELECT external_user_id, status, occasion, reason FROM deliveries WHERE source = ? ORDER BY external_user_id, id', [source]);
  const create = async (body: Record<string, unknown>) => {
    const res = await api(app, 'POST', '/api/v1/surveys', { status: 'active', questions: [{ kind: 'nps', title: '推荐意愿' }], ...body });
    expect(res.status).toBe(201);
    return res.body.id as number;
  };

  beforeAll(async () => {
    // Quiet hours all day: the job plans and nothing is dispatched, so the rows stay as planned.
    app = await startTestApp(engine, { build: { clock, scheduling: { settings: { quietHours: { start: '00:00', end: '23:59' } } } } });
    await buildCustomer(app.container, { externalUserId: 'wmTrOrder', owners: ['zhangsan'], addedAt: new Date('2026-01-05T02:00:00Z') });
    await buildCustomer(app.container, { externalUserId: 'wmTrLate', owners: ['zhangsan'], addedAt: new Date('2026-01-05T02:00:00Z') });
    await buildCustomer(app.container, { externalUserId: 'wmTrNew', owners: ['lisi'], addedAt: new Date('2026-02-26T03:00:00Z') });
    await buildCustomer(app.container, { externalUserId: 'wmTrVip', owners: ['lisi'], addedAt: new Date('2026-01-05T02:00:00Z') });
    // When each was first added, as the archive records it from the add's callback.
    await app.container.db.query('UPDATE customers SET first_added_at = ? WHERE external_user_id = ?', [new Date('2026-02-26T03:00:00Z').getTime(), 'wmTrNew']);
    await app.container.db.query("UPDATE customers SET first_added_at = ? WHERE external_user_id <> 'wmTrNew'", [new Date('2026-01-05T02:00:00Z').getTime()]);
    await api(app, 'POST', '/api/v1/orders/import', {
      orders: [
        // First order on 2026-02-26 (Beijing): 3 days before 2026-03-01.
        { orderNo: 'TR-1', externalUserId: 'wmTrOrder', amount: 120, orderedAt: '2026-02-26 20:00' },
        // A second order later does not move the first.
        { orderNo: 'TR-2', externalUserId: 'wmTrOrder', amount: 80, orderedAt: '2026-02-28 10:00' },
        // First order a week earlier: outside the three days the job looks back.
        { orderNo: 'TR-3', externalUserId: 'wmTrLate', amount: 99, orderedAt: '2026-02-20 10:00' },
      ],
    });
  });
  afterAll(() => app?.close());

  it('invites N days after the first order and after the add, once, and catches a missed day up', async () => {
    const afterOrder = await create({ name: '首单回访', trigger: 'first_order', triggerDays: 3, period: 'once' });
    const afterAdd = await create({ name: '新客体验', trigger: 'added', triggerDays: 2, period: 'once' });
    // Not active: never sent.
    await api(app, 'POST', '/api/v1/surveys', { name: '草稿', status: 'draft', trigger: 'added', triggerDays: 2, questions: [{ kind: 'nps', title: '推荐意愿' }] });
    clock.set('2026-03-01T02:30:00Z');
    const counts = await runJob();
    expect(counts).toMatchObject({ surveys: 2, planned: 2 });
    expect(await ledger(`survey:${afterOrder}`)).toEqual([{ external_user_id: 'wmTrOrder', status: 'planned', occasion: 'once#2026-03-01', reason: null }]);
    // Added on 2026-02-26 Beijing time: 2 days before is 02-27; the job looks back over 02-25 … 02-27.
    expect(await ledger(`survey:${afterAdd}`)).toEqual([{ external_user_id: 'wmTrNew', status: 'planned', occasion: 'once#2026-03-01', reason: null }]);
    // The next day: the first order is now 4 days back, still in the catch-up window, but already invited.
    clock.set('2026-03-02T02:30:00Z');
    expect(await runJob()).toMatchObject({ planned: 0, alreadyThisPeriod: 2 });
    expect(await ledger(`survey:${afterOrder}`)).toHaveLength(1);
  });

  it('invites an audience once per period, and a day whose slot a care greeting holds is planned again later', async () => {
    const periodic = await create({ name: '季度 NPS', trigger: 'periodic', period: 'quarter', audience: 'owner:lisi' });
    // A birthday greeting (priority 300) planned first for wmTrVip today holds their day.
    const ledgerForCare = app.container.scheduling.ledger;
    await ledgerForCare.plan({
      source: 'care:test-birthday',
      kind: 'care',
      externalUserId: 'wmTrVip',
      occasion: 'birthday:2026',
      channel: 'mass_task',
      priority: 300,
      senderUserid: 'lisi',
      text: '生日快乐',
      attachments: [],
      localDate: '2026-03-02',
      notBefore: clock.now(),
      expiresAt: new Date(clock.now().getTime() + 86_400_000),
    });
    await runJob();
    const first = await ledger(`survey:${periodic}`);
    expect(first.map((r) => [r.external_user_id, r.status, r.occasion])).toEqual([
      ['wmTrNew', 'planned', '2026-Q1#2026-03-02'],
      ['wmTrVip', 'skipped', '2026-Q1#2026-03-02'],
    ]);
    expect(first[1].reason).toMatch(/^daily_cap/);
    // The next day the skipped customer is invited; the one already invited this quarter is not.
    clock.set('2026-03-03T02:30:00Z');
    await runJob();
    const second = await ledger(`survey:${periodic}`);
    expect(second.filter((r) => r.status === 'planned').map((r) => [r.external_user_id, r.occasion])).toEqual([
      ['wmTrNew', '2026-Q1#2026-03-02'],
      ['wmTrVip', '2026-Q1#2026-03-03'],
    ]);
    // A new quarter invites them again.
    clock.set('2026-04-01T02:30:00Z');
    await runJob();
    expect((await ledger(`survey:${periodic}`)).filter((r) => r.occasion.startsWith('2026-Q2')).map((r) => r.external_user_id)).toEqual(['wmTrNew', 'wmTrVip']);
  });
});
