import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ArchiveApp } from '../integration/customers.harness.js';
import { api } from '../helpers/app.js';
import { CHROMIUM, field, pickContent, startConsoleHarness, type ConsoleHarness } from '../helpers/console-browser.js';

vi.setConfig({ testTimeout: 120_000 });

const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000 });

/**
 * 客户群 → 群活码 and 入群欢迎语 in a real browser, signed in as 张三 (admin): the welcome tab says plainly that the group
 * owner picks the template in the WeCom client and what 通知成员 does; a template made in the form (its byte limit checked
 * before saving) lands in WeCom's library; a 群活码 made in the form over the owner's group with 自动建群; a code WeCom did
 * not take shows 创建失败 with the reason and 重试 creates it; customers who scan the code show in its 数据 drawer by day
 * and by group. Screenshots group-codes-0* under test-results/console/.
 */
describe.skipIf(!CHROMIUM)('群活码 and 入群欢迎语 tabs in a real browser', () => {
  let h: ConsoleHarness;
  let app: ArchiveApp;

  beforeAll(async () => {
    h = await startConsoleHarness();
    app = h.app;
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  it('keeps welcome templates, saying honestly that owners choose them in the client', async () => {
    const page = await (await h.signIn('张三')).newPage();
    await page.goto(`${app.url}/console/groups?tab=welcomes`);
    const honest = page.locator('[data-test="welcome-honest"]');
    await poll(() => honest.innerText()).toContain('群主需要在企业微信客户端');
    expect(await honest.innerText()).toContain('开启「通知成员」时，企业微信会通知成员');
    await poll(() => page.locator('[data-test="welcome-count"]').innerText()).toBe('已用 0 / 100 条');

    await page.click('[data-test="new-group-welcome"]');
    await field(page, 'group-welcome-name').fill('福利群欢迎');
    // 1,001 characters of Chinese are 3,003 bytes: refused before anything is sent.
    await field(page, 'group-welcome-text').fill('欢'.repeat(1001));
    await page.click('[data-test="group-welcome-save"]');
    await poll(() => page.locator('[data-test="group-welcome-form"]').innerText()).toContain('欢迎语文字最多 3000 字节');
    await field(page, 'group-welcome-text').fill('欢迎 %NICKNAME% 加入福利群，新人券在群公告里');
    await field(page, 'group-welcome-link-title').fill('新人礼包');
    await field(page, 'group-welcome-link-url').fill('https://shop.example.com/new');
    await poll(() => page.locator('[data-test="group-welcome-preview"]').innerText()).toContain('欢迎 王小明 加入福利群');
    await h.shot(page, 'group-codes-01-welcome-form');
    await page.click('[data-test="group-welcome-save"]');
    const list = page.locator('[data-test="group-welcomes"]');
    await poll(() => list.innerText()).toContain('已加入素材库');
    expect(await list.innerText()).toContain('链接：新人礼包');
    expect(await list.innerText()).toContain('已通知');
    const [template] = app.sandbox.store.groupWelcomeTemplates.values();
    expect(template).toMatchObject({ notify: true, content: { text: { content: '欢迎 %NICKNAME% 加入福利群，新人券在群公告里' } } });
    await h.shot(page, 'group-codes-02-welcomes');
    expect(h.problems).toEqual([]);
  });

  it('picks 素材库 items for a welcome template, one attachment of each kind with its own', async () => {
    const guide = (await api<{ id: string }>(app, 'POST', '/api/v1/content', { kind: 'link', title: '入群指南', url: 'https://shop.example.com/guide' })).body.id;
    const page = await (await h.signIn('张三')).newPage();
    await page.goto(`${app.url}/console/groups?tab=welcomes`);
    await poll(() => page.locator('[data-test="new-group-welcome"]').isEnabled()).toBe(true);
    await page.click('[data-test="new-group-welcome"]');
    await field(page, 'group-welcome-name').fill('指南欢迎');
    await field(page, 'group-welcome-text').fill('欢迎 %NICKNAME%，先看看入群指南');
    await field(page, 'group-welcome-link-title').fill('自带链接');
    await field(page, 'group-welcome-link-url').fill('https://shop.example.com/own');
    await pickContent(page, { query: '入群指南', title: '入群指南', picked: ['链接：入群指南'] });
    // The item's link and the form's own: WeCom's template holds one link.
    await page.click('[data-test="group-welcome-save"]');
    await poll(() => page.locator('[data-test="group-welcome-form"]').innerText()).toContain('入群欢迎语每种附件最多 1 个（企业微信规则），现在有 2 个链接');
    await h.shot(page, 'group-codes-06-welcome-content-refused');
    // That refusal is the server's answer, as meant; nothing else may go wrong.
    expect(h.problems).toEqual(['/console/groups: 400 POST /api/v1/group-welcome-templates']);
    h.problems.length = 0;
    await field(page, 'group-welcome-link-title').fill('');
    await field(page, 'group-welcome-link-url').fill('');
    await poll(() => page.locator('[data-test="group-welcome-preview"]').innerText()).toContain('另有 1 个素材库素材随欢迎语发出');
    await h.shot(page, 'group-codes-07-welcome-content');
    await page.click('[data-test="group-welcome-save"]');
    const row = page.locator('[data-test="group-welcomes"] .el-table__row', { hasText: '指南欢迎' });
    await poll(() => row.innerText()).toContain('1 个素材');
    expect(await row.innerText()).toContain('已加入素材库');
    const saved = (await api<{ items: { name: string; templateId: string; contentIds: string[] }[] }>(app, 'GET', '/api/v1/group-welcome-templates')).body.items.find((t) => t.name === '指南欢迎')!;
    expect(saved.contentIds).toEqual([guide]);
    expect(app.sandbox.store.groupWelcomeTemplates.get(saved.templateId)?.content).toEqual({
      text: { content: '欢迎 %NICKNAME%，先看看入群指南' },
      link: { title: '入群指南', url: 'https://shop.example.com/guide' },
    });
    await h.shot(page, 'group-codes-08-welcome-content-saved');
    expect(h.problems).toEqual([]);
  });

  it('creates a 群活码 with auto-create, parks one WeCom refused, and shows joins by day and group', async () => {
    const page = await (await h.signIn('张三')).newPage();
    const chat = [...app.sandbox.store.groupChats.values()].find((c) => c.owner === 'zhangsan')!;
    await page.goto(`${app.url}/console/groups?tab=codes`);
    await poll(() => page.locator('[data-test="group-codes"]').innerText()).toContain('还没有群活码');

    await page.click('[data-test="new-group-code"]');
    await page.click('[data-test="group-code-save"]');
    await poll(() => page.locator('[data-test="group-code-form"]').innerText()).toContain('请填写群活码名称');
    await field(page, 'group-code-name').fill('三月福利群');
    // The picker lists the archive's groups (GET /api/v1/groups) by name and member count.
    await page.locator('[data-test="group-code-chats"]').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: chat.name }).click();
    await page.keyboard.press('Escape');
    await page.click('[data-test="group-code-save"]');
    await poll(() => page.locator('[data-test="group-code-form"]').innerText()).toContain('开启自动建群时请填写群名前缀');
    await field(page, 'group-code-base-name').fill('福利群');
    await poll(() => page.locator('[data-test="group-code-form"]').innerText()).toContain('第一个自动建的群名为「福利群1」');
    await h.shot(page, 'group-codes-03-code-form');
    await page.click('[data-test="group-code-save"]');
    const codes = page.locator('[data-test="group-codes"]');
    await poll(() => codes.innerText()).toContain('使用中');
    expect(await codes.innerText()).toContain('开启：福利群1 起');
    await poll(() => page.locator('[data-test="group-code-qr"]').evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(100);

    // WeCom refuses the next create for a reason the form cannot fix: the code is parked with the reason, then 重试.
    app.sandbox.injectFault({ api: 'externalcontact/groupchat/add_join_way', errcode: 48002, count: 1 });
    await page.click('[data-test="new-group-code"]');
    await field(page, 'group-code-name').fill('门店海报');
    await page.locator('[data-test="group-code-chats"]').click();
    await page.keyboard.type(chat.chatId);
    await page.keyboard.press('Enter');
    await page.keyboard.press('Escape');
    await page.click('[data-test="group-code-auto"]');
    await page.click('[data-test="group-code-save"]');
    await poll(() => codes.innerText()).toContain('创建失败，待重试');
    expect(await page.locator('[data-test="group-code-error"]').innerText()).toContain('企业微信返回错误码 48002');
    await h.shot(page, 'group-codes-04-parked');
    await page.click('[data-test="group-code-retry"]');
    await poll(() => codes.innerText()).not.toContain('创建失败');

    // Five customers scan the first code; its drawer counts them on today's Shanghai date, in the owner's group.
    const first = (await api<{ items: { name: string; configId: string; id: string }[] }>(app, 'GET', '/api/v1/group-codes')).body.items.find((c) => c.name === '三月福利群')!;
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${app.url}/sandbox/_control/groups/join-by-code`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ configId: first.configId, name: `扫码${i}` }) });
      expect(res.status).toBe(200);
    }
    await poll(async () => (await api(app, 'GET', `/api/v1/group-codes/${first.id}/daily`)).body.total.joins).toBe(5);
    await page.locator('tr', { hasText: '三月福利群' }).locator('[data-test="group-code-stats"]').click();
    await poll(() => page.locator('[data-test="total-joins"]').innerText()).toBe('5');
    const byGroup = page.locator('[data-test="group-code-by-group"]');
    await poll(() => byGroup.innerText()).toContain(chat.name);
    await h.shot(page, 'group-codes-05-stats');
    expect(h.problems).toEqual([]);
  });
});
