import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import type { ArchiveApp } from '../integration/customers.harness.js';
import { api } from '../helpers/app.js';
import { CHROMIUM, field, pickContent, startConsoleHarness, type ConsoleHarness } from '../helpers/console-browser.js';
import { buildScheduling, type SchedulingModule } from '../../src/container.js';
import { FixedClock } from '../../src/shared/clock.js';
import { crc32, deflateSync } from 'node:zlib';

vi.setConfig({ testTimeout: 120_000 });

/** expect.poll with room for a loaded machine (cancel withdraws tasks one WeCom call at a time). */
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000 });
/** A 1×1 PNG: the poster an operator uploads. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64');

/** A 240×140 PNG with a green gradient: what WeCom's image host serves for the uploaded poster in these tests. */
function posterPng(w = 240, h = 140): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(w, 0);
  header.writeUInt32BE(h, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) rows.set([7 + Math.round((x / w) * 120), 193 - Math.round((y / h) * 80), 96], y * (w * 3 + 1) + 1 + x * 3);
  }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}
const POSTER = posterPng();

interface Progress {
  staff: { userid: string; name: string; tasks: number; confirmedTasks: number; waitingTasks: number; rows: Record<string, number> }[];
  funnel: { planned: number; submitted: number; confirmed: number; sent: number; skipped: number; pending: number; expired: number };
  withdrawableTasks: number;
}

/**
 * 群发 in a real browser, signed in as 张三 (admin): the create page (visual audience builder prefilled from the URL,
 * text with {{name}}, a link and an image attachment) and its preview rendered by the server for a customer of the
 * audience; the broadcast run through the sandbox (planned and submitted as add_msg_template tasks); the detail page's
 * per-member progress and funnel agreeing with the API; one member confirming their tasks in the sandbox's 群发助手;
 * that member signed in as staff seeing only their own part; cancel saying how many unconfirmed tasks it withdraws; both writes in 操作日志.
 * Screenshots are bc-*.png under test-results/console/.
 */
describe.skipIf(!CHROMIUM)('群发 pages in a real browser', () => {
  let h: ConsoleHarness;
  let app: ArchiveApp;
  let admin: BrowserContext;
  let sched: SchedulingModule;
  // The test's own scheduling instance: no quiet hours (the run must not depend on the hour it runs at) and a clock it
  // moves, so the results poll comes due without waiting.
  const clock = new FixedClock(new Date());
  const AUDIENCE = 'tag:来源/线下活动';
  let id = '';
  /** The member who confirms their tasks, and later signs in as staff. */
  let member = { userid: '', name: '' };

  beforeAll(async () => {
    // The app's own scheduler runs too, and may take a minute's occasion first: without quiet hours of its own, it
    // cannot plan the broadcast to wait until 09:00 when the test runs in the evening (Asia/Shanghai).
    h = await startConsoleHarness({ scheduling: { settings: { quietHours: { start: '00:00', end: '00:00' } } } });
    app = h.app;
    sched = buildScheduling(app.container, { clock, instanceId: 'bc-browser', settings: { quietHours: { start: '00:00', end: '00:00' } } });
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  const progressApi = async (token?: string) => (await api<Progress>(app, 'GET', `/api/v1/broadcasts/${id}/progress`, undefined, token)).body;
  /** The funnel as the page shows it: label → count. */
  async function shownFunnel(page: Page): Promise<Record<string, number>> {
    const tags = await page.locator('[data-test="bc-funnel"] .el-tag').allInnerTexts();
    return Object.fromEntries(tags.map((t) => t.trim().match(/^(.*\S)\s+(\d+)$/)!.slice(1)).map(([k, n]) => [k, Number(n)]));
  }
  const staffRow = (page: Page, name: string) => page.locator('[data-test="bc-staff"] .el-table__row', { hasText: name });

  it('creates a broadcast with attachments from a prefilled audience, previewed for a customer of it', async () => {
    admin = await h.signIn('张三');
    // WeCom's image host answers the uploaded poster (registered after the harness's stand-in, so it wins).
    await admin.route(/^https:\/\/wework\.qpic\.cn\//, (route) => route.fulfill({ status: 200, contentType: 'image/png', body: POSTER }));
    const page = await admin.newPage();
    await page.goto(`${app.url}/console/broadcasts`);
    await poll(() => page.locator('[data-test="broadcasts"]').isVisible()).toBe(true);
    await page.click('[data-test="new-broadcast"]');
    await poll(() => new URL(page.url()).pathname).toBe('/console/broadcasts/new');
    // The customer list's 发起群发 opens this page with the selection as ?audience=.
    await page.goto(`${app.url}/console/broadcasts/new?audience=${encodeURIComponent(AUDIENCE)}`);
    await poll(() => field(page, 'audience-text').inputValue()).toBe(AUDIENCE);
    const expected = await h.count(AUDIENCE);
    expect(expected).toBeGreaterThan(2);
    await poll(() => page.locator('[data-test="audience-count"]').innerText()).toContain(`匹配 ${expected} 位客户`);

    // Submitting empty says what is missing next to each field, and sends nothing.
    await page.click('[data-test="bc-create"]');
    await poll(() => page.locator('[data-test="broadcast-form"]').innerText()).toContain('请填写群发名称');
    expect(await page.locator('[data-test="broadcast-form"]').innerText()).toContain('请填写消息内容');

    await field(page, 'bc-name').fill('线下活动回访');
    await field(page, 'bc-text').fill('{{name}}您好，感谢参加线下活动，本周到店有礼～');
    await page.click('[data-test="bc-add-attachment"]');
    await page.locator('[data-test="bc-add-link"]:visible').click();
    await field(page, 'bc-att-title').fill('活动回顾');
    await field(page, 'bc-att-url').fill('https://shop.example.com/event');
    await page.click('[data-test="bc-add-attachment"]');
    await page.locator('[data-test="bc-add-image"]:visible').click();
    // The image goes to WeCom's media/uploadimg (through the API) and comes back as a permanent URL.
    const chooser = page.waitForEvent('filechooser');
    await page.click('[data-test="bc-att-upload"]');
    await (await chooser).setFiles({ name: 'poster.png', mimeType: 'image/png', buffer: PNG });
    await poll(() => field(page, 'bc-att-picurl').inputValue()).toMatch(/^https:\/\/wework\.qpic\.cn\//);
    const imageUrl = await field(page, 'bc-att-picurl').inputValue();
    expect(app.sandbox.calls('media/uploadimg').filter((c) => c.errcode === 0)).toHaveLength(1);

    // The preview: the server renders {{name}} for the customer picked from the audience, with the sender's name.
    const chosen = page.locator('[data-test="bc-preview-customer"] .el-select__selected-item:not(.is-hidden)').first();
    await poll(() => chosen.innerText()).not.toBe('');
    const customerName = (await chosen.innerText()).trim();
    await poll(() => page.locator('[data-test="bc-bubble-text"]').innerText()).toBe(`${customerName}您好，感谢参加线下活动，本周到店有礼～`);
    await poll(() => page.locator('[data-test="bc-bubble-link"]').innerText()).toContain('活动回顾');
    // The image attachment shows as the picture itself in the phone, not an empty bubble.
    const shown = page.locator('[data-test="bc-bubble-image"] img');
    await poll(() => shown.evaluate((el) => { const img = el as unknown as { complete: boolean; naturalWidth: number; naturalHeight: number }; return img.complete ? `${img.naturalWidth}x${img.naturalHeight}` : ''; })).toBe('240x140');
    expect(await shown.isVisible()).toBe(true);
    expect(await page.locator('[data-test="bc-preview"] [data-test="chat-image-placeholder"]').count()).toBe(0);
    const meta = await page.locator('[data-test="bc-preview-meta"]').innerText();
    expect(meta).toContain(customerName);
    await h.shot(page, 'bc-01-create');

    const answered = page.waitForResponse((r) => r.url().endsWith('/api/v1/broadcasts') && r.request().method() === 'POST');
    await page.click('[data-test="bc-create"]');
    const created = await answered;
    expect(created.status()).toBe(201);
    expect(created.request().headers()['idempotency-key']).toMatch(/^[0-9a-f]{32}$/);
    id = ((await created.json()) as { id: string }).id;
    await poll(() => new URL(page.url()).pathname).toBe(`/console/broadcasts/${id}`);
    const stored = (await api<{ audience: string; message: { text: string; attachments: unknown[] } }>(app, 'GET', `/api/v1/broadcasts/${id}`)).body;
    expect(stored.audience).toBe(AUDIENCE);
    expect(stored.message.attachments).toEqual([
      { kind: 'link', title: '活动回顾', url: 'https://shop.example.com/event' },
      { kind: 'image', picUrl: imageUrl },
    ]);
    await poll(() => page.locator('[data-test="bc-status"]').innerText()).toMatch(/待发送|发送中/);
    await h.shot(page, 'bc-02-detail-scheduled');
    await page.close();
    expect(h.problems).toEqual([]);
  });

  it('runs it through the sandbox: per-member progress and the funnel agree with the API, and follow a confirmation', async () => {
    // Each run is one minute's occasion, shared with the app's own scheduler (whose minute run may have taken it, or
    // planned the broadcast inside quiet hours): the next minutes' runs plan and submit it.
    clock.set(new Date());
    let p = await progressApi();
    for (let i = 0; i < 3 && p.funnel.submitted === 0; i++) {
      clock.advance(60_000);
      await sched.scheduler.runNow('broadcasts');
      p = await progressApi();
    }
    expect(p.funnel.submitted).toBeGreaterThan(0);
    expect(p.staff.length).toBeGreaterThan(1);
    // Every task carries the two attachments to WeCom.
    const calls = app.sandbox.calls('externalcontact/add_msg_template').map((c) => c.params as { attachments?: { msgtype: string }[] });
    expect(calls.at(-1)!.attachments!.map((a) => a.msgtype)).toEqual(['link', 'image']);

    const page = await admin.newPage();
    // Here the image host refuses the picture (as qpic.cn may refuse another site's page): the phone shows a card
    // naming the image instead of an empty bubble.
    await page.route(/^https:\/\/wework\.qpic\.cn\//, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<html>forbidden</html>' }));
    await page.goto(`${app.url}/console/broadcasts`);
    await page.locator('[data-test="broadcasts"] .el-table__row', { hasText: '线下活动回访' }).locator('[data-test="bc-open"]').click();
    await poll(() => new URL(page.url()).pathname).toBe(`/console/broadcasts/${id}`);
    await poll(() => page.locator('[data-test="bc-status"]').innerText()).toBe('发送中');
    await poll(() => page.locator('[data-test="bc-bubble"] [data-test="chat-image-placeholder"]').innerText()).toBe('图片\n此处无法显示预览，客户收到的是这张图片');
    await poll(() => shownFunnel(page)).toMatchObject({ 计划发送: p.funnel.planned, 已生成群发任务: p.funnel.submitted, 员工已确认: 0, 已送达: 0 });
    for (const s of p.staff) {
      const row = staffRow(page, s.name);
      await poll(() => row.innerText()).toContain('待确认');
      expect((await row.locator('td').allInnerTexts()).map((t) => t.trim()).slice(2, 5)).toEqual([String(s.tasks), '0', String(s.waitingTasks)]);
    }
    await h.shot(page, 'bc-03-detail-sending');

    // One member (李四 when he has customers in it) sends their tasks from 群发助手 (the sandbox's control API); the
    // results job reads them back.
    // (Not 张三: he is the admin signed in, and this member later signs in as staff.)
    const confirmer = p.staff.find((s) => s.userid === 'lisi') ?? p.staff.find((s) => s.userid !== 'zhangsan')!;
    member = { userid: confirmer.userid, name: confirmer.name };
    const rows = (await api<{ items: { sender: string; msgId: string | null }[] }>(app, 'GET', `/api/v1/deliveries?broadcast=${id}&pageSize=200`)).body.items;
    const msgids = [...new Set(rows.filter((r) => r.sender === confirmer.userid && r.msgId).map((r) => r.msgId!))];
    expect(msgids).toHaveLength(confirmer.tasks);
    for (const msgid of msgids) {
      const res = await fetch(`${app.url}/sandbox/_control/groupmsg/confirm`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ msgid, userid: confirmer.userid }) });
      expect(res.status).toBe(200);
    }
    clock.advance(2 * 3_600_000);
    await sched.scheduler.runNow('delivery-results');
    const after = await progressApi();
    expect(after.funnel.confirmed).toBe(confirmer.rows.submitted);
    expect(after.staff.find((s) => s.userid === confirmer.userid)).toMatchObject({ confirmedTasks: confirmer.tasks, waitingTasks: 0 });
    await page.click('[data-test="bc-refresh"]');
    await poll(() => staffRow(page, confirmer.name).innerText()).toContain('已确认');
    await poll(() => shownFunnel(page)).toMatchObject({ 计划发送: after.funnel.planned, 员工已确认: after.funnel.confirmed, 已送达: after.funnel.sent });
    await h.shot(page, 'bc-04-detail-confirmed');
    await page.close();
    expect(h.problems).toEqual([]);
  });

  it('shows a staff member only their own part', async () => {
    await app.container.console.roles.set(member.userid, 'staff', 'test', { knownOnly: false });
    const staff = await h.signIn(member.name);
    const page = await staff.newPage();
    await page.goto(`${app.url}/console/broadcasts/${id}`);
    const rows = page.locator('[data-test="bc-staff"] .el-table__row');
    await poll(() => rows.count()).toBe(1);
    expect(await rows.first().innerText()).toContain(member.name);
    expect(await page.locator('[data-test="bc-cancel"]').count()).toBe(0);
    const own = (await progressApi((await app.container.tokens.create({ role: 'staff', userid: member.userid })).token)).funnel;
    await poll(() => shownFunnel(page)).toMatchObject({ 计划发送: own.planned, 员工已确认: own.confirmed });
    await h.shot(page, 'bc-05-detail-staff');
    await staff.close();
    expect(h.problems).toEqual([]);
  });

  it('reminds the members who have not confirmed (提醒成员群发), all or one, within WeCom’s 3 a day', async () => {
    const page = await admin.newPage();
    await page.goto(`${app.url}/console/broadcasts/${id}`);
    const before = await progressApi();
    const waiting = before.staff.filter((s) => s.waitingTasks > 0);
    expect(waiting.length).toBeGreaterThan(0);
    const tasks = waiting.reduce((n, s) => n + s.waitingTasks, 0);
    await poll(() => page.locator('[data-test="bc-remind"]').innerText()).toBe(`提醒未确认成员（${waiting.length}）`);
    await page.click('[data-test="bc-remind"]');
    const box = page.locator('.el-message-box');
    await poll(() => box.innerText()).toContain(`（${tasks} 个待确认的群发任务）`);
    expect(await box.innerText()).toContain('24 小时内最多提醒 3 次');
    await h.shot(page, 'bc-06a-remind-confirm');
    await box.getByRole('button', { name: '确定提醒' }).click();
    await poll(() => page.locator('.el-message').first().innerText()).toContain(`已提醒 ${waiting.length} 位成员在群发助手中确认发送（${tasks} 个任务）`);
    // The sandbox (WeCom) reminded each waiting task's member once.
    const reminders = async () => ((await (await fetch(`${app.url}/sandbox/_control/groupmsg/reminders`)).json()) as { items: { reminders: { userids: string[] }[] }[] }).items;
    expect((await reminders()).flatMap((t) => t.reminders.flatMap((r) => r.userids)).sort()).toEqual(waiting.flatMap((s) => Array(s.waitingTasks).fill(s.userid)).sort());
    // Counted per task, as WeCom limits them: a member with 3 tasks reminded once each reads 1/3, not 3.
    for (const s of waiting) await poll(() => page.locator(`[data-test="bc-reminded-${s.userid}"]`).innerText()).toBe('单个任务 24 小时内最多 1/3 次');

    // One member again, twice: the third reminder of the day for each of their tasks.
    // The member with the most waiting tasks (each customer is one task: the text has {{name}}).
    const one = [...waiting].sort((a, b) => b.waitingTasks - a.waitingTasks)[0];
    const other = waiting.find((s) => s.userid !== one.userid);
    for (let i = 0; i < 2; i++) {
      await page.click(`[data-test="bc-remind-${one.userid}"]`);
      await poll(() => box.innerText()).toContain(`提醒成员「${one.name}」`);
      await box.getByRole('button', { name: '确定提醒' }).click();
      await poll(() => box.count()).toBe(0);
    }
    expect(app.sandbox.calls('externalcontact/remind_groupmsg_send').length).toBe(tasks + 2 * one.waitingTasks);
    // A fourth (asked of the API: the page no longer offers it) is not sent, and the answer says when it may be.
    const fourth = await api<{ message: string }>(app, 'POST', `/api/v1/broadcasts/${id}/remind`, { userid: one.userid });
    expect(fourth.body.message).toMatch(new RegExp(`${one.waitingTasks} 个任务 24 小时内已提醒 3 次（企业微信上限），\\d+ 月 \\d+ 日 \\d\\d:\\d\\d 后可再提醒`));
    expect(app.sandbox.calls('externalcontact/remind_groupmsg_send').length).toBe(tasks + 2 * one.waitingTasks);
    // Every waiting task of that member is at 3/3: their 提醒 is disabled and its tooltip says why and until when; the
    // others can still be reminded.
    await poll(() => page.locator(`[data-test="bc-reminded-${one.userid}"]`).innerText()).toBe('单个任务 24 小时内最多 3/3 次');
    await poll(() => page.locator(`[data-test="bc-remind-${one.userid}"]`).isDisabled()).toBe(true);
    await page.hover(`[data-test="bc-remind-wrap-${one.userid}"]`);
    const tip = page.locator('.el-popper:visible', { hasText: '企业微信上限' });
    const what = one.waitingTasks === 1 ? '该成员待确认的群发任务 24 小时内已' : `该成员待确认的 ${one.waitingTasks} 个群发任务 24 小时内都已`;
    await poll(() => tip.innerText()).toMatch(new RegExp(`^${what}提醒 3 次（企业微信上限），\\d{4}/\\d\\d/\\d\\d \\d\\d:\\d\\d 后可再提醒$`));
    if (other) {
      expect(await page.locator(`[data-test="bc-remind-${other.userid}"]`).isDisabled()).toBe(false);
      expect(await page.locator('[data-test="bc-remind"]').innerText()).toBe(`提醒未确认成员（${waiting.length - 1}）`);
    }
    await h.shot(page, 'bc-06b-reminded');
    await page.close();
    expect(h.problems).toEqual([]);
  });

  it('cancels after a confirmation that names the unconfirmed tasks, and both writes are in 操作日志', async () => {
    const page = await admin.newPage();
    await page.goto(`${app.url}/console/broadcasts/${id}`);
    const before = await progressApi();
    expect(before.withdrawableTasks).toBeGreaterThan(0);
    await page.click('[data-test="bc-cancel"]');
    const box = page.locator('.el-message-box');
    await poll(() => box.innerText()).toContain(`将撤回 ${before.withdrawableTasks} 个未确认的群发任务`);
    await h.shot(page, 'bc-06-cancel-confirm');
    await box.getByRole('button', { name: '确定取消' }).click();
    await poll(() => page.locator('[data-test="bc-status"]').innerText()).toBe('已取消');
    await poll(() => page.locator('.el-message').first().innerText()).toContain(`已撤回 ${before.withdrawableTasks} 个群发任务`);
    const after = await progressApi();
    expect(after.withdrawableTasks).toBe(0);
    expect(app.sandbox.calls('externalcontact/cancel_groupmsg_send')).toHaveLength(before.withdrawableTasks);
    await poll(() => shownFunnel(page)).toMatchObject({ 已撤回或过期: after.funnel.expired, 员工已确认: after.funnel.confirmed });
    await h.shot(page, 'bc-07-detail-cancelled');

    await page.goto(`${app.url}/console/audit-log`);
    const table = page.locator('[data-test="audit"]');
    await poll(() => table.innerText()).toContain('群发 · 取消');
    expect(await table.innerText()).toContain('群发 · 新建');
    expect(await table.innerText()).toContain('群发 · 提醒成员群发');
    expect(await table.locator('.el-table__row', { hasText: '群发 · 取消' }).first().innerText()).toMatch(/张三[\s\S]*控制台/);
    await h.shot(page, 'bc-08-audit-log');
    await page.close();
    expect(h.problems).toEqual([]);
  });

  it('sends 素材库 items with a new broadcast through 「从素材库选择」', async () => {
    const guide = (await api<{ id: string }>(app, 'POST', '/api/v1/content', { kind: 'link', title: '线下活动回顾手册', url: 'https://shop.example.com/guide' })).body.id;
    const page = await admin.newPage();
    await page.goto(`${app.url}/console/broadcasts/new?audience=${encodeURIComponent(AUDIENCE)}`);
    await poll(() => field(page, 'audience-text').inputValue()).toBe(AUDIENCE);
    await field(page, 'bc-name').fill('活动手册补发');
    await field(page, 'bc-text').fill('{{name}}您好，活动手册请查收');
    await pickContent(page, { query: '回顾手册', title: '线下活动回顾手册', picked: ['链接：线下活动回顾手册'] });
    await h.shot(page, 'bc-09-content-picked');
    const answered = page.waitForResponse((r) => r.url().endsWith('/api/v1/broadcasts') && r.request().method() === 'POST');
    await page.click('[data-test="bc-create"]');
    const created = await answered;
    expect(created.status()).toBe(201);
    const made = ((await created.json()) as { id: string }).id;
    const stored = (await api<{ message: { contentIds?: string[] } }>(app, 'GET', `/api/v1/broadcasts/${made}`)).body;
    expect(stored.message.contentIds).toEqual([guide]);
    await page.close();
    expect(h.problems).toEqual([]);
  });
});
