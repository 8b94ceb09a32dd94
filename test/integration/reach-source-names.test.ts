import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { buildCustomer } from '../factories/customers.js';
import { FixedClock } from '../../src/shared/clock.js';

// The reach figures and the delivery ledger name every source in words (docs/analytics.md §Care and campaign results):
// a survey's invitations by the survey's name, tier congratulations as 会员等级升级祝贺, never `survey:<id>` or
// `loyalty:tier`; a deleted survey says so.

describe.each(testEngines())('source names of surveys and tier messages (%s)', (engine) => {
  let app: TestApp;
  const clock = new FixedClock('2026-11-10T01:00:00Z');
  let surveyId = 0;
  let journeyId = '';
  let staffToken = '';
  const DAY = '2026-11-10';

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    await buildCustomer(app.container, { externalUserId: 'wmRsA', name: '客户甲', owners: ['zhangsan'] });
    await buildCustomer(app.container, { externalUserId: 'wmRsB', name: '客户乙', owners: ['zhangsan'] });
    staffToken = (await app.container.tokens.create({ role: 'staff', userid: 'zhangsan' })).token;
    const created = await api(app, 'POST', '/api/v1/surveys', { name: '季度满意度调查', questions: [{ kind: 'nps', title: '您有多大可能把我们推荐给朋友？' }], message: '请点击 {{link}}' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    surveyId = created.body.id;
    const journey = await api(app, 'POST', '/api/v1/journeys', { name: '新客旅程', definition: { trigger: { kind: 'manual' }, steps: [{ kind: 'message', title: '欢迎', delay: { kind: 'after', minutes: 0 }, text: '欢迎' }] } });
    expect(journey.status, JSON.stringify(journey.body)).toBe(201);
    journeyId = journey.body.id;
    const now = clock.now().getTime();
    const row = (source: string, kind: string, ext: string, status: string) => [source, kind, null, null, ext, `o-${source}-${ext}`, 'mass_task', 90, 'zhangsan', 'x', DAY, now, now + 86_400_000, status, null, null, null, status === 'sent' ? now : null, now, now];
    const rows = [
      row(`survey:${surveyId}`, 'survey', 'wmRsA', 'sent'),
      row(`survey:${surveyId}`, 'survey', 'wmRsB', 'planned'),
      row('survey:99999', 'survey', 'wmRsA', 'sent'),
      row('loyalty:tier', 'loyalty', 'wmRsA', 'sent'),
      row(`journey:${journeyId}`, 'journey', 'wmRsB', 'sent'),
    ];
    await app.container.db.query(
      `INSERT INTO deliveries (source, kind, rule_id, broadcast_id, external_user_id, occasion, channel, priority, sender_userid, text, local_date, not_before, expires_at,
         status, reason, msgid, submitted_at, sent_at, created_at, updated_at) VALUES ${rows.map(() => '(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)').join(',')}`,
      rows.flat(),
    );
    // The night after.
    clock.set('2026-11-10T16:20:00Z');
    const run = await app.container.scheduling.scheduler.runNow('analytics');
    expect(run.status, run.error ?? '').toBe('done');
  }, 60_000);
  afterAll(() => app?.close());

  it('names each survey and the tier congratulations in the reach figures, one source per survey', async () => {
    const res = await api(app, 'GET', `/api/v1/analytics/reach?from=${DAY}&to=${DAY}`);
    expect(res.status).toBe(200);
    const sources = (res.body.sources as { sourceKind: string; sourceId: string; name: string; funnel: { planned: number } }[]).map((s) => [s.sourceKind, s.sourceId, s.name, s.funnel.planned]);
    expect(sources).toEqual([
      ['loyalty', 'tier', '会员等级升级祝贺', 1],
      ['survey', String(surveyId), '季度满意度调查', 2],
      ['survey', '99999', '已删除的问卷（#99999）', 1],
      ['journey', journeyId, '新客旅程', 1],
    ]);
    // 客户旅程 is a kind the dashboard's filter offers: the API takes it, alone and with a journey's id.
    const journeys = await api(app, 'GET', `/api/v1/analytics/reach?from=${DAY}&to=${DAY}&kind=journey`);
    expect(journeys.status, JSON.stringify(journeys.body)).toBe(200);
    expect(journeys.body.sources.map((s: { sourceKind: string; name: string }) => [s.sourceKind, s.name])).toEqual([['journey', '新客旅程']]);
    expect((await api(app, 'GET', `/api/v1/analytics/reach?from=${DAY}&to=${DAY}&kind=journey&id=${journeyId}`)).body.sources).toHaveLength(1);
    const bad = await api(app, 'GET', `/api/v1/analytics/reach?from=${DAY}&to=${DAY}&kind=nope`);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('类型须为 care、winback、broadcast、loyalty、survey 或 journey');
    // One survey picked out by its id; an unknown one is refused next to the field.
    const one = await api(app, 'GET', `/api/v1/analytics/reach?from=${DAY}&to=${DAY}&kind=survey&id=${surveyId}`);
    expect(one.body.sources.map((s: { name: string }) => s.name)).toEqual(['季度满意度调查']);
    const unknown = await api(app, 'GET', `/api/v1/analytics/reach?from=${DAY}&to=${DAY}&kind=survey&id=12345`);
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain('没有这个关怀规则、唤醒活动、群发、客户旅程或问卷');
    expect((await api(app, 'GET', `/api/v1/analytics/reach?from=${DAY}&to=${DAY}&kind=loyalty&id=tier`, undefined, staffToken)).body.sources[0].name).toBe('会员等级升级祝贺');
  });

  it('names the source of each ledger row in words', async () => {
    const res = await api(app, 'GET', '/api/v1/deliveries?customer=wmRsA');
    expect(res.status).toBe(200);
    const named = (res.body.items as { source: string; sourceName: string }[]).map((d) => [d.source, d.sourceName]).sort();
    expect(named).toEqual([
      ['loyalty:tier', '会员等级升级祝贺'],
      [`survey:${surveyId}`, '满意度调查：季度满意度调查'],
      ['survey:99999', '已删除的满意度调查'],
    ]);
    // A journey's rows by the journey's name, and 客户旅程 is a kind the ledger's filter takes.
    const journeyRows = await api(app, 'GET', '/api/v1/deliveries?kind=journey');
    expect(journeyRows.status, JSON.stringify(journeyRows.body)).toBe(200);
    expect(journeyRows.body.items.map((d: { externalUserId: string; sourceName: string }) => [d.externalUserId, d.sourceName])).toEqual([['wmRsB', '客户旅程「新客旅程」']]);
    const bad = await api(app, 'GET', '/api/v1/deliveries?kind=sms');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('类型须为 care、winback、broadcast、loyalty、survey 或 journey');
  });
});
