import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import type { ArchiveApp } from '../integration/customers.harness.js';
import { api, waitFor } from '../helpers/app.js';
import { CHROMIUM, field, startConsoleHarness, type ConsoleHarness } from '../helpers/console-browser.js';

vi.setConfig({ testTimeout: 120_000 });

interface Group { id: string; name: string; tags: { id: string; name: string }[] }
interface Rule { id: string; name: string; kind: string; pattern: string; matchType: string; tags: string[]; enabled: boolean }

/**
 * 标签 in a real browser, signed in as 张三 (admin): every tag of the library with its customers (the API's count, and
 * 3 for a tag the test gives three customers); a keyword rule created through the form (the client's checks, then
 * the server's 409 next to the name), edited, tried in the 测试消息 box, and firing on a real WeChat-KF message; a
 * tag group renamed (after the server's 409) and deleted with its tags, WeCom's copy too. Screenshots tag-* under
 * test-results/console/.
 */
describe.skipIf(!CHROMIUM)('标签 page: customer counts and rule editing in a real browser', () => {
  let h: ConsoleHarness;
  let app: ArchiveApp;
  let admin: BrowserContext | undefined;
  const signedIn = async (): Promise<BrowserContext> => (admin ??= await h.signIn('张三'));

  beforeAll(async () => {
    h = await startConsoleHarness();
    app = h.app;
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  const ruleItem = (page: Page, test: string) => page.locator('[data-test="rule-form"] .el-form-item', { has: page.locator(`[data-test="${test}"]`) });

  it('shows each tag with how many customers carry it', async () => {
    const three = (await api<{ items: { externalUserId: string }[] }>(app, 'GET', '/api/v1/customers?pageSize=3')).body.items.map((c) => c.externalUserId);
    expect((await api(app, 'POST', '/api/v1/customers/bulk-tags', { customers: three, add: ['活动/双十一'] })).status).toBe(200);
    const tags = (await api<{ items: Group[] }>(app, 'GET', '/api/v1/tags')).body.items.flatMap((g) => g.tags);
    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/tags`);
    const shown = page.locator('[data-test="tag-count"]');
    await expect.poll(() => shown.count()).toBe(tags.length);
    await expect.poll(async () => (await shown.allInnerTexts()).every((t) => /^\d+ 位客户$/.test(t))).toBe(true);
    const byId = Object.fromEntries(await shown.evaluateAll((els) => els.map((e) => [(e as unknown as { dataset: { tag: string } }).dataset.tag, (e as unknown as { textContent: string }).textContent.trim()])));
    for (const t of tags) {
      const one = (await api<{ customers: number }>(app, 'GET', `/api/v1/tags/${t.id}`)).body.customers;
      expect(byId[t.id], t.name).toBe(`${one} 位客户`);
    }
    const festival = tags.find((t) => t.name === '双十一')!;
    expect(byId[festival.id]).toBe('3 位客户');
    expect(Object.values(byId).some((v) => v !== '0 位客户' && v !== '3 位客户')).toBe(true);
    await h.shot(page, 'tag-01-library-counts');
    await page.close();
    expect(h.problems).toEqual([]);
  });

  it('creates a keyword rule, shows the server’s 409 next to the name, edits it, and it fires', async () => {
    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/tags`);
    await page.getByRole('tab', { name: /自动打标签规则/ }).click();
    await page.click('[data-test="new-rule"]');
    // The client's own checks first: nothing is sent.
    await page.click('[data-test="rule-save"]');
    await expect.poll(() => ruleItem(page, 'rule-name').locator('.el-form-item__error').innerText()).toBe('请填写规则名称');
    expect(await ruleItem(page, 'rule-pattern').locator('.el-form-item__error').innerText()).toBe('请填写关键词');
    expect(await ruleItem(page, 'rule-tags').locator('.el-form-item__error').innerText()).toBe('至少选择一个标签');
    await page.locator('[data-test="rule-match-type"] label', { hasText: '正则表达式' }).click();
    await field(page, 'rule-pattern').fill('(拼单');
    await page.click('[data-test="rule-save"]');
    await expect.poll(() => ruleItem(page, 'rule-pattern').locator('.el-form-item__error').innerText()).toBe('正则表达式无效');
    await page.locator('[data-test="rule-match-type"] label', { hasText: '包含关键词' }).click();
    await field(page, 'rule-pattern').fill('拼单');
    await page.locator('[data-test="rule-tags"]').click();
    await page.keyboard.type('意向/团购');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Escape');
    // A name another rule has (询价 is a default rule): the server's 409 shows next to the name.
    await field(page, 'rule-name').fill('询价');
    await page.click('[data-test="rule-save"]');
    await expect.poll(() => ruleItem(page, 'rule-name').locator('.el-form-item__error').innerText()).toBe('规则名已存在：询价');
    expect(await page.locator('[data-test="rule-error"]').count()).toBe(0);
    await h.shot(page, 'tag-02-rule-409');
    expect(h.problems).toEqual(['/console/tags: 409 POST /api/v1/tag-rules']);
    h.problems.length = 0;

    await field(page, 'rule-name').fill('团购意向');
    const sent = page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/api/v1/tag-rules');
    await page.click('[data-test="rule-save"]');
    expect((await sent).postDataJSON()).toEqual({ name: '团购意向', kind: 'keyword', pattern: '拼单', matchType: 'substring', audience: null, tags: ['意向/团购'], enabled: true });
    const row = page.locator('[data-test="tag-rules"] .el-table__row', { hasText: '团购意向' });
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.innerText()).toContain('包含关键词：拼单');
    let rule = (await api<{ items: Rule[] }>(app, 'GET', '/api/v1/tag-rules')).body.items.find((r) => r.name === '团购意向')!;
    expect(rule).toMatchObject({ kind: 'keyword', pattern: '拼单', matchType: 'substring', tags: ['意向/团购'], enabled: true });

    // Edit: a second keyword and a second tag.
    await row.locator('[data-test="rule-edit"]').click();
    expect(await field(page, 'rule-name').inputValue()).toBe('团购意向');
    await field(page, 'rule-pattern').fill('拼单|团购');
    await page.locator('[data-test="rule-tags"]').click();
    await page.keyboard.type('意向/多件');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Escape');
    await h.shot(page, 'tag-03-rule-edit');
    const patched = page.waitForRequest((r) => r.method() === 'PATCH' && new URL(r.url()).pathname === `/api/v1/tag-rules/${rule.id}`);
    await page.click('[data-test="rule-save"]');
    await patched;
    await expect.poll(() => row.innerText()).toContain('包含关键词：拼单|团购');
    rule = (await api<Rule>(app, 'GET', `/api/v1/tag-rules/${rule.id}`)).body;
    expect(rule).toMatchObject({ pattern: '拼单|团购', tags: ['意向/团购', '意向/多件'] });

    // The 测试消息 box: the edited keyword fires, with both tags.
    await field(page, 'rule-test-text').fill('团购有优惠吗');
    await page.click('[data-test="rule-test-run"]');
    const result = page.locator('[data-test="rule-test-result"]');
    await expect.poll(() => result.innerText()).toContain('团购意向');
    expect(await result.innerText()).toContain('意向/多件');
    await h.shot(page, 'tag-04-rule-test');

    // And for real: a WeChat-KF customer writes 想拼单, and gets both tags.
    const kf = await app.sandbox.sendKfMessage({ openKfId: 'wkSandboxKf01', text: '想拼单，怎么弄' });
    const tags = await waitFor(async () => {
      const t = (await api<{ tags: { name: string; group: string }[] }>(app, 'GET', `/api/v1/customers/${kf.externalUserId}`)).body?.tags ?? [];
      return t.some((x) => x.name === '团购') ? t : null;
    }, 10_000, 'the rule’s tags on the customer');
    expect(tags!.filter((t) => t.group === '意向').map((t) => t.name).sort()).toEqual(['团购', '多件'].sort());
    await page.close();
    expect(h.problems).toEqual([]);
  });

  it('renames a WeCom tag group (the server’s 409 next to the name first) and deletes it, saying what it takes', async () => {
    const three = (await api<{ items: { externalUserId: string }[] }>(app, 'GET', '/api/v1/customers?pageSize=3')).body.items.map((c) => c.externalUserId);
    // Two customers carry both of the group's tags, a third one of them: the delete touches three customers.
    expect((await api(app, 'POST', '/api/v1/customers/bulk-tags', { customers: three.slice(0, 2), add: ['待整理/老客', '待整理/复购'] })).status).toBe(200);
    expect((await api(app, 'POST', '/api/v1/customers/bulk-tags', { customers: three.slice(2), add: ['待整理/老客'] })).status).toBe(200);
    const before = (await api<{ items: Group[] }>(app, 'GET', '/api/v1/tags')).body.items;
    const group = before.find((g) => g.name === '待整理')!;
    const other = before.find((g) => g.id !== group.id)!;

    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/tags`);
    const card = (name: string) => page.locator('[data-test="tag-groups"] .group', { has: page.locator('.group-name', { hasText: new RegExp(`^${name}$`) }) });
    await expect.poll(() => card('待整理').count()).toBe(1);
    await card('待整理').locator('[data-test="group-rename"]').click();
    const nameItem = page.locator('[data-test="group-rename-form"] .el-form-item');
    expect(await field(page, 'group-rename-name').inputValue()).toBe('待整理');
    // Another group's name: the server's 409 shows next to the field, and nothing changes in WeCom.
    await field(page, 'group-rename-name').fill(other.name);
    await page.click('[data-test="group-rename-save"]');
    await expect.poll(() => nameItem.locator('.el-form-item__error').innerText()).toBe(`已有标签组「${other.name}」`);
    await h.shot(page, 'tag-05-group-rename-409');
    expect(h.problems).toEqual([`/console/tags: 409 PATCH /api/v1/tag-groups/${group.id}`]);
    h.problems.length = 0;
    expect(app.sandbox.store.findTagGroup(group.id)!.name).toBe('待整理');

    await field(page, 'group-rename-name').fill('老客维护');
    await page.click('[data-test="group-rename-save"]');
    await expect.poll(() => card('老客维护').count()).toBe(1);
    expect(await card('待整理').count()).toBe(0);
    expect(app.sandbox.store.findTagGroup(group.id)!.name).toBe('老客维护');

    // Delete: the confirmation says WeCom, two tags, three customers, and that it cannot be undone.
    await card('老客维护').locator('[data-test="group-delete"]').click();
    const box = page.locator('.el-message-box');
    await expect.poll(() => box.innerText()).toContain('将在企业微信中删除标签组「老客维护」及其中 2 个标签，3 位客户将不再带有这些标签。此操作不能撤销。');
    await h.shot(page, 'tag-06-group-delete-confirm');
    await box.getByRole('button', { name: '删除' }).click();
    await expect.poll(() => card('老客维护').count()).toBe(0);
    expect(app.sandbox.store.findTagGroup(group.id)!.isDeleted).toBe(true);
    expect((await api<{ items: Group[] }>(app, 'GET', '/api/v1/tags')).body.items.some((g) => g.id === group.id)).toBe(false);
    const customer = await api(app, 'GET', `/api/v1/customers/${three[0]}`);
    expect(JSON.stringify(customer.body)).not.toContain('老客');
    await h.shot(page, 'tag-07-group-deleted');
    await page.close();
    expect(h.problems).toEqual([]);
  });
});
