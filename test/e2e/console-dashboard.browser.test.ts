import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import type { BrowserContext, Page } from 'playwright-core';
import type { ArchiveApp } from '../integration/customers.harness.js';
import { api } from '../helpers/app.js';
import { CHROMIUM, startConsoleHarness, type ConsoleHarness } from '../helpers/console-browser.js';
import { AnalyticsRecorder } from '../../src/domain/analytics/analytics-recorder.js';
import type { RelationChangeKind } from '../../src/domain/analytics/analytics.types.js';
import { addDays, localDate, zonedTimeToUtc } from '../../src/shared/dates.js';

vi.setConfig({ testTimeout: 120_000 });

const TZ = 'Asia/Shanghai';
type Counts = { added: number; lostByCustomer: number; lostByStaff: number; net: number };
type Growth = { from: string; to: string; lines: (Counts & { period: string; key: string; label: string })[]; total: Counts };
type Channels = { ranking: { rank: number; channelName: string; adds: number; net: number; retention7d: number | null; retention30d: number | null; orderedShare30d: number | null; revenue30dCents: number }[] };
type Mix = { latest: { asOf: string; values: { value: string; customers: number }[] } | null };
type Transitions = { total: { fromValue: string; toValue: string; customers: number }[] };
type Totals = { lines: { period: string; asOf: string; customers: number }[] };
type Chart = { x: string[]; series: { name: string; data: (number | null)[] }[] };

/**
 * 数据看板 in a real browser on a corp with a known history, as an admin (张三) and as a staff member (李四): the
 * growth figures and chart, the customer totals, the channel ranking, the stage mix and its transitions (忠诚客户 →
 * 流失风险), each against the API and against what the test recorded; a shorter range and a weekly granularity ask
 * again; the CSV export downloads the API's file. Screenshots dash-* under test-results/console/.
 *
 * The history (Shanghai days before today T): T-10 李四 adds c7 through 春季海报; T-5 李四 adds c1, c2, c3 through it
 * and 张三 adds z1 (no channel); T-3 c1 deletes 李四, 李四 adds c5 through it; T-1 张三 deletes z1; today 李四 adds c6
 * through it. The nightly job rolls T-31…T-1 and snapshots T-3, T-2 and T-1; between T-3 and T-2 c2 and c3 go from
 * 忠诚客户 to 流失风险.
 */
describe.skipIf(!CHROMIUM)('数据看板 in a real browser', () => {
  let h: ConsoleHarness;
  let app: ArchiveApp;
  let admin: BrowserContext | undefined;
  const signedIn = async (): Promise<BrowserContext> => (admin ??= await h.signIn('张三'));
  let staffToken = '';
  let channelId = '';
  const today = localDate(new Date(), TZ);
  const T = (n: number) => addDays(today, -n);

  beforeAll(async () => {
    h = await startConsoleHarness();
    app = h.app;
    const c = app.container;
    const created = await api<{ id: string }>(app, 'POST', '/api/v1/channels', { name: '春季海报', staff: ['lisi'] });
    expect(created.status).toBe(201);
    channelId = created.body.id;
    const customersOf = async (userid: string) =>
      (await c.db.query<{ external_user_id: string }>("SELECT external_user_id FROM follow_relations WHERE userid = ? AND status = 'active' ORDER BY external_user_id", [userid])).map((r) => r.external_user_id);
    const lisi = await customersOf('lisi');
    const zhang = (await customersOf('zhangsan')).filter((x) => !lisi.includes(x));
    const [c1, c2, c3, c5, c6, c7] = lisi;
    const z1 = zhang[0];
    const recorder = new AnalyticsRecorder(c.repos.analytics, c.clock, TZ);
    const rec = (kind: RelationChangeKind, userid: string, ext: string, day: string, channel: string | null) =>
      c.db.tx((em) => recorder.record(em, { kind, userid, externalUserId: ext, channelId: channel, occurredAt: day === today ? new Date(Date.now() - 60_000) : zonedTimeToUtc(day, '10:00', TZ) }));
    await rec('added', 'lisi', c7, T(10), channelId);
    for (const x of [c1, c2, c3]) await rec('added', 'lisi', x, T(5), channelId);
    await rec('added', 'zhangsan', z1, T(5), null);
    await rec('lost_by_customer', 'lisi', c1, T(3), channelId);
    await rec('added', 'lisi', c5, T(3), channelId);
    await rec('lost_by_staff', 'zhangsan', z1, T(1), null);
    await rec('added', 'lisi', c6, today, channelId);

    // The nightly job: roll the days before today, then the snapshots of three nights with scoring moving two customers.
    const rollup = c.scheduling.analytics;
    await rollup.rollWindow(T(1), new Date());
    await c.db.query("UPDATE customers SET stage = 'loyal' WHERE external_user_id IN (?, ?, ?)", [c1, c2, c3]);
    for (const n of [3, 2, 1]) {
      if (n === 2) await c.db.query("UPDATE customers SET stage = 'at_risk' WHERE external_user_id IN (?, ?)", [c2, c3]);
      await rollup.takeSnapshot(T(n), new Date());
      await rollup.takeMixSnapshot(T(n), new Date());
    }
    expect((await api(app, 'PUT', '/api/v1/users/lisi/role', { role: 'staff' })).status).toBe(200);
    staffToken = (await c.tokens.create({ role: 'staff', userid: 'lisi' })).token;
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  const text = (page: Page, test: string) => page.locator(`[data-test="${test}"]`).first().innerText();
  const chart = async (page: Page, test: string): Promise<Chart> => JSON.parse((await page.locator(`[data-test="${test}"]`).getAttribute('data-chart')) ?? '{}') as Chart;
  const sum = (xs: (number | null)[]) => xs.reduce<number>((a, b) => a + (b ?? 0), 0);
  const growthApi = async (q: string, token?: string) => (await api<Growth>(app, 'GET', `/api/v1/analytics/growth?${q}`, undefined, token)).body;
  const cells = (page: Page, table: string) =>
    page.locator(`[data-test="${table}"] tbody tr:not(.dt-empty)`).evaluateAll((rows) => rows.map((r) => Array.from((r as unknown as { querySelectorAll(s: string): ArrayLike<{ textContent: string | null }> }).querySelectorAll('td')).map((td) => (td.textContent ?? '').trim())));

  /**
   * A full-page screenshot with the lower panels drawn, not their placeholders: each lazy panel is scrolled to (it
   * loads when near the screen), its figures waited for, then the page goes back to the top for the picture.
   */
  async function fullShot(page: Page, name: string) {
    for (const id of ['cohorts', 'churn', 'reach', 'staff']) {
      const lazy = page.locator(`[data-test="lazy-panel-${id}"]`);
      if ((await lazy.count()) > 0) await lazy.scrollIntoViewIfNeeded({ timeout: 5_000 }).catch(() => undefined);
      await expect.poll(() => page.locator(`[data-test="panel-${id}"]`).count()).toBe(1);
      await page.locator(`[data-test="panel-${id}"]`).scrollIntoViewIfNeeded();
    }
    await expect.poll(() => page.locator('.el-loading-mask:visible').count()).toBe(0);
    await page.evaluate('window.scrollTo(0, 0)');
    // ECharts animates for a second: the picture is of the drawn charts.
    await page.waitForTimeout(1_200);
    await h.shot(page, name);
  }

  it('shows growth, totals, the channel ranking and the stage mix with the figures recorded, as the API gives them', async () => {
    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/`);
    // The last 30 days: 7 adds (c1-c3, c5-c7, z1), c1 deleting 李四, 张三 deleting z1.
    const whole = await growthApi('');
    expect(whole.total).toMatchObject({ added: 7, lostByCustomer: 1, lostByStaff: 1, net: 5 });
    await expect.poll(() => text(page, 'growth-added')).toBe('7');
    expect(await text(page, 'growth-lostByCustomer')).toBe('1');
    expect(await text(page, 'growth-lostByStaff')).toBe('1');
    expect(await text(page, 'growth-net')).toBe('5');
    // The chart draws every day of the range, with each day's figures where the API has them and zero elsewhere.
    const g = await chart(page, 'growth-chart');
    expect(g.x).toHaveLength(30);
    expect(g.x.at(-1)).toBe(today.slice(5));
    const added = g.series.find((s) => s.name === '新增客户')!.data;
    expect(added[29 - 5]).toBe(4);
    expect(added[29 - 10]).toBe(1);
    expect(added[29]).toBe(1);
    expect(sum(added)).toBe(7);
    expect(g.series.map((s) => s.name)).toEqual(['新增客户', '客户删除员工', '员工删除客户', '净增']);
    for (const l of whole.lines) expect(added[g.x.indexOf(l.period.slice(5))]).toBe(l.added);

    // 客户总数: the latest night's snapshot, T-1.
    const totals = (await api<Totals>(app, 'GET', '/api/v1/analytics/customer-totals')).body;
    expect(totals.lines.at(-1)!.asOf).toBe(T(1));
    await expect.poll(() => text(page, 'totals-latest')).toBe(String(totals.lines.at(-1)!.customers));
    const t = await chart(page, 'totals-chart');
    expect(t.series[0].data.filter((v) => v !== null)).toEqual(totals.lines.map((l) => l.customers));
    expect(t.series[0].data[29 - 4]).toBeNull();

    // 渠道效果: 春季海报 first, 6 adds and a net of 5, its rates as the API has them.
    const ranking = (await api<Channels>(app, 'GET', '/api/v1/analytics/channels')).body.ranking;
    expect(ranking[0]).toMatchObject({ channelName: '春季海报', adds: 6, net: 5 });
    const pct = (r: number | null) => (r === null ? '—' : `${(r * 100).toFixed(1)}%`);
    await expect.poll(() => cells(page, 'channel-ranking')).toEqual(
      ranking.map((r) => [String(r.rank), r.channelName, String(r.adds), String(r.net), pct(r.retention7d), pct(r.retention30d), pct(r.orderedShare30d), `¥${(r.revenue30dCents / 100).toFixed(2)}`]),
    );
    // c7's 7 days have passed and 李四 still has c7: 100% kept.
    expect(ranking[0].retention7d).toBe(1);
    expect((await cells(page, 'channel-ranking'))[0][4]).toBe('100.0%');
    expect(await page.locator('[data-test="panel-growth"] [data-test="figure-kind"]').innerText()).toBe('事件');
    expect(await page.locator('[data-test="panel-mix"] [data-test="figure-kind"]').innerText()).toBe('快照');
    await fullShot(page, 'dash-01-admin');

    // 客户结构 by lifecycle stage: c1 still loyal, c2 and c3 at risk; two customers went 忠诚客户 → 流失风险.
    await page.locator('[data-test="mix-dimension"] label', { hasText: '生命周期阶段' }).click();
    await expect.poll(() => cells(page, 'mix-transitions')).toEqual([['忠诚客户', '→', '流失风险', '2']]);
    const trans = (await api<Transitions>(app, 'GET', '/api/v1/analytics/transitions?dimension=stage')).body.total;
    expect(trans).toEqual([expect.objectContaining({ fromValue: 'loyal', toValue: 'at_risk', customers: 2 })]);
    const mix = (await api<Mix>(app, 'GET', '/api/v1/analytics/mix?dimension=stage')).body.latest!;
    const stageWords: Record<string, string> = { new: '新客户', prospect: '潜在客户', customer: '成交客户', loyal: '忠诚客户', at_risk: '流失风险', churned: '已流失', '': '未分级' };
    const pie = JSON.parse((await page.locator('[data-test="mix-pie"]').getAttribute('data-chart'))!) as { name: string; value: number }[];
    expect(pie).toEqual(mix.values.filter((v) => v.customers > 0).map((v) => ({ name: stageWords[v.value], value: v.customers })));
    expect(pie.find((p) => p.name === '流失风险')?.value).toBe(2);
    expect(pie.find((p) => p.name === '忠诚客户')?.value).toBe(1);
    const panelText = await page.locator('[data-test="panel-mix"]').innerText();
    expect(panelText).not.toMatch(/\b(loyal|at_risk|prospect|active|dormant)\b/);
    await fullShot(page, 'dash-02-stage-mix');
    await page.close();
    expect(h.problems).toEqual([]);
  });

  it('asks again for a shorter range and by week, splits by channel, and downloads the API’s CSV', async () => {
    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/`);
    await expect.poll(() => text(page, 'growth-added')).toBe('7');
    // 最近 7 天 leaves out c7 (T-10).
    const asked = page.waitForRequest((r) => new URL(r.url()).pathname === '/api/v1/analytics/growth' && new URL(r.url()).searchParams.get('from') === T(6));
    await page.locator('[data-test="dash-range"] input').first().click();
    await page.locator('.el-picker-panel__shortcut:visible', { hasText: '最近 7 天' }).click();
    expect(new URL((await asked).url()).searchParams.get('to')).toBe(today);
    await expect.poll(() => text(page, 'growth-added')).toBe('6');
    expect((await growthApi(`from=${T(6)}&to=${today}`)).total.added).toBe(6);
    await expect.poll(async () => (await chart(page, 'growth-chart')).x.length).toBe(7);
    // The channel ranking asked again too: 5 adds in the 7 days.
    await expect.poll(async () => (await cells(page, 'channel-ranking'))[0]?.slice(1, 4)).toEqual(['春季海报', '5', '4']);

    // By week: the periods are the weeks' Mondays, and the adds still sum to 6.
    const weekly = page.waitForRequest((r) => new URL(r.url()).pathname === '/api/v1/analytics/growth' && new URL(r.url()).searchParams.get('granularity') === 'week');
    await page.locator('[data-test="dash-granularity"] label', { hasText: '按周' }).click();
    await weekly;
    const byWeek = await growthApi(`from=${T(6)}&to=${today}&granularity=week`);
    await expect.poll(async () => (await chart(page, 'growth-chart')).x.every((x) => x.endsWith(' 起'))).toBe(true);
    const w = await chart(page, 'growth-chart');
    expect(w.x.length).toBeLessThanOrEqual(2);
    expect(sum(w.series.find((s) => s.name === '新增客户')!.data)).toBe(6);
    for (const l of byWeek.lines) expect(w.series.find((s) => s.name === '新增客户')!.data[w.x.indexOf(`${l.period.slice(5)} 起`)]).toBe(l.added);

    // Split by channel, drawing adds: 春季海报 5 (c1-c3, c5, c6), 未通过渠道 1 (z1).
    await page.locator('[data-test="growth-split"]').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: '渠道' }).click();
    await expect.poll(async () => (await chart(page, 'growth-chart')).series.map((s) => [s.name, sum(s.data)])).toEqual([
      ['春季海报', 5],
      ['未通过渠道', 1],
    ]);
    await fullShot(page, 'dash-03-week-by-channel');
    await page.locator('[data-test="growth-figure"]').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: '员工删除客户' }).click();
    // Drawing 员工删除客户: only 张三 deleting z1 (no channel); 春季海报 had none, so no flat line for it.
    await expect.poll(async () => (await chart(page, 'growth-chart')).series.map((s) => [s.name, sum(s.data)])).toEqual([['未通过渠道', 1]]);

    // The CSV: the API's own file under its zh-CN name, as shown (7 days, by week, by channel).
    const download = page.waitForEvent('download');
    await page.locator('[data-test="panel-growth"] [data-test="export-csv"]').click();
    const file = await download;
    expect(file.suggestedFilename()).toBe(`客户增长-${T(6)}_${today}.csv`);
    const csv = readFileSync((await file.path())!, 'utf8');
    expect(csv.charCodeAt(0)).toBe(0xfeff);
    const lines = csv.slice(1).trim().split('\r\n');
    expect(lines[0]).toBe('周期,开始日期,结束日期,渠道,新增客户,客户删除员工,员工删除客户,净增,转入（继承）,转出（继承）');
    expect(lines.slice(1).reduce((n, l) => n + Number(l.split(',')[4]), 0)).toBe(6);
    expect(lines.slice(1).filter((l) => l.split(',')[3] === '春季海报').reduce((n, l) => n + Number(l.split(',')[4]), 0)).toBe(5);
    await page.close();
    expect(h.problems).toEqual([]);
  });

  it('filters every panel by one member and by one channel, where the question takes a channel', async () => {
    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/`);
    await expect.poll(() => text(page, 'growth-added')).toBe('7');
    const asks = (path: string, test: (q: URLSearchParams) => boolean) => page.waitForRequest((r) => new URL(r.url()).pathname === `/api/v1/analytics/${path}` && test(new URL(r.url()).searchParams));

    // 春季海报 only: 李四's six adds; z1 came through no channel. The customer totals are over every channel.
    const growthByChannel = asks('growth', (q) => q.get('channel') === channelId);
    const rankingByChannel = asks('channels', (q) => q.get('channel') === channelId);
    await page.locator('[data-test="dash-channel"]').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: '春季海报' }).click();
    await growthByChannel;
    await rankingByChannel;
    expect((await growthApi(`channel=${channelId}`)).total.added).toBe(6);
    await expect.poll(() => text(page, 'growth-added')).toBe('6');
    expect(await text(page, 'dash-channel-note')).toContain('其余面板统计全部渠道');

    // And 张三: none of his adds came through it. Every panel asks for his figures; the totals without the channel.
    const growthOfBoth = asks('growth', (q) => q.get('channel') === channelId && q.get('userid') === 'zhangsan');
    const totalsOfHim = asks('customer-totals', (q) => q.get('userid') === 'zhangsan');
    await page.locator('[data-test="dash-member"]').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: '张三' }).click();
    await growthOfBoth;
    expect((await totalsOfHim).url()).not.toContain('channel=');
    expect((await growthApi(`channel=${channelId}&userid=zhangsan`)).total.added).toBe(0);
    await expect.poll(() => text(page, 'growth-added')).toBe('0');
    const totals = (await api<Totals>(app, 'GET', '/api/v1/analytics/customer-totals?userid=zhangsan')).body;
    await expect.poll(() => text(page, 'totals-latest')).toBe(String(totals.lines.at(-1)!.customers));
    await fullShot(page, 'dash-05-member-and-channel');

    // 李四 over every channel again: his 6 adds and 1 loss.
    await page.locator('[data-test="dash-member"]').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: '李四' }).click();
    await page.locator('[data-test="dash-channel"]').hover();
    await page.locator('[data-test="dash-channel"] .el-select__clear').click();
    await expect.poll(() => text(page, 'growth-lostByCustomer')).toBe('1');
    expect((await growthApi('userid=lisi')).total).toMatchObject({ added: 6, lostByCustomer: 1 });
    await expect.poll(() => text(page, 'growth-added')).toBe('6');
    expect(await page.locator('[data-test="dash-channel-note"]').count()).toBe(0);
    await page.close();
    expect(h.problems).toEqual([]);
  });

  it('shows a staff member their own numbers only', async () => {
    const ctx = await h.signIn('李四');
    const page = await ctx.newPage();
    await page.goto(`${app.url}/console/`);
    expect(await page.locator('[data-test="dash-scope"]').innerText()).toContain('只统计你自己的客户');
    // The member filter is fixed to himself; the channel filter is the operators' (they list the channels).
    await expect.poll(() => page.locator('[data-test="dash-member"]').innerText()).toContain('李四');
    expect(await page.locator('[data-test="dash-member"].is-disabled, [data-test="dash-member"] .is-disabled').count()).toBeGreaterThan(0);
    expect(await page.locator('[data-test="dash-channel"]').count()).toBe(0);
    // 李四: 6 adds through 春季海报, c1 deleting him; 张三's z1 is not his.
    const own = await growthApi('', staffToken);
    expect(own.total).toMatchObject({ added: 6, lostByCustomer: 1, lostByStaff: 0, net: 5 });
    await expect.poll(() => text(page, 'growth-added')).toBe('6');
    expect(await text(page, 'growth-lostByStaff')).toBe('0');
    expect(await text(page, 'growth-net')).toBe('5');
    const totals = (await api<Totals>(app, 'GET', '/api/v1/analytics/customer-totals', undefined, staffToken)).body;
    const all = (await api<Totals>(app, 'GET', '/api/v1/analytics/customer-totals')).body;
    expect(totals.lines.at(-1)!.customers).toBeLessThan(all.lines.at(-1)!.customers);
    await expect.poll(() => text(page, 'totals-latest')).toBe(String(totals.lines.at(-1)!.customers));
    await expect.poll(async () => (await cells(page, 'channel-ranking'))[0]?.slice(1, 4)).toEqual(['春季海报', '6', '5']);
    await page.locator('[data-test="mix-dimension"] label', { hasText: '生命周期阶段' }).click();
    await expect.poll(() => cells(page, 'mix-transitions')).toEqual([['忠诚客户', '→', '流失风险', '2']]);
    await fullShot(page, 'dash-04-staff');

    const download = page.waitForEvent('download');
    await page.locator('[data-test="panel-growth"] [data-test="export-csv"]').click();
    const csv = readFileSync((await (await download).path())!, 'utf8');
    const rows = csv.slice(1).trim().split('\r\n').slice(1);
    expect(rows.reduce((n, l) => n + Number(l.split(',')[3]), 0)).toBe(6);
    await page.close();
    await ctx.close();
    expect(h.problems).toEqual([]);
  });
});
