import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { buildCustomer } from '../factories/customers.js';
import { FixedClock } from '../../src/shared/clock.js';
import { buildScheduling } from '../../src/container.js';

// docs/feedback.md: tickets from a detractor score (the surveys port), a KF complaint and a staff record; routed to the
// owner by app message; open → contacted → resolved from the sidebar, audit-logged and on the timeline; reopened by a
// detractor again; the SLA escalated once across instances; the analysis; the rules.

describe.each(testEngines())('feedback tickets (%s)', (engine) => {
  let app: TestApp;
  const clock = new FixedClock('2026-12-01T02:00:00Z');
  let staffToken = '';
  let lisiToken = '';
  let cookie = '';
  let answerId = 1000;

  /** The text of every app message a member received. */
  const received = (userid: string) =>
    app.container.sandbox!.store.appMessages.filter((m) => m.touser.includes(userid) && !m.dropped.includes(userid)).map((m) => String((m.payload as { content: string }).content));
  /** A JSON call to the sidebar API as zhangsan (the session cookie, with the header the sidebar's CSRF check wants). */
  const sidebar = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${app.url}${path}`, {
      method,
      headers: { cookie, 'x-requested-with': 'XMLHttpRequest', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const scored = (ext: string, score: number, comment: string | null, kind: 'nps' | 'csat' = 'nps') =>
    app.container.feedback.onSurveyScored({ externalUserid: ext, surveyId: 1, answerId: ++answerId, kind, score, comment, answeredAt: clock.now() });
  const ticketsOf = async (ext: string) => (await api(app, 'GET', `/api/v1/customers/${ext}/feedback`)).body.items as { id: number; status: string; source: string; category: string | null; reopenCount: number }[];

  beforeAll(async () => {
    app = await startTestApp(engine, {
      build: { clock },
      env: { FEEDBACK_FIRST_CONTACT_HOURS: '24', FEEDBACK_ESCALATE_TO: 'sunqi' },
    });
    await buildCustomer(app.container, { externalUserId: 'wmFbA', name: '顾客甲', owners: ['zhangsan'] });
    await buildCustomer(app.container, { externalUserId: 'wmFbB', name: '顾客乙', owners: ['zhangsan'] });
    await buildCustomer(app.container, { externalUserId: 'wmFbLisi', name: '顾客丙', owners: ['lisi'] });
    staffToken = (await app.container.tokens.create({ role: 'staff', userid: 'zhangsan' })).token;
    lisiToken = (await app.container.tokens.create({ role: 'staff', userid: 'lisi' })).token;
    cookie = `wo_sidebar=${app.container.http!.sidebarAuth.sessions.issue('zhangsan').token}`;
  }, 60_000);
  afterAll(() => app?.close());

  it('opens one ticket for a detractor score, however often the answer is reported, and tells the owner once', async () => {
    expect(await scored('wmFbA', 8, '还行')).toBeNull();
    expect(await scored('wmFbA', 4, 'csat 4 is no detractor', 'csat')).toBeNull();
    const answer = { externalUserid: 'wmFbA', surveyId: 1, answerId: 77, kind: 'nps' as const, score: 3, comment: '快递太慢了，等了一周', answeredAt: clock.now() };
    const outcomes = await Promise.all([app.container.feedback.onSurveyScored(answer), app.container.feedback.onSurveyScored(answer)]);
    expect(outcomes.sort()).toEqual(['opened', 'replayed']);
    expect(await app.container.feedback.onSurveyScored(answer)).toBe('replayed');
    const tickets = await ticketsOf('wmFbA');
    expect(tickets).toHaveLength(1);
    expect(tickets[0]).toMatchObject({ status: 'open', source: 'survey', category: '物流' });
    const told = received('zhangsan').filter((t) => t.includes('【客户反馈】'));
    expect(told).toHaveLength(1);
    expect(told[0]).toContain('顾客甲');
    expect(told[0]).toContain('NPS 3 分');
    expect(told[0]).toContain('快递太慢了');
  });

  it('shows the ticket in the sidebar, where the owner contacts the customer and resolves it; both audit-logged and on the timeline', async () => {
    const list = await sidebar('GET', '/sidebar/api/customers/wmFbA/feedback');
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(1);
    const t = list.body.items[0];
    expect(t).toMatchObject({ statusWords: '待联系', sourceWords: '满意度评分', scoreWords: 'NPS 3 分', isOverdue: false });
    expect(list.body.categories).toContain('物流');
    expect(list.body.categories).toContain('其他');

    clock.advance(2 * 3_600_000);
    const contacted = await sidebar('POST', `/sidebar/api/feedback/tickets/${t.id}/contact`, { note: '已电话联系' });
    expect(contacted.status).toBe(200);
    expect(contacted.body.status).toBe('contacted');
    // Again: nothing changes, nothing more is recorded.
    expect((await sidebar('POST', `/sidebar/api/feedback/tickets/${t.id}/contact`, {})).body.status).toBe('contacted');
    // A resolution needs its note, and a category from the rules.
    expect((await sidebar('POST', `/sidebar/api/feedback/tickets/${t.id}/resolve`, { category: '物流' })).status).toBe(400);
    const badCategory = await sidebar('POST', `/sidebar/api/feedback/tickets/${t.id}/resolve`, { note: '补发', category: '不存在的分类' });
    expect(badCategory.status).toBe(400);
    expect(badCategory.body.error.message).toContain('分类须为以下之一');
    clock.advance(3_600_000);
    const resolved = await sidebar('POST', `/sidebar/api/feedback/tickets/${t.id}/resolve`, { note: '已补发顺丰，并赠送优惠券', category: '物流' });
    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({ status: 'resolved', statusWords: '已解决', resolutionNote: '已补发顺丰，并赠送优惠券', category: '物流' });
    expect((await sidebar('POST', `/sidebar/api/feedback/tickets/${t.id}/resolve`, { note: '再来一次' })).status).toBe(409);

    const audit = await api(app, 'GET', '/api/v1/audit-log?action=feedback.');
    const actions = audit.body.items.map((i: { action: string; source: string; actor: { id: string } }) => `${i.action}/${i.source}/${i.actor.id}`);
    expect(actions).toEqual(['feedback.resolve/sidebar/zhangsan', 'feedback.contact/sidebar/zhangsan']);
    const archive = await api(app, 'GET', '/api/v1/customers/wmFbA');
    const lines = archive.body.timeline.filter((e: { kind: string }) => e.kind.startsWith('feedback/')).map((e: { summary: string }) => e.summary);
    expect(lines).toHaveLength(3);
    expect(lines.join('\n')).toContain(`客户反馈工单 #${t.id} 已解决（物流）：已补发顺丰，并赠送优惠券`);
    expect(lines.join('\n')).toContain('已联系客户：已电话联系');
  });

  it('reopens the resolved ticket when the customer is a detractor again, and tells the owner again', async () => {
    const before = received('zhangsan').filter((t) => t.includes('【客户反馈】')).length;
    expect(await scored('wmFbA', 1, '还是很差', 'csat')).toBe('reopened');
    const tickets = await ticketsOf('wmFbA');
    expect(tickets).toHaveLength(1);
    expect(tickets[0]).toMatchObject({ status: 'open', reopenCount: 1 });
    expect(received('zhangsan').filter((t) => t.includes('【客户反馈】'))).toHaveLength(before + 1);
    // A detractor while the ticket is open adds to it: no second ticket, no second message.
    expect(await scored('wmFbA', 0, null)).toBe('again');
    expect(await ticketsOf('wmFbA')).toHaveLength(1);
    expect(received('zhangsan').filter((t) => t.includes('【客户反馈】'))).toHaveLength(before + 1);
  });

  it('opens a ticket for a WeChat-KF message a complaint rule matches, once per message, and none for other text', async () => {
    const sandbox = app.container.sandbox!;
    const kf = await sandbox.sendKfMessage({ openKfId: 'wkFeedback', text: '你好，请问营业时间？' });
    await app.container.archive.kf.pull('wkFeedback');
    const ext = kf.externalUserId;
    expect(await ticketsOf(ext)).toHaveLength(0);
    await sandbox.sendKfMessage({ openKfId: 'wkFeedback', externalUserId: ext, text: '我要投诉，你们的客服太差劲了' });
    await app.container.archive.kf.pull('wkFeedback');
    // The same messages pulled again (a lost cursor): nothing twice.
    await app.container.repos.kfCursors.set('wkFeedback', '', clock.now().getTime());
    await app.container.archive.kf.pull('wkFeedback');
    const tickets = await ticketsOf(ext);
    expect(tickets).toHaveLength(1);
    expect(tickets[0]).toMatchObject({ source: 'kf', category: '服务', status: 'open' });
    // A KF-only customer has no owner: the escalation list hears of it.
    expect(received('sunqi').some((t) => t.includes('我要投诉') && t.includes('没有负责员工'))).toBe(true);
  });

  it('records a complaint staff heard, once per request id, without messaging the member who recorded it', async () => {
    const before = received('zhangsan').length;
    const body = { text: '电话里说收到的杯子有破损', requestId: 'fb-record-0001' };
    const first = await sidebar('POST', '/sidebar/api/customers/wmFbB/feedback', body);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ outcome: 'opened', source: 'staff', category: '质量', ownerUserid: 'zhangsan' });
    const again = await sidebar('POST', '/sidebar/api/customers/wmFbB/feedback', body);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ outcome: 'replayed', id: first.body.id });
    expect(await ticketsOf('wmFbB')).toHaveLength(1);
    expect(received('zhangsan').length).toBe(before);
    expect((await sidebar('POST', '/sidebar/api/customers/wmFbB/feedback', { text: '' , requestId: 'fb-record-0002' })).status).toBe(400);
    // Another member's customer does not exist for this member.
    expect((await sidebar('POST', '/sidebar/api/customers/wmFbLisi/feedback', { text: '投诉', requestId: 'fb-record-0003' })).status).toBe(404);
  });

  it('keeps a ticket whose notice WeCom refused, and the feedback job sends the notice once on its next run', async () => {
    await buildCustomer(app.container, { externalUserId: 'wmFbC', name: '顾客丁', owners: ['zhangsan'] });
    const notices = () => received('zhangsan').filter((t) => t.includes('【客户反馈】') && t.includes('顾客丁'));
    app.container.sandbox!.injectFault({ api: 'message/send', errcode: 60020, count: 1 });
    expect(await scored('wmFbC', 5, '不太满意')).toBe('opened');
    expect(notices()).toHaveLength(0);
    clock.advance(60_000);
    await app.container.scheduling.scheduler.runNow('feedback');
    clock.advance(60_000);
    await app.container.scheduling.scheduler.runNow('feedback');
    expect(notices()).toHaveLength(1);
    // Resolved now, so it plays no part in the SLA test below.
    const [t] = await ticketsOf('wmFbC');
    expect((await api(app, 'POST', `/api/v1/feedback/tickets/${t.id}/resolve`, { note: '已回访', category: '其他' })).status).toBe(200);
  });

  it('lets staff list and act on only their own customers’ tickets; operators see all', async () => {
    await scored('wmFbLisi', 2, '服务态度不好');
    const mine = await api(app, 'GET', '/api/v1/feedback/tickets', undefined, staffToken);
    expect(mine.status).toBe(200);
    const ids = mine.body.items.map((t: { externalUserId: string }) => t.externalUserId);
    expect(ids).toContain('wmFbA');
    expect(ids).not.toContain('wmFbLisi');
    const theirs = (await api(app, 'GET', '/api/v1/feedback/tickets?externalUserId=wmFbLisi')).body.items[0];
    expect(theirs).toMatchObject({ ownerUserid: 'lisi', category: '服务' });
    expect((await api(app, 'GET', `/api/v1/feedback/tickets/${theirs.id}`, undefined, staffToken)).status).toBe(404);
    expect((await api(app, 'POST', `/api/v1/feedback/tickets/${theirs.id}/contact`, {}, staffToken)).status).toBe(404);
    expect((await sidebar('POST', `/sidebar/api/feedback/tickets/${theirs.id}/resolve`, { note: 'x' })).status).toBe(404);
    const detail = await api(app, 'GET', `/api/v1/feedback/tickets/${theirs.id}`, undefined, lisiToken);
    expect(detail.status).toBe(200);
    expect(detail.body.events.map((e: { words: string }) => e.words)).toEqual(['创建工单']);
    const all = await api(app, 'GET', '/api/v1/feedback/tickets?status=open&source=survey');
    expect(all.body.items.map((t: { externalUserId: string }) => t.externalUserId).sort()).toEqual(['wmFbA', 'wmFbLisi']);
    expect((await api(app, 'GET', '/api/v1/feedback/tickets?status=closed')).status).toBe(400);
    expect((await api(app, 'GET', '/api/v1/feedback/analysis', undefined, staffToken)).status).toBe(403);
  });

  it('names the owner and the members in a ticket\'s history; a member without a name shows as their userid', async () => {
    const c = app.container;
    await c.db.tx((em) => c.archive.repos.relations.ensureStaffInTx(em, 'sunqi', clock.now().getTime()));
    await c.db.exec("UPDATE staff SET name = CASE userid WHEN 'zhangsan' THEN '张三' WHEN 'sunqi' THEN '孙七' ELSE '' END WHERE userid IN ('zhangsan', 'lisi', 'sunqi')");
    const listed = (await api(app, 'GET', '/api/v1/feedback/tickets?pageSize=100')).body.items as { externalUserId: string; ownerUserid: string | null; ownerName: string | null }[];
    expect(listed.find((t) => t.externalUserId === 'wmFbA')).toMatchObject({ ownerUserid: 'zhangsan', ownerName: '张三' });
    expect(listed.find((t) => t.externalUserId === 'wmFbLisi')).toMatchObject({ ownerUserid: 'lisi', ownerName: 'lisi' });
    expect(listed.find((t) => t.ownerUserid === null)).toMatchObject({ ownerName: null });
    const card = await sidebar('GET', '/sidebar/api/customers/wmFbA/feedback');
    expect(card.body.items[0]).toMatchObject({ ownerName: '张三' });
    const history = (await api(app, 'GET', `/api/v1/feedback/tickets/${card.body.items[0].id}`)).body.events as { kind: string; actorName: string; actorUserid: string | null }[];
    expect(history.find((e) => e.kind === 'opened')).toMatchObject({ actorName: '系统', actorUserid: null });
    expect(history.find((e) => e.kind === 'contacted')).toMatchObject({ actorName: '张三', actorUserid: 'zhangsan' });
    // An operator's ADMIN_TOKEN is named as such, not shown as the variable's name.
    const [c2] = await ticketsOf('wmFbC');
    const byToken = (await api(app, 'GET', `/api/v1/feedback/tickets/${c2.id}`)).body.events as { kind: string; actorName: string }[];
    expect(byToken.find((e) => e.kind === 'resolved')?.actorName).toBe('管理员令牌');
  });

  it('escalates a ticket past its first-contact SLA to the configured admins once, with two instances running the job', async () => {
    const c = app.container;
    clock.advance(25 * 3_600_000);
    const overdue = await api(app, 'GET', '/api/v1/feedback/tickets?overdue=true');
    expect(overdue.body.items.length).toBeGreaterThanOrEqual(2);
    const before = received('sunqi').filter((t) => t.includes('【反馈超时】')).length;
    const other = buildScheduling(c, { instanceId: 'second-instance', clock });
    const runs = await Promise.all([c.scheduling.scheduler.runNow('feedback'), other.scheduler.runNow('feedback'), c.feedback.runPending()]);
    expect(runs).toHaveLength(3);
    clock.advance(60_000);
    await other.scheduler.runNow('feedback');
    const late = received('sunqi').filter((t) => t.includes('【反馈超时】')).slice(before);
    expect(late).toHaveLength(overdue.body.items.length);
    expect(late.find((t) => t.includes('顾客丙')), late.join('\n')).toMatch(/已超过 24 小时未联系（负责人：.*lisi）/);
    const again = await api(app, 'GET', `/api/v1/feedback/tickets/${overdue.body.items[0].id}`);
    expect(again.body.escalatedAt).not.toBeNull();
    expect(again.body.events.filter((e: { kind: string }) => e.kind === 'escalated')).toHaveLength(1);
    // The history names whom it told.
    expect(again.body.events.find((e: { kind: string }) => e.kind === 'escalated').note).toBe('已提醒：孙七（sunqi）');
  });

  it('answers the analysis: categories, time to first contact and to resolve, resolution rate', async () => {
    const res = await api(app, 'GET', '/api/v1/feedback/analysis?from=2026-12-01&to=2026-12-31');
    expect(res.status).toBe(200);
    const a = res.body;
    // wmFbA opened and reopened, the KF complaint, wmFbB's record, wmFbC's and wmFbLisi's scores.
    expect(a.openings).toBe(6);
    expect(a.tickets).toBe(5);
    // wmFbA's first round (contacted after 2 h, resolved after 3 h) and wmFbC's (resolved 2 minutes after opening).
    expect(a.resolved).toBe(2);
    expect(a.resolutionRate).toBe(0.333);
    expect(a.contactHours.median).toBe(1);
    expect(a.resolveHours.median).toBe(1.5);
    expect(a.withinSla).toBe(2);
    expect(a.escalated).toBeGreaterThanOrEqual(2);
    const logistics = a.byCategory.find((x: { category: string }) => x.category === '物流');
    expect(logistics).toMatchObject({ openings: 2, resolved: 1, resolutionRate: 0.5, medianResolveHours: 3 });
    expect(a.bySource.map((s: { source: string }) => s.source).sort()).toEqual(['kf', 'staff', 'survey']);
    expect((await api(app, 'GET', '/api/v1/feedback/analysis?from=2026-12-31&to=2026-12-01')).status).toBe(400);
  });

  it('says whether resolved customers scored higher in their next survey answer', async () => {
    // A month later, so the range holds only this customer's ticket.
    clock.set('2027-01-10T02:00:00Z');
    await buildCustomer(app.container, { externalUserId: 'wmFbImp', name: '顾客戊', owners: ['zhangsan'] });
    // The surveys feature's answers (migration 0040), as its service writes them: the detractor score, then a later one.
    const answer = async (id: number, score: number, at: Date) =>
      app.container.db.query(
        `INSERT INTO survey_answers (id, survey_id, invite_id, external_user_id, period, kind, score, comment, answers, via, submission, revisions, first_answered_at, answered_at)
         VALUES (?, 1, ?, 'wmFbImp', ?, 'nps', ?, NULL, '[]', 'link', ?, 0, ?, ?)`,
        [id, id, `p${id}`, score, `sub${id}`, at.getTime(), at.getTime()],
      );
    await answer(5001, 3, clock.now());
    await app.container.feedback.onSurveyScored({ externalUserid: 'wmFbImp', surveyId: 1, answerId: 5001, kind: 'nps', score: 3, comment: '发货太慢', answeredAt: clock.now() });
    const range = '/api/v1/feedback/analysis?from=2027-01-01&to=2027-01-31';
    const [t] = await ticketsOf('wmFbImp');
    clock.advance(3_600_000);
    expect((await api(app, 'POST', `/api/v1/feedback/tickets/${t.id}/resolve`, { note: '加急补发', category: '物流' })).status).toBe(200);
    expect((await api(app, 'GET', range)).body.scores).toEqual({ resolvedWithScore: 1, answeredAgain: 0, improved: 0, same: 0, worse: 0, averageChange: null });
    clock.advance(5 * 86_400_000);
    await answer(5002, 9, clock.now());
    const a = (await api(app, 'GET', range)).body;
    expect(a.scores).toEqual({ resolvedWithScore: 1, answeredAgain: 1, improved: 1, same: 0, worse: 0, averageChange: 6 });
    expect(a).toMatchObject({ openings: 1, resolved: 1, resolutionRate: 1 });
  });

  it('keeps only non-personal stubs of an erased customer\'s tickets, never notified or escalated again', async () => {
    const [open] = await ticketsOf('wmFbB');
    expect(open.status).toBe('open');
    expect((await api(app, 'POST', '/api/v1/customers/wmFbB/erase')).status).toBe(200);
    const rows = await app.container.db.query<{ external_user_id: string; summary: string; active_key: string | null; owner_userid: string | null; notified_at: unknown; escalated_at: unknown; category: string }>(
      'SELECT external_user_id, summary, active_key, owner_userid, notified_at, escalated_at, category FROM feedback_tickets WHERE id = ?',
      [open.id],
    );
    expect(rows[0]).toMatchObject({ summary: '', active_key: null, owner_userid: null, category: '质量' });
    expect(rows[0].external_user_id).toMatch(/^erased:/);
    expect(rows[0].notified_at).not.toBeNull();
    expect(rows[0].escalated_at).not.toBeNull();
    const notes = await app.container.db.query<{ note: string | null }>('SELECT note FROM feedback_ticket_events WHERE ticket_id = ?', [open.id]);
    expect(notes.every((n) => n.note === null)).toBe(true);
    const list = JSON.stringify((await api(app, 'GET', '/api/v1/feedback/tickets?pageSize=100')).body);
    expect(list).not.toContain('wmFbB');
    expect(list).not.toContain('杯子有破损');
  });

  it('keeps the category rules like keyword tag rules: a bad regex and a taken name are refused next to the field', async () => {
    const rules = await api(app, 'GET', '/api/v1/feedback/rules');
    expect(rules.body.items.length).toBeGreaterThan(3);
    expect((await api(app, 'POST', '/api/v1/feedback/rules', { name: '坏正则', pattern: '(', matchType: 'regex', category: '其他' })).body.error.details.fields.pattern).toBeDefined();
    expect((await api(app, 'POST', '/api/v1/feedback/rules', { name: '投诉', pattern: 'x', category: '服务' })).status).toBe(409);
    const made = await api(app, 'POST', '/api/v1/feedback/rules', { name: '包装', pattern: '包装|盒子', category: '包装', opensTicket: true });
    expect(made.status).toBe(201);
    expect((await api(app, 'GET', '/api/v1/feedback/rules')).body.categories).toContain('包装');
    expect((await api(app, 'PATCH', `/api/v1/feedback/rules/${made.body.id}`, { enabled: false })).body.enabled).toBe(false);
    expect((await api(app, 'DELETE', `/api/v1/feedback/rules/${made.body.id}`)).status).toBe(204);
    expect((await api(app, 'POST', '/api/v1/feedback/rules', { name: 'x', pattern: 'y', category: 'z' }, staffToken)).status).toBe(403);
  });
});
