import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Browser } from 'playwright-core';
import { CHROMIUM, launchSidebarBrowser, openSidebar } from '../helpers/sidebar-browser.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { buildCustomer } from '../factories/customers.js';
import { addDays, localDate } from '../../src/shared/dates.js';

vi.setConfig({ testTimeout: 60_000 });

/**
 * The sidebar's customer card shows 预计复购 (docs/repurchase.md §Where it shows) in a real Chromium at a WeCom
 * sidebar's size, after an order import predicted it. A screenshot is written for a person to look at
 * (REPURCHASE_SCREENSHOT_DIR, or the temp directory). One engine: the page does not depend on it.
 */
describe.skipIf(!CHROMIUM)('the sidebar customer card with a predicted next order', () => {
  let app: TestApp;
  let browser: Browser;
  const today = localDate(new Date(), 'Asia/Shanghai');

  beforeAll(async () => {
    app = await startTestApp('sqlite');
    await buildCustomer(app.container, { externalUserId: 'wmRpShot', name: '复购客户', owners: ['zhangsan'] });
    await buildCustomer(app.container, { externalUserId: 'wmRpNone', name: '新客户', owners: ['zhangsan'] });
    // 30 days apart, the latest 40 days ago: due 10 days ago (nobody else to learn a typical interval from).
    const report = await app.container.archive.orders.importJson([
      { orderNo: 'RS-1', externalUserId: 'wmRpShot', amount: '66.00', orderedAt: `${addDays(today, -70)} 10:00` },
      { orderNo: 'RS-2', externalUserId: 'wmRpShot', amount: '66.00', orderedAt: `${addDays(today, -40)} 10:00` },
    ]);
    expect(report).toMatchObject({ imported: 2 });
    browser = await launchSidebarBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('shows 预计复购 with how long it is overdue, and nothing for a customer without a prediction', async () => {
    const { context, page, problems } = await openSidebar(browser, app, 'zhangsan');
    await page.goto(`${app.url}/sidebar/?externalUserId=wmRpShot`);
    // 今日待办 is the first tab; the archive is under 客户.
    await page.click('#tabs [data-tab="customer"]');
    const facts = page.locator('#facts');
    await expect.poll(() => facts.innerText(), { timeout: 15_000 }).toContain('预计复购');
    expect(await facts.innerText()).toContain(`${addDays(today, -10)}，已逾期 10 天`);
    const dir = process.env.REPURCHASE_SCREENSHOT_DIR ?? join(tmpdir(), 'wecom-ops-screenshots');
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, 'sidebar-repurchase.png') });
    console.log(`sidebar repurchase screenshot: ${dir}/sidebar-repurchase.png`);

    await page.goto(`${app.url}/sidebar/?externalUserId=wmRpNone`);
    // 今日待办 is the first tab; the archive is under 客户.
    await page.click('#tabs [data-tab="customer"]');
    await expect.poll(() => facts.innerText(), { timeout: 15_000 }).toContain('订单');
    expect(await facts.innerText()).not.toContain('预计复购');
    expect(problems).toEqual([]);
    await context.close();
  });
});
