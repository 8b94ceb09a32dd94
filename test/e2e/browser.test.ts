import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startArchiveApp, type ArchiveApp } from '../integration/customers.harness.js';
import { api, TEST_ADMIN_TOKEN } from '../helpers/app.js';

vi.setConfig({ testTimeout: 60_000 });

/**
 * The two pages people use, in a real browser: the operator console and the staff sidebar. The API tests prove the
 * data; these prove that the pages load, speak zh-CN, render what the API returns and post what a click means,
 * without a script error. Chromium comes from the system (Debian's `chromium`, installed by .ci/run); without it
 * they skip on a laptop and fail in CI. One engine (SQLite): the pages do not depend on it.
 */
const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => p && existsSync(p));
if (!CHROMIUM && process.env.CI) throw new Error('CI=true but no Chromium was found (set CHROMIUM_PATH or apt-get install chromium)');
if (!CHROMIUM) process.stderr.write('[wecom-ops tests] no Chromium found: the browser tests are skipped (apt-get install chromium).\n');

describe.skipIf(!CHROMIUM)('console and sidebar in a real browser', () => {
  let app: ArchiveApp;
  let browser: Browser;
  /** Script errors and failed API calls seen by any page; every test ends by checking there were none. */
  const problems: string[] = [];

  beforeAll(async () => {
    app = await startArchiveApp('sqlite');
    await app.archive.fullSync.run();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--lang=zh-CN'] });
  }, 120_000);
  beforeEach(() => {
    problems.length = 0;
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  async function open(path: string): Promise<Page> {
    const page = await browser.newPage({ locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
    page.on('pageerror', (err) => problems.push(`${path}: ${err.message}`));
    // Chromium also logs every 4xx as a console error ("Failed to load resource"); those are judged by the
    // response listener instead, where an expected 400 (a bad audience) can be told from a broken path.
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`${path}: console: ${m.text()}`);
    });
    page.on('response', (r) => {
      const url = new URL(r.url());
      if (r.status() >= 500 || (r.status() === 404 && url.pathname !== '/favicon.ico')) problems.push(`${path}: ${r.status()} ${url.pathname}`);
    });
    await page.goto(`${app.url}${path}`);
    return page;
  }

  it('the console lists customers for an operator token, explains a bad audience in Chinese, and opens every tab', async () => {
    const page = await open('/console/');
    await expect.poll(() => page.title()).toBe('wecom-ops 运营控制台');
    await page.fill('#token', TEST_ADMIN_TOKEN);
    await page.dispatchEvent('#token', 'change');
    // The sandbox's demo corp: 200 customers with Chinese names, synced into the archive.
    await expect.poll(() => page.locator('#rows tr').count()).toBeGreaterThan(10);
    expect(await page.locator('#rows').innerText()).toMatch(/[\u4e00-\u9fa5]{2,}/);

    // A malformed audience shows the parser's message in Chinese, not a bare HTTP status or a blank table.
    await page.fill('#aud', 'tag:(');
    await page.click('#go');
    await expect.poll(() => page.locator('#status .err').count()).toBe(1);
    const message = await page.locator('#status .err').innerText();
    expect(message).toMatch(/[\u4e00-\u9fa5]/);
    expect(message).not.toMatch(/^HTTP \d+$/);

    for (const [tab, heading] of [
      ['events', '收到时间'],
      ['channels', ''],
      ['deliveries', ''],
      ['broadcasts', ''],
      ['transfers', ''],
      ['staff', ''],
    ] as const) {
      await page.click(`nav button[data-tab="${tab}"]`);
      await expect.poll(() => page.locator('nav button.active').getAttribute('data-tab')).toBe(tab);
      // Each list answered: the status line reads 共 N 条, not an error.
      await expect.poll(() => page.locator('#status').innerText(), { message: tab }).toMatch(/^共 \d+ 条/);
      if (heading) expect(await page.locator('#head').innerText()).toContain(heading);
    }
    // The staff tab lists the sandbox's members by their Chinese names.
    await page.click('nav button[data-tab="staff"]');
    await expect.poll(() => page.locator('#rows').innerText()).toContain('张三');
    expect(problems).toEqual([]);
  });

  it('an operator previews a broadcast audience, schedules it for a Shanghai time and sees it listed', async () => {
    const page = await open('/console/');
    await page.fill('#token', TEST_ADMIN_TOKEN);
    await page.dispatchEvent('#token', 'change');
    await page.click('nav button[data-tab="broadcasts"]');
    await expect.poll(() => page.locator('#status').innerText()).toMatch(/^共 \d+ 条/);

    const expected = await api<{ count: number }>(app, 'POST', '/api/v1/audiences/preview', { audience: 'owner:zhangsan' });
    expect(expected.body.count).toBeGreaterThan(0);
    await page.fill('#bcName', '浏览器建的群发');
    await page.fill('#bcAud', 'owner:zhangsan');
    await page.click('#bcPreview');
    await expect.poll(() => page.locator('#bcPreviewOut').innerText()).toContain(`匹配 ${expected.body.count} 位客户`);

    await page.fill('#bcText', '{{name}}您好，周末门店有活动～');
    // The operator types Beijing time into the page; it must reach the server as that instant.
    const at = new Date(Date.now() + 3 * 86_400_000);
    const local = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }).format(at).replace(' ', 'T');
    await page.fill('#bcAt', local);
    await page.click('#bcCreate');
    await expect.poll(() => page.locator('#bcPreviewOut').innerText()).toContain(`已创建：${expected.body.count} 位客户`);
    await expect.poll(() => page.locator('#rows').innerText()).toContain('浏览器建的群发');
    expect(await page.locator('#rows tr', { hasText: '浏览器建的群发' }).innerText()).toContain('待发送');

    const { body } = await api<{ items: { name: string; sendAt: string; audienceCount: number }[] }>(app, 'GET', '/api/v1/broadcasts?pageSize=100');
    const created = body.items.find((b) => b.name === '浏览器建的群发')!;
    expect(created.audienceCount).toBe(expected.body.count);
    expect(new Date(created.sendAt).toISOString()).toBe(new Date(`${local}:00+08:00`).toISOString());
    expect(problems).toEqual([]);
  });

  it('the sidebar signs a member in, shows their customer, saves a note and renders quick replies for that customer', async () => {
    const own = app.sandbox.store.relationsOfUser('zhangsan').find((r) => !r.isDeletedByCustomer)!;
    const customer = app.sandbox.store.customers.get(own.externalUserId)!;
    // Outside WeCom, the sign-in goes to the sandbox's stand-in for WeCom's authorize page: pick 张三 there, as the
    // README's sandbox tour says.
    const page = await open(`/sidebar/?externalUserId=${own.externalUserId}`);
    await expect.poll(() => page.title()).toContain('沙箱');
    await page.click('a:has-text("张三")');
    await expect.poll(async () => ((await page.locator('#customer').isVisible()) ? 'shown' : `${page.url()} ${await page.locator('body').innerText()}`.slice(0, 300)), { timeout: 15_000 }).toBe('shown');
    expect(await page.locator('#me').innerText()).toBe('张三');
    const shown = await page.locator('#name').innerText();
    expect([customer.name, own.remark].filter(Boolean)).toContain(shown);

    const text = `浏览器里记的跟进 ${Date.now()}`;
    await page.fill('#note-text', text);
    await page.click('#note-form button[type="submit"]');
    await expect.poll(() => page.locator('#notes').innerText()).toContain(text);
    // Saved on the server, as the signed-in member, not just drawn on the page.
    const rows = await app.container.db.query<{ userid: string }>('SELECT userid FROM notes WHERE external_user_id = ?', [own.externalUserId]);
    expect(rows.map((r) => r.userid)).toContain('zhangsan');

    await page.click('#tabs [data-tab="replies"]');
    await expect.poll(() => page.locator('#replies-status').innerText()).toContain('不在企业微信中');
    // Quick replies with {{name}} are rendered for this customer.
    await expect.poll(() => page.locator('#replies').innerText()).toContain(customer.name);
    expect(problems).toEqual([]);
  });
});
