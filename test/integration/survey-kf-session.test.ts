import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, inboxIdle, startTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { startArchiveApp, type ArchiveApp } from './customers.harness.js';
import { buildScheduling } from '../../src/container.js';
import { KfSessionSurveys } from '../../src/domain/surveys/kf-session-survey.js';
import { silentLogger } from '../../src/shared/logger.js';
import { systemClock } from '../../src/shared/clock.js';
import type { WecomGateway } from '../../src/wecom/client/gateway.js';
import { WecomTransportError } from '../../src/wecom/client/errors.js';

// docs/surveys.md §After a WeChat-KF session: a servicer ends a KF session; the sandbox (over HTTP) sends the
// kf_msg_or_event callback, the inbox pulls the session_status_change event, the session-end survey is planned in the
// delivery ledger and sent at once with the event's msg_code (kf/send_msg_on_event); the customer answers on the
// signed page. A refused code leaves the invitation for kf/send_msg after the customer's next message, or lets it
// expire; quiet hours hold it; opt-out skips it; never twice per survey per period.

describe.each(testEngines())('the survey after a WeChat-KF session (%s)', (engine) => {
  let app: ArchiveApp;
  let surveyId = 0;
  let servicer = '';
  const KF = 'wkSurveyKf';

  /** A sandbox control call over HTTP, as an operator's script or the load generator makes it. */
  const control = async (path: string, body: unknown) => {
    const res = await fetch(`${app.url}/sandbox/_control/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status, await res.clone().text()).toBe(200);
    return res.json() as Promise<Record<string, unknown>>;
  };
  const customerWrites = async (text: string, externalUserId?: string) => (await control('kf/message', { openKfId: KF, externalUserId, text })).externalUserId as string;
  const endSession = (externalUserId: string) => control('kf/session-end', { openKfId: KF, externalUserId, servicerUserid: servicer });
  const sentTo = (ext: string) => app.sandbox.store.kfSent.filter((m) => m.externalUserId === ext);
  const ledger = (ext: string) =>
    app.container.db.query<{ id: number | string; status: string; channel: string; reason: string | null; msgid: string | null; text: string }>(
      'SELECT id, status, channel, reason, msgid, text FROM deliveries WHERE source = ? AND external_user_id = ? ORDER BY id',
      [`survey:${surveyId}`, ext],
    );
  const linkIn = (text: string) => /(http:\/\/127\.0\.0\.1:\d+\/s\/[A-Za-z0-9._~-]+)/.exec(text)![1];

  beforeAll(async () => {
    // No quiet hours in this app: the reply goes whenever the session ends (the quiet case builds its own scheduling).
    app = await startArchiveApp(engine, { scheduling: { settings: { quietHours: { start: '00:00', end: '00:00' } } } });
    servicer = [...app.sandbox.store.staff.keys()][0];
    const created = await api(app, 'POST', '/api/v1/surveys', {
      name: '客服满意度',
      status: 'active',
      trigger: 'kf_session_end',
      period: 'month',
      questions: [{ kind: 'csat', title: '您对本次客服满意吗？' }],
      message: '感谢您的咨询，请为本次服务打分：{{link}}',
      rewardPoints: 5,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    surveyId = created.body.id;
  }, 60_000);
  afterAll(async () => app?.close());

  it('sends the survey as the session end’s event reply within seconds, through the ledger, and the customer answers it', async () => {
    const ext = await customerWrites('你好，我的订单还没到');
    await endSession(ext);
    await waitFor(() => sentTo(ext).length > 0, 10_000, 'the event reply');
    const [sent] = sentTo(ext);
    expect(sent).toMatchObject({ via: 'event', openKfId: KF, msgtype: 'text' });
    const text = String((sent.body as { content: string }).content);
    expect(text).toMatch(/^感谢您的咨询，请为本次服务打分：http:\/\/127\.0\.0\.1:\d+\/s\//);
    await waitFor(async () => (await ledger(ext))[0]?.status === 'sent', 10_000, 'the ledger row sent');
    const rows = await ledger(ext);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ channel: 'kf', msgid: `wo-delivery-${rows[0].id}`, text });
    expect(app.sandbox.calls('kf/send_msg')).toEqual([]);

    // The customer opens the link in WeChat and answers: the answer credits the servicer and lands on the timeline.
    const page = await fetch(linkIn(text));
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('您对本次客服满意吗？');
    const submission = /name="submission" value="([^"]+)"/.exec(html)![1];
    const answered = await fetch(linkIn(text), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ submission, q0: '5' }).toString() });
    expect(answered.status).toBe(200);
    const [invite] = await app.container.db.query<{ via: string; staff_userid: string | null }>('SELECT via, staff_userid FROM survey_invites WHERE survey_id = ? AND external_user_id = ?', [surveyId, ext]);
    expect(invite).toEqual({ via: 'kf', staff_userid: servicer });
    const archive = (await api(app, 'GET', `/api/v1/customers/${ext}`)).body;
    const summaries = archive.timeline.map((e: { summary: string }) => e.summary);
    expect(summaries).toContain(`微信客服：会话已结束（接待人员 ${servicer}）`);
    expect(summaries.some((s: string) => s.includes('客服满意度'))).toBe(true);

    // The session's callback replayed, and the same customer's next session this month: no second message.
    await inboxIdle(app.container);
    const events = await app.container.db.query<{ id: number | string }>("SELECT id FROM inbox_events WHERE kind = 'event/kf_msg_or_event' ORDER BY id");
    await app.container.repos.kfCursors.set(KF, '', Date.now());
    for (const e of events) await app.container.inbox.replay(Number(e.id));
    await app.container.inboxProcessor.drain();
    await customerWrites('还有个问题', ext);
    await endSession(ext);
    await inboxIdle(app.container);
    expect(sentTo(ext)).toHaveLength(1);
    expect(await ledger(ext)).toHaveLength(1);
  });

  it('leaves a refused reply planned until the customer writes again, then sends it once with kf/send_msg; unanswered it expires', async () => {
    await control('faults', { api: 'kf/send_msg_on_event', errcode: 95007, count: 2 });
    const ext = await customerWrites('在吗？');
    const quiet = await customerWrites('咨询一下');
    await endSession(ext);
    await endSession(quiet);
    await inboxIdle(app.container);
    expect(sentTo(ext)).toEqual([]);
    const [row] = await ledger(ext);
    expect(row.status).toBe('planned');
    // Both refusals put their rows back to planned, the reason kept on the abandoned batch.
    const abandoned = await app.container.db.query<{ error: string }>("SELECT error FROM delivery_batches WHERE status = 'abandoned' AND channel = 'kf'");
    expect(abandoned).toHaveLength(2);
    expect(abandoned[0].error).toMatch(/^event reply not sent \(wecom 95007/);

    // The dispatcher, after the code's 20 s: the session is ended and the customer has not written, so it waits.
    const dispatcher = app.container.scheduling.dispatcher;
    await dispatcher.dispatch(new Date(Date.now() + 60_000));
    expect((await ledger(ext))[0].status).toBe('planned');
    expect(app.sandbox.calls('kf/send_msg').filter((c) => c.errcode !== undefined)).toEqual([]);

    // The customer writes again: the next dispatch sends the invitation with kf/send_msg, once.
    await customerWrites('我又来了', ext);
    await inboxIdle(app.container);
    await dispatcher.dispatch(new Date(Date.now() + 60_000));
    await dispatcher.dispatch(new Date(Date.now() + 120_000));
    expect(sentTo(ext).map((m) => m.via)).toEqual(['send_msg']);
    expect((await ledger(ext))[0].status).toBe('sent');

    // The other never writes again: 48 h after the end the invitation expires, unsent.
    await dispatcher.dispatch(new Date(Date.now() + 48 * 3_600_000 + 60_000));
    expect((await ledger(quiet)).map((r) => r.status)).toEqual(['expired']);
    expect(sentTo(quiet)).toEqual([]);
  });

  it('skips a customer who opted out, and holds the reply in quiet hours', async () => {
    const out = await customerWrites('退订');
    await waitFor(async () => (await api(app, 'GET', `/api/v1/customers/${out}`)).body?.optedOut === true, 10_000, 'the opt-out');
    await endSession(out);
    await inboxIdle(app.container);
    const [skipped] = await ledger(out);
    expect(skipped.status).toBe('skipped');
    expect(skipped.reason).toMatch(/^opted_out/);
    expect(sentTo(out)).toEqual([]);

    // Another instance whose quiet hours cover the whole day handles a session end: planned, not sent.
    const ext = await customerWrites('晚上好');
    await inboxIdle(app.container);
    const night = buildScheduling(app.container, { instanceId: 'kf-quiet', settings: { quietHours: { start: '00:00', end: '23:59' } } });
    const surveys = new KfSessionSurveys(() => app.container.surveys.service.list(), app.container.surveys.sender, () => night.ledger, (d, code, now) => night.dispatcher.replyOnEvent(d, code, now), systemClock, silentLogger);
    const outcome = await surveys.onSessionEnd({ externalUserId: ext, openKfId: KF, msgCode: 'MSGCODEunused', msgId: `evt-${ext}`, endedAt: new Date(), servicerUserid: null });
    expect(outcome).toBe('quiet');
    expect((await ledger(ext)).map((r) => r.status)).toEqual(['planned']);
    expect(sentTo(ext)).toEqual([]);
    // An end older than the 48 h window plans nothing; with no active session-end survey nothing happens either.
    expect(await surveys.onSessionEnd({ externalUserId: ext, openKfId: KF, msgCode: null, msgId: 'evt-old', endedAt: new Date(Date.now() - 49 * 3_600_000), servicerUserid: null })).toBe('stale');
    expect((await api(app, 'POST', `/api/v1/surveys/${surveyId}/status`, { status: 'paused' })).status).toBe(200);
    expect(await surveys.onSessionEnd({ externalUserId: 'wmNobody', openKfId: KF, msgCode: 'x', msgId: 'evt-none', endedAt: new Date(), servicerUserid: null })).toBe('no_survey');
  });
});

// docs/surveys.md §After a WeChat-KF session, step 5: a reply whose outcome is unknown (the request left, no answer
// came) is never repeated: the code cannot be asked again, so reconciliation fails the row as outcome_unknown.
describe.each(testEngines())('a session-end reply whose outcome is unknown (%s)', (engine) => {
  let app: TestApp;
  let lose = false;
  const lostAnswer = (real: WecomGateway): WecomGateway =>
    new Proxy(real, {
      get(target, prop) {
        const v: unknown = Reflect.get(target, prop, target);
        if (prop !== 'kfSendMsgOnEvent') return typeof v === 'function' ? v.bind(target) : v;
        return async (input: Parameters<WecomGateway['kfSendMsgOnEvent']>[0]) => {
          const res = await real.kfSendMsgOnEvent(input);
          if (lose) throw new WecomTransportError('kf/send_msg_on_event', 'timeout', true);
          return res;
        };
      },
    });

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { wecom: lostAnswer, scheduling: { settings: { quietHours: { start: '00:00', end: '00:00' } } } } });
    const created = await api(app, 'POST', '/api/v1/surveys', {
      name: '客服回访',
      status: 'active',
      trigger: 'kf_session_end',
      questions: [{ kind: 'nps', title: '推荐意愿' }],
      message: '请评价：{{link}}',
    });
    expect(created.status).toBe(201);
  }, 60_000);
  afterAll(() => app?.close());

  it('is failed as outcome_unknown by reconciliation and never sent again, even after the customer writes', async () => {
    const sandbox = app.container.sandbox!;
    const { externalUserId: ext } = await sandbox.sendKfMessage({ openKfId: 'wkLost', text: '你好' });
    await sandbox.endKfSession({ openKfId: 'wkLost', externalUserId: ext });
    lose = true;
    await app.container.archive.kf.pull('wkLost');
    lose = false;
    expect(sandbox.store.kfSent.map((m) => m.via)).toEqual(['event']);
    const row = async () => (await app.container.db.query<{ status: string; reason: string | null }>('SELECT status, reason FROM deliveries WHERE external_user_id = ?', [ext]))[0];
    expect((await row()).status).toBe('submitting');

    const dispatcher = app.container.scheduling.dispatcher;
    await dispatcher.dispatch(new Date(Date.now() + 10 * 60_000));
    expect(await row()).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^outcome_unknown/) });
    await sandbox.sendKfMessage({ openKfId: 'wkLost', externalUserId: ext, text: '收到了吗？' });
    await app.container.archive.kf.pull('wkLost');
    await dispatcher.dispatch(new Date(Date.now() + 20 * 60_000));
    expect(sandbox.store.kfSent).toHaveLength(1);
    expect(sandbox.calls('kf/send_msg')).toEqual([]);
  });
});
