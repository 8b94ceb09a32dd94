import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { chromium, type Browser } from 'playwright-core';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { buildCustomer } from '../factories/customers.js';

vi.setConfig({ testTimeout: 60_000 });

/**
 * The customer's survey page in a real Chromium on a phone-sized screen with WeChat's user agent
 * (docs/surveys.md §The customer's page, §Answering): the customer taps a score, writes a comment and submits; a score
 * out of range comes back as the form with the problem; a second answer replaces the first; no script, no error, no
 * request to anywhere else, nothing scrolls sideways. Screenshots go to SURVEY_SCREENSHOT_DIR (or the temp directory)
 * for a person to look at. One engine: the page does not depend on it.
 */
const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => p && existsSync(p));
if (!CHROMIUM && process.env.CI) throw new Error('CI=true but no Chromium was found (set CHROMIUM_PATH or apt-get install chromium)');

describe.skipIf(!CHROMIUM)('the survey page in a real browser', () => {
  let app: TestApp;
  let browser: Browser;
  let url = '';

  beforeAll(async () => {
    app = await startTestApp('sqlite');
    await buildCustomer(app.container, { externalUserId: 'wmSurveyShot', name: '问卷客户', owners: ['zhangsan'] });
    const created = await api(app, 'POST', '/api/v1/surveys', {
      name: '购物体验调查',
      intro: '感谢您的购买！花 1 分钟告诉我们您的体验。',
      status: 'active',
      rewardPoints: 50,
      questions: [
        { kind: 'nps', title: '您有多大可能把我们推荐给朋友或同事？' },
        { kind: 'csat', title: '您对这次购物的整体满意度如何？' },
        { kind: 'text', title: '有什么想对我们说的吗？', required: false },
      ],
    });
    expect(created.status).toBe(201);
    const link = await api(app, 'POST', `/api/v1/customers/wmSurveyShot/surveys/${created.body.id}/link`);
    expect(link.status).toBe(200);
    url = link.body.url;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--lang=zh-CN'] });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('lets the customer answer on a phone, refuses an out-of-range score with the form, and replaces the answer', async () => {
    const context = await browser.newContext({
      viewport: { width: 375, height: 812 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      locale: 'zh-CN',
      timezoneId: 'Asia/Shanghai',
      // WeChat's in-app browser on Android.
      userAgent: 'Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 MMWEBSDK/20231202 MicroMessenger/8.0.47.2560(0x28002F35) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN',
    });
    const page = await context.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    // The browser reports the deliberate 400 below as a console error; anything else is a problem.
    page.on('console', (m) => m.type() === 'error' && !/status of 400/.test(m.text()) && problems.push(m.text()));
    page.on('request', (r) => !r.url().endsWith('/favicon.ico') && requests.push(`${r.method()} ${r.url()}`));
    const dir = process.env.SURVEY_SCREENSHOT_DIR ?? join(tmpdir(), 'wecom-ops-screenshots');
    mkdirSync(dir, { recursive: true });

    const res = await page.goto(url);
    expect(res?.status()).toBe(200);
    expect(await page.title()).toBe('购物体验调查');
    const text = await page.locator('main').innerText();
    expect(text).toContain('您有多大可能把我们推荐给朋友或同事？');
    expect(text).toContain('非常满意');
    expect(text).toContain('完成问卷可获得 50 积分');
    expect(text).toContain('个人信息说明');
    expect(text).not.toContain('问卷客户');
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await page.screenshot({ path: join(dir, 'survey-page.png'), fullPage: true });

    // A score out of range (a doctored form): the same page again with the problem, 400, nothing recorded.
    await page.evaluate(`document.querySelector('input[name="q0"][value="10"]').value = '11'`);
    await page.locator('label:has(input[name="q0"][value="11"])').click();
    await page.locator('label:has(input[name="q1"][value="4"])').click();
    const refused = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.locator('button[type="submit"]').click()]);
    expect(refused[0].status()).toBe(400);
    await page.waitForLoadState();
    expect(await page.locator('main').innerText()).toContain('请选择 0–10 分');
    await page.screenshot({ path: join(dir, 'survey-page-error.png'), fullPage: true });

    // The customer taps 4, 2 (非常不满意 is 1) and writes a comment.
    await page.locator('label:has(input[name="q0"][value="4"])').click();
    await page.locator('label:has(input[name="q1"][value="2"])').click();
    await page.locator('textarea[name="q2"]').fill('发货太慢，客服回复也不及时。');
    const answered = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.locator('button[type="submit"]').click()]);
    expect(answered[0].status()).toBe(200);
    await page.waitForLoadState();
    const thanks = await page.locator('main').innerText();
    expect(thanks).toContain('感谢您的反馈');
    expect(thanks).toContain('已为您累计 50 积分');
    await page.screenshot({ path: join(dir, 'survey-page-thanks.png'), fullPage: true });

    // Opened again: the earlier answer is prefilled and a new one replaces it.
    await page.goto(url);
    expect(await page.locator('main').innerText()).toContain('再次提交将替换之前的回答');
    expect(await page.locator('input[name="q0"][value="4"]').isChecked()).toBe(true);
    await page.locator('label:has(input[name="q0"][value="9"])').click();
    await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.locator('button[type="submit"]').click()]);
    await page.waitForLoadState();
    expect(await page.locator('main').innerText()).toContain('您的回答已更新');

    const rows = await app.container.db.query<{ score: number; revisions: number; comment: string }>("SELECT score, revisions, comment FROM survey_answers WHERE external_user_id = 'wmSurveyShot'");
    expect(rows.map((r) => [Number(r.score), Number(r.revisions), r.comment])).toEqual([[9, 1, '发货太慢，客服回复也不及时。']]);
    expect((await api(app, 'GET', '/api/v1/customers/wmSurveyShot/loyalty')).body.balance).toBe(50);
    expect(problems).toEqual([]);
    // Only the page itself, and its form posted to the same address.
    expect(new Set(requests)).toEqual(new Set([`GET ${url}`, `POST ${url}`]));
    console.log(`survey page screenshots: ${dir}/survey-page*.png`);
    await context.close();
  });
});
