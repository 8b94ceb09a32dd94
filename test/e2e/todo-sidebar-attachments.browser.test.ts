import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { CHROMIUM, launchSidebarBrowser, openSidebar } from '../helpers/sidebar-browser.js';
import { api, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../helpers/app.js';
import { buildCustomer } from '../factories/customers.js';
import { MP4, PDF, png } from '../fixtures/content.js';

vi.setConfig({ testTimeout: 90_000 });

const SHOTS = resolve(process.cwd(), 'test-results/sidebar');
const LINKED_APPID = 'wx0123456789abcdef';

/**
 * 一键发送 of a journey task with 素材库 attachments, in a real Chromium with the sandbox playing the WeCom client
 * (docs/todo.md §One-tap send): one tap puts the text, the mini-program card, the video and the file into the chat, in
 * order, each as sendChatMessage takes it, and the sandbox (which refuses media ids it never issued or older than 3
 * days, as WeCom does) records each with a live media id. A send the client refuses halfway says which message and
 * that the ones before it went; 继续发送 sends the rest, so none goes twice. A task whose media is not fresh says which
 * attachment cannot go before anything is sent. Screenshots todo-att-01…04 under test-results/sidebar/.
 */
if (!CHROMIUM && process.env.CI) throw new Error('CI=true but no Chromium was found (set CHROMIUM_PATH or apt-get install chromium)');

describe.skipIf(!CHROMIUM)("a task's attachments sent with one tap, in a real browser", () => {
  let app: TestApp;
  let browser: Browser;
  let dir: string;
  const ids: Record<string, string> = {};

  async function upload(data: object, file: { name: string; bytes: Buffer }): Promise<string> {
    const form = new FormData();
    form.append('data', JSON.stringify(data));
    form.append('file', new Blob([new Uint8Array(file.bytes)]), file.name);
    const res = await fetch(`${app.url}/api/v1/content`, { method: 'POST', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` }, body: form });
    const body = (await res.json()) as { id: string };
    expect(res.status, JSON.stringify(body)).toBe(201);
    return body.id;
  }

  /** A journey whose one step is a staff task with these library items, entered by `externalUserId`; the task's id. */
  async function journeyTask(name: string, externalUserId: string, contentIds: string[]): Promise<string> {
    const created = await api(app, 'POST', '/api/v1/journeys', {
      name,
      definition: { trigger: { kind: 'manual' }, steps: [{ kind: 'task', title: '第3天：送上保修资料', delay: { kind: 'after', minutes: 0 }, text: '{{name}}您好，保修卡和开箱视频发您，有问题随时找我。', contentIds, dueHours: 24 }] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect((await api(app, 'POST', `/api/v1/journeys/${created.body.id}/status`, { status: 'active' })).status).toBe(200);
    expect((await api(app, 'POST', `/api/v1/journeys/${created.body.id}/enrol`, { externalUserIds: [externalUserId] })).body).toMatchObject({ entered: 1 });
    expect(await app.container.scheduling.journeys!.tick(new Date())).toMatchObject({ tasks: 1 });
    const [row] = await app.container.db.query<{ id: string }>('SELECT id FROM staff_tasks WHERE external_user_id = ?', [externalUserId]);
    return row.id;
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'todo-att-'));
    app = await startTestApp('sqlite', { overrides: { content: { dir, miniprogramAppIds: [LINKED_APPID] } } });
    await buildCustomer(app.container, { externalUserId: 'wmAtt1', name: '周女士', owners: ['zhangsan'] });
    await buildCustomer(app.container, { externalUserId: 'wmAtt2', name: '吴先生', owners: ['zhangsan'] });
    await app.container.db.exec("UPDATE staff SET name = '张三' WHERE userid = 'zhangsan'");
    ids.card = await upload({ kind: 'miniprogram', title: '积分商城', appId: LINKED_APPID, page: 'pages/mall/index' }, { name: 'cover.png', bytes: png(50, 40) });
    ids.video = await upload({ kind: 'video', title: '开箱视频' }, { name: 'unbox.mp4', bytes: MP4 });
    ids.file = await upload({ kind: 'file', title: '保修卡' }, { name: 'warranty.pdf', bytes: PDF });
    browser = await launchSidebarBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends the text, the mini-program, the video and the file in one tap; a refusal halfway resumes without sending twice', async () => {
    const taskId = await journeyTask('新客保修', 'wmAtt1', [ids.card, ids.video, ids.file]);
    const store = app.container.sandbox!.store;
    const lib = app.container.content.service;
    const fileMedia = (await lib.get(ids.file)).mediaId!;

    const { context, page, problems } = await openSidebar(browser, app, 'zhangsan');
    await page.goto(`${app.url}/sidebar/?externalUserId=wmAtt1&wwTest=1`);
    const card = page.locator(`[data-todo="task:${taskId}"]`);
    await expect.poll(() => card.count(), { timeout: 15_000 }).toBe(1);
    expect(await card.innerText()).toContain('附件 3 个：积分商城、开箱视频、保修卡');
    expect(await card.locator('[data-test="todo-send-problem"]').count()).toBe(0);
    await page.screenshot({ path: resolve(SHOTS, 'todo-att-01-ready.png'), fullPage: true });

    // The client refuses the file halfway (its media gone, as after 3 days): the card says which, and what went.
    const parked = store.media.get(fileMedia)!;
    store.media.delete(fileMedia);
    const refused = page.waitForResponse((r) => r.url().endsWith('/sandbox/_control/jssdk/chat-message') && r.status() === 400);
    await card.locator('button:has-text("一键发送")').click();
    await refused;
    const error = card.locator('[data-test="todo-send-error"]');
    await expect.poll(() => error.count()).toBe(1);
    expect(await error.innerText()).toBe('文件「保修卡」发送失败：企业微信不认这个素材（临时素材已失效）。前 3 条已发送，请稍后点「继续发送」发送其余的');
    expect(await card.locator('button[data-act="send"]').innerText()).toBe('继续发送');
    await page.screenshot({ path: resolve(SHOTS, 'todo-att-02-halfway.png'), fullPage: true });
    expect(store.chatMessages.map((m) => m.msgtype)).toEqual(['text', 'miniprogram', 'video']);
    expect((await app.container.todo.tasks.byIds([taskId])).get(taskId)!.status).toBe('open');

    // The sidebar closed and opened again remembers what went. Media back: 继续发送 sends the file only, then the
    // task is done.
    store.media.set(fileMedia, parked);
    await page.reload();
    await expect.poll(() => card.locator('button[data-act="send"]').innerText(), { timeout: 15_000 }).toBe('继续发送');
    await card.locator('button:has-text("继续发送")').click();
    await expect.poll(() => page.locator(`[data-todo="task:${taskId}"]`).count()).toBe(0);
    expect(await page.locator('#toast').innerText()).toBe('已发送，待办已完成');
    expect((await app.container.todo.tasks.byIds([taskId])).get(taskId)!.status).toBe('done');

    const sent = store.chatMessages;
    expect(sent.map((m) => [m.externalUserId, m.msgtype])).toEqual([
      ['wmAtt1', 'text'],
      ['wmAtt1', 'miniprogram'],
      ['wmAtt1', 'video'],
      ['wmAtt1', 'file'],
    ]);
    const [cardItem, video] = [await lib.get(ids.card), await lib.get(ids.video)];
    expect(sent[0].message).toEqual({ msgtype: 'text', text: { content: '周女士您好，保修卡和开箱视频发您，有问题随时找我。' } });
    expect(sent[1].message).toEqual({ msgtype: 'miniprogram', miniprogram: { appid: LINKED_APPID, title: '积分商城', imgUrl: cardItem.picUrl, page: 'pages/mall/index.html' } });
    expect(sent[2].message).toEqual({ msgtype: 'video', video: { mediaid: video.mediaId } });
    expect(sent[3].message).toEqual({ msgtype: 'file', file: { mediaid: fileMedia } });
    // Each media id is one the sandbox's media/upload issued, under its 3 days.
    for (const id of [video.mediaId!, fileMedia]) expect(Date.now() - store.media.get(id)!.createdAtMs).toBeLessThan(3 * 24 * 3600_000);
    await page.screenshot({ path: resolve(SHOTS, 'todo-att-03-sent.png'), fullPage: true });
    // The one refusal is the only failed answer the page met.
    expect(problems).toEqual([expect.stringMatching(/^400 .*\/sandbox\/_control\/jssdk\/chat-message$/)]);
    await context.close();
  });

  it('says which attachment cannot go, and sends nothing, while its media is not fresh; the media job makes it sendable', async () => {
    const taskId = await journeyTask('新客保修（二）', 'wmAtt2', [ids.video, ids.file]);
    // The video's media made more than 3 days ago, and the media job has not run since.
    await app.container.db.query('UPDATE content_items SET media_uploaded_at = ? WHERE id = ?', [Date.now() - 4 * 24 * 3600_000, ids.video]);
    const before = app.container.sandbox!.store.chatMessages.length;

    const { context, page, problems } = await openSidebar(browser, app, 'zhangsan');
    await page.goto(`${app.url}/sidebar/?externalUserId=wmAtt2&wwTest=1`);
    const card = page.locator(`[data-todo="task:${taskId}"]`);
    await expect.poll(() => card.count(), { timeout: 15_000 }).toBe(1);
    const problem = card.locator('[data-test="todo-send-problem"]');
    expect(await problem.innerText()).toBe('暂不能一键发送：视频「开箱视频」尚未上传到企业微信或即将过期，系统会在后台重新上传，请稍后再发');
    // The button waits for the media; 完成 is still there for a member who sent it another way.
    expect(await card.locator('button[data-act="send"]').isDisabled()).toBe(true);
    expect(await card.locator('button[data-act="done"]').isEnabled()).toBe(true);
    await page.screenshot({ path: resolve(SHOTS, 'todo-att-04-not-ready.png'), fullPage: true });
    // Nothing went, not even the text, and the task is still open.
    expect(app.container.sandbox!.store.chatMessages.length).toBe(before);
    expect((await app.container.todo.tasks.byIds([taskId])).get(taskId)!.status).toBe('open');

    // The hourly media job re-makes the stale media; the list prepared again offers the send, with the new id.
    const job = app.container.scheduling.jobs.get('content-media');
    await job.run({ at: new Date(), clock: { now: () => new Date() }, occasionKey: 'test', isDryRun: false, runId: null, log: app.log, report: () => undefined });
    await page.reload();
    await expect.poll(() => card.locator('button[data-act="send"]').isEnabled(), { timeout: 15_000 }).toBe(true);
    expect(await card.locator('[data-test="todo-send-problem"]').count()).toBe(0);
    await card.locator('button:has-text("一键发送")').click();
    await expect.poll(() => page.locator(`[data-todo="task:${taskId}"]`).count()).toBe(0);
    const sent = app.container.sandbox!.store.chatMessages.slice(before);
    expect(sent.map((m) => [m.externalUserId, m.msgtype])).toEqual([
      ['wmAtt2', 'text'],
      ['wmAtt2', 'video'],
      ['wmAtt2', 'file'],
    ]);
    expect(sent[1].message).toEqual({ msgtype: 'video', video: { mediaid: (await app.container.content.service.get(ids.video)).mediaId } });
    expect(problems).toEqual([]);
    await context.close();
  });
});
