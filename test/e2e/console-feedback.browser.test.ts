import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import type { ArchiveApp } from '../integration/customers.harness.js';
import { api } from '../helpers/app.js';
import { CHROMIUM, field, startConsoleHarness, type ConsoleHarness } from '../helpers/console-browser.js';

vi.setConfig({ testTimeout: 120_000 });

const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000 });

/**
 * 客户反馈 in a real browser, signed in as 张三 (admin): the analysis over the tickets, the ticket list with a
 * detractor's ticket, 解决 through the dialog (the note required, then saved with its category), the ticket's
 * history, and the rules. Screenshot feedback-01 under test-results/console/.
 */
describe.skipIf(!CHROMIUM)('客户反馈 page in a real browser', () => {
  let h: ConsoleHarness;
  let app: ArchiveApp;
  let admin: BrowserContext;
  let customer = { externalUserId: '', name: '' };

  beforeAll(async () => {
    h = await startConsoleHarness();
    app = h.app;
    customer = (await api<{ items: { externalUserId: string; name: string }[] }>(app, 'GET', '/api/v1/customers?pageSize=1')).body.items[0];
    await app.container.feedback.onSurveyScored({ externalUserid: customer.externalUserId, surveyId: 1, answerId: 9001, kind: 'nps', score: 2, comment: '物流太慢，客服也不回复', answeredAt: new Date() });
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  it('lists the ticket with the analysis, resolves it through the dialog and shows its history', async () => {
    // Signed in here: the sign-in polls, which vitest allows only inside a test.
    admin = await h.signIn('张三');
    const page = await admin.newPage();
    await page.goto(`${app.url}/console/`);
    await page.locator('[data-test="menu"] .el-menu-item', { hasText: '客户反馈' }).click();
    await poll(() => new URL(page.url()).pathname).toBe('/console/feedback');
    const table = page.locator('[data-test="feedback-tickets"]');
    await poll(() => table.innerText()).toContain('物流太慢，客服也不回复');
    const row = await table.innerText();
    expect(row).toContain(customer.name);
    expect(row).toContain('NPS 2 分');
    expect(row).toContain('待联系');
    // The owner by name, their userid in grey below it.
    const listed = (await api<{ items: { ownerUserid: string; ownerName: string }[] }>(app, 'GET', '/api/v1/feedback/tickets')).body.items[0];
    expect(listed.ownerName).not.toBe(listed.ownerUserid);
    expect(await table.locator('[data-test="ticket-owner"]').first().innerText()).toBe(`${listed.ownerName}\n${listed.ownerUserid}`);
    await poll(() => page.locator('[data-test="feedback-analysis"]').innerText()).toContain('物流');
    expect(await page.locator('[data-test="feedback-rules"]').innerText()).toContain('投诉');
    await h.shot(page, 'feedback-01-list');

    await page.locator('[data-test="ticket-resolve"]').first().click();
    await page.locator('[data-test="resolve-confirm"]').click();
    await poll(() => page.locator('.el-dialog').innerText()).toContain('请填写处理结果');
    await field(page, 'resolve-note').fill('电话致歉并补发，客户满意');
    await page.locator('[data-test="resolve-confirm"]').click();
    await poll(() => table.innerText()).toContain('已解决');
    const saved = (await api<{ items: { status: string; resolutionNote: string; category: string }[] }>(app, 'GET', `/api/v1/customers/${customer.externalUserId}/feedback`)).body.items[0];
    expect(saved).toMatchObject({ status: 'resolved', resolutionNote: '电话致歉并补发，客户满意', category: '物流' });

    await table.locator('.el-table__expand-icon').first().click();
    await poll(() => table.innerText()).toContain('已解决：电话致歉并补发，客户满意');
    // Who did each step: 系统 opened it, 张三 (signed in) resolved it, named rather than shown as a userid.
    const actors = await table.locator('[data-test="event-actor"]').allInnerTexts();
    expect(actors.map((a) => a.replace(/\s+/g, ' ').trim())).toEqual(['· 系统', '· 张三zhangsan']);
    await poll(() => page.locator('[data-test="feedback-analysis"]').innerText()).toContain('100%');
    await h.shot(page, 'feedback-02-resolved');
    expect(h.problems).toEqual([]);
  });

  it('finds the customers with a ticket not yet resolved through the audience builder (ticket:open)', async () => {
    const other = (await api<{ items: { externalUserId: string }[] }>(app, 'GET', '/api/v1/customers?pageSize=2')).body.items[1];
    expect((await api(app, 'POST', '/api/v1/feedback/tickets', { externalUserId: other.externalUserId, text: '电话里说收到的杯子有破损', requestId: 'browser-ticket-open-1' })).status).toBe(201);
    const page = await admin.newPage();
    await page.goto(`${app.url}/console/customers`);
    await page.locator('[data-test="filter-mode"]').getByText('受众构建器').click();
    const builder = page.locator('[data-test="audience-builder"]');
    await poll(() => builder.isVisible()).toBe(true);
    await field(page, 'audience-text').fill('ticket:open');
    // The expression reads back as a row in words, and the count is the API's.
    await poll(() => builder.locator('[data-test="cond-field"]').first().innerText()).toContain('客户反馈工单');
    expect(await builder.locator('[data-test="cond-value"]').first().innerText()).toContain('有未解决的反馈工单');
    expect(await h.count('ticket:open')).toBe(1);
    await poll(() => page.locator('[data-test="audience-count"]').innerText()).toBe('匹配 1 位客户');
    await h.shot(page, 'feedback-03-audience');
    await page.close();
    expect(h.problems).toEqual([]);
  });
});
