import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Browser } from 'playwright-core';
import { CHROMIUM, launchSidebarBrowser, openSidebar } from '../helpers/sidebar-browser.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { buildCustomer } from '../factories/customers.js';

vi.setConfig({ testTimeout: 60_000 });

/**
 * The sidebar's 客户反馈 card in a real Chromium at a WeCom sidebar's size (docs/feedback.md §Routing): the owner sees
 * a detractor's ticket, marks it contacted, resolves it with a note and a category, and records a complaint they heard;
 * each step is saved on the server. A screenshot is written for a person to look at (FEEDBACK_SCREENSHOT_DIR, or the
 * temp directory). One engine: the page does not depend on it.
 */
if (!CHROMIUM && process.env.CI) throw new Error('CI=true but no Chromium was found (set CHROMIUM_PATH or apt-get install chromium)');

describe.skipIf(!CHROMIUM)('the sidebar feedback card in a real browser', () => {
  let app: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    app = await startTestApp('sqlite');
    await buildCustomer(app.container, { externalUserId: 'wmFbShot', name: '反馈客户', owners: ['zhangsan'] });
    await app.container.db.exec("UPDATE staff SET name = '张三' WHERE userid = 'zhangsan'");
    await app.container.feedback.onSurveyScored({ externalUserid: 'wmFbShot', surveyId: 1, answerId: 501, kind: 'nps', score: 3, comment: '快递太慢了，等了一个星期', answeredAt: new Date() });
    browser = await launchSidebarBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('shows the ticket, contacts, resolves and records a complaint, with no script error', async () => {
    const { context, page, problems } = await openSidebar(browser, app, 'zhangsan');
    await page.goto(`${app.url}/sidebar/?externalUserId=wmFbShot`);
    // 今日待办 is the first tab; the archive is under 客户.
    await page.click('#tabs [data-tab="customer"]');
    const card = page.locator('#feedback-card');
    await expect.poll(() => card.innerText(), { timeout: 15_000 }).toContain('待联系');
    const first = await card.innerText();
    expect(first).toContain('满意度评分 · NPS 3 分 · 物流');
    expect(first).toContain('快递太慢了，等了一个星期');
    expect(first).toMatch(/请于 .+ 前联系客户/);
    // The owner by name, not by userid.
    expect(await card.locator('[data-owner]').first().innerText()).toBe('负责人：张三');

    const dir = process.env.FEEDBACK_SCREENSHOT_DIR ?? join(tmpdir(), 'wecom-ops-screenshots');
    mkdirSync(dir, { recursive: true });
    await card.screenshot({ path: join(dir, 'sidebar-feedback-open.png') });

    await card.locator('button:has-text("已联系客户")').click();
    await expect.poll(() => card.locator('.badge').first().innerText()).toBe('已联系');
    await card.locator('button:has-text("解决")').first().click();
    await card.locator('[data-resolve-form] textarea').fill('已补发并赠送优惠券，客户表示满意');
    await card.locator('[data-resolve-form] select').selectOption('物流');
    await card.locator('button:has-text("确认解决")').click();
    await expect.poll(() => card.innerText()).toContain('处理结果：已补发并赠送优惠券，客户表示满意');

    await page.fill('#feedback-text', '电话里说杯子有破损，要求换货');
    await page.click('#feedback-form button[type="submit"]');
    await expect.poll(() => card.innerText()).toContain('员工记录');
    expect(await card.innerText()).toContain('质量');
    await card.screenshot({ path: join(dir, 'sidebar-feedback.png') });
    console.log(`sidebar feedback screenshots: ${dir}/sidebar-feedback*.png`);

    // Saved on the server as the signed-in member, not just drawn on the page.
    const rows = await app.container.db.query<{ source: string; status: string; category: string; owner_userid: string; resolution_note: string | null }>(
      'SELECT source, status, category, owner_userid, resolution_note FROM feedback_tickets WHERE external_user_id = ? ORDER BY id',
      ['wmFbShot'],
    );
    expect(rows).toEqual([
      { source: 'survey', status: 'resolved', category: '物流', owner_userid: 'zhangsan', resolution_note: '已补发并赠送优惠券，客户表示满意' },
      { source: 'staff', status: 'open', category: '质量', owner_userid: 'zhangsan', resolution_note: null },
    ]);
    // Fits the sidebar's width: nothing scrolls sideways.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
    expect(problems).toEqual([]);
    await context.close();
  });
});
