import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Page } from 'playwright-core';
import type { ArchiveApp } from '../integration/customers.harness.js';
import { api } from '../helpers/app.js';
import { CHROMIUM, startConsoleHarness, type ConsoleHarness } from '../helpers/console-browser.js';
import { addDays, localDate, zonedTimeToUtc } from '../../src/shared/dates.js';

vi.setConfig({ testTimeout: 120_000 });

const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000 });

/**
 * Where the console lists ledger rows or their sources, a survey's invitations read as the survey's name and tier
 * congratulations as 会员等级升级祝贺, never `survey:<id>` or `loyalty:tier`
 * (docs/analytics.md §Care and campaign results): the customer page's 消息投递 tab and the dashboard's 触达效果. Screenshots source-names-* under
 * test-results/console/.
 */
describe.skipIf(!CHROMIUM)('survey and tier sources named in the console', () => {
  let h: ConsoleHarness;
  let app: ArchiveApp;
  let customer = { externalUserId: '', name: '' };
  const day = addDays(localDate(new Date(), 'Asia/Shanghai'), -2);

  beforeAll(async () => {
    h = await startConsoleHarness();
    app = h.app;
    customer = (await api<{ items: { externalUserId: string; name: string }[] }>(app, 'GET', '/api/v1/customers?pageSize=1')).body.items[0];
    const survey = await api<{ id: number }>(app, 'POST', '/api/v1/surveys', { name: '季度满意度调查', questions: [{ kind: 'nps', title: '您有多大可能把我们推荐给朋友？' }], message: '请点击 {{link}}' });
    expect(survey.status).toBe(201);
    const at = zonedTimeToUtc(day, '10:00', 'Asia/Shanghai').getTime();
    const rows = [
      [`survey:${survey.body.id}`, 'survey', '邀请您填写问卷'],
      ['loyalty:tier', 'loyalty', '恭喜您升级为银卡会员'],
    ].map(([source, kind, text]) => [source, kind, null, null, customer.externalUserId, `o-${source}`, 'mass_task', 90, 'zhangsan', text, day, at, at + 86_400_000, 'sent', null, null, at, at, at, at]);
    await app.container.db.query(
      `INSERT INTO deliveries (source, kind, rule_id, broadcast_id, external_user_id, occasion, channel, priority, sender_userid, text, local_date, not_before, expires_at,
         status, reason, msgid, submitted_at, sent_at, created_at, updated_at) VALUES ${rows.map(() => '(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)').join(',')}`,
      rows.flat(),
    );
    const run = await app.container.scheduling.scheduler.runNow('analytics');
    expect(run.status, run.error ?? '').toBe('done');
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  const panel = (page: Page, id: string) => page.locator(`[data-test="panel-${id}"]`);

  it('names them on the customer page and in 触达效果', async () => {
    const admin = await h.signIn('张三');
    const page = await admin.newPage();
    await page.goto(`${app.url}/console/customers/${encodeURIComponent(customer.externalUserId)}`);
    const tab = page.locator('.el-tabs__item', { hasText: '消息投递（2）' });
    await tab.waitFor({ timeout: 15_000 });
    await tab.click();
    const sources = page.locator('[data-test="delivery-source"]');
    await poll(() => sources.allInnerTexts()).toEqual(['会员等级升级祝贺', '满意度调查：季度满意度调查']);
    await h.shot(page, 'source-names-01-customer');

    await page.goto(`${app.url}/console/`);
    const lazy = page.locator('[data-test="lazy-panel-reach"]');
    await poll(async () => (await lazy.count()) + (await panel(page, 'reach').count())).toBe(1);
    if ((await lazy.count()) > 0) await lazy.scrollIntoViewIfNeeded({ timeout: 5_000 }).catch(() => undefined);
    await poll(() => panel(page, 'reach').count()).toBe(1);
    await panel(page, 'reach').scrollIntoViewIfNeeded();
    const table = panel(page, 'reach').locator('[data-test="reach-sources"]');
    await poll(() => table.innerText()).toContain('季度满意度调查');
    const text = await table.innerText();
    expect(text).toContain('会员等级升级祝贺');
    expect(text).not.toMatch(/survey:|loyalty:tier|已删除/);
    await panel(page, 'reach').screenshot({ path: `${process.cwd()}/test-results/console/source-names-02-reach.png` });
    expect(h.problems).toEqual([]);
  });
});
