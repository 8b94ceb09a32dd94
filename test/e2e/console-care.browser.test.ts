import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import type { ArchiveApp } from '../integration/customers.harness.js';
import { api } from '../helpers/app.js';
import { CHROMIUM, field, startConsoleHarness, type ConsoleHarness } from '../helpers/console-browser.js';
import { addDays, localDate } from '../../src/shared/dates.js';
import { holidaysOn } from '../../src/domain/care/occasions.js';

vi.setConfig({ testTimeout: 120_000 });

type Line = { ruleId: string; planned: number; already: number; skipped: Record<string, number>; optedOut: number };
type CalendarAnswer = { items: { date: string; rules: Line[] }[] };

/**
 * 关怀 and 挽回 in a real browser, signed in as 张三 (admin): the care calendar shows what the API forecasts for the
 * next 30 days and follows an edit of a birthday rule; a day's line opens its customers; the ledger's filters give
 * what the API gives; the win-back page draws a campaign's funnel from its stats; the rule edits are in 操作日志 with
 * before and after. Screenshots are care-*.png under test-results/console/.
 */
describe.skipIf(!CHROMIUM)('关怀 and 挽回 pages in a real browser', () => {
  let h: ConsoleHarness;
  let app: ArchiveApp;
  let admin: BrowserContext | undefined;
  /** 张三's signed-in browser profile (signing in is a test step: it polls), shared by the tests. */
  const signedIn = async (): Promise<BrowserContext> => (admin ??= await h.signIn('张三'));
  let ruleIds: Record<string, string>;
  const today = localDate(new Date(), 'Asia/Shanghai');
  // Birthdays on plain days (no holiday competes for the customers' daily slot) a few days ahead.
  const plainDays = Array.from({ length: 20 }, (_, i) => addDays(today, i + 2)).filter((d) => holidaysOn(d).length === 0);
  const [birthdayDay, ledgerDay] = plainDays;
  let first: { externalUserId: string; name: string };
  let second: { externalUserId: string; name: string };

  beforeAll(async () => {
    h = await startConsoleHarness();
    app = h.app;
    const customers = (await api<{ items: { externalUserId: string; name: string }[] }>(app, 'GET', '/api/v1/customers?pageSize=5')).body.items;
    [first, second] = customers;
    const birthday = (d: string) => ({ birthday: { calendar: 'solar', month: Number(d.slice(5, 7)), day: Number(d.slice(8, 10)) } });
    expect((await api(app, 'PATCH', `/api/v1/customers/${first.externalUserId}`, birthday(birthdayDay))).status).toBe(200);
    expect((await api(app, 'PATCH', `/api/v1/customers/${second.externalUserId}`, birthday(ledgerDay))).status).toBe(200);
    const rules = (await api<{ items: { id: string; seedKey: string }[] }>(app, 'GET', '/api/v1/care-rules')).body.items;
    ruleIds = Object.fromEntries(rules.map((r) => [r.seedKey, r.id]));
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  const calendarApi = async (): Promise<CalendarAnswer> => (await api<CalendarAnswer>(app, 'GET', `/api/v1/care-rules/calendar?from=${today}&days=30`)).body;
  const apiLine = (cal: CalendarAnswer, date: string, ruleId: string) => cal.items.find((d) => d.date === date)?.rules.find((l) => l.ruleId === ruleId);
  const dayCell = (page: Page, date: string) => page.locator(`[data-test="cal-day-${date}"]`);
  /** What the page shows for each rule line of a day: rule id → the count drawn. */
  async function shownLines(page: Page, date: string): Promise<Record<string, number>> {
    const lines = dayCell(page, date).locator('[data-test^="cal-line-"]');
    const out: Record<string, number> = {};
    for (let i = 0; i < (await lines.count()); i++) {
      const id = (await lines.nth(i).getAttribute('data-test'))!.slice('cal-line-'.length);
      out[id] = Number(await lines.nth(i).locator('[data-test="cal-count"]').innerText());
    }
    return out;
  }
  const apiLines = (cal: CalendarAnswer, date: string) => Object.fromEntries((cal.items.find((d) => d.date === date)?.rules ?? []).map((l) => [l.ruleId, l.planned + l.already]));

  it('shows the next 30 days as the API forecasts them, and follows an edit of the birthday rule', async () => {
    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/care-rules`);
    const rows = page.locator('[data-test="care-rules"] .el-table__row');
    await expect.poll(() => rows.count()).toBeGreaterThan(0);
    expect(await page.locator('[data-test="care-rules"]').innerText()).not.toMatch(/\b(mass_task|staff_reminder|note_due|followup|anniversary|winback)\b/);
    await h.shot(page, 'care-01-rules');

    await page.getByRole('tab', { name: '未来 30 天' }).click();
    await expect.poll(() => page.locator('[data-test^="cal-day-"]').count(), { timeout: 20_000 }).toBe(30);
    let cal = await calendarApi();
    expect(apiLine(cal, birthdayDay, ruleIds.birthday)).toMatchObject({ planned: 1 });
    for (const d of [birthdayDay, ledgerDay, ...cal.items.filter((x) => x.rules.length).slice(0, 3).map((x) => x.date)]) {
      await expect.poll(() => shownLines(page, d), { message: d, timeout: 10_000 }).toEqual(apiLines(cal, d));
    }
    expect(await dayCell(page, birthdayDay).innerText()).toContain('生日祝福');
    await h.shot(page, 'care-02-calendar');

    // Leave the first customer out of the birthday rule: their birthday disappears from the calendar.
    await page.getByRole('tab', { name: '规则' }).click();
    await rows.filter({ hasText: '生日祝福' }).getByText('编辑').click();
    const counted = page.locator('[data-test="care-form"] [data-test="audience-count"]');
    await expect.poll(() => counted.innerText()).toMatch(/匹配 \d+ 位客户/);
    const audience = `NOT activity:churned AND NOT id:${first.externalUserId}`;
    await field(page, 'audience-text').fill(audience);
    await expect.poll(() => counted.innerText()).toContain(`匹配 ${await h.count(audience)} 位客户`);
    await field(page, 'care-template').fill('{{name}}，生日快乐！—— {{staff}}');
    await expect.poll(() => page.locator('[data-test="care-preview"]').innerText()).toBe('王小明，生日快乐！—— 张三');
    await h.shot(page, 'care-03-rule-form');
    await page.click('[data-test="care-save"]');
    await expect.poll(() => page.locator('[data-test="care-rules"]').innerText()).toContain(`NOT id:${first.externalUserId}`);

    await page.getByRole('tab', { name: '未来 30 天' }).click();
    cal = await calendarApi();
    expect(apiLine(cal, birthdayDay, ruleIds.birthday)).toBeUndefined();
    await expect.poll(() => shownLines(page, birthdayDay), { timeout: 20_000 }).toEqual(apiLines(cal, birthdayDay));
    expect(await dayCell(page, birthdayDay).innerText()).not.toContain('生日祝福');
    await h.shot(page, 'care-04-calendar-after-edit');
    await page.close();
    expect(h.problems).toEqual([]);
  });

  it('keeps a bad audience from being sent, shows the server refusing a taken name next to the name, and creates a rule', async () => {
    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/care-rules`);
    await page.click('[data-test="care-new"]');
    await field(page, 'care-name').fill('生日祝福');
    await page.locator('[data-test="care-type"]').getByText('纪念日').click();
    await page.locator('[data-test="care-days"]').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: '添加满 30 天' }).click();
    await page.keyboard.press('Escape');
    await field(page, 'care-template').fill('{{name}}，认识 {{days}} 天啦');
    await expect.poll(() => page.locator('[data-test="care-preview"]').innerText()).toBe('王小明，认识 30 天啦');
    // Checked in the browser (the builder shows where), never sent.
    await field(page, 'audience-text').fill('tag:VIP AND (');
    await page.click('[data-test="care-save"]');
    await expect.poll(() => page.locator('[data-test="care-audience-error"]').innerText()).toContain('受众表达式有误');
    expect(await page.locator('[data-test="care-form"]').innerText()).toContain('第 14 个字符处');
    await h.shot(page, 'care-05-bad-audience');
    // The name is taken: the server's refusal is shown next to the name.
    await field(page, 'audience-text').fill('NOT activity:churned');
    await page.click('[data-test="care-save"]');
    const nameItem = page.locator('[data-test="care-form"] .el-form-item', { has: page.locator('[data-test="care-name"]') });
    await expect.poll(() => nameItem.locator('.el-form-item__error').innerText()).toContain('已有同名规则');
    await field(page, 'care-name').fill('会员纪念日');
    await page.click('[data-test="care-save"]');
    await expect.poll(() => page.locator('[data-test="care-rules"]').innerText()).toContain('会员纪念日');
    const created = (await api<{ items: { name: string; occasion: unknown; audience: string }[] }>(app, 'GET', '/api/v1/care-rules')).body.items.filter((r) => r.name === '会员纪念日');
    expect(created).toEqual([expect.objectContaining({ occasion: { type: 'anniversary', days: [30], years: false }, audience: 'NOT activity:churned' })]);
    await page.close();
    // The refusals were the point: the builder's count of the broken expression, and the taken name.
    expect(h.problems.filter((p) => !/ (400 POST \/api\/v1\/audiences\/count|409 POST \/api\/v1\/care-rules)$/.test(p))).toEqual([]);
    h.problems.length = 0;
  });

  it('creates a 复购提醒 rule in zh-CN and shows a customer’s predicted next order on 客户详情 (docs/repurchase.md)', async () => {
    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/care-rules`);
    await page.click('[data-test="care-new"]');
    await field(page, 'care-name').fill('复购提醒');
    await page.locator('[data-test="care-type"]').getByText('复购提醒').click();
    // A new rule of this occasion takes its place in the ledger at 110 (docs/surveys.md §Priority).
    await expect.poll(() => field(page, 'care-priority').inputValue()).toBe('110');
    await field(page, 'care-repurchase-days').fill('5');
    await field(page, 'care-template').fill('{{name}}，您常买的商品预计 {{days}} 天后（{{date}}）就要用完啦');
    await expect.poll(() => page.locator('[data-test="care-preview"]').innerText()).toBe('王小明，您常买的商品预计 5 天后（2026-12-20）就要用完啦');
    expect(await page.locator('[data-test="care-repurchase-help"]').innerText()).toContain('每个购买周期只提醒一次');
    await h.shot(page, 'care-05b-repurchase-form');
    await page.click('[data-test="care-save"]');
    await expect.poll(() => page.locator('[data-test="care-rules"]').innerText()).toContain('复购提醒（预计购买日前 5 天）');
    const created = (await api<{ items: { name: string; occasion: unknown; priority: number }[] }>(app, 'GET', '/api/v1/care-rules')).body.items.filter((r) => r.name === '复购提醒');
    expect(created).toEqual([expect.objectContaining({ occasion: { type: 'repurchase', daysBefore: 5 }, priority: 110 })]);
    expect(await page.locator('[data-test="care-rules"]').innerText()).not.toMatch(/\brepurchase\b/);

    // Orders 20 days apart, the latest 10 days ago: predicted (own interval only, nobody else to learn from) in 10 days.
    const orders = [30, 10].map((ago, i) => ({ orderNo: `RP-${i}`, externalUserId: first.externalUserId, amount: '88.00', orderedAt: `${addDays(today, -ago)} 10:00` }));
    expect((await api(app, 'POST', '/api/v1/orders/import', { orders })).body).toMatchObject({ imported: 2 });
    await page.goto(`${app.url}/console/customers/${first.externalUserId}`);
    await expect.poll(() => page.locator('[data-test="repurchase"]').innerText()).toBe(`${addDays(today, 10)}，还有 10 天`);
    await h.shot(page, 'care-05c-customer-repurchase');
    await page.goto(`${app.url}/console/customers/${second.externalUserId}`);
    await expect.poll(() => page.locator('[data-test="repurchase"]').innerText()).toContain('暂不预测');
    await page.close();
    expect(h.problems).toEqual([]);
  });

  it('picks 素材库 items for a rule through 「从素材库选择」, searching, and saves them in order', async () => {
    const coupon = (await api<{ id: string }>(app, 'POST', '/api/v1/content', { kind: 'text', title: '生日优惠券', text: '{{name}}，生日券已到账' })).body.id;
    const link = (await api<{ id: string }>(app, 'POST', '/api/v1/content', { kind: 'link', title: '会员生日活动', url: 'https://shop.example.com/bday' })).body.id;
    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/care-rules`);
    await page.click('[data-test="care-new"]');
    await field(page, 'care-name').fill('素材库生日卡');
    await field(page, 'care-template').fill('{{name}}，生日快乐');
    await page.click('[data-test="content-pick"]');
    const rows = page.locator('[data-test="content-rows"] .el-table__row');
    await expect.poll(() => rows.count()).toBeGreaterThanOrEqual(2);
    await field(page, 'content-search').fill('生日活动');
    await field(page, 'content-search').press('Enter');
    await expect.poll(async () => (await rows.allInnerTexts()).join('|')).toContain('会员生日活动');
    expect(await rows.count()).toBe(1);
    await rows.first().click();
    await field(page, 'content-search').fill('优惠券');
    await field(page, 'content-search').press('Enter');
    await expect.poll(async () => (await rows.allInnerTexts()).join('|')).toContain('生日优惠券');
    await rows.first().click();
    await expect.poll(() => page.locator('[data-test="content-count"]').innerText()).toBe('已选 2 / 9');
    await h.shot(page, 'care-05d-content-picker');
    await page.click('[data-test="content-confirm"]');
    await expect.poll(() => page.locator('[data-test="content-picked"]').allInnerTexts()).toEqual(['链接：会员生日活动', '文字：生日优惠券']);
    await h.shot(page, 'care-05e-content-picked');
    await page.click('[data-test="care-save"]');
    await expect.poll(() => page.locator('[data-test="care-rules"]').innerText()).toContain('素材库生日卡');
    const saved = (await api<{ items: { name: string; contentIds: string[] }[] }>(app, 'GET', '/api/v1/care-rules')).body.items.find((r) => r.name === '素材库生日卡');
    expect(saved?.contentIds).toEqual([link, coupon]);
    await page.close();
    // Off again, so the later tests' calendar and ledger see only the rules they set up.
    const id = (await api<{ items: { id: string; name: string }[] }>(app, 'GET', '/api/v1/care-rules')).body.items.find((r) => r.name === '素材库生日卡')!.id;
    expect((await api(app, 'PATCH', `/api/v1/care-rules/${id}`, { enabled: false })).status).toBe(200);
    expect(h.problems).toEqual([]);
  });

  it('opens the customers of one day and rule, paged as the API pages them', async () => {
    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/care-rules`);
    await page.getByRole('tab', { name: '未来 30 天' }).click();
    await expect.poll(() => page.locator('[data-test^="cal-day-"]').count(), { timeout: 20_000 }).toBe(30);
    const line = dayCell(page, ledgerDay).locator(`[data-test="cal-line-${ruleIds.birthday}"]`);
    await line.click();
    const drill = page.locator('[data-test="cal-drill"]');
    const answer = (await api<{ total: number; items: { name: string; outcome: string }[] }>(app, 'GET', `/api/v1/care-rules/calendar/${ledgerDay}/customers?rule=${ruleIds.birthday}&page=1&pageSize=20`)).body;
    expect(answer.items.map((c) => c.name)).toEqual([second.name]);
    await expect.poll(() => drill.locator('.el-table__row').count()).toBe(answer.items.length);
    expect(await drill.innerText()).toContain(second.name);
    expect(await drill.innerText()).toContain('将发送');
    expect(await drill.locator('.el-pagination').innerText()).toContain(`共 ${answer.total} 条`);
    await h.shot(page, 'care-06-drill');
    await page.keyboard.press('Escape');

    // A holiday (every customer) when one falls within the 30 days: paged on the server.
    const cal = await calendarApi();
    const big = cal.items.flatMap((d) => d.rules.map((l) => ({ date: d.date, l }))).sort((a, b) => b.l.planned + b.l.already - (a.l.planned + a.l.already))[0];
    await dayCell(page, big.date).locator(`[data-test="cal-line-${big.l.ruleId}"]`).click();
    const total = (await api<{ total: number }>(app, 'GET', `/api/v1/care-rules/calendar/${big.date}/customers?rule=${big.l.ruleId}&pageSize=20`)).body.total;
    await expect.poll(() => drill.locator('.el-pagination').innerText()).toContain(`共 ${total} 条`);
    await expect.poll(() => drill.locator('.el-table__row').count()).toBe(Math.min(20, total));
    await page.close();
    expect(h.problems).toEqual([]);
  });

  it('filters the delivery ledger by rule, status, dates and customer, as the API does', async () => {
    // The day's care run, as the 09:00 job would make it: a birthday message for the second customer.
    const run = await app.container.scheduling.scheduler.runNow('care', { at: new Date(`${ledgerDay}T10:00:00+08:00`) });
    expect(run.status).toBe('done');
    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/care-rules`);
    await page.getByRole('tab', { name: '发送记录' }).click();
    const table = page.locator('[data-test="care-ledger"]');
    const all = (await api<{ total: number }>(app, 'GET', '/api/v1/deliveries?kind=care&pageSize=1')).body.total;
    expect(all).toBeGreaterThan(0);
    await expect.poll(() => page.locator('.el-pagination').last().innerText()).toContain(`共 ${all} 条`);

    await page.locator('[data-test="ledger-rule"]').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: '生日祝福' }).click();
    await page.locator('[data-test="ledger-status"]').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: '待员工确认' }).click();
    await page.locator('.el-range-editor .el-range-input').first().fill(ledgerDay);
    await page.locator('.el-range-editor .el-range-input').nth(1).fill(ledgerDay);
    await page.keyboard.press('Enter');
    await page.locator('[data-test="ledger-customer"]').click();
    await page.keyboard.type(second.name.slice(0, 2));
    await page.locator('.el-select-dropdown__item:visible', { hasText: second.name }).first().click();
    const filtered = (await api<{ total: number; items: { customerName: string; status: string }[] }>(
      app,
      'GET',
      `/api/v1/deliveries?kind=care&rule=${ruleIds.birthday}&status=submitted&from=${ledgerDay}&to=${ledgerDay}&customer=${second.externalUserId}`,
    )).body;
    expect(filtered.total).toBe(1);
    await expect.poll(() => table.locator('.el-table__row').count()).toBe(filtered.total);
    const row = await table.locator('.el-table__row').first().innerText();
    expect(row).toContain(second.name);
    expect(row).toContain('待员工确认');
    expect(row).toContain('生日祝福');
    expect(row).not.toMatch(/\b(submitted|mass_task)\b/);
    await h.shot(page, 'care-07-ledger');
    await page.close();
    expect(h.problems).toEqual([]);
  });

  it('shows a win-back campaign with its steps and a funnel that matches its stats', async () => {
    const c = app.container;
    const winbackId = ruleIds.winback;
    expect((await api(app, 'PATCH', `/api/v1/care-rules/${winbackId}`, { enabled: true })).status).toBe(200);
    // Two customers fell silent 40 days ago; one of them writes back the next day.
    const silent = Date.now() - 40 * 86_400_000;
    await c.db.query('UPDATE customers SET last_interaction_at = ?, first_added_at = ? WHERE external_user_id IN (?, ?)', [silent, silent - 86_400_000, first.externalUserId, second.externalUserId]);
    await c.db.query('UPDATE customers SET last_interaction_at = ? WHERE external_user_id NOT IN (?, ?)', [Date.now(), first.externalUserId, second.externalUserId]);
    expect((await c.scheduling.scheduler.runNow('winback', { at: new Date(`${today}T10:00:00+08:00`) })).status).not.toBe('failed');
    // After the enrolment (at the run's 10:00): a reply.
    await c.db.query('UPDATE customers SET last_interaction_at = ? WHERE external_user_id = ?', [new Date(`${today}T12:00:00+08:00`).getTime(), first.externalUserId]);
    await c.scheduling.scheduler.runNow('winback', { at: new Date(`${addDays(today, 1)}T10:00:00+08:00`) });
    const stats = (await api<{ enrolled: number; messaged: number; reactivated: number }>(app, 'GET', `/api/v1/care-rules/${winbackId}/stats?from=${addDays(today, -89)}&to=${today}`)).body;
    expect(stats.enrolled).toBeGreaterThanOrEqual(2);
    expect(stats.reactivated).toBeGreaterThanOrEqual(1);

    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/`);
    await page.locator('[data-test="menu"]').getByText('挽回').click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/console/winback');
    const figures = page.locator(`[data-test="winback-figures-${winbackId}"]`);
    await expect.poll(() => figures.innerText()).toContain(`入组 ${stats.enrolled}`);
    expect(await figures.innerText()).toContain(`已触达 ${stats.messaged}`);
    expect(await figures.innerText()).toContain(`已回归 ${stats.reactivated}`);
    await expect.poll(() => page.locator(`[data-test="winback-funnel-${winbackId}"] canvas`).count()).toBe(1);
    const card = await page.locator(`[data-test="winback-${winbackId}"]`).innerText();
    expect(card).toContain('第 7 天');
    expect(card).toContain('入组：进入沉睡');
    expect(card).not.toMatch(/\b(mass_task|staff_reminder)\b/);
    await h.shot(page, 'care-08-winback');

    // All time gives the same here (everything began today); the figures follow the period.
    await page.locator('[data-test="winback-period"]').getByText('全部').click();
    const allTime = (await api<{ enrolled: number }>(app, 'GET', `/api/v1/care-rules/${winbackId}/stats`)).body;
    await expect.poll(() => figures.innerText()).toContain(`入组 ${allTime.enrolled}`);

    // Edit the campaign with the care form: a step's day going back is refused next to the steps.
    await page.locator(`[data-test="winback-${winbackId}"]`).getByText('编辑').click();
    const steps = page.locator('[data-test="winback-steps"]');
    await expect.poll(() => steps.locator('.step').count()).toBe(3);
    await steps.locator('textarea').nth(1).fill('{{name}}，回归礼包已为你留好。');
    // Enrol by churn risk instead of dormancy (docs/churn.md §Win-back).
    await page.locator('[data-test="winback-entry"]').getByText('流失风险达到预警线').click();
    await h.shot(page, 'care-09-winback-form');
    await page.click('[data-test="care-save"]');
    await expect.poll(() => page.locator(`[data-test="winback-${winbackId}"]`).innerText()).toContain('回归礼包已为你留好');
    expect(await page.locator(`[data-test="winback-entry-${winbackId}"]`).innerText()).toBe('入组：流失风险达到预警线');
    expect((await api<{ occasion: { entry?: string } }>(app, 'GET', `/api/v1/care-rules/${winbackId}`)).body.occasion.entry).toBe('churn_risk');
    await h.shot(page, 'care-09-winback-edited');
    await page.close();
    expect(h.problems).toEqual([]);
  });

  it('a staff member has neither page: not in the menu, sent back from the address, refused by the API', async () => {
    const staffToken = (await app.container.tokens.create({ role: 'staff', userid: 'lisi' })).token;
    const ctx = await h.newContext();
    const page = await ctx.newPage();
    await page.goto(`${app.url}/console/signin`);
    await page.getByText('高级：使用 API 令牌').click();
    await field(page, 'token-input').fill(staffToken);
    await page.click('[data-test="token-submit"]');
    await expect.poll(() => new URL(page.url()).pathname).toBe('/console/');
    const menu = await page.locator('[data-test="menu"]').innerText();
    expect(menu).not.toContain('挽回');
    expect(menu).not.toContain('关怀规则');
    await page.goto(`${app.url}/console/winback`);
    await expect.poll(() => new URL(page.url()).pathname).toBe('/console/');
    expect((await api(app, 'GET', `/api/v1/care-rules/calendar?days=1`, undefined, staffToken)).status).toBe(403);
    expect((await api(app, 'GET', `/api/v1/care-rules/${ruleIds.winback}/stats`, undefined, staffToken)).status).toBe(403);
    await ctx.close();
    expect(h.problems).toEqual([]);
  });

  it('finds the rule edits in 操作日志 with before and after', async () => {
    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/audit-log`);
    const table = page.locator('[data-test="audit"]');
    await expect.poll(() => table.locator('.el-table__row').count()).toBeGreaterThan(0);
    await page.locator('[data-test="audit-action"]').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: '关怀规则' }).click();
    await page.click('[data-test="audit-search"]');
    await expect.poll(() => table.innerText()).toContain('关怀规则 · 修改');
    expect(await table.innerText()).toContain('关怀规则 · 新建');
    // The birthday rule's edit: the audience before and after.
    const edit = table.locator('.el-table__row', { hasText: '关怀规则 · 修改' }).filter({ hasText: ruleIds.birthday });
    await expect.poll(() => edit.count()).toBeGreaterThan(0);
    await edit.first().locator('.el-table__expand-icon').click();
    await expect.poll(() => table.innerText()).toContain('修改前');
    const text = await table.innerText();
    expect(text).toContain('NOT activity:churned"');
    expect(text).toContain(`NOT id:${first.externalUserId}`);
    await h.shot(page, 'care-10-audit');
    await page.close();
    expect(h.problems).toEqual([]);
  });
});
