import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { buildCustomer } from '../factories/customers.js';
import { FixedClock } from '../../src/shared/clock.js';
import { SurveyService } from '../../src/domain/surveys/survey.service.js';
import { OpaqueLinks } from '../../src/shared/opaque-link.js';
import { createHmac } from 'node:crypto';
import type { SurveyScored } from '../../src/domain/surveys/survey.types.js';

// docs/surveys.md: definitions (zod, zh-CN errors, audit-logged), invitations through the delivery ledger, the signed
// /s page (answer, replace, double submit, bad values, bad tokens, rate limits), points once, timeline, audiences and
// results; real HTTP round trips on each engine.

describe.each(testEngines())('满意度调查 surveys (%s)', (engine) => {
  let app: TestApp;
  const clock = new FixedClock('2026-11-10T02:00:00Z');
  let staffToken = '';
  let surveyId = 0;
  const links: Record<string, string> = {};

  /** The page at `url` as a client at `ip` (TRUST_PROXY=1: the address the proxy appended). */
  const open = async (url: string, ip = '203.0.113.7') => {
    const res = await fetch(url, { headers: { 'x-forwarded-for': ip, 'user-agent': 'Mozilla/5.0 MicroMessenger/8.0.50' } });
    return { status: res.status, text: await res.text(), headers: res.headers };
  };
  /** Post the page's form with these fields (the one-time id taken from the page unless given). */
  const answer = async (url: string, fields: Record<string, string>, ip = '203.0.113.7') => {
    const res = await fetch(url, { method: 'POST', headers: { 'x-forwarded-for': ip, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
    return { status: res.status, text: await res.text() };
  };
  const submissionOf = (html: string) => /name="submission" value="([^"]+)"/.exec(html)![1];
  const count = async (audience: string) => (await api(app, 'POST', '/api/v1/audiences/count', { audience })).body.count as number;
  const rows = <T>(sql: string, params: unknown[] = []) => app.container.db.query<T>(sql, params);

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock }, env: { TRUST_PROXY: '1', LOYALTY_PAGE_PER_MINUTE_TOKEN: '30', LOYALTY_PAGE_PER_MINUTE_ADDRESS: '200' } });
    for (const [id, owner] of [
      ['wmSvA', 'zhangsan'],
      ['wmSvB', 'zhangsan'],
      ['wmSvC', 'lisi'],
      ['wmSvOut', 'zhangsan'],
    ] as const) {
      await buildCustomer(app.container, { externalUserId: id, name: `客户${id.slice(4)}`, owners: [owner] });
    }
    expect((await api(app, 'PATCH', '/api/v1/customers/wmSvOut', { optedOut: true })).status).toBe(200);
    staffToken = (await app.container.tokens.create({ role: 'staff', userid: 'zhangsan' })).token;
  });
  afterAll(() => app?.close());

  it('refuses bad definitions with zh-CN errors per field, lets only operators write, and audit-logs the writes', async () => {
    const bad = await api(app, 'POST', '/api/v1/surveys', {
      name: '',
      questions: Array.from({ length: 11 }, () => ({ kind: 'nps', title: '推荐' })),
      message: '没有链接',
      rewardPoints: -1,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.fields).toMatchObject({
      name: '请填写问卷名称',
      questions: '一份问卷最多 10 道题',
      message: '邀请文案须包含 {{link}}（问卷链接的位置）',
      rewardPoints: '奖励积分不能为负数',
    });
    const badKind = await api(app, 'POST', '/api/v1/surveys', { name: 'x', questions: [{ kind: 'stars', title: '星级' }] });
    expect(badKind.body.error.details.fields['questions.0.kind']).toContain('题型须为 nps');
    const body = {
      name: '季度满意度调查',
      intro: '感谢您抽出 1 分钟。',
      questions: [
        { kind: 'nps', title: '您有多大可能把我们推荐给朋友？' },
        { kind: 'csat', title: '您对顾问的服务满意吗？', required: false },
        { kind: 'text', title: '还有什么想对我们说的？', required: false },
      ],
      rewardPoints: 20,
      period: 'quarter',
      trigger: 'manual',
      status: 'active',
      message: '{{name}}您好，{{staff}}想听听您的评价：{{link}}',
    };
    expect((await api(app, 'POST', '/api/v1/surveys', body, staffToken)).status).toBe(403);
    const created = await api(app, 'POST', '/api/v1/surveys', body);
    expect(created.status).toBe(201);
    surveyId = created.body.id;
    const updated = await api(app, 'PUT', `/api/v1/surveys/${surveyId}`, { ...body, intro: '感谢您抽出 1 分钟，您的意见对我们很重要。' });
    expect(updated.status).toBe(200);
    const audit = await rows<{ action: string; before_json: string | null }>("SELECT action FROM audit_log WHERE action LIKE 'surveys.%' ORDER BY id");
    expect(audit.map((a) => a.action)).toEqual(['surveys.create', 'surveys.update']);
    // Staff may read the definitions (the sidebar offers them).
    expect((await api(app, 'GET', '/api/v1/surveys', undefined, staffToken)).body.items[0].name).toBe('季度满意度调查');
  });

  it('plans invitations through the delivery ledger: the owner\'s mass-send task, opted-out skipped, never twice in the period', async () => {
    const sent = await api(app, 'POST', `/api/v1/surveys/${surveyId}/send`, { externalUserIds: ['wmSvA', 'wmSvB', 'wmSvC', 'wmSvOut'] });
    expect(sent.status).toBe(200);
    expect(sent.body).toMatchObject({ planned: 3, skipped: 1, duplicate: 0, alreadyThisPeriod: 0 });
    const ledger = await rows<{ external_user_id: string; status: string; kind: string; channel: string; sender_userid: string; text: string; occasion: string; priority: number; reason: string | null }>(
      "SELECT * FROM deliveries WHERE source = ? ORDER BY external_user_id",
      [`survey:${surveyId}`],
    );
    expect(ledger.map((r) => [r.external_user_id, r.status])).toEqual([
      ['wmSvA', 'planned'],
      ['wmSvB', 'planned'],
      ['wmSvC', 'planned'],
      ['wmSvOut', 'skipped'],
    ]);
    expect(ledger[0]).toMatchObject({ kind: 'survey', channel: 'mass_task', sender_userid: 'zhangsan', occasion: '2026-Q4#2026-11-10' });
    expect(Number(ledger[0].priority)).toBe(90);
    expect(ledger[3].reason).toMatch(/^opted_out/);
    for (const r of ledger.slice(0, 3)) {
      const url = /(http:\/\/\S+\/s\/\S+)/.exec(r.text)![1];
      // The link names nobody: no id, no name.
      expect(url).not.toMatch(/wmSv|客户/);
      expect(url).toMatch(/\/s\/s1\.[A-Za-z0-9_-]{22}\.[0-9a-z]+\.[A-Za-z0-9_-]{27}$/);
      links[r.external_user_id] = url;
    }
    expect(ledger[0].text).toContain('客户A您好');
    // Again, and on a later day of the quarter: nobody reached this period is planned again.
    expect((await api(app, 'POST', `/api/v1/surveys/${surveyId}/send`, { externalUserIds: ['wmSvA'] })).body).toMatchObject({ planned: 0, alreadyThisPeriod: 1 });
    clock.set('2026-11-12T02:00:00Z');
    expect((await api(app, 'POST', `/api/v1/customers/wmSvB/surveys/${surveyId}/send`, undefined, staffToken)).body).toMatchObject({ planned: 0, alreadyThisPeriod: 1 });
    // Staff cannot send to another member's customer.
    expect((await api(app, 'POST', `/api/v1/customers/wmSvC/surveys/${surveyId}/send`, undefined, staffToken)).status).toBe(404);
  });

  it('shows the survey in zh-CN with the PIPL line and no personal data, and records an answer with points, timeline and score', async () => {
    const page = await open(links.wmSvA);
    expect(page.status).toBe(200);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('content-security-policy')).toContain("form-action 'self'");
    expect(page.text).toContain('<html lang="zh-CN">');
    expect(page.text).toContain('您有多大可能把我们推荐给朋友？');
    expect(page.text).toContain('个人信息说明');
    expect(page.text).toContain('完成问卷可获得 20 积分');
    for (const raw of ['wmSvA', '客户A', 'zhangsan', '>nps<', '>csat<', 'detractor']) expect(page.text).not.toContain(raw);
    const res = await answer(links.wmSvA, { submission: submissionOf(page.text), q0: '4', q1: '2', q2: '顾问回复太慢了' });
    expect(res.status).toBe(200);
    expect(res.text).toContain('感谢您的反馈');
    expect(res.text).toContain('已为您累计 20 积分');
    const answers = await rows<{ id: number; kind: string; score: number; comment: string; staff_userid: string; revisions: number }>('SELECT * FROM survey_answers WHERE external_user_id = ?', ['wmSvA']);
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({ kind: 'nps', comment: '顾问回复太慢了', staff_userid: 'zhangsan' });
    expect(Number(answers[0].score)).toBe(4);
    const points = await api(app, 'GET', '/api/v1/customers/wmSvA/loyalty');
    expect(points.body.balance).toBe(20);
    expect(points.body.recent[0].words).toBe('完成满意度调查');
    const timeline = await rows<{ kind: string; summary: string }>("SELECT kind, summary FROM timeline_entries WHERE external_user_id = ? AND source = 'survey'", ['wmSvA']);
    expect(timeline).toEqual([{ kind: 'survey_answered', summary: '填写了问卷「季度满意度调查」，推荐意愿 4 分（0–10）' }]);
    // A detractor: the feedback feature heard it through onScored and opened one ticket for the owner.
    const tickets = await rows<{ source: string; owner_userid: string }>('SELECT source, owner_userid FROM feedback_tickets WHERE external_user_id = ?', ['wmSvA']);
    expect(tickets).toEqual([{ source: 'survey', owner_userid: 'zhangsan' }]);
    // The archive: staff see their own customer's answers; the comment is there for the owner to follow up.
    const archive = await api(app, 'GET', '/api/v1/customers/wmSvA/surveys', undefined, staffToken);
    expect(archive.body.items[0]).toMatchObject({ surveyName: '季度满意度调查', periodWords: '2026年第4季度', score: 4, comment: '顾问回复太慢了' });
    expect((await api(app, 'GET', '/api/v1/customers/wmSvC/surveys', undefined, staffToken)).status).toBe(404);
  });

  it('records a double submit once, and lets a second answer in the period replace the first (points still once)', async () => {
    const page = await open(links.wmSvB);
    const submission = submissionOf(page.text);
    const [one, two] = await Promise.all([answer(links.wmSvB, { submission, q0: '10' }), answer(links.wmSvB, { submission, q0: '10' })]);
    expect([one.status, two.status]).toEqual([200, 200]);
    const first = await rows<{ id: number; revisions: number }>('SELECT id, revisions FROM survey_answers WHERE external_user_id = ?', ['wmSvB']);
    expect(first).toHaveLength(1);
    expect(Number(first[0].revisions)).toBe(0);
    const again = await open(links.wmSvB);
    expect(again.text).toContain('再次提交将替换之前的回答');
    // The earlier answer is prefilled.
    expect(again.text).toMatch(/value="10" checked/);
    const replaced = await answer(links.wmSvB, { submission: submissionOf(again.text), q0: '8', q1: '5' });
    expect(replaced.text).toContain('您的回答已更新');
    expect(replaced.text).not.toContain('积分');
    const after = await rows<{ id: number; score: number; revisions: number }>('SELECT id, score, revisions FROM survey_answers WHERE external_user_id = ?', ['wmSvB']);
    expect(after.map((r) => [Number(r.id), Number(r.score), Number(r.revisions)])).toEqual([[Number(first[0].id), 8, 1]]);
    expect((await api(app, 'GET', '/api/v1/customers/wmSvB/loyalty')).body.balance).toBe(20);
    expect(await rows("SELECT id FROM timeline_entries WHERE external_user_id = 'wmSvB' AND source = 'survey'")).toHaveLength(2);
  });

  it('answers out-of-range or missing answers with 400 and the form again, writing nothing', async () => {
    const page = await open(links.wmSvC);
    const submission = submissionOf(page.text);
    const bad: Record<string, string>[] = [{ q0: '11' }, { q0: '-1' }, { q0: 'abc' }, { q0: '7', q1: '6' }, {}, { q0: '5', q2: 'x'.repeat(501) }];
    for (const fields of bad) {
      const res = await answer(links.wmSvC, { submission, ...fields });
      expect(res.status).toBe(400);
      expect(res.text).toContain('有题目未填写或填写有误');
      expect(res.text).toContain('<form method="post"');
    }
    expect((await answer(links.wmSvC, { submission: 'short', q0: '5' })).status).toBe(400);
    expect(await rows('SELECT id FROM survey_answers WHERE external_user_id = ?', ['wmSvC'])).toHaveLength(0);
  });

  it('gives a tampered, spliced, malformed or expired token a kind zh-CN page and no data', async () => {
    const token = links.wmSvC.split('/s/')[1];
    const [v, linkC, exp, sig] = token.split('.');
    const [, linkA, , sigA] = links.wmSvA.split('/s/')[1].split('.');
    const points = (await api(app, 'POST', '/api/v1/customers/wmSvA/loyalty/link')).body.url.split('/p/')[1] as string;
    const flip = (s: string) => s.slice(0, -1) + (s.endsWith('A') ? 'B' : 'A');
    const cases: [string, number, string][] = [
      ['abc', 400, '链接不完整'],
      [`${token}x`, 400, '链接不完整'],
      ['x'.repeat(3000), 400, '链接不完整'],
      [`${v}.${linkC}.${exp}.${flip(sig)}`, 403, '链接无效'],
      // Another customer's link id under this token's signature, and the other way round.
      [`${v}.${linkA}.${exp}.${sig}`, 403, '链接无效'],
      [`${v}.${linkC}.${exp}.${sigA}`, 403, '链接无效'],
      [`${v}.${linkC}.${(parseInt(exp, 36) + 86_400).toString(36)}.${sig}`, 403, '链接无效'],
      // The points page's token is not a survey token.
      [points, 400, '链接不完整'],
      [`s1.${points.slice(3)}`, 403, '链接无效'],
    ];
    for (const [t, status, words] of cases) {
      for (const method of ['GET', 'POST'] as const) {
        const res = method === 'GET' ? await open(`${app.url}/s/${t}`) : await answer(`${app.url}/s/${t}`, { q0: '9', submission: 'aaaaaaaaaaaaaaaaaaaaaa' });
        expect(res.status, `${method} ${t.slice(0, 40)}`).toBe(status);
        expect(res.text).toContain(words);
        expect(res.text).not.toContain('推荐给朋友');
      }
    }
    // Past the link's 14 days: an expired link says so kindly, and takes no answer.
    clock.set('2026-11-25T02:00:00Z');
    const expired = await open(links.wmSvC);
    expect(expired.status).toBe(410);
    expect(expired.text).toContain('问卷链接已过期');
    expect(expired.text).toContain('您无需再填写');
    expect((await answer(links.wmSvC, { q0: '9', submission: 'aaaaaaaaaaaaaaaaaaaaaa' })).status).toBe(410);
    expect(await rows('SELECT id FROM survey_answers WHERE external_user_id = ?', ['wmSvC'])).toHaveLength(0);
    clock.set('2026-11-12T02:00:00Z');
  });

  it('limits the page per token (429 with a zh-CN page) and per client address', async () => {
    const url = `${app.url}/s/s1.${'A'.repeat(22)}.zzzz.${'B'.repeat(27)}`;
    const statuses: number[] = [];
    for (let i = 0; i < 32; i++) statuses.push((await open(url, '198.51.100.1')).status);
    expect(statuses.slice(0, 30).every((s) => s === 403)).toBe(true);
    const limited = await open(url, '198.51.100.1');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(limited.text).toContain('访问太频繁');
    // Another token from a fresh address is fine; the address limit counts made-up tokens too.
    expect((await open(links.wmSvA, '198.51.100.2')).status).toBe(200);
    let last = 0;
    for (let i = 0; i < 201; i++) last = (await open(`${app.url}/s/bad${i}`, '198.51.100.3')).status;
    expect(last).toBe(429);
  });

  it('feeds the audiences nps:, csat<= and answered:, and the results per staff member', async () => {
    // wmSvA: NPS 4 (detractor), CSAT 2; wmSvB: NPS 8 (passive), CSAT 5.
    expect(await count('nps:detractor')).toBe(1);
    expect(await count('nps:passive')).toBe(1);
    expect(await count('nps:promoter')).toBe(0);
    expect(await count('csat<=2')).toBe(1);
    expect(await count('csat>=4')).toBe(1);
    expect(await count(`answered:${surveyId}`)).toBe(2);
    expect(await count(`NOT answered:${surveyId}`)).toBe(2);
    const bad = await api(app, 'POST', '/api/v1/audiences/count', { audience: 'nps:fans' });
    expect(bad.status).toBe(400);
    const results = await api(app, 'GET', `/api/v1/surveys/results?kind=nps&surveyId=${surveyId}&from=2026-11-01&to=2026-11-30`);
    expect(results.status).toBe(200);
    // One detractor, one passive: NPS (0 − 1) / 2 = −50.
    expect(results.body.total).toMatchObject({ responses: 2, nps: -50, promoters: 0, passives: 1, detractors: 1 });
    expect(results.body.byStaff).toEqual([expect.objectContaining({ key: 'zhangsan', responses: 2, nps: -50 })]);
    expect(results.body.invited).toBe(4);
    const csat = await api(app, 'GET', `/api/v1/surveys/results?kind=csat&from=2026-11-01&to=2026-11-30`);
    expect(csat.body.total).toMatchObject({ responses: 2, csat: 3.5, satisfiedPercent: 50 });
    expect((await api(app, 'GET', '/api/v1/surveys/results?kind=ces')).status).toBe(400);
  });

  it('calls onScored once per submission after the commit, and never for a replay', async () => {
    const heard: SurveyScored[] = [];
    const c = app.container;
    const erasureKey = c.keys.erasureKey;
    const sut = new SurveyService(
      c.db,
      c.surveys.repo,
      c.repos.timeline,
      c.archive.customers,
      c.loyalty,
      new OpaqueLinks('s1', createHmac('sha256', erasureKey).update('survey-link|v1').digest()),
      clock,
      c.log,
      'Asia/Shanghai',
      async (s) => {
        heard.push(s);
      },
    );
    await buildCustomer(c, { externalUserId: 'wmSvHook', owners: ['zhangsan'] });
    const survey = await sut.get(surveyId);
    const link = await sut.inviteLink(survey, 'wmSvHook', 'link', 'zhangsan');
    const token = link.path.slice(3);
    const form = { submission: 'hook-submission-0001', q0: '3', q2: '太贵了' };
    await sut.submit(token, form);
    await sut.submit(token, form);
    expect(heard).toHaveLength(1);
    expect(heard[0]).toMatchObject({ externalUserid: 'wmSvHook', surveyId, kind: 'nps', score: 3, comment: '太贵了' });
    await sut.submit(token, { ...form, submission: 'hook-submission-0002', q0: '9' });
    expect(heard.map((h) => h.score)).toEqual([3, 9]);
    expect(heard[1].answerId).toBe(heard[0].answerId);
  });

  it('keeps non-personal stubs of an erased customer\'s answers, and their link opens nothing', async () => {
    expect((await api(app, 'POST', '/api/v1/customers/wmSvA/erase')).status).toBe(200);
    const page = await open(links.wmSvA, '198.51.100.9');
    expect(page.status).toBe(404);
    expect(page.text).toContain('未找到问卷');
    const stubs = await rows<{ external_user_id: string; comment: string | null; score: number }>("SELECT external_user_id, comment, score FROM survey_answers WHERE external_user_id LIKE 'erased:%'");
    expect(stubs).toHaveLength(1);
    expect(stubs[0].comment).toBeNull();
    expect(Number(stubs[0].score)).toBe(4);
    expect(await count('nps:detractor')).toBe(0);
  });
});
