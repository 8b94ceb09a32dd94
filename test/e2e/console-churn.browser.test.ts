import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ArchiveApp } from '../integration/customers.harness.js';
import { api } from '../helpers/app.js';
import { CHROMIUM, startConsoleHarness, type ConsoleHarness } from '../helpers/console-browser.js';

vi.setConfig({ testTimeout: 120_000 });

const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000 });

/**
 * 流失预警 on the console's 客户详情 (docs/churn.md): the nightly score with its level in words and each reason as a zh-CN
 * sentence; after the customer deletes their member, the loss with the bot's cause, where an operator records the
 * cause they learned. Through the real API and the churn job. Screenshots churn-* under test-results/console/.
 */
describe.skipIf(!CHROMIUM)('churn risk and causes on the customer page', () => {
  let h: ConsoleHarness;
  let app: ArchiveApp;
  let customer = { externalUserId: '', name: '' };
  let owner = '';

  beforeAll(async () => {
    h = await startConsoleHarness();
    app = h.app;
    customer = (await api<{ items: { externalUserId: string; name: string }[] }>(app, 'GET', '/api/v1/customers?pageSize=1')).body.items[0];
    const [rel] = await app.container.db.query<{ userid: string }>("SELECT userid FROM follow_relations WHERE external_user_id = ? AND status = 'active'", [customer.externalUserId]);
    owner = rel.userid;
    // Every member the customer follows has left, and nobody took them over: a signal the score names.
    await app.container.db.query("UPDATE staff SET status = 'resigned' WHERE userid IN (SELECT userid FROM follow_relations WHERE external_user_id = ? AND status = 'active')", [customer.externalUserId]);
    const run = await app.container.scheduling.scheduler.runNow('churn');
    expect(run.status, run.error ?? '').toBe('done');
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  it('shows the score, its level and reasons in zh-CN, then the loss and its causes', async () => {
    const admin = await h.signIn('张三');
    const page = await admin.newPage();
    const url = `${app.url}/console/customers/${encodeURIComponent(customer.externalUserId)}`;
    await page.goto(url);
    const card = page.locator('[data-test="churn-risk"]');
    await poll(() => card.locator('[data-test="churn-reasons"]').innerText()).toContain('跟进员工已离职，客户尚未继承给他人');
    const api1 = (await api<{ score: number; levelWords: string }>(app, 'GET', `/api/v1/customers/${customer.externalUserId}/churn-risk`)).body;
    expect(await card.locator('[data-test="churn-score"]').innerText()).toBe(String(api1.score));
    expect(await card.locator('[data-test="churn-level"]').innerText()).toBe(api1.levelWords);
    expect(await card.innerText()).not.toMatch(/\b(owner_resigned|high|medium|low)\b/);
    await h.shot(page, 'churn-01-score');

    // The customer deletes their member: the loss keeps the bot's cause, and an operator records theirs.
    await app.container.archive.churn.onRelationLost({ loss: 'customer_deleted_staff', userid: owner, externalUserId: customer.externalUserId, eventTime: Date.now() });
    await page.reload();
    const losses = page.locator('[data-test="churn-losses"]');
    await poll(() => losses.innerText()).toContain('客户删除了员工');
    expect(await losses.innerText()).toContain('系统判断：员工离职未交接');
    const [loss] = (await api<{ items: { id: number }[] }>(app, 'GET', `/api/v1/customers/${customer.externalUserId}/churn-causes`)).body.items;
    await page.locator(`[data-test="cause-${loss.id}"]`).click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: '选择了竞品' }).click();
    await page.locator(`[data-test="cause-save-${loss.id}"]`).click();
    await poll(() => losses.innerText()).toContain('员工记录：选择了竞品');
    await h.shot(page, 'churn-02-loss');
    const counts = (await api<{ byStaffCause: { cause: string; count: number }[] }>(app, 'GET', '/api/v1/analytics/churn-causes')).body;
    expect(counts.byStaffCause).toEqual([expect.objectContaining({ cause: 'competitor', count: 1 })]);

    // The dashboard's 流失分析 panel counts the range's losses by both causes (docs/churn.md §Causes).
    await page.goto(`${app.url}/console/`);
    const lazy = page.locator('[data-test="lazy-panel-churn"]');
    const panel = page.locator('[data-test="panel-churn"]');
    await poll(async () => (await lazy.count()) + (await panel.count())).toBe(1);
    if ((await lazy.count()) > 0) await lazy.scrollIntoViewIfNeeded({ timeout: 5_000 }).catch(() => undefined);
    await poll(() => panel.count()).toBe(1);
    await panel.scrollIntoViewIfNeeded();
    const causes = panel.locator('[data-test="churn-causes"]');
    await poll(() => causes.innerText()).toContain('员工离职未交接 1');
    expect(await causes.innerText()).toContain('选择了竞品 1');
    expect(await causes.innerText()).toContain('未记录 0');
    await panel.screenshot({ path: `${process.cwd()}/test-results/console/churn-03-panel.png` });
    expect(h.problems).toEqual([]);
    await page.close();
  });
});
