import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Browser } from 'playwright-core';
import { CHROMIUM, launchSidebarBrowser, openSidebar } from '../helpers/sidebar-browser.js';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { buildCustomer } from '../factories/customers.js';

vi.setConfig({ testTimeout: 60_000 });

/**
 * The sidebar's 满意度调查 card in a real Chromium at a WeCom sidebar's size (docs/surveys.md §API): the owner sees the
 * customer's last answer with its comment, and 发送问卷 plans the invitation in the delivery ledger as a mass-send task
 * for them, once per period. A screenshot is written for a person to look at (SURVEY_SCREENSHOT_DIR, or the temp
 * directory). One engine: the card does not depend on it.
 */
if (!CHROMIUM && process.env.CI) throw new Error('CI=true but no Chromium was found (set CHROMIUM_PATH or apt-get install chromium)');

describe.skipIf(!CHROMIUM)('the sidebar survey card in a real browser', () => {
  let app: TestApp;
  let browser: Browser;
  let surveyId = 0;

  beforeAll(async () => {
    app = await startTestApp('sqlite');
    await buildCustomer(app.container, { externalUserId: 'wmSvSide', name: '侧边栏客户', owners: ['zhangsan'] });
    await buildCustomer(app.container, { externalUserId: 'wmSvSide2', name: '另一位客户', owners: ['zhangsan'] });
    const body = { status: 'active', questions: [{ kind: 'csat', title: '您对这次服务满意吗？' }, { kind: 'text', title: '想对我们说的话', required: false }] };
    surveyId = (await api(app, 'POST', '/api/v1/surveys', { ...body, name: '服务满意度', rewardPoints: 10 })).body.id;
    // The customer answered: CSAT 2 with a comment.
    const { url } = (await api(app, 'POST', `/api/v1/customers/wmSvSide/surveys/${surveyId}/link`)).body;
    const html = await (await fetch(url)).text();
    const submission = /name="submission" value="([^"]+)"/.exec(html)![1];
    await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ submission, q0: '2', q1: '等了很久才有人回复' }) });
    browser = await launchSidebarBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('shows the last answer and sends the survey through the ledger once, with no script error', async () => {
    const { context, page, problems } = await openSidebar(browser, app, 'zhangsan');
    const dir = process.env.SURVEY_SCREENSHOT_DIR ?? join(tmpdir(), 'wecom-ops-screenshots');
    mkdirSync(dir, { recursive: true });

    await page.goto(`${app.url}/sidebar/?externalUserId=wmSvSide`);
    // 今日待办 is the first tab; the archive is under 客户.
    await page.click('#tabs [data-tab="customer"]');
    const card = page.locator('#survey-card');
    await expect.poll(() => card.innerText(), { timeout: 15_000 }).toContain('服务满意度 · 满意度 2 分');
    expect(await card.innerText()).toContain('等了很久才有人回复');
    expect(await page.locator('#survey-pick option').first().innerText()).toBe('服务满意度（答完得 10 积分）');
    await card.screenshot({ path: join(dir, 'sidebar-survey.png') });

    // Another customer: 发送问卷 plans one mass-send task row for the signed-in member; again says it was sent this period.
    await page.goto(`${app.url}/sidebar/?externalUserId=wmSvSide2`);
    // 今日待办 is the first tab; the archive is under 客户.
    await page.click('#tabs [data-tab="customer"]');
    await expect.poll(() => card.innerText(), { timeout: 15_000 }).toContain('暂无问卷回答');
    await page.click('#survey-send');
    await expect.poll(() => page.locator('body').innerText()).toContain('已加入群发任务');
    await page.waitForTimeout(3000);
    await page.click('#survey-send');
    await expect.poll(() => page.locator('body').innerText()).toContain('本期已邀请过该客户');
    const rows = await app.container.db.query<{ status: string; sender_userid: string; kind: string }>('SELECT status, sender_userid, kind FROM deliveries WHERE external_user_id = ?', ['wmSvSide2']);
    expect(rows).toEqual([{ status: 'planned', sender_userid: 'zhangsan', kind: 'survey' }]);
    expect(problems).toEqual([]);
    console.log(`sidebar survey screenshot: ${dir}/sidebar-survey.png`);
    await context.close();
  });
});
