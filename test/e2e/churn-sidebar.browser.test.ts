import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { CHROMIUM, launchSidebarBrowser, openSidebar } from '../helpers/sidebar-browser.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { buildCustomer } from '../factories/customers.js';

vi.setConfig({ testTimeout: 60_000 });

/**
 * The sidebar's customer card shows 流失风险 (docs/churn.md §Console) in a real Chromium at a WeCom sidebar's size: the
 * level in words with the score and the largest reasons, and nothing for a customer not yet scored. Screenshot
 * churn-sidebar.png under test-results/console/. One engine: the page does not depend on it.
 */
describe.skipIf(!CHROMIUM)('the sidebar customer card with a churn-risk score', () => {
  let app: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    app = await startTestApp('sqlite');
    await buildCustomer(app.container, { externalUserId: 'wmCsRisk', name: '风险客户', owners: ['zhangsan', 'wangwu'] });
    await buildCustomer(app.container, { externalUserId: 'wmCsNew', name: '新客户', owners: ['zhangsan'] });
    // Both members this customer follows left: the score names it. The other customer is scored only after this.
    await app.container.db.exec("UPDATE staff SET status = 'resigned' WHERE userid IN ('zhangsan', 'wangwu')");
    await app.container.churn.scoreAll({ now: new Date(), isDryRun: false });
    await app.container.db.exec("UPDATE staff SET status = 'active' WHERE userid = 'zhangsan'");
    await app.container.db.exec("DELETE FROM churn_risk WHERE external_user_id = 'wmCsNew'");
    browser = await launchSidebarBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('shows the level, the score and the reasons, and nothing before a score', async () => {
    const { context, page, problems } = await openSidebar(browser, app, 'zhangsan');
    await page.goto(`${app.url}/sidebar/?externalUserId=wmCsRisk`);
    // 今日待办 is the first tab; the archive is under 客户.
    await page.click('#tabs [data-tab="customer"]');
    const facts = page.locator('#facts');
    await expect.poll(() => facts.innerText(), { timeout: 15_000 }).toContain('流失风险');
    const risk = (await app.container.churn.of('wmCsRisk'))!;
    const levelWords = { high: '高风险', medium: '中风险', low: '低风险' }[risk.level];
    expect(await page.locator('[data-test="risk"]').innerText()).toBe(`${levelWords} · ${risk.score} 分`);
    expect(await facts.innerText()).toContain('跟进员工已离职，客户尚未继承给他人');
    expect(await facts.innerText()).not.toMatch(/owner_resigned|\bhigh\b|\bmedium\b/);
    const dir = resolve(import.meta.dirname, '../../test-results/console');
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: resolve(dir, 'churn-sidebar.png') });

    await page.goto(`${app.url}/sidebar/?externalUserId=wmCsNew`);
    // 今日待办 is the first tab; the archive is under 客户.
    await page.click('#tabs [data-tab="customer"]');
    await expect.poll(() => facts.innerText(), { timeout: 15_000 }).toContain('订单');
    expect(await facts.innerText()).not.toContain('流失风险');
    expect(problems).toEqual([]);
    await context.close();
  });
});
