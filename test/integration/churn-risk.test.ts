import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { buildCustomer } from '../factories/customers.js';
import { FixedClock } from '../../src/shared/clock.js';

// docs/churn.md: the nightly `churn` job scores every customer who still follows a member from what the bot sees
// (orders against their own interval, interactions falling off, detractor scores and open tickets, a resigned owner),
// with the reasons in zh-CN; the API shows them, a staff member only for their own customers.

describe.each(testEngines())('churn-risk scores (%s)', (engine) => {
  let app: TestApp;
  const clock = new FixedClock('2026-01-01T02:00:00Z');
  let lisiToken = '';
  let zhangsanToken = '';
  const runJob = async () =>
    app.container.scheduling.jobs.get('churn').run({ at: clock.now(), clock, occasionKey: clock.now().toISOString().slice(0, 10), isDryRun: false, runId: null, log: app.log, report: () => undefined });
  const risk = async (ext: string, token?: string) => api(app, 'GET', `/api/v1/customers/${ext}/churn-risk`, undefined, token);

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock }, env: { CHURN_RISK_THRESHOLD: '60', FEEDBACK_FIRST_CONTACT_HOURS: '24' } });
    await buildCustomer(app.container, { externalUserId: 'wmCrMonthly', name: '月度客户', owners: ['zhangsan'] });
    await buildCustomer(app.container, { externalUserId: 'wmCrUnhappy', name: '不满客户', owners: ['zhangsan'] });
    await buildCustomer(app.container, { externalUserId: 'wmCrOrphan', name: '离职员工的客户', owners: ['wangwu'] });
    await buildCustomer(app.container, { externalUserId: 'wmCrGone', name: '已删除', owners: ['zhangsan'] });
    lisiToken = (await app.container.tokens.create({ role: 'staff', userid: 'lisi' })).token;
    zhangsanToken = (await app.container.tokens.create({ role: 'staff', userid: 'zhangsan' })).token;
    // Orders every 30 days, the last on 2026-05-01 (Beijing time).
    const orders = ['2026-01-01', '2026-01-31', '2026-03-02', '2026-04-01', '2026-05-01'].map((d, i) => ({ orderNo: `CR-${i}`, externalUserId: 'wmCrMonthly', amount: 100, orderedAt: `${d} 12:00` }));
    expect((await api(app, 'POST', '/api/v1/orders/import', { orders })).status).toBe(200);
  });
  afterAll(() => app?.close());

  it('rises as a customer who orders every 30 days misses orders, with each reason in zh-CN', async () => {
    clock.set('2026-05-20T02:00:00Z');
    await runJob();
    expect((await risk('wmCrMonthly')).body).toMatchObject({ score: 0, level: 'low', levelWords: '低风险', reasons: [], threshold: 60 });

    // 40 days since the last order: nothing in the last 30 days, but not yet overdue (from 1.5× their 30 days).
    clock.set('2026-06-10T02:00:00Z');
    await runJob();
    const missedOne = (await risk('wmCrMonthly')).body;
    expect(missedOne.reasons).toEqual([{ code: 'interaction_drop', points: 10, text: '近 30 天互动 0 次，此前平均每 30 天 1.0 次' }]);

    // Three missed: the interval three times over, silent for two months, under the threshold no more.
    clock.set('2026-07-31T02:00:00Z');
    const counts = await runJob();
    const missedThree = (await risk('wmCrMonthly')).body;
    expect(missedThree.score).toBeGreaterThanOrEqual(60);
    expect(missedThree.score).toBeGreaterThan(missedOne.score);
    expect(missedThree).toMatchObject({ level: 'high', levelWords: '高风险' });
    expect(missedThree.reasons[0]).toEqual({ code: 'order_overdue', points: 45, text: '距上次下单 91 天，平时约 30 天下一单（已是 3.0 倍）' });
    // The gaps between the orders, as the repository reads them: a steady 30 days (docs/churn.md §Signals).
    const signals = await app.container.churn.signals(['wmCrMonthly'], clock.now().getTime());
    expect(signals.get('wmCrMonthly')!.orderGaps).toEqual([30, 30, 30, 30]);
    expect(missedThree.reasons.map((r: { code: string }) => r.code)).toContain('silent');
    expect(counts).toMatchObject({ atRisk: 1, warned: 1 });
    // docs/churn.md §Audiences: the level is an audience term, for broadcasts and care rules.
    const count = async (audience: string) => (await api(app, 'POST', '/api/v1/audiences/count', { audience })).body.count as number;
    expect(await count('risk:high')).toBe(1);
    expect(await count('risk:high AND owner:zhangsan')).toBe(1);
    expect(await count('NOT risk:high')).toBe(3);
    const bad = await api(app, 'POST', '/api/v1/audiences/count', { audience: 'risk:extreme' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('high、medium 或 low');
  });

  it('gives the owner one warning task when a customer crosses the threshold, which the care run reminds them of', async () => {
    // docs/churn.md §Warnings: a follow-up due that day for the owner, with the score and the largest reasons.
    const notes = (await api(app, 'GET', '/api/v1/customers/wmCrMonthly/notes', undefined, zhangsanToken)).body.items as { text: string; dueDate: string; userid: string }[];
    const warnings = notes.filter((n) => n.text.startsWith('【流失预警】'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ dueDate: '2026-07-31', userid: 'zhangsan' });
    expect(warnings[0].text).toMatch(/^【流失预警】流失风险 \d+ 分：距上次下单 91 天，平时约 30 天下一单（已是 3\.0 倍）；.+。请尽快联系客户，了解情况并跟进。$/);
    const archive = (await api(app, 'GET', '/api/v1/customers/wmCrMonthly')).body;
    expect(archive.timeline.filter((e: { kind: string }) => e.kind === 'churn_warning').map((e: { summary: string }) => e.summary)).toEqual([expect.stringMatching(/^流失预警：风险 \d+ 分，已为 zhangsan 建立跟进任务$/)]);
    // The care run (10:00 Beijing time) reminds the owner of the day's follow-ups by app message, within their cap.
    expect((await app.container.scheduling.scheduler.runNow('care')).status).toBe('done');
    const told = app.container.sandbox!.calls('message/send').filter((c) => JSON.stringify(c.params).includes('流失预警'));
    expect(told).toHaveLength(1);
    expect((told[0].params as { touser?: string }).touser).toBe('zhangsan');
    // Still 高风险 the next nights: no second warning, and the bot's own task is no interaction of the customer's.
    clock.advance(86_400_000);
    expect(await runJob()).toMatchObject({ atRisk: 1, warned: 0 });
    const again = (await api(app, 'GET', '/api/v1/customers/wmCrMonthly/notes')).body.items as { text: string }[];
    expect(again.filter((n) => n.text.startsWith('【流失预警】'))).toHaveLength(1);
    expect((await risk('wmCrMonthly')).body.reasons.map((r: { code: string }) => r.code)).toContain('silent');
    clock.set('2026-07-31T02:00:00Z');
  });

  it('enrols 高风险 customers in a win-back campaign that enters by churn risk, once per silence (docs/churn.md §Win-back)', async () => {
    const created = await api(app, 'POST', '/api/v1/care-rules', {
      name: '流失预警挽回',
      occasion: { type: 'winback', entry: 'churn_risk', steps: [{ day: 0, channel: 'mass_task', template: '{{name}}您好，好久不见，给您准备了一份回归礼' }] },
      template: '{{name}}您好，好久不见，给您准备了一份回归礼',
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.occasion).toMatchObject({ type: 'winback', entry: 'churn_risk' });
    const bad = await api(app, 'POST', '/api/v1/care-rules', { name: 'x', occasion: { type: 'winback', entry: 'vip', steps: [{ day: 0, template: 'x' }] }, template: 'x' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('入组条件须为 dormant（沉睡客户）或 churn_risk（流失高风险客户）');
    const runWinback = () => app.container.scheduling.jobs.get('winback').run({ at: clock.now(), clock, occasionKey: clock.now().toISOString().slice(0, 10), isDryRun: false, runId: null, log: app.log, report: () => undefined });
    expect(await runWinback()).toMatchObject({ enrolled: 1 });
    const enrolled = await app.container.db.query<{ external_user_id: string }>('SELECT external_user_id FROM campaign_enrolments WHERE rule_id = ?', [created.body.id]);
    expect(enrolled.map((e) => e.external_user_id)).toEqual(['wmCrMonthly']);
    const planned = await app.container.db.query<{ text: string }>('SELECT text FROM deliveries WHERE source = ?', [`winback:${created.body.id}`]);
    expect(planned.map((d) => d.text)).toEqual(['月度客户您好，好久不见，给您准备了一份回归礼']);
    clock.advance(86_400_000);
    expect(await runWinback()).toMatchObject({ enrolled: 0 });
    clock.set('2026-07-31T02:00:00Z');
  });

  it('counts a detractor’s answer and their open ticket, more once its first contact is late', async () => {
    const survey = await api(app, 'POST', '/api/v1/surveys', { name: '满意度', status: 'active', questions: [{ kind: 'nps', title: '推荐意愿' }], message: '请评价：{{link}}' });
    const { url } = (await api(app, 'POST', `/api/v1/customers/wmCrUnhappy/surveys/${survey.body.id}/link`)).body;
    const html = await (await fetch(url)).text();
    const submission = /name="submission" value="([^"]+)"/.exec(html)![1];
    expect((await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ submission, q0: '2' }) })).status).toBe(200);
    await runJob();
    expect((await risk('wmCrUnhappy')).body.reasons).toEqual([
      { code: 'detractor', points: 20, text: '最近一次满意度评分为贬损（NPS 2 分）' },
      { code: 'open_ticket', points: 5, text: '有 1 张未解决的反馈工单' },
    ]);
    clock.advance(25 * 3_600_000);
    await runJob();
    expect((await risk('wmCrUnhappy')).body).toMatchObject({ score: 30, level: 'medium', levelWords: '中风险' });
  });

  it('counts a customer whose only member resigned, and drops a customer who follows no one', async () => {
    await app.container.db.query("UPDATE staff SET status = 'resigned' WHERE userid = 'wangwu'");
    await app.container.db.query("UPDATE follow_relations SET status = 'deleted_by_customer' WHERE external_user_id = 'wmCrGone'");
    await runJob();
    expect((await risk('wmCrOrphan')).body.reasons).toEqual([{ code: 'owner_resigned', points: 60, text: '跟进员工已离职，客户尚未继承给他人' }]);
    expect((await risk('wmCrGone')).body).toMatchObject({ score: null, level: null, levelWords: '尚未评分' });
  });

  it('shows a staff member only their own customers’ scores, and a dry run writes nothing', async () => {
    expect((await risk('wmCrMonthly', zhangsanToken)).status).toBe(200);
    expect((await risk('wmCrMonthly', lisiToken)).status).toBe(404);
    const before = await app.container.db.query('SELECT external_user_id, score, scored_at FROM churn_risk ORDER BY external_user_id');
    clock.advance(86_400_000);
    const dry = await app.container.scheduling.jobs.get('churn').run({ at: clock.now(), clock, occasionKey: 'dry', isDryRun: true, runId: null, log: app.log, report: () => undefined });
    expect(dry).toMatchObject({ scored: 3 });
    expect(await app.container.db.query('SELECT external_user_id, score, scored_at FROM churn_risk ORDER BY external_user_id')).toEqual(before);
  });

  it('keeps the cause of a lost relation from the last score, lets its member record theirs, and counts losses by cause', async () => {
    // docs/churn.md §Causes: the loss's transaction records the customer's largest reason as the bot's cause.
    const before = (await risk('wmCrMonthly')).body;
    const loss = { loss: 'customer_deleted_staff' as const, userid: 'zhangsan', externalUserId: 'wmCrMonthly', eventTime: clock.now().getTime() };
    await app.container.archive.churn.onRelationLost(loss);
    await app.container.archive.churn.onRelationLost(loss);
    const listed = (await api(app, 'GET', '/api/v1/customers/wmCrMonthly/churn-causes')).body.items;
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ userid: 'zhangsan', lostBy: 'customer', lostByWords: '客户删除了员工', score: before.score, cause: 'order_overdue', causeWords: '久未复购', staffCause: null });
    expect(listed[0].reasons[0].text).toBe(before.reasons[0].text);
    expect((await api(app, 'GET', '/api/v1/customers/wmCrMonthly/churn-causes', undefined, lisiToken)).status).toBe(404);
    expect((await api(app, 'GET', '/api/v1/customers/wmCrMonthly/churn-causes', undefined, zhangsanToken)).body.items).toHaveLength(1);

    // Its member records what they learned; another member cannot; a cause off the list is refused in zh-CN.
    const id = listed[0].id as number;
    expect((await api(app, 'POST', `/api/v1/churn-causes/${id}`, { cause: 'competitor', note: '去了隔壁店' }, lisiToken)).status).toBe(404);
    const bad = await api(app, 'POST', `/api/v1/churn-causes/${id}`, { cause: 'weather' }, zhangsanToken);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('competitor（选择了竞品）');
    const recorded = await api(app, 'POST', `/api/v1/churn-causes/${id}`, { cause: 'competitor', note: '去了隔壁店' }, zhangsanToken);
    expect(recorded.status).toBe(200);
    expect(recorded.body).toMatchObject({ staffCause: 'competitor', staffCauseWords: '选择了竞品', staffNote: '去了隔壁店', recordedBy: 'zhangsan' });

    const counts = (await api(app, 'GET', '/api/v1/analytics/churn-causes?from=2026-07-01&to=2026-08-31')).body;
    expect(counts).toEqual({
      from: '2026-07-01',
      to: '2026-08-31',
      losses: 1,
      byCause: [{ cause: 'order_overdue', words: '久未复购', count: 1, share: 1 }],
      byStaffCause: [{ cause: 'competitor', words: '选择了竞品', count: 1, share: 1 }],
      unrecorded: 0,
    });
    expect((await api(app, 'GET', '/api/v1/analytics/churn-causes?from=2026-07-01&to=2026-08-31', undefined, lisiToken)).body.losses).toBe(0);
    expect((await api(app, 'GET', '/api/v1/analytics/churn-causes?from=2026-08-31&to=2026-07-01')).status).toBe(400);
  });
});
