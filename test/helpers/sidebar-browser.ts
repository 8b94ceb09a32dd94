import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM } from './console-browser.js';
import type { TestApp } from './app.js';

export { CHROMIUM };

/** Headless Chromium with the flags this machine needs (no sandbox, no GPU, no background networking), in zh-CN. */
export function launchSidebarBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--lang=zh-CN'] });
}

/**
 * A page at a WeCom chat sidebar's size (360 × 900, 2× pixels, zh-CN, Beijing time) signed in as `userid` with a
 * sidebar session cookie, and the problems it meets: script errors, console errors other than Chromium's "Failed to
 * load resource" (every 4xx logs one; responses are judged by their own listener), and answers of 400 or more other
 * than the favicon's.
 */
export async function openSidebar(browser: Browser, app: Pick<TestApp, 'url' | 'container'>, userid: string): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 360, height: 900 }, deviceScaleFactor: 2, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const { token } = app.container.http!.sidebarAuth.sessions.issue(userid);
  await context.addCookies([{ name: 'wo_sidebar', value: token, url: `${app.url}/sidebar/` }]);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && problems.push(m.text()));
  page.on('response', (r) => r.status() >= 400 && !r.url().endsWith('/favicon.ico') && problems.push(`${r.status()} ${r.url()}`));
  return { context, page, problems };
}
