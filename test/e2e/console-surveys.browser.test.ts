import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { api } from '../helpers/app.js';
import { CHROMIUM, startConsoleHarness, type ConsoleHarness } from '../helpers/console-browser.js';

vi.setConfig({ testTimeout: 120_000 });

/**
 * 满意度调查 in the operator console (docs/surveys.md §Definitions, §Results), signed in as 张三 (admin), through the real
 * API: a survey created in the form, the server's zh-CN 400 shown next to its field, the list with status and trigger in
 * words, and the results of two answers given on the customer's page (NPS −50: one passive, one detractor). Screenshots
 * surveys-* under test-results/console/.
 */
describe.skipIf(!CHROMIUM)('满意度调查 in the console', () => {
  let h: ConsoleHarness;

  beforeAll(async () => {
    h = await startConsoleHarness();
  }, 120_000);
  afterAll(() => h?.close());

  it('creates a survey in the form, shows a refused field, and shows the results of answers', async () => {
    const ctx = await h.signIn('张三');
    const page = await ctx.newPage();
    await page.goto(`${h.app.url}/console/surveys`);
    await expect.poll(() => page.locator('[data-test="surveys"]').innerText()).toContain('还没有问卷');
    await page.click('[data-test="survey-new"]');
    const dialog = page.locator('[data-test="survey-dialog"]');
    await dialog.locator('input').first().fill('季度满意度调查');
    // No {{link}}: the server's message next to the field.
    await dialog.locator('textarea').nth(1).fill('您好，请评价我们的服务');
    await page.click('[data-test="survey-save"]');
    await expect.poll(() => dialog.innerText()).toContain('邀请文案须包含 {{link}}');
    await h.shot(page, 'surveys-form-error');
    await dialog.locator('textarea').nth(1).fill('{{name}}您好，请评价我们的服务：{{link}}');
    await page.click('[data-test="survey-save"]');
    await expect.poll(() => page.locator('[data-test="surveys"]').innerText()).toContain('季度满意度调查');
    const list = await page.locator('[data-test="surveys"]').innerText();
    expect(list).toContain('草稿');
    expect(list).toContain('手动发送');
    expect(list).toContain('每季度');

    // Two customers answer on their page: NPS 8 and 3.
    const { id } = (await api<{ items: { id: number }[] }>(h.app, 'GET', '/api/v1/surveys')).body.items[0];
    expect((await api(h.app, 'POST', `/api/v1/surveys/${id}/status`, { status: 'active' })).status).toBe(200);
    const customers = (await api<{ items: { externalUserId: string }[] }>(h.app, 'GET', '/api/v1/customers?pageSize=2')).body.items;
    for (const [i, c] of customers.entries()) {
      const { url } = (await api<{ url: string }>(h.app, 'POST', `/api/v1/customers/${c.externalUserId}/surveys/${id}/link`)).body;
      const html = await (await fetch(url)).text();
      const submission = /name="submission" value="([^"]+)"/.exec(html)![1];
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ submission, q0: i === 0 ? '8' : '3' }) });
      expect(res.status).toBe(200);
    }
    await page.reload();
    await expect.poll(() => page.locator('[data-test="survey-score"]').innerText()).toBe('-50');
    const results = await page.locator('[data-test="survey-results"]').innerText();
    expect(results).toContain('推荐 0 · 中立 1 · 贬损 1');
    expect(results).toContain('按员工');
    expect(results).not.toContain('detractor');
    await h.shot(page, 'surveys-results');

    // A survey sent after each WeChat-KF session (docs/surveys.md §After a WeChat-KF session): the form says how it goes.
    await page.click('[data-test="survey-new"]');
    await dialog.locator('input').first().fill('客服满意度');
    await page.locator('[data-test="survey-trigger"]').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: '微信客服会话结束后' }).click();
    await expect.poll(() => page.locator('[data-test="survey-kf-hint"]').innerText()).toContain('20 秒内');
    await dialog.locator('textarea').nth(1).fill('感谢您的咨询，请为本次服务打分：{{link}}');
    await h.shot(page, 'surveys-kf-trigger');
    await page.click('[data-test="survey-save"]');
    await expect.poll(() => page.locator('[data-test="surveys"]').innerText()).toContain('客服满意度');
    expect(await page.locator('[data-test="surveys"]').innerText()).toContain('微信客服会话结束后');
    expect(h.problems.filter((p) => !p.includes('400 POST /api/v1/surveys'))).toEqual([]);
    await ctx.close();
  });
});
