import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startArchiveApp, type ArchiveApp } from '../integration/customers.harness.js';

vi.setConfig({ testTimeout: 60_000 });

/**
 * The staff sidebar in a real browser (the operator console has its own, console.browser.test.ts). The API tests
 * prove the data; these prove that the page loads, speaks zh-CN, renders what the API returns and posts what a click
 * means, without a script error. Chromium comes from the system (Debian's `chromium`, installed by .ci/run); without it
 * they skip on a laptop and fail in CI. One engine (SQLite): the pages do not depend on it.
 */
const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => p && existsSync(p));
if (!CHROMIUM && process.env.CI) throw new Error('CI=true but no Chromium was found (set CHROMIUM_PATH or apt-get install chromium)');
if (!CHROMIUM) process.stderr.write('[wecom-ops tests] no Chromium found: the browser tests are skipped (apt-get install chromium).\n');

describe.skipIf(!CHROMIUM)('sidebar in a real browser', () => {
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

  it('the sidebar signs a member in, shows their customer, saves a note and renders quick replies for that customer', async () => {
    const own = app.sandbox.store.relationsOfUser('zhangsan').find((r) => !r.isDeletedByCustomer)!;
    const customer = app.sandbox.store.customers.get(own.externalUserId)!;
    // Outside WeCom, the sign-in goes to the sandbox's stand-in for WeCom's authorize page: pick 张三 there, as the
    // README's sandbox tour says.
    const page = await open(`/sidebar/?externalUserId=${own.externalUserId}`);
    await expect.poll(() => page.title()).toContain('沙箱');
    await page.click('a:has-text("张三")');
    // 今日待办 is the first tab; the archive is under 客户.
    await expect.poll(() => page.locator('#todo-status').innerText(), { timeout: 15_000 }).not.toBe('加载中…');
    await page.click('#tabs [data-tab="customer"]');
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
