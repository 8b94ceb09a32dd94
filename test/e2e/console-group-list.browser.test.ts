import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ArchiveApp } from '../integration/customers.harness.js';
import { api } from '../helpers/app.js';
import { CHROMIUM, field, startConsoleHarness, type ConsoleHarness } from '../helpers/console-browser.js';

vi.setConfig({ testTimeout: 120_000 });

const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000 });

/**
 * 客户群 → 群列表 in a real browser, signed in as 张三 (admin), after a full sync of the sandbox's demo groups: the list
 * shows every group with its owner and counts; a label made here and put on a group filters the list; the group's
 * drawer lists its members (customers linked, with how they joined) and who left; the customer's 客户详情 shows the
 * group. Screenshots group-list-0* under test-results/console/.
 */
describe.skipIf(!CHROMIUM)('群列表 tab in a real browser', () => {
  let h: ConsoleHarness;
  let app: ArchiveApp;

  beforeAll(async () => {
    h = await startConsoleHarness();
    app = h.app;
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  it('lists the groups, labels one, filters by the label and shows its members; the customer profile lists the group', async () => {
    const groups = [...app.sandbox.store.groupChats.values()];
    const vip = groups.find((g) => g.name === '门店VIP客户群')!;
    const leaver = vip.members.find((m) => m.type === 2)!.userid;
    await api(app, 'POST', '/sandbox/_control/groups/leave', { chatId: vip.chatId, memberIds: [leaver], quitScene: 1 });
    await poll(async () => (await api(app, 'GET', `/api/v1/groups/${vip.chatId}`)).body.departed?.length ?? 0).toBe(1);

    const page = await (await h.signIn('张三')).newPage();
    await page.goto(`${app.url}/console/groups`);
    const table = page.locator('[data-test="group-table"]');
    await poll(() => table.innerText()).toContain('门店VIP客户群');
    expect(await page.locator('[data-test="group-counts"]').innerText()).toContain(`共 ${groups.length} 个群`);

    await field(page, 'new-label').fill('高价值群');
    await page.click('[data-test="create-label"]');
    await poll(() => page.locator('.labels-bar').innerText()).toContain('高价值群');
    await table.locator('tr', { hasText: '门店VIP客户群' }).locator('.el-checkbox').click();
    await page.click('[data-test="assign-label"]');
    await page.locator('.el-select-dropdown__item:visible', { hasText: '高价值群' }).click();
    await page.click('[data-test="assign-add"]');
    await poll(() => table.locator('tr', { hasText: '门店VIP客户群' }).innerText()).toContain('高价值群');
    await h.shot(page, 'group-list-01-list');

    await page.click('[data-test="filter-label"]');
    await page.locator('.el-select-dropdown__item:visible', { hasText: '高价值群' }).click();
    await page.click('[data-test="group-search"]');
    await poll(() => page.locator('[data-test="group-counts"]').innerText()).toContain('共 1 个群');
    expect(await table.innerText()).not.toContain('新品体验群');

    await table.locator('.el-link', { hasText: '门店VIP客户群' }).click();
    const drawer = page.locator('[data-test="group-drawer"]');
    await poll(() => drawer.innerText()).toContain('当前成员');
    const members = await drawer.locator('[data-test="group-members"]').innerText();
    expect(members).toMatch(/群成员直接邀请|群成员邀请链接|扫描群二维码/);
    expect(members).toContain('客户');
    expect(await drawer.innerText()).toContain('被移出');
    expect(await drawer.innerText()).toContain('文明沟通，拒绝广告');
    await h.shot(page, 'group-list-02-drawer');

    const member = vip.members.find((m) => m.type === 2 && m.userid !== leaver)!.userid;
    await page.goto(`${app.url}/console/customers/${encodeURIComponent(member)}`);
    await poll(() => page.locator('[data-test="customer-groups"]').innerText()).toContain('门店VIP客户群');
    expect(await page.locator('[data-test="customer-groups"]').innerText()).toContain('在群中');
    await page.locator('[data-test="customer-groups"]').scrollIntoViewIfNeeded();
    await page.locator('[data-test="customer-groups"]').screenshot({ path: `${process.cwd()}/test-results/console/group-list-03-customer.png` });
    expect(h.problems).toEqual([]);
  });
});
