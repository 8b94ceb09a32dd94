import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import { api } from '../helpers/app.js';
import { CHROMIUM, field, pickContent, startConsoleHarness, type ConsoleHarness } from '../helpers/console-browser.js';
import { buildScheduling, type SchedulingModule } from '../../src/container.js';
import { addGroup } from '../fixtures/groups.js';

vi.setConfig({ testTimeout: 120_000 });

const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000 });

/**
 * 客户群群发 in a real browser, signed in as 张三 (admin): the filters and the preview (groups, members, one task per
 * owner), the quota warning for a group whose owner already posted 30 of July's 31 mass messages themselves, sending
 * to 3 owners' groups (3 WeCom tasks), each owner's confirmation after one of them sends from 群发助手, and 提醒未发送的群主.
 * Screenshots are gb-*.png under test-results/console/.
 */
describe.skipIf(!CHROMIUM)('客户群群发 in a real browser', () => {
  let h: ConsoleHarness;
  let admin: BrowserContext;
  let sched: SchedulingModule;
  const chats: Record<string, string> = {};

  beforeAll(async () => {
    h = await startConsoleHarness();
    const c = h.app.container;
    // This test's own sender, without quiet hours: the run must not depend on the hour it runs at.
    sched = buildScheduling(c, { instanceId: 'gb-browser', settings: { quietHours: { start: '00:00', end: '00:00' } } });
    for (const [owner, name, n] of [['zhangsan', '会员福利群', 12], ['lisi', '会员福利二群', 8], ['wangwu', '会员福利上海群', 5]] as const) chats[owner] = await addGroup(c, { owner, name, customers: n });
    chats.sunqi = await addGroup(c, { owner: 'sunqi', name: '每日一贴群', customers: 6 });
    // sunqi posts every day from the client: used up to one below the month's quota (days of the month).
    const now = new Date();
    const [y, m] = [Number(now.toLocaleString('en', { timeZone: 'Asia/Shanghai', year: 'numeric' })), Number(now.toLocaleString('en', { timeZone: 'Asia/Shanghai', month: 'numeric' }))];
    const days = new Date(Date.UTC(y, m, 0)).getUTCDate();
    for (let i = 0; i < days - 1; i++) h.app.sandbox.memberGroupSend({ userid: 'sunqi', chatIds: [chats.sunqi], text: `每日一贴 ${i + 1}` });
    await sched.groupBroadcasts.quota.reconcile();
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  it('previews, warns about the quota, sends to 3 owners and shows each owner’s confirmation', async () => {
    admin = await h.signIn('张三');
    const page = await admin.newPage();
    await page.goto(`${h.app.url}/console/groups?tab=broadcasts`);
    await poll(() => page.locator('[data-test="group-broadcasts"]').isVisible()).toBe(true);

    // A group near its quota: the preview says so in words.
    await field(page, 'gb-name-pattern').fill('每日一贴');
    await page.click('[data-test="gb-preview"]');
    await poll(() => page.locator('[data-test="gb-quota-warning"]').innerText()).toContain('1 个群发送后将用完本期额度');
    expect(await page.locator('[data-test="gb-quota-groups"]').innerText()).toContain('每日一贴群');
    await h.shot(page, 'gb-01-quota-warning');

    // 会员福利, not 会员: the sandbox's demo corp has a 上海会员群, synced into the archive too.
    await field(page, 'gb-name-pattern').fill('会员福利');
    await page.click('[data-test="gb-preview"]');
    await poll(() => page.locator('[data-test="gb-preview-result"]').innerText()).toMatch(/客户群\s*3/);
    const shown = await page.locator('[data-test="gb-preview-result"]').innerText();
    expect(shown).toMatch(/群成员\s*28/);
    expect(shown).toMatch(/群主（群发任务）\s*3/);
    await poll(() => page.locator('[data-test="gb-quota-ok"]').innerText()).toContain('所选的群都还有余量');
    await field(page, 'gb-name').fill('会员日通知');
    await field(page, 'gb-text').fill('本周六会员日，全场九折，欢迎到店～');
    await h.shot(page, 'gb-02-preview');

    await page.click('[data-test="gb-send"]');
    await page.locator('.el-message-box button:has-text("确定发送")').click();
    await poll(() => page.locator('[data-test="gb-detail"]').isVisible()).toBe(true);
    const list = (await api<{ items: { id: string; name: string }[] }>(h.app, 'GET', '/api/v1/group-broadcasts')).body.items;
    expect(list.map((b) => b.name)).toEqual(['会员日通知']);
    const id = list[0].id;

    // The job submits the three owners' tasks; lisi sends hers from 群发助手; the next poll reads it.
    await sched.groupBroadcasts.sender.run(new Date());
    const groupTasks = () => h.app.sandbox.calls('externalcontact/add_msg_template').filter((c) => c.params.chat_type === 'group');
    expect(groupTasks()).toHaveLength(3);
    const lisiTask = [...h.app.sandbox.store.massTasks.values()].find((t) => t.chatType === 'group' && t.createType === 0 && t.senders[0].userid === 'lisi')!;
    h.app.sandbox.confirmGroupMsg({ msgid: lisiTask.msgid, userid: 'lisi' });
    await sched.groupBroadcasts.sender.run(new Date(Date.now() + 11 * 60_000));

    await page.reload();
    await page.locator('[data-test="gb-list"] .el-table__row', { hasText: '会员日通知' }).click();
    const progress = page.locator('[data-test="gb-owner-progress"]');
    await poll(() => progress.locator('.el-table__row', { hasText: '李四' }).innerText()).toContain('群主已发送');
    expect(await progress.locator('.el-table__row', { hasText: '张三' }).innerText()).toContain('待群主在群发助手确认');
    expect(await page.locator('[data-test="gb-detail"]').innerText()).toContain('已送达 1 个群');
    expect(await page.locator('[data-test="gb-detail-title"]').innerText()).toBe('群发「会员日通知」· 发送中 · 3 个群');
    await h.shot(page, 'gb-03-owners');

    await page.click('[data-test="gb-remind-all"]');
    await page.locator('.el-message-box button:has-text("确定提醒")').click();
    await poll(() => page.locator('.el-message').first().innerText()).toContain('已提醒 2 位成员');
    const reminded = h.app.sandbox.groupMsgReminders().flatMap((r) => r.reminders.flatMap((x) => x.userids));
    expect(reminded.sort()).toEqual(['wangwu', 'zhangsan']);
    await poll(() => progress.locator('.el-table__row', { hasText: '张三' }).innerText()).toContain('1/3');
    await h.shot(page, 'gb-04-reminded');
    expect((await api(h.app, 'GET', `/api/v1/group-broadcasts/${id}`)).body.rows).toMatchObject({ sent: 1, submitted: 2 });
    expect(h.problems).toEqual([]);
  });

  it('picks 素材库 items for a group broadcast; the owner’s task carries them', async () => {
    const menu = (await api<{ id: string }>(h.app, 'POST', '/api/v1/content', { kind: 'link', title: '秋季新品目录', url: 'https://shop.example.com/autumn' })).body.id;
    const page = await admin.newPage();
    await page.goto(`${h.app.url}/console/groups?tab=broadcasts`);
    await poll(() => page.locator('[data-test="group-broadcasts"]').isVisible()).toBe(true);
    await field(page, 'gb-name-pattern').fill('会员福利上海');
    await page.click('[data-test="gb-preview"]');
    await poll(() => page.locator('[data-test="gb-preview-result"]').innerText()).toMatch(/客户群\s*1/);
    await field(page, 'gb-name').fill('秋季新品');
    await field(page, 'gb-text').fill('秋季新品上架，目录请查收');
    await pickContent(page, { query: '新品目录', title: '秋季新品目录', picked: ['链接：秋季新品目录'] });
    await h.shot(page, 'gb-05-content-picked');
    await page.click('[data-test="gb-send"]');
    await page.locator('.el-message-box button:has-text("确定发送")').click();
    await poll(() => page.locator('[data-test="gb-detail"]').innerText()).toContain('另附 1 个素材');
    await h.shot(page, 'gb-06-content-sent');
    const created = (await api<{ items: { id: string; name: string; message: { contentIds: string[] } }[] }>(h.app, 'GET', '/api/v1/group-broadcasts')).body.items.find((b) => b.name === '秋季新品')!;
    expect(created.message.contentIds).toEqual([menu]);
    await sched.groupBroadcasts.sender.run(new Date(Date.now() + 20 * 60_000));
    const task = h.app.sandbox.calls('externalcontact/add_msg_template').filter((x) => x.params.chat_type === 'group' && x.params.sender === 'wangwu').at(-1)!;
    expect(task.params).toMatchObject({ text: { content: '秋季新品上架，目录请查收' }, attachments: [{ msgtype: 'link', link: expect.objectContaining({ title: '秋季新品目录', url: 'https://shop.example.com/autumn' }) }] });
    expect(h.problems).toEqual([]);
  });
  it('取消群发 on the detail, after a confirmation: the owners’ unsent tasks are withdrawn in WeCom, the sent one stays', async () => {
    const id = (await api<{ items: { id: string; name: string }[] }>(h.app, 'GET', '/api/v1/group-broadcasts')).body.items.find((b) => b.name === '会员日通知')!.id;
    const taskOf = (owner: string) =>
      [...h.app.sandbox.store.massTasks.values()].find((t) => t.chatType === 'group' && t.createType === 0 && t.recipients.some((r) => r.chatId === chats[owner]) && JSON.stringify(t.text).includes('会员日'))!;
    const page = await admin.newPage();
    await page.goto(`${h.app.url}/console/groups?tab=broadcasts`);
    await page.locator('[data-test="gb-list"] .el-table__row', { hasText: '会员日通知' }).click();
    await poll(() => page.locator('[data-test="gb-detail"]').isVisible()).toBe(true);
    await page.click('[data-test="gb-cancel"]');
    const box = page.locator('.el-message-box');
    await poll(() => box.innerText()).toContain('并撤回 2 个群主尚未在群发助手中发送的任务');
    expect(await box.innerText()).toContain('群主已发送的 1 个任务已送出，无法撤回');
    await h.shot(page, 'gb-07-cancel-confirm');
    await box.locator('button:has-text("确定取消")').click();
    await poll(() => page.locator('.el-message').first().innerText()).toContain('已撤回 2 个群主尚未发送的群发任务');
    await poll(() => page.locator('[data-test="gb-detail-title"]').innerText()).toBe('群发「会员日通知」· 已取消 · 3 个群');
    const progress = page.locator('[data-test="gb-owner-progress"]');
    expect(await progress.locator('.el-table__row', { hasText: '张三' }).innerText()).toContain('已取消');
    expect(await progress.locator('.el-table__row', { hasText: '李四' }).innerText()).toContain('群主已发送');
    // Nothing left to withdraw: no button to cancel again, nor to remind.
    expect(await page.locator('[data-test="gb-cancel"]').count()).toBe(0);
    expect(await page.locator('[data-test="gb-remind-all"]').count()).toBe(0);
    await h.shot(page, 'gb-08-cancelled');

    // In WeCom: zhangsan's and wangwu's tasks are withdrawn and can no longer be sent; lisi's stays sent.
    expect([taskOf('zhangsan').isCancelled, taskOf('wangwu').isCancelled, taskOf('lisi').isCancelled]).toEqual([true, true, false]);
    expect(() => h.app.sandbox.confirmGroupMsg({ msgid: taskOf('zhangsan').msgid, userid: 'zhangsan' })).toThrow();
    await sched.groupBroadcasts.sender.run(new Date(Date.now() + 30 * 60_000));
    expect((await api(h.app, 'GET', `/api/v1/group-broadcasts/${id}`)).body).toMatchObject({ status: 'cancelled', rows: { sent: 1, cancelled: 2, submitted: 0 } });
    expect(h.problems).toEqual([]);
  });
});
