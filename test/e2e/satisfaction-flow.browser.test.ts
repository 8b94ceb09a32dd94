import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { buildCustomer } from '../factories/customers.js';
import { FixedClock } from '../../src/shared/clock.js';

vi.setConfig({ testTimeout: 120_000 });

/**
 * The end to end (满意度与忠诚度, #14), against the sandbox, on each engine: a customer orders (points); the
 * survey goes out 3 days later through the delivery ledger (the surveys job); the customer answers 4 on the H5 page in
 * Chromium; a ticket opens for the owner, who sees it in the sidebar's API, contacts the customer and resolves it; the
 * survey's points are credited; a second order moves the tier up; the answer, the ticket and the points are in the
 * archive and the timeline (docs/surveys.md, docs/feedback.md, docs/loyalty.md).
 */
const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => p && existsSync(p));
if (!CHROMIUM && process.env.CI) throw new Error('CI=true but no Chromium was found (set CHROMIUM_PATH or apt-get install chromium)');

describe.skipIf(!CHROMIUM).each(testEngines())('order → survey → answer → ticket → points and tier (%s)', (engine) => {
  let app: TestApp;
  let browser: Browser;
  const clock = new FixedClock('2026-06-01T02:00:00Z');
  let cookie = '';
  /** A sidebar call as the owner (session cookie, and the header a cross-site page cannot send). */
  const sidebar = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${app.url}${path}`, {
      method,
      headers: { cookie, 'x-requested-with': 'XMLHttpRequest', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as { items: { id: number; status: string; summary: string }[] } };
  };

  beforeAll(async () => {
    // Quiet hours all day: the invitation stays planned in the ledger (the owner's mass-send task is not submitted).
    app = await startTestApp(engine, { build: { clock, scheduling: { settings: { quietHours: { start: '00:00', end: '23:59' } } } } });
    await buildCustomer(app.container, { externalUserId: 'wmFlow', name: '流程客户', owners: ['zhangsan'] });
    cookie = `wo_sidebar=${app.container.http!.sidebarAuth.sessions.issue('zhangsan').token}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--lang=zh-CN'] });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('runs the whole flow once, on real HTTP, the ledger and the page', async () => {
    const survey = await api(app, 'POST', '/api/v1/surveys', {
      name: '购物回访',
      status: 'active',
      trigger: 'first_order',
      triggerDays: 3,
      period: 'once',
      rewardPoints: 30,
      questions: [{ kind: 'nps', title: '您有多大可能把我们推荐给朋友？' }, { kind: 'text', title: '想对我们说的话', required: false }],
    });
    expect(survey.status).toBe(201);

    // Day 0: the order (520 yuan: 520 points, 普通).
    expect((await api(app, 'POST', '/api/v1/orders/import', { orders: [{ orderNo: 'FL-1', externalUserId: 'wmFlow', amount: 520, orderedAt: '2026-06-01 09:30' }] })).status).toBe(200);
    expect((await api(app, 'GET', '/api/v1/customers/wmFlow/loyalty')).body).toMatchObject({ balance: 520, tier: { name: '普通' } });

    // Day 3, 10:30: the surveys job plans the invitation through the ledger, a mass-send task for the owner.
    clock.set('2026-06-04T02:30:00Z');
    const job = await app.container.scheduling.jobs.get('surveys').run({ at: clock.now(), clock, occasionKey: '2026-06-04', isDryRun: false, runId: null, log: app.log, report: () => undefined });
    expect(job).toMatchObject({ planned: 1 });
    const [row] = await app.container.db.query<{ status: string; channel: string; sender_userid: string; text: string }>("SELECT status, channel, sender_userid, text FROM deliveries WHERE external_user_id = 'wmFlow' AND kind = 'survey'");
    expect(row).toMatchObject({ status: 'planned', channel: 'mass_task', sender_userid: 'zhangsan' });
    const url = /(http:\/\/\S+\/s\/\S+)/.exec(row.text)![1];

    // The customer answers 4 (NPS 0–6: a detractor) with a comment, on a phone-sized Chromium.
    const context = await browser.newContext({ viewport: { width: 375, height: 812 }, isMobile: true, locale: 'zh-CN', userAgent: 'Mozilla/5.0 MicroMessenger/8.0.47' });
    const page = await context.newPage();
    expect((await page.goto(url))?.status()).toBe(200);
    await page.locator('label:has(input[name="q0"][value="4"])').click();
    await page.locator('textarea[name="q1"]').fill('包装破损，客服也没回复');
    await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.locator('button[type="submit"]').click()]);
    await page.waitForLoadState();
    expect(await page.locator('main').innerText()).toContain('已为您累计 30 积分');
    await context.close();

    // The owner sees the ticket in the sidebar (a session opened now: the clock moved 3 days), contacts the customer
    // and resolves it.
    cookie = `wo_sidebar=${app.container.http!.sidebarAuth.sessions.issue('zhangsan').token}`;
    const tickets = await sidebar('GET', '/sidebar/api/customers/wmFlow/feedback');
    expect(tickets.status).toBe(200);
    const ticket = tickets.body.items[0];
    expect(ticket).toMatchObject({ status: 'open', summary: '包装破损，客服也没回复' });
    expect((await sidebar('POST', `/sidebar/api/feedback/tickets/${ticket.id}/contact`, {})).status).toBe(200);
    expect((await sidebar('POST', `/sidebar/api/feedback/tickets/${ticket.id}/resolve`, { note: '已补发，客户满意' })).status).toBe(200);

    // Points for the order and the survey; a second order moves the tier up (银卡 at 1,000).
    expect((await api(app, 'GET', '/api/v1/customers/wmFlow/loyalty')).body.balance).toBe(550);
    expect((await api(app, 'POST', '/api/v1/orders/import', { orders: [{ orderNo: 'FL-2', externalUserId: 'wmFlow', amount: 600, orderedAt: '2026-06-05 10:00' }] })).status).toBe(200);
    expect((await api(app, 'GET', '/api/v1/customers/wmFlow/loyalty')).body).toMatchObject({ balance: 1150, tier: { name: '银卡' } });

    // The archive and the timeline.
    const answers = (await api(app, 'GET', '/api/v1/customers/wmFlow/surveys')).body.items;
    expect(answers).toEqual([expect.objectContaining({ surveyName: '购物回访', kind: 'nps', score: 4, comment: '包装破损，客服也没回复' })]);
    const timeline = await app.container.db.query<{ kind: string; summary: string }>("SELECT kind, summary FROM timeline_entries WHERE external_user_id = 'wmFlow' ORDER BY occurred_at, id");
    const summaries = timeline.map((t) => t.summary).join('\n');
    expect(summaries).toContain('填写了问卷「购物回访」，推荐意愿 4 分（0–10）');
    expect(timeline.filter((t) => t.kind.startsWith('feedback')).length).toBeGreaterThanOrEqual(1);
    expect(await app.container.db.query("SELECT id FROM feedback_tickets WHERE external_user_id = 'wmFlow' AND status = 'resolved'")).toHaveLength(1);
  });
});
