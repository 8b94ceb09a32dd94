import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { CHROMIUM, launchSidebarBrowser, openSidebar } from '../helpers/sidebar-browser.js';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { buildCustomer } from '../factories/customers.js';
import { addDays, zonedTimeToUtc } from '../../src/shared/dates.js';

vi.setConfig({ testTimeout: 90_000 });

const SHOTS = resolve(process.cwd(), 'test-results/sidebar');

/**
 * 今日待办 in a real Chromium at a WeCom sidebar's size (docs/todo.md §In the sidebar): the first tab lists the member's
 * day across staff tasks and notes due; a task is skipped with a reason and snoozed; opened in a customer's chat
 * (the sandbox's JS-SDK test mode plays the WeCom client, ?wwTest=1) the list narrows to that customer, and 一键发送
 * puts the task's prepared text and link into the chat through ww.sendChatMessage and closes the task; a note is
 * marked done; 客户已回复 on the customer's card ends a journey that exits on replies. Each step is checked on the
 * server; a journey's staff-task step appears in the owner's list, is sent from the chat and the journey counts it done.
 * Screenshots todo-01…06 under test-results/sidebar/.
 */
if (!CHROMIUM && process.env.CI) throw new Error('CI=true but no Chromium was found (set CHROMIUM_PATH or apt-get install chromium)');

describe.skipIf(!CHROMIUM)('今日待办 in the sidebar, in a real browser', () => {
  let app: TestApp;
  let browser: Browser;
  const ids: Record<string, string> = {};
  const taskOf = async (id: string) => (await app.container.todo.tasks.byIds([id])).get(id)!;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    app = await startTestApp('sqlite');
    await buildCustomer(app.container, { externalUserId: 'wmTdA', name: '王女士', owners: ['zhangsan'] });
    await buildCustomer(app.container, { externalUserId: 'wmTdB', name: '李先生', owners: ['zhangsan'] });
    await app.container.db.exec("UPDATE staff SET name = '张三' WHERE userid = 'zhangsan'");
    const now = Date.now();
    const t = app.container.todo.tasks;
    ids.greet = (
      await t.create({
        source: 'journey',
        sourceRef: 'mTdA:2',
        userid: 'zhangsan',
        externalUserId: 'wmTdA',
        title: '第3天：亲自问候',
        text: '王女士您好，杯子用得还习惯吗？有问题随时找我。',
        attachments: [{ kind: 'link', title: '保养指南', url: 'https://example.com/care', desc: '三步清洁' }],
        dueAt: new Date(now + 2 * 3_600_000),
      })
    ).task.id;
    const localToday = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Shanghai' }).format(new Date(now));
    // Due yesterday at noon, Beijing time: one day overdue at any hour of today (26 hours ago was two days before
    // today between 00:00 and 02:00, and the test failed then).
    const yesterdayNoon = zonedTimeToUtc(addDays(localToday, -1), '12:00', 'Asia/Shanghai');
    ids.late = (await t.create({ source: 'journey', sourceRef: 'mTdB:3', userid: 'zhangsan', externalUserId: 'wmTdB', title: '第7天：问问使用感受', text: '李先生您好，用了一周感觉怎么样？', attachments: [], dueAt: yesterdayNoon })).task.id;
    ids.skip = (await t.create({ source: 'manual', sourceRef: 'zhangsan:tdskip01', userid: 'zhangsan', externalUserId: 'wmTdB', title: '寄样品', text: '', attachments: [], dueAt: new Date(now + 3_600_000) })).task.id;
    ids.note = (await app.container.archive.notes.add('wmTdA', { text: '确认收货地址', dueDate: localToday }, { role: 'staff', userid: 'zhangsan' })).id;
    browser = await launchSidebarBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it("lists the member's day on the first tab, skips with a reason and snoozes", async () => {
    const { context, page, problems } = await openSidebar(browser, app, 'zhangsan');
    await page.goto(`${app.url}/sidebar/`);
    expect(await page.locator('#tabs button').first().innerText()).toContain('今日待办');
    const items = page.locator('#todo-list [data-test="todo-item"]');
    await expect.poll(() => items.count(), { timeout: 15_000 }).toBe(4);
    expect(await page.locator('#tabs button').first().innerText()).toBe('今日待办 (4)');
    expect(await page.locator('#todo-status').innerText()).toMatch(/4 项待办，其中 1 项已逾期/);
    // Overdue first, in words; each with its customer.
    const first = await items.first().innerText();
    expect(first).toContain('第7天：问问使用感受');
    expect(first).toContain('已逾期 1 天');
    expect(first).toContain('客户：李先生');
    const all = await page.locator('#todo-list').innerText();
    expect(all).toContain('旅程任务');
    expect(all).toContain('跟进提醒');
    expect(all).toContain('确认收货地址');
    // Outside the customer's chat the prepared content is copied, not sent.
    expect(all).toContain('在与该客户的聊天中打开侧边栏，可一键发送到聊天。');
    expect(all).not.toMatch(/\b(journey|manual|task|note)\b/);
    await page.screenshot({ path: resolve(SHOTS, 'todo-01-day.png'), fullPage: true });

    // Skip with a reason.
    const skip = page.locator(`[data-todo="task:${ids.skip}"]`);
    await skip.locator('button[data-act="skip"]').click();
    await skip.locator('[data-skip] textarea').fill('客户出差，下周再联系');
    await page.screenshot({ path: resolve(SHOTS, 'todo-02-skip.png'), fullPage: true });
    await skip.locator('button:has-text("确认跳过")').click();
    await expect.poll(() => page.locator(`[data-todo="task:${ids.skip}"]`).count()).toBe(0);
    expect(await taskOf(ids.skip)).toMatchObject({ status: 'skipped', skipReason: '客户出差，下周再联系' });

    // Snooze the overdue one until tomorrow 09:00: it moves under 已推迟.
    const late = page.locator(`#todo-list [data-todo="task:${ids.late}"]`);
    await late.locator('button[data-act="snooze"]').click();
    await late.locator('button:has-text("明天 09:00")').click();
    await expect.poll(() => page.locator(`#todo-snoozed [data-todo="task:${ids.late}"]`).count()).toBe(1);
    expect(await page.locator('#todo-snoozed').innerText()).toMatch(/已推迟到 明天 09:00/);
    const snoozed = await taskOf(ids.late);
    expect(snoozed.status).toBe('open');
    expect(new Intl.DateTimeFormat('zh-CN', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit', hour12: false }).format(snoozed.snoozedUntil!)).toBe('09:00');
    expect(await items.count()).toBe(2);
    await page.screenshot({ path: resolve(SHOTS, 'todo-03-snoozed.png'), fullPage: true });
    expect(problems).toEqual([]);
    await context.close();
  });

  it("narrows to the chat's customer, sends a task's content into the chat in one tap, and marks a note done", async () => {
    const { context, page, problems } = await openSidebar(browser, app, 'zhangsan');
    await page.goto(`${app.url}/sidebar/?externalUserId=wmTdA&wwTest=1`);
    const items = page.locator('#todo-list [data-test="todo-item"]');
    await expect.poll(() => items.count(), { timeout: 15_000 }).toBe(2);
    await expect.poll(() => page.locator('#todo-scope').innerText()).toContain('只显示「王女士」的待办');
    // Inside the (test-mode) WeCom client, no "not in WeCom" notice, and the task can be sent here.
    expect(await page.locator('#notice').isHidden()).toBe(true);
    const greet = page.locator(`[data-todo="task:${ids.greet}"]`);
    expect(await greet.innerText()).toContain('附件 1 个：保养指南');
    await page.screenshot({ path: resolve(SHOTS, 'todo-04-in-chat.png'), fullPage: true });
    await greet.locator('button:has-text("一键发送")').click();
    await expect.poll(() => page.locator(`[data-todo="task:${ids.greet}"]`).count()).toBe(0);
    const sent = app.container.sandbox!.store.chatMessages;
    expect(sent.map((m) => [m.externalUserId, m.msgtype])).toEqual([
      ['wmTdA', 'text'],
      ['wmTdA', 'news'],
    ]);
    expect(sent[0].message).toEqual({ msgtype: 'text', text: { content: '王女士您好，杯子用得还习惯吗？有问题随时找我。' } });
    expect(sent[1].message).toMatchObject({ msgtype: 'news', news: { link: 'https://example.com/care', title: '保养指南', desc: '三步清洁' } });
    expect(await taskOf(ids.greet)).toMatchObject({ status: 'done' });

    await page.locator(`[data-todo="note:${ids.note}"] button:has-text("标记完成")`).click();
    await expect.poll(() => items.count()).toBe(0);
    expect(await page.locator('#todo-status').innerText()).toBe('这位客户今天没有待办');
    const [note] = await app.container.db.query<{ done_at: number | string | null }>('SELECT done_at FROM notes WHERE id = ?', [ids.note]);
    expect(note.done_at).not.toBeNull();

    // 查看全部待办 widens to the member's day (the snoozed task is under 已推迟).
    await page.click('#todo-scope a[data-scope="all"]');
    await expect.poll(() => page.locator('#todo-snoozed [data-test="todo-item"]').count()).toBe(1);
    expect(await items.count()).toBe(0);

    // A quick reply goes into the chat the same way, as the message the library prepared, and counts as a use.
    await page.click('#tabs [data-tab="replies"]');
    await expect.poll(() => page.locator('#replies [data-test="quick-reply"]').count()).toBeGreaterThan(0);
    expect(await page.locator('#replies-status').innerText()).toBe('点击即可发送到当前聊天');
    const used = page.waitForResponse((r) => /\/sidebar\/api\/quick-replies\/[^/]+\/sent$/.test(new URL(r.url()).pathname));
    await page.locator('#replies [data-test="quick-reply"]').first().click();
    expect((await used).status()).toBe(204);
    const replies = app.container.sandbox!.store.chatMessages.slice(2);
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ externalUserId: 'wmTdA', msgtype: 'text' });
    expect(String((replies[0].message as { text: { content: string } }).text.content)).not.toContain('{{');

    // 客户已回复 on the customer's card ends the journeys that exit on a reply (docs/journeys.md §Exits).
    const journey = await api(app, 'POST', '/api/v1/journeys', { name: '新客培育', definition: { trigger: { kind: 'manual' }, steps: [{ kind: 'message', title: '问候', delay: { kind: 'after', minutes: 60 }, text: '您好' }], exits: { replied: true } } });
    expect(journey.status, JSON.stringify(journey.body)).toBe(201);
    expect((await api(app, 'POST', `/api/v1/journeys/${journey.body.id}/status`, { status: 'active' })).status).toBe(200);
    expect((await api(app, 'POST', `/api/v1/journeys/${journey.body.id}/enrol`, { externalUserIds: ['wmTdA'] })).body).toMatchObject({ entered: 1 });
    await page.click('#tabs [data-tab="customer"]');
    await page.locator('#mark-replied').click();
    await expect.poll(() => page.locator('#toast').innerText()).toBe('已记录客户回复，1 个客户旅程已结束');
    await page.screenshot({ path: resolve(SHOTS, 'todo-05-replied.png') });
    const members = (await api(app, 'GET', `/api/v1/journeys/${journey.body.id}/members`)).body.items as { status: string; exitReason?: string }[];
    expect(members).toEqual([expect.objectContaining({ status: 'exited' })]);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("shows a journey's staff-task step in the owner's list, sent from the chat, and the journey sees it done", async () => {
    await buildCustomer(app.container, { externalUserId: 'wmTdJ', name: '新客小林', owners: ['zhangsan'] });
    const created = await api(app, 'POST', '/api/v1/journeys', {
      name: '新客问候',
      definition: { trigger: { kind: 'manual' }, steps: [{ kind: 'task', title: '第3天：亲自问候', delay: { kind: 'after', minutes: 0 }, text: '{{name}} 您好，用得还习惯吗？', dueHours: 24 }] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    expect((await api(app, 'POST', `/api/v1/journeys/${id}/status`, { status: 'active' })).status).toBe(200);
    expect((await api(app, 'POST', `/api/v1/journeys/${id}/enrol`, { externalUserIds: ['wmTdJ'] })).body).toMatchObject({ entered: 1 });
    const tick = () => app.container.scheduling.journeys!.tick(new Date());
    expect(await tick()).toMatchObject({ tasks: 1 });

    const { context, page, problems } = await openSidebar(browser, app, 'zhangsan');
    await page.goto(`${app.url}/sidebar/?externalUserId=wmTdJ&wwTest=1`);
    const item = page.locator('#todo-list [data-test="todo-item"]');
    await expect.poll(() => item.count(), { timeout: 15_000 }).toBe(1);
    const words = await item.innerText();
    expect(words).toContain('旅程任务');
    expect(words).toContain('第3天：亲自问候');
    expect(words).toContain('新客小林 您好，用得还习惯吗？');
    await page.screenshot({ path: resolve(SHOTS, 'todo-06-journey-task.png'), fullPage: true });
    await item.locator('button:has-text("一键发送")').click();
    await expect.poll(() => item.count()).toBe(0);
    expect(app.container.sandbox!.store.chatMessages.at(-1)).toMatchObject({ externalUserId: 'wmTdJ', message: { msgtype: 'text', text: { content: '新客小林 您好，用得还习惯吗？' } } });

    // The journey's next tick reads the task's state (no callback) and counts the step done.
    await tick();
    const members = (await api(app, 'GET', `/api/v1/journeys/${id}/members`)).body.items as { id: number }[];
    const detail = (await api(app, 'GET', `/api/v1/journeys/${id}/members/${members[0].id}`)).body as { runs: { kind: string; status: string }[] };
    expect(detail.runs).toEqual([expect.objectContaining({ kind: 'task', status: 'done' })]);
    expect(problems).toEqual([]);
    await context.close();
  });
});
