import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ArchiveApp } from '../integration/customers.harness.js';
import { api } from '../helpers/app.js';
import { CHROMIUM, startConsoleHarness, type ConsoleHarness } from '../helpers/console-browser.js';

vi.setConfig({ testTimeout: 120_000 });

const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000 });

interface Totals {
  newGroups: number;
  newMembers: number;
  messages: number;
  speakingMembers: number;
  groupTotal: number | null;
  memberTotal: number | null;
  days: number;
}

/**
 * 客户群 on the dashboard (docs/groups.md §Group statistics): the nightly analytics job pulls the sandbox corp's
 * 群聊数据统计 through the real client, and the panel shows the range's figures as GET /api/v1/analytics/groups answers
 * them, with a chart, in words, by day and by week. Screenshot groups-01-panel under test-results/console/.
 */
describe.skipIf(!CHROMIUM)('客户群 statistics on the dashboard', () => {
  let h: ConsoleHarness;
  let app: ArchiveApp;

  beforeAll(async () => {
    h = await startConsoleHarness();
    app = h.app;
    const run = await app.container.scheduling.scheduler.runNow('analytics');
    expect(run.status, run.error ?? '').toBe('done');
    expect(run.counts).toMatchObject({ groupPullDays: 30, groupPullFailed: 0 });
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  it('shows the pulled figures as the API answers them, by day and by week', async () => {
    const page = await (await h.signIn('张三')).newPage();
    // Listened for before the page loads: the panel may ask as soon as it mounts, and a listener set up after that
    // would wait out its whole timeout.
    const sent = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/analytics/groups');
    await page.goto(`${app.url}/console/`);
    const lazy = page.locator('[data-test="lazy-panel-groups"]');
    const panel = page.locator('[data-test="panel-groups"]');
    await poll(async () => (await lazy.count()) + (await panel.count())).toBe(1);
    if ((await lazy.count()) > 0) await lazy.scrollIntoViewIfNeeded({ timeout: 5_000 }).catch(() => undefined);
    await poll(() => panel.count()).toBe(1);
    await panel.scrollIntoViewIfNeeded();
    // The dashboard's default range: the last 30 days by day.
    const query = new URL((await sent).url()).search;
    const a = (await api<{ total: Totals; lines: unknown[] }>(app, 'GET', `/api/v1/analytics/groups${query}`)).body;
    expect(a.total.days).toBeGreaterThan(0);
    expect(a.total.messages).toBeGreaterThan(0);
    await poll(() => panel.locator('[data-test="groups-messages"]').innerText()).toBe(String(a.total.messages));
    expect(await panel.locator('[data-test="groups-new"]').innerText()).toBe(String(a.total.newGroups));
    expect(await panel.locator('[data-test="groups-members"]').innerText()).toBe(String(a.total.newMembers));
    expect(await panel.locator('[data-test="groups-speakers"]').innerText()).toBe(String(a.total.speakingMembers));
    expect(await panel.locator('[data-test="groups-total"]').innerText()).toBe(`${a.total.groupTotal} / ${a.total.memberTotal}`);
    // The sandbox's groups are all counted: every group of a member, and their members at the end.
    const groups = [...app.sandbox.store.groupChats.values()];
    expect(a.total.groupTotal).toBe(groups.length);
    const chart = JSON.parse((await panel.locator('[data-test="groups-chart"]').getAttribute('data-chart'))!) as { series: { name: string }[] };
    expect(chart.series.map((s) => s.name)).toEqual(['新增客户群', '新增群成员', '发言成员']);
    expect(await panel.innerText()).toContain('企业微信');
    expect(await panel.innerText()).not.toMatch(/\b(pulled|corp|owner)\b/);
    await poll(() => panel.locator('canvas').count()).toBeGreaterThan(0);
    await page.waitForTimeout(800);
    await panel.screenshot({ path: `${process.cwd()}/test-results/console/groups-01-panel.png` });
    expect(h.problems).toEqual([]);
    await page.close();
  });
});
