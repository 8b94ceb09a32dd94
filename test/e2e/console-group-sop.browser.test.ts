import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ArchiveApp } from '../integration/customers.harness.js';
import { api } from '../helpers/app.js';
import { CHROMIUM, field, startConsoleHarness, type ConsoleHarness } from '../helpers/console-browser.js';
import { buildGroup } from '../factories/groups.js';

vi.setConfig({ testTimeout: 120_000 });

const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000 });
const hhmm = (d: Date) => new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit', hour12: false }).format(d);

/**
 * 客户群 → 群SOP in a real browser, signed in as 张三 (admin): a daily tip made in the editor, which warns that it uses
 * every group's whole quota; the plan list; and a reminder plan's report after it ran (one group confirmed by its owner
 * on the reminder's page, one fire missed while the bot was down). Screenshots group-sop-0* under test-results/console/.
 */
describe.skipIf(!CHROMIUM)('群SOP tab in a real browser', () => {
  let h: ConsoleHarness;
  let app: ArchiveApp;

  beforeAll(async () => {
    h = await startConsoleHarness();
    app = h.app;
    const created = new Date(Date.now() - 30 * 86_400_000);
    await buildGroup(app.container, { chatId: 'wrUiA', name: '北京门店1群', owner: 'zhangsan', createdAt: created, members: 30 });
    await buildGroup(app.container, { chatId: 'wrUiB', name: '北京门店2群', owner: 'zhangsan', createdAt: created, members: 12 });
    await buildGroup(app.container, { chatId: 'wrUiC', name: '员工群', owner: 'lisi', createdAt: created, members: 4 });
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  it('creates a daily tip in the editor, with the quota warning, and lists it', async () => {
    const admin = await h.signIn('张三');
    const page = await admin.newPage();
    await page.goto(`${app.url}/console/`);
    await page.locator('[data-test="menu"] .el-menu-item', { hasText: '客户群' }).click();
    await poll(() => new URL(page.url()).pathname).toBe('/console/groups');
    // The page opens on 群列表; 群SOP is a tab.
    await page.locator('[data-test="groups-tabs"] .el-tabs__item', { hasText: '群SOP' }).click();
    await poll(() => page.locator('[data-test="sop-plans"]').innerText()).toContain('还没有群SOP计划');

    await page.locator('[data-test="sop-new"]').click();
    await field(page, 'sop-name').fill('每日小贴士');
    // 北京门店, not 门店: the sandbox's demo corp has a 门店VIP客户群 of 张三's, synced into the archive too.
    await field(page, 'sop-name-pattern').fill('北京门店');
    await field(page, 'sop-step-title').fill('晚间小贴士');
    await field(page, 'sop-step-text').fill('今晚的护肤小贴士：睡前认真卸妆。');
    // Every day, one post: the whole default quota (as many a month as the month has days).
    await poll(() => page.locator('[data-test="sop-quota-warning"]').innerText()).toContain('将用完每个群的全部额度');
    await h.shot(page, 'group-sop-01-editor');
    await page.locator('[data-test="sop-save"]').click();
    const list = page.locator('[data-test="sop-plans"]');
    await poll(() => list.innerText()).toContain('每日小贴士');
    const text = await list.innerText();
    expect(text).toContain('群名含「北京门店」');
    expect(text).toContain('当前 2 个群');
    expect(text).toContain('每天 20:00');
    expect(text).toContain('用完额度');
    const saved = (await api(app, 'GET', '/api/v1/group-sops')).body.items[0];
    expect(saved).toMatchObject({ name: '每日小贴士', target: { namePattern: '北京门店' }, schedule: { kind: 'recurring', weekdays: [1, 2, 3, 4, 5, 6, 7] } });
    expect(saved.steps[0]).toMatchObject({ time: '20:00', action: 'post', title: '晚间小贴士' });
    await h.shot(page, 'group-sop-02-list');
    expect(h.problems).toEqual([]);
  });

  it("shows a reminder plan's report per step and group: done, missed, pending", async () => {
    // A reminder due half an hour ago every day; the plan is back-dated a day, so yesterday's fire passed unrun.
    const now = new Date();
    const due = new Date(now.getTime() - 30 * 60_000);
    const res = await api(app, 'POST', '/api/v1/group-sops', {
      name: '群公告提醒',
      target: { owners: ['zhangsan'], namePattern: '北京门店' },
      schedule: { kind: 'recurring', weekdays: [1, 2, 3, 4, 5, 6, 7] },
      steps: [{ time: hhmm(due), action: 'remind', operation: 'notice', title: '今日群公告', text: '今日活动：满100减20。' }],
    });
    expect(res.status).toBe(201);
    const dayAgo = now.getTime() - 26 * 3_600_000;
    await app.container.db.query('UPDATE group_sop_plans SET active_since = ?, scanned_until = ? WHERE id = ?', [dayAgo, dayAgo, res.body.id]);
    const counts = await app.container.scheduling.groupSop!.runDue(now);
    expect(counts).toMatchObject({ reminded: 2 });
    // zhangsan confirms 北京门店1群 on the reminder's page.
    const [fire] = await app.container.db.query<{ link_id: string }>("SELECT link_id FROM group_sop_fires WHERE plan_id = ? AND chat_id = 'wrUiA' AND status = 'reminded'", [res.body.id]);
    const url = app.container.groupSop.links.urlOf(fire.link_id, new Date(now.getTime() + 86_400_000))!;
    // The owner opens it on their phone (WeChat's browser at 375 px) and confirms 北京门店1群.
    const phone = await h.newContext();
    const owner = await phone.newPage();
    await owner.setViewportSize({ width: 375, height: 720 });
    await owner.goto(`${app.url}${new URL(url).pathname}`);
    expect(await owner.locator('main').innerText()).toContain('今日活动：满100减20。');
    await h.shot(owner, 'group-sop-04-owner-page');
    await owner.locator('.g', { hasText: '北京门店1群' }).getByRole('button', { name: '确认完成' }).click();
    await poll(() => owner.locator('main').innerText()).toContain('已记录，谢谢！');
    await h.shot(owner, 'group-sop-05-owner-confirmed');

    const admin = await h.signIn('张三');
    const page = await admin.newPage();
    await page.goto(`${app.url}/console/groups?tab=sop`);
    const list = page.locator('[data-test="sop-plans"]');
    await poll(() => list.innerText()).toContain('群公告提醒');
    await list.locator('.el-table__row', { hasText: '群公告提醒' }).locator('[data-test="sop-report"]').click();
    const lines = page.locator('[data-test="sop-report-lines"]');
    await poll(() => lines.innerText()).toContain('已完成');
    const text = await lines.innerText();
    expect(text).toContain('北京门店1群');
    expect(text).toContain('北京门店2群');
    expect(text).toContain('未完成');
    expect(text).toContain('到点时服务未运行，已过执行窗口');
    expect(text).toContain('已提醒群主，等待确认完成');
    const steps = await page.locator('[data-test="sop-report-steps"]').innerText();
    expect(steps.replace(/\s+/g, ' ')).toContain('今日群公告 提醒群主 1 0 2 1');
    await h.shot(page, 'group-sop-03-report');
    expect(h.problems).toEqual([]);
  });
  it('targets groups by a local label picked in the editor, and names the label in the list', async () => {
    // 重点门店 on 北京门店2群 (张三's) and 员工群 (李四's), not on 北京门店1群; 待激活 on none.
    const key = (await api(app, 'POST', '/api/v1/group-labels', { name: '重点门店' })).body;
    await api(app, 'POST', '/api/v1/group-labels', { name: '待激活' });
    expect((await api(app, 'POST', '/api/v1/group-labels/assign', { chatIds: ['wrUiB', 'wrUiC'], add: [key.id] })).status).toBeLessThan(300);

    const admin = await h.signIn('张三');
    const page = await admin.newPage();
    await page.goto(`${app.url}/console/groups?tab=sop`);
    await poll(() => page.locator('[data-test="sop-plans"]').isVisible()).toBe(true);
    await page.locator('[data-test="sop-new"]').click();
    await field(page, 'sop-name').fill('重点门店晚安');
    await page.locator('[data-test="sop-labels"]').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: '重点门店' }).click();
    await field(page, 'sop-step-title').fill('晚安问候');
    await field(page, 'sop-step-text').fill('晚安，明天见～');
    await field(page, 'sop-name').click();
    await poll(() => page.locator('[data-test="sop-labels"]').innerText()).toContain('重点门店');
    await h.shot(page, 'group-sop-06-label-picker');
    await page.locator('[data-test="sop-save"]').click();
    const row = page.locator('[data-test="sop-plans"] .el-table__row', { hasText: '重点门店晚安' });
    await poll(() => row.innerText()).toContain('标签 重点门店');
    expect(await row.innerText()).toContain('当前 2 个群');
    expect(await row.innerText()).not.toContain(key.id);
    await h.shot(page, 'group-sop-07-label-list');

    // Saved as the label's id; the plan counts exactly the two labelled groups.
    const saved = (await api(app, 'GET', '/api/v1/group-sops')).body.items.find((p: { name: string }) => p.name === '重点门店晚安');
    expect(saved.target).toEqual({ labelIds: [key.id] });
    expect((await api(app, 'GET', `/api/v1/group-sops/${saved.id}`)).body.groupCount).toBe(2);
    // And the runner fires in exactly those groups: a day back-dated, a dry run lists yesterday's 20:00 per group.
    const now = new Date();
    const dayAgo = now.getTime() - 26 * 3_600_000;
    await app.container.db.query('UPDATE group_sop_plans SET active_since = ?, scanned_until = ? WHERE id = ?', [dayAgo, dayAgo, saved.id]);
    const lines: string[] = [];
    await app.container.scheduling.groupSop!.runDue(now, { isDryRun: true, report: (l) => lines.push(l) });
    const fired = new Set(lines.filter((l) => l.startsWith('重点门店晚安\t')).map((l) => l.split('\t')[2]));
    expect([...fired].sort()).toEqual(['北京门店2群', '员工群'].sort());

    // Editing keeps the label and shows it picked.
    await row.getByRole('button', { name: '编辑' }).click();
    await poll(() => page.locator('[data-test="sop-labels"]').innerText()).toContain('重点门店');
    expect(h.problems).toEqual([]);
  });
});
