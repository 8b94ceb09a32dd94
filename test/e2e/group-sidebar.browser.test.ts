import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { CHROMIUM, launchSidebarBrowser, openSidebar } from '../helpers/sidebar-browser.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { FixedClock } from '../../src/shared/clock.js';
import { setUpGroupSidebar, type GroupSidebarWorld } from '../fixtures/group-sidebar.js';

vi.setConfig({ testTimeout: 60_000 });

/**
 * The sidebar opened in a customer group (docs/groups.md §Sidebar in a group chat) in a real Chromium at a WeCom
 * sidebar's size: the group, today's SOP step, the members with 群主/员工/客户/微信用户 and the customers' tags; the
 * owner's own customer opens their card and 返回客户群 comes back; someone not in the group is told so. Outside WeCom
 * the page takes `?chatId=` where WeCom's getCurExternalChat would answer. Screenshot group-sidebar.png under
 * test-results/console/. One engine: the page does not depend on it.
 */
describe.skipIf(!CHROMIUM)('the sidebar in a group chat', () => {
  let app: TestApp;
  let browser: Browser;
  let w: GroupSidebarWorld;
  const clock = new FixedClock('2026-06-10T02:00:00Z');

  beforeAll(async () => {
    app = await startTestApp('sqlite', { build: { clock } });
    await app.container.services.find((s) => s.name === 'inbox-workers')!.start();
    w = await setUpGroupSidebar(app);
    browser = await launchSidebarBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('shows the group, its SOP step of today and its members; opens the owner\'s customer and comes back', async () => {
    const { context, page, problems } = await openSidebar(browser, app, 'zhangsan');
    await page.goto(`${app.url}/sidebar/?chatId=${w.chatId}`);
    await expect.poll(() => page.locator('#group-name').innerText(), { timeout: 15_000 }).toBe('新品体验群');
    expect(await page.locator('#title').innerText()).toBe('客户群');
    expect(await page.locator('#group-facts').innerText()).toContain('5 人，其中客户 2 位');
    const step = page.locator('[data-test="sop-step"]');
    expect(await step.count()).toBe(1);
    expect(await step.innerText()).toContain('20:00 每日小贴士');
    expect(await step.innerText()).toContain('待执行');
    const members = page.locator('[data-test="group-member"]');
    expect(await members.count()).toBe(5);
    expect(await members.nth(0).innerText()).toContain('群主');
    const customer = page.locator(`[data-test="group-member"]`, { hasText: '顾客甲' });
    expect(await customer.innerText()).toContain('VIP');
    expect(await customer.innerText()).toContain('群昵称 甲');
    expect(await page.locator('[data-test="group-member"][data-kind="external"]').innerText()).toContain('微信用户');
    // Only the owner's own customer has a card link.
    expect(await page.locator('a.open').count()).toBe(1);
    expect(await page.locator('#view-customer').innerText()).not.toMatch(/\b(staff|customer|external|upcoming|post)\b/);
    const dir = resolve(import.meta.dirname, '../../test-results/console');
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: resolve(dir, 'group-sidebar.png'), fullPage: true });

    await customer.locator('a.open').click();
    await expect.poll(() => page.locator('#name').innerText(), { timeout: 15_000 }).toBe('顾客甲');
    await page.click('#back-group');
    await expect.poll(() => page.locator('#group').isVisible()).toBe(true);
    expect(await page.locator('#customer').isVisible()).toBe(false);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('tells a member who is not in the group that they cannot see it', async () => {
    const { context, page, problems } = await openSidebar(browser, app, 'lisi');
    await page.goto(`${app.url}/sidebar/?chatId=${w.chatId}`);
    await expect.poll(() => page.locator('#status').innerText(), { timeout: 15_000 }).toBe('没有找到这个客户群，或你不在群中');
    expect(await page.locator('#group').isVisible()).toBe(false);
    expect(problems.filter((p) => !p.startsWith('404 '))).toEqual([]);
    await context.close();
  });
});
