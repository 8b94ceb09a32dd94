import { expect } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startArchiveApp, type ArchiveApp } from '../integration/customers.harness.js';
import { api } from './app.js';
import type { SchedulingOptions } from '../../src/container.js';

/**
 * What every browser test of the operator console shares: the system Chromium, a bot with the sandbox's corp synced
 * into the archive, fresh browser profiles that report every script error and failed request, screenshots into the
 * gitignored test-results/console/, and signing in through the sandbox's stand-in for WeCom's QR login page.
 * The console itself is the Vue app that `npm ci` builds into dist/console/ (README §Operator console).
 */
export const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => p && existsSync(p));
if (!CHROMIUM && process.env.CI) throw new Error('CI=true but no Chromium was found (set CHROMIUM_PATH or apt-get install chromium)');

const ROOT = resolve(import.meta.dirname, '../..');
const BUILT = existsSync(resolve(ROOT, 'dist/console/index.html'));
// `npm ci` builds the console (prepare); a checkout that skipped it must say so rather than test a missing page.
if (CHROMIUM && !BUILT) throw new Error('dist/console/ is not built: run `npm run build:console` (npm ci does it)');

export const SHOTS = resolve(ROOT, 'test-results/console');
/** A 1×1 PNG standing in for WeCom's image hosts (avatars, QR codes), which this machine cannot reach. */
const PIXEL = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64');

export interface ConsoleHarness {
  app: ArchiveApp;
  browser: Browser;
  /** Every page error, console error and failed request seen so far, as `path: what`; a test ends expecting none. */
  problems: string[];
  /** A fresh browser profile (cold cache) whose pages report into `problems`. */
  newContext(): Promise<BrowserContext>;
  /** A profile signed in as a sandbox member through the QR stand-in (张三 is admin through ADMIN_USERIDS). */
  signIn(memberName: string): Promise<BrowserContext>;
  /** A full-page screenshot under test-results/console/<name>.png. */
  shot(page: Page, name: string): Promise<void>;
  /** The API's count of an audience expression, asked with the admin token. */
  count(audience: string): Promise<number>;
  close(): Promise<void>;
}

/** Element Plus puts a field's attributes on its native input or textarea, a select's on its wrapper. */
export const field = (page: Page, name: string) => page.locator(`:is(input, textarea)[data-test="${name}"], [data-test="${name}"] :is(input, textarea)`).first();

/**
 * 「从素材库选择」 on a form: open the picker (the one inside `scope` when the page has several), search `query`, take the
 * first row once `title` is listed, confirm, and wait until the form lists `picked` (e.g. 链接：入群指南).
 */
export async function pickContent(page: Page, o: { query: string; title: string; picked: string[]; scope?: string }): Promise<void> {
  const within = (selector: string) => page.locator(o.scope ? `${o.scope} ${selector}` : selector);
  const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000 });
  await within('[data-test="content-pick"]').first().click();
  const rows = page.locator('[data-test="content-rows"] .el-table__row');
  await field(page, 'content-search').fill(o.query);
  await field(page, 'content-search').press('Enter');
  await poll(async () => (await rows.allInnerTexts()).join('|')).toContain(o.title);
  await rows.first().click();
  await page.click('[data-test="content-confirm"]');
  await poll(() => within('[data-test="content-picked"]').allInnerTexts()).toEqual(o.picked);
}

/** Starts the bot on SQLite (ADMIN_USERIDS=zhangsan unless `env` says otherwise), syncs the sandbox corp, and launches Chromium. */
export async function startConsoleHarness(options: { env?: Record<string, string>; scheduling?: SchedulingOptions } = {}): Promise<ConsoleHarness> {
  mkdirSync(SHOTS, { recursive: true });
  const app = await startArchiveApp('sqlite', { env: { ADMIN_USERIDS: 'zhangsan', ...options.env }, scheduling: options.scheduling });
  await app.archive.fullSync.run();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--lang=zh-CN'] });
  const problems: string[] = [];

  function watch(page: Page): void {
    const where = () => new URL(page.url()).pathname;
    page.on('pageerror', (err) => problems.push(`${where()}: ${err.message}`));
    // Chromium logs every 4xx as "Failed to load resource"; those are judged by the response listener below.
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`${where()}: console: ${m.text()}`);
    });
    // ERR_ABORTED: the page was left while a request was in flight (a navigation), not a failure.
    page.on('requestfailed', (r) => r.failure()?.errorText !== 'net::ERR_ABORTED' && problems.push(`${where()}: request failed ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
    page.on('response', (r) => {
      const url = new URL(r.url());
      // Signed out, the console asks who is signed in and gets 401: that is how it knows to show the sign-in page. The
      // dashboard's first count is asked beside it (src/web/console/lib/first-count.ts) and gets the same 401.
      const expected = r.status() === 401 && (url.pathname === '/api/v1/me' || (url.pathname === '/api/v1/customers' && url.search === '?audience=all&page=1&pageSize=1'));
      if (r.status() >= 400 && !expected) problems.push(`${where()}: ${r.status()} ${r.request().method()} ${url.pathname}`);
    });
  }

  async function newContext(): Promise<BrowserContext> {
    const ctx = await browser.newContext({ locale: 'zh-CN', timezoneId: 'Asia/Shanghai', viewport: { width: 1440, height: 900 } });
    await ctx.route(/^https?:\/\/(?!127\.0\.0\.1|localhost)/, (route) => route.fulfill({ status: 200, contentType: 'image/png', body: PIXEL }));
    ctx.on('page', watch);
    return ctx;
  }

  async function signIn(memberName: string): Promise<BrowserContext> {
    const ctx = await newContext();
    const page = await ctx.newPage();
    await page.goto(`${app.url}/console/signin`);
    await page.click('[data-test="wecom-login"]');
    // The sandbox's member picker plays WeCom's QR page; WeCom's redirect comes back with a code.
    await page.click(`a:has-text("${memberName}")`);
    await expect.poll(() => new URL(page.url()).pathname, { timeout: 15_000 }).toBe('/console/');
    await page.close();
    return ctx;
  }

  async function shot(page: Page, name: string): Promise<void> {
    // Let charts and transitions settle before the picture, taken from the top (the menu is sticky).
    await page.waitForTimeout(400);
    await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
    await page.screenshot({ path: resolve(SHOTS, `${name}.png`), fullPage: true });
  }

  const count = async (audience: string) => (await api<{ count: number }>(app, 'POST', '/api/v1/audiences/count', { audience })).body.count;

  return {
    app,
    browser,
    problems,
    newContext,
    signIn,
    shot,
    count,
    async close() {
      await browser.close();
      await app.close();
    },
  };
}

// The first figure's watch lives in first-figure.ts, which the console-first bench shares without a test runner.
export { watchFirstFigure, readFirstFigure as firstFigure, type FirstFigure } from './first-figure.js';
