import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import type { ArchiveApp } from '../integration/customers.harness.js';
import { api } from '../helpers/app.js';
import { CHROMIUM, field, startConsoleHarness, type ConsoleHarness } from '../helpers/console-browser.js';

vi.setConfig({ testTimeout: 120_000 });

/** expect.poll with room for a loaded machine. */
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000 });

interface Summary { balance: number; tier: { name: string }; recent: { words: string; points: number; note: string | null }[] }

/**
 * 积分与会员 in a real browser, signed in as 张三 (admin): each tier's customers (the API's audience count per tier,
 * one customer lifted to 银卡 by the test), the programme's rules read-only, a customer's points looked up with their
 * ledger, points given through the form (after a confirmation naming the balance before and after) and a deduction
 * past the balance refused next to the field; the gift in 操作日志; and 系统设置 listing the LOYALTY_* settings in
 * words. Screenshots loyalty-* under test-results/console/.
 */
describe.skipIf(!CHROMIUM)('积分与会员 page in a real browser', () => {
  let h: ConsoleHarness;
  let app: ArchiveApp;
  let admin: BrowserContext;
  let customer = { externalUserId: '', name: '' };

  beforeAll(async () => {
    h = await startConsoleHarness();
    app = h.app;
    customer = (await api<{ items: { externalUserId: string; name: string }[] }>(app, 'GET', '/api/v1/customers?pageSize=1')).body.items[0];
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  const summary = async () => (await api<Summary>(app, 'GET', `/api/v1/customers/${customer.externalUserId}/loyalty`)).body;

  it('shows each tier with its customers as the API counts them, and the rules read-only', async () => {
    admin = await h.signIn('张三');
    // Another customer reaches 银卡 (1,000 points by default).
    const other = (await api<{ items: { externalUserId: string }[] }>(app, 'GET', '/api/v1/customers?pageSize=2')).body.items[1].externalUserId;
    expect((await api(app, 'POST', `/api/v1/customers/${other}/loyalty/adjust`, { points: 1200, note: '测试升级', requestId: 'lift-to-silver-1' })).status).toBe(201);
    const page = await admin.newPage();
    await page.goto(`${app.url}/console/`);
    await page.locator('[data-test="menu"] .el-menu-item', { hasText: '积分与会员' }).click();
    await poll(() => new URL(page.url()).pathname).toBe('/console/loyalty');
    const tiers = (await api<{ tiers: { rank: number; name: string }[] }>(app, 'GET', '/api/v1/loyalty/tiers')).body.tiers;
    expect(tiers.map((t) => t.name)).toEqual(['普通', '银卡', '金卡', '钻石']);
    for (const t of tiers) {
      const n = (await api<{ count: number }>(app, 'POST', '/api/v1/audiences/count', { audience: `tier:${t.name}` })).body.count;
      await poll(() => page.locator(`[data-test="tier-count-${t.rank}"]`).innerText()).toBe(n.toLocaleString('zh-CN'));
    }
    await poll(() => page.locator('[data-test="tier-count-1"]').innerText()).toBe('1');
    const rules = await page.locator('[data-test="loyalty-rules"]').innerText();
    expect(rules).toContain('每消费 1 元得 1 积分');
    expect(rules).toContain('只读');
    expect(rules).toContain('LOYALTY_POINTS_PER_YUAN');
    expect(rules).not.toMatch(/\bpoints\b|\bspend\b/);
    await h.shot(page, 'loyalty-01-tiers');

    // A tier's count opens the customer list filtered by that tier.
    await page.click('[data-test="tier-count-1"]');
    await poll(() => new URL(page.url()).pathname).toBe('/console/customers');
    await poll(() => page.locator('.el-pagination__total').innerText()).toContain('1');
    await page.close();
    expect(h.problems).toEqual([]);
  });

  it('looks a customer up, gives points after a confirmation, refuses a deduction past the balance, and the gift is in 操作日志', async () => {
    const page = await admin.newPage();
    await page.goto(`${app.url}/console/loyalty`);
    // Pick the customer by searching their name.
    await page.click('[data-test="loyalty-pick"]');
    await page.keyboard.type(customer.name);
    await page.locator('.el-select-dropdown__item:visible', { hasText: customer.name }).first().click();
    await poll(() => new URL(page.url()).searchParams.get('customer')).toBe(customer.externalUserId);
    await poll(() => page.locator('[data-test="loyalty-balance"]').innerText()).toBe('0');
    expect(await page.locator('[data-test="loyalty-tier"]').innerText()).toBe('普通');
    expect(await page.locator('[data-test="loyalty-next"]').innerText()).toContain('再累计 1,000 积分升级为「银卡」');

    // Give 150 points: the confirmation names the customer and the balance before and after.
    await field(page, 'adjust-points').fill('150');
    await field(page, 'adjust-note').fill('投诉补偿');
    await page.click('[data-test="adjust-submit"]');
    const box = page.locator('.el-message-box');
    await poll(() => box.innerText()).toContain(`将为客户「${customer.name}」赠送 150 积分，积分余额 0 → 150`);
    await h.shot(page, 'loyalty-02-give-confirm');
    await box.getByRole('button', { name: '确定赠送' }).click();
    await poll(() => page.locator('[data-test="loyalty-balance"]').innerText()).toBe('150');
    const after = await summary();
    expect(after.balance).toBe(150);
    expect(after.recent[0]).toMatchObject({ words: '客服赠送积分', points: 150, note: '投诉补偿' });
    const ledger = page.locator('[data-test="loyalty-ledger"] .el-table__row').first();
    await poll(() => ledger.innerText()).toContain('客服赠送积分');
    expect(await ledger.innerText()).toMatch(/\+150[\s\S]*投诉补偿[\s\S]*张三/);

    // Deducting more than the balance is refused on the page and nothing is sent.
    await page.locator('[data-test="loyalty-adjust"] .el-radio-button', { hasText: '扣减积分' }).click();
    await field(page, 'adjust-points').fill('500');
    await field(page, 'adjust-note').fill('误操作更正');
    await page.click('[data-test="adjust-submit"]');
    await poll(() => page.locator('[data-test="loyalty-adjust"]').innerText()).toContain('积分不足：当前可用 150 积分');
    expect(await box.count()).toBe(0);
    // Within the balance it goes through.
    await field(page, 'adjust-points').fill('50');
    await page.click('[data-test="adjust-submit"]');
    await poll(() => box.innerText()).toContain('将从客户');
    await box.getByRole('button', { name: '确定扣减' }).click();
    await poll(() => page.locator('[data-test="loyalty-balance"]').innerText()).toBe('100');
    expect((await summary()).recent[0]).toMatchObject({ words: '积分调整扣减', points: -50 });
    await h.shot(page, 'loyalty-03-ledger');

    await page.goto(`${app.url}/console/audit-log`);
    await poll(() => page.locator('[data-test="audit"]').innerText()).toContain('积分');
    await page.close();
    expect(h.problems).toEqual([]);
  });

  it('lists the LOYALTY_* settings in words on 系统设置', async () => {
    const page = await admin.newPage();
    await page.goto(`${app.url}/console/settings`);
    const section = page.locator('[data-test="set-loyalty"]');
    await poll(() => section.innerText()).toContain('会员等级与门槛');
    const text = await section.innerText();
    expect(text).toContain('普通 0 / 银卡 1,000 / 金卡 5,000 / 钻石 20,000');
    expect(text).toContain('积分余额');
    expect(text).toContain('默认值（可用环境变量 LOYALTY_TIERS 设置）');
    expect(text).not.toMatch(/\bpoints\b|\bspend\b/);
    await h.shot(page, 'loyalty-04-settings');
    await page.close();
    expect(h.problems).toEqual([]);
  });
});
