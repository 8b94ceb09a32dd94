import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { chromium, type Browser } from 'playwright-core';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { buildCustomer } from '../factories/customers.js';

vi.setConfig({ testTimeout: 60_000 });

/**
 * The customer's "我的积分" page in a real Chromium on a phone-sized screen (docs/loyalty.md §The customer page): it
 * renders without a script, an error or a request to anywhere else, reads in zh-CN, fits the screen, and a screenshot
 * is written for a person to look at (LOYALTY_SCREENSHOT_DIR, or the temp directory). One engine: the page does not
 * depend on it.
 */
const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => p && existsSync(p));
if (!CHROMIUM && process.env.CI) throw new Error('CI=true but no Chromium was found (set CHROMIUM_PATH or apt-get install chromium)');

describe.skipIf(!CHROMIUM)('the "我的积分" page in a real browser', () => {
  let app: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    app = await startTestApp('sqlite');
    await buildCustomer(app.container, { externalUserId: 'wmShot', name: '截图客户', owners: ['zhangsan'] });
    await app.container.archive.repos.customers.applyEdits('wmShot', { birthday: { calendar: 'solar', month: 4, day: 1, year: null, leapMonth: false } }, Date.now());
    await api(app, 'POST', '/api/v1/orders/import', {
      orders: [
        { orderNo: 'S-1', externalUserId: 'wmShot', amount: 899, orderedAt: '2026-04-10 10:00' },
        { orderNo: 'S-2', externalUserId: 'wmShot', amount: 268.5, orderedAt: '2026-05-02 10:00' },
      ],
    });
    await api(app, 'POST', '/api/v1/customers/wmShot/loyalty/adjust', { points: 200, note: '会员日赠送', requestId: 'shot-gift-0001' });
    await api(app, 'POST', '/api/v1/customers/wmShot/loyalty/redeem', { points: 300, note: '兑换保温杯', requestId: 'shot-redeem-001', confirm: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--lang=zh-CN'] });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('renders the balance, tier, progress and entries on a phone, with no script, error or outside request', async () => {
    const { url } = (await api(app, 'POST', '/api/v1/customers/wmShot/loyalty/link')).body as { url: string };
    const context = await browser.newContext({
      viewport: { width: 375, height: 812 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      locale: 'zh-CN',
      timezoneId: 'Asia/Shanghai',
      // WeChat's in-app browser on iOS.
      userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47 NetType/WIFI Language/zh_CN',
    });
    const page = await context.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('request', (r) => !r.url().endsWith('/favicon.ico') && requests.push(r.url()));
    const res = await page.goto(url);
    expect(res?.status()).toBe(200);
    expect(await page.title()).toBe('我的积分');
    const text = await page.locator('main').innerText();
    expect(text).toContain('我的积分');
    expect(text).toContain('1,966');
    expect(text).toContain('银卡会员');
    expect(text).toContain('生日月订单（多倍积分）');
    expect(text).toContain('客服赠送积分');
    expect(text).toContain('积分兑换');
    expect(text).toContain('个人信息说明');
    // Fits the phone's width: nothing scrolls sideways.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    expect(problems).toEqual([]);
    expect(requests).toEqual([url]);
    const dir = process.env.LOYALTY_SCREENSHOT_DIR ?? join(tmpdir(), 'wecom-ops-screenshots');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'loyalty-page.png');
    await page.screenshot({ path: file, fullPage: true });
    console.log(`loyalty page screenshot: ${file}`);

    // A bad link in the same browser: the kind page, no data.
    const bad = await page.goto(url.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')));
    expect(bad?.status()).toBe(403);
    expect(await page.locator('main').innerText()).toContain('链接无效');
    await page.screenshot({ path: join(dir, 'loyalty-page-invalid.png'), fullPage: true });
    await context.close();
  });
});
