import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import type { ArchiveApp } from '../integration/customers.harness.js';
import { api } from '../helpers/app.js';
import { CHROMIUM, SHOTS, startConsoleHarness, type ConsoleHarness } from '../helpers/console-browser.js';
import { AnalyticsRecorder } from '../../src/domain/analytics/analytics-recorder.js';
import { LossRecorder, withLossProfile } from '../../src/domain/analytics/retention-rollup.service.js';
import { AnalyticsRetentionRepository } from '../../src/persistence/repositories/analytics-retention.repository.js';
import type { RelationChangeKind } from '../../src/domain/analytics/analytics.types.js';
import { addDays, localDate, zonedTimeToUtc } from '../../src/shared/dates.js';

vi.setConfig({ testTimeout: 120_000 });

const TZ = 'Asia/Shanghai';
const DAY = 86_400_000;
type Cell = { week: number; retained: number | null; share: number | null };
type Cohorts = { cohorts: { cohort: string; adds: number; complete: boolean; cells: Cell[] }[]; average: Cell[] };
type Bucket = { bucket: string; label: string; losses: number; lostByCustomer: number; lostByStaff: number; relations: number; rate: number | null; ratio: number | null };
type Churn = { baseAsOf: string | null; total: { losses: number; lostByCustomer: number; lostByStaff: number; relations: number; rate: number | null }; dimensions: { dimension: string; label: string; buckets: Bucket[] }[] };
type StaffMember = Record<string, number | string | null> & { userid: string; name: string; status: string };
type Staff = { members: StaffMember[]; lateConfirmHours: number };
type Outcome = { messages: number; matured: number; ordered7d: number; orderedRate7d: number | null; orders7d: number; revenue7dCents: number; replied7d: number; replyRate7d: number | null };
type Source = {
  sourceKind: string;
  sourceId: string;
  name: string;
  holdoutPercent: number;
  funnel: { planned: number; submitted: number; confirmed: number; sent: number; skipped: number; skippedByReason: Record<string, number>; holdout: number; overQuota: number; failed: number; failedByReason: Record<string, number>; expired: number; pending: number };
  outcomes: { targeted: Outcome; sent: Outcome; holdout: Outcome };
  lift: { orderedRate7d: number | null; replyRate7d: number | null };
};
type Reach = { sources: Source[]; unrolled: { from: string; to: string }[] };

const pct = (r: number | null) => (r === null ? '—' : `${(r * 100).toFixed(1)}%`);
const pts = (d: number | null) => (d === null ? '—' : `${d > 0 ? '+' : d < 0 ? '−' : ''}${Math.abs(d * 100).toFixed(1)} 个百分点`);
const yuan = (c: number) => `¥${(c / 100).toFixed(2)}`;
/** The words the panels must use for the ledger's codes, and the codes that must never show. */
const RAW = /\b(holdout|daily_cap|opted_out|not_friend|not_confirmed|wecom_fail_list|over_quota|care|winback|broadcast|lost_by_customer|lost_by_staff|sinceOrder|botMessages|null|undefined|NaN)\b/;

/**
 * 数据看板's lower panels in a real browser: 留存, 流失分析, 触达效果 and 员工统计, each against its API for a corp with a
 * known history, as an admin (张三) and as a staff member (李四, who sees only his own). Screenshots dash-results-*
 * under test-results/console/, one per panel.
 *
 * The history (Shanghai days before today T): T-20 李四 adds c1-c4 through 春季海报 and 张三 adds z1, z2; T-12 c1
 * deletes 李四; T-9 张三 deletes z1; T-5 李四 adds c5; T-2 c2 deletes 李四. c1 and c2 got three broadcasts of 双十二预热
 * (T-25…T-23) before they left. The care rule 生日关怀 (对照组 20 %) has ledger rows on T-15…T-9 in every status: sent
 * by 李四 and 张三, held out, skipped for the daily cap and opt-out, over quota, failed and expired, with orders after
 * some sends and after one held-out row. The nightly analytics job then runs once (snapshots of T-1).
 */
describe.skipIf(!CHROMIUM)('数据看板: 留存, 流失分析, 触达效果, 员工统计 in a real browser', () => {
  let h: ConsoleHarness;
  let app: ArchiveApp;
  let admin: BrowserContext | undefined;
  const signedIn = async (): Promise<BrowserContext> => (admin ??= await h.signIn('张三'));
  let staffToken = '';
  const today = localDate(new Date(), TZ);
  const T = (n: number) => addDays(today, -n);
  const at = (day: string, hhmm: string) => zonedTimeToUtc(day, hhmm, TZ).getTime();

  beforeAll(async () => {
    h = await startConsoleHarness();
    app = h.app;
    const c = app.container;
    const db = c.db;
    const created = await api<{ id: string }>(app, 'POST', '/api/v1/channels', { name: '春季海报', staff: ['lisi'] });
    expect(created.status).toBe(201);
    const channelId = created.body.id;
    const customersOf = async (userid: string) =>
      (await db.query<{ external_user_id: string }>("SELECT external_user_id FROM follow_relations WHERE userid = ? AND status = 'active' ORDER BY external_user_id", [userid])).map((r) => r.external_user_id);
    const lisi = await customersOf('lisi');
    const zhang = (await customersOf('zhangsan')).filter((x) => !lisi.includes(x));
    const [c1, c2, c3, c4, c5] = lisi;
    const [z1, z2] = zhang;

    // The care rule with a holdout, and a broadcast, whose ledger rows the reach figures count.
    const rule = await api<{ id: string }>(app, 'POST', '/api/v1/care-rules', { name: '生日关怀', occasion: { type: 'birthday' }, template: '生日快乐 {{name}}', holdoutPercent: 20 });
    expect(rule.status, JSON.stringify(rule.body)).toBe(201);
    const ruleId = rule.body.id;
    const broadcastId = '0195a000-0000-7000-8000-00000000d001';
    const now = Date.now();
    await db.query(`INSERT INTO broadcasts (id, name, audience, text, sender_policy, send_at, status, created_at, updated_at) VALUES (?, '双十二预热', 'all', '预热活动', 'owner', ?, 'done', ?, ?)`, [
      broadcastId,
      at(T(25), '10:00'),
      now,
      now,
    ]);
    const deliveries: unknown[][] = [];
    const row = (kind: 'care' | 'broadcast', ext: string, day: string, sender: string | null, status: string, reason: string | null, o: { submitted?: boolean; sent?: boolean } = {}) => {
      const notBefore = at(day, '09:00');
      const id = kind === 'care' ? ruleId : broadcastId;
      deliveries.push([
        `${kind}:${id}`, kind, kind === 'care' ? id : null, kind === 'broadcast' ? id : null, ext, `${kind}:${day}:${deliveries.length}`, 'mass_task', 100, sender, '您好', day, notBefore, notBefore + 2 * DAY,
        status, reason, o.submitted ? `m-${deliveries.length}` : null, o.submitted ? notBefore + 60_000 : null, o.sent ? notBefore + 3_600_000 : null, now, now,
      ]);
    };
    for (const n of [25, 24, 23]) for (const x of [c1, c2]) row('broadcast', x, T(n), 'lisi', 'sent', null, { submitted: true, sent: true });
    row('broadcast', c3, T(25), 'lisi', 'skipped', 'holdout: 对照组，不发送 / held out');
    // 生日关怀 over T-15…T-9: 李四's customers and 张三's.
    row('care', c1, T(15), 'lisi', 'sent', null, { submitted: true, sent: true });
    row('care', c3, T(15), 'lisi', 'sent', null, { submitted: true, sent: true });
    row('care', c4, T(14), 'lisi', 'submitted', null, { submitted: true });
    row('care', c5, T(14), 'lisi', 'skipped', 'holdout: 对照组，不发送 / held out');
    row('care', c2, T(13), 'lisi', 'over_quota', '客户本期群发次数已满 / WeCom status 3', { submitted: true });
    row('care', z1, T(12), 'zhangsan', 'sent', null, { submitted: true, sent: true });
    row('care', z2, T(12), 'zhangsan', 'skipped', 'holdout: 对照组，不发送 / held out');
    row('care', zhang[2], T(11), 'zhangsan', 'skipped', 'daily_cap: 今天已安排更高优先级的消息');
    row('care', zhang[3], T(11), 'zhangsan', 'skipped', 'opted_out: 客户已退订');
    row('care', zhang[4], T(10), 'zhangsan', 'failed', 'not_friend (WeCom status 2)', { submitted: true });
    row('care', zhang[5], T(9), 'zhangsan', 'expired', 'not_confirmed: 成员未确认发送 / the staff member never sent the task', { submitted: true });
    await db.query(
      `INSERT INTO deliveries (source, kind, rule_id, broadcast_id, external_user_id, occasion, channel, priority, sender_userid, text, local_date, not_before, expires_at,
         status, reason, msgid, submitted_at, sent_at, created_at, updated_at) VALUES ${deliveries.map(() => '(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)').join(',')}`,
      deliveries.flat(),
    );
    // Orders within 7 days: after c3's and z1's birthday messages, and after z2's held-out row.
    const orders: [string, number, number][] = [
      [c3, 19_900, at(T(13), '12:00')],
      [z1, 5_000, at(T(10), '20:00')],
      [z1, 2_500, at(T(9), '20:00')],
      [z2, 8_800, at(T(8), '15:00')],
    ];
    for (const [i, [ext, cents, when]] of orders.entries()) await db.query('INSERT INTO orders (id, external_user_id, order_no, amount_cents, ordered_at, created_at) VALUES (?,?,?,?,?,?)', [`o-${i}`, ext, `R-${i}`, cents, when, now]);

    // Relation changes as the handlers record them, the losses with their profile (the broadcasts above count).
    const recorder = new AnalyticsRecorder(c.repos.analytics, c.clock, TZ);
    const record = withLossProfile(recorder.record, new LossRecorder(new AnalyticsRetentionRepository(db), c.clock, TZ));
    const rec = (kind: RelationChangeKind, userid: string, ext: string, day: string, channel: string | null) =>
      db.tx((em) => record(em, { kind, userid, externalUserId: ext, channelId: channel, occurredAt: new Date(at(day, '10:00')) }));
    for (const x of [c1, c2, c3, c4]) await rec('added', 'lisi', x, T(20), channelId);
    for (const x of [z1, z2]) await rec('added', 'zhangsan', x, T(20), null);
    await rec('lost_by_customer', 'lisi', c1, T(12), channelId);
    await rec('lost_by_staff', 'zhangsan', z1, T(9), null);
    await rec('added', 'lisi', c5, T(5), channelId);
    await rec('lost_by_customer', 'lisi', c2, T(2), channelId);

    // Follow-ups 李四 wrote, due on T-3: one done.
    for (const [i, x] of [c3, c4].entries()) {
      const note = await api<{ id: string }>(app, 'POST', `/api/v1/customers/${x}/notes`, { text: '回访', dueDate: T(3), userid: 'lisi' });
      expect(note.status, JSON.stringify(note.body)).toBe(201);
      if (i === 0) expect((await api(app, 'PATCH', `/api/v1/notes/${note.body.id}`, { done: true })).status).toBe(200);
    }

    // The nightly job, once: every roll, WeCom's staff figures from the sandbox, the snapshots of T-1.
    const run = await c.scheduling.scheduler.runNow('analytics');
    expect(run.status, run.error ?? '').toBe('done');
    expect((await api(app, 'PUT', '/api/v1/users/lisi/role', { role: 'staff' })).status).toBe(200);
    staffToken = (await c.tokens.create({ role: 'staff', userid: 'lisi' })).token;
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  const get = async <T,>(path: string, token?: string) => {
    const res = await api<T>(app, 'GET', path, undefined, token);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };
  const panel = (page: Page, id: string) => page.locator(`[data-test="panel-${id}"]`);
  /** Scrolls to a lazy panel, which loads when it comes near the screen, and waits until its figures are in. */
  async function open(page: Page, id: string) {
    const lazy = page.locator(`[data-test="lazy-panel-${id}"]`);
    // The analytics section comes once the page's first count is on screen: its placeholder, or the panel itself.
    await expect.poll(async () => (await lazy.count()) + (await panel(page, id).count())).toBe(1);
    if ((await lazy.count()) > 0) {
      const answered = page.waitForResponse((r) => new URL(r.url()).pathname === `/api/v1/analytics/${id}`);
      // It may have come near the screen (and loaded) meanwhile.
      await lazy.scrollIntoViewIfNeeded({ timeout: 5_000 }).catch(() => undefined);
      await answered;
    }
    await expect.poll(() => panel(page, id).count()).toBe(1);
    await panel(page, id).scrollIntoViewIfNeeded();
    await expect.poll(() => panel(page, id).locator('.el-loading-mask:visible').count()).toBe(0);
  }
  const cells = (page: Page, table: string) =>
    page.locator(`[data-test="${table}"] tbody tr:not(.dt-empty)`).evaluateAll((rows) => rows.map((r) => Array.from((r as unknown as { querySelectorAll(s: string): ArrayLike<{ textContent: string | null }> }).querySelectorAll('td')).map((td) => (td.textContent ?? '').trim())));
  const shot = async (page: Page, id: string, name: string) => {
    // ECharts animates for a second: the picture is of the drawn chart.
    await page.waitForTimeout(1_200);
    await panel(page, id).screenshot({ path: resolve(SHOTS, `${name}.png`) });
  };
  async function download(page: Page, id: string) {
    const file = page.waitForEvent('download');
    await panel(page, id).locator('[data-test="export-csv"]').first().click();
    const d = await file;
    return { name: d.suggestedFilename(), text: readFileSync((await d.path())!, 'utf8') };
  }

  /** The cohort table as the API answers it: the cohorts with adds, then the weighted average. */
  async function expectCohorts(page: Page, token?: string) {
    const a = await get<Cohorts>('/api/v1/analytics/cohorts?granularity=day', token);
    await open(page, 'cohorts');
    const cohorts = a.cohorts.filter((x) => x.adds > 0);
    const shown = await cells(page, 'cohort-table');
    expect(shown).toHaveLength(cohorts.length + 1);
    const row = (adds: number, cs: Cell[]) => [String(adds), ...cs.map((x) => (x.share === null ? '' : pct(x.share)))];
    cohorts.forEach((x, i) => expect(shown[i].slice(1)).toEqual(row(x.adds, x.cells)));
    expect(shown.at(-1)).toEqual(['加权平均', ...row(cohorts.reduce((n, x) => n + x.adds, 0), a.average)]);
    return { a, cohorts, shown };
  }

  it('留存: the cohort table has the API’s adds and shares, coloured by share; the CSV is the API’s', async () => {
    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/`);
    // The lower panels wait below the first screen: nothing of them is asked before they are scrolled to.
    const asked: string[] = [];
    page.on('request', (r) => asked.push(new URL(r.url()).pathname));
    await expect.poll(() => page.locator('[data-test="panel-mix"]').count()).toBe(1);
    await expect.poll(() => page.locator('[data-test="panel-mix"] .el-loading-mask:visible').count()).toBe(0);
    await page.waitForTimeout(300);
    expect(asked.filter((p) => /analytics\/(cohorts|churn|staff|reach)$/.test(p))).toEqual([]);
    expect(await page.locator('[data-test="panel-cohorts"]').count()).toBe(0);

    const { cohorts, shown } = await expectCohorts(page);
    // By day: T-20's cohort is 6 adds (李四's four, 张三's two), T-5's one (c5).
    expect(cohorts.map((x) => [x.cohort, x.adds])).toEqual([
      [T(20), 6],
      [T(5), 1],
    ]);
    // Week 1 after T-20 (T-13): all six still friends; week 2 (T-6): c1 and z1 gone, 4 of 6.
    expect(cohorts[0].cells.slice(0, 2).map((x) => x.retained)).toEqual([6, 4]);
    expect(shown[0].slice(2, 4)).toEqual(['100.0%', '66.7%']);
    expect(cohorts[0].cells[2].retained).toBeNull();
    // The heatmap: a known week is coloured, one not reached yet is blank.
    const bg = (col: number) => page.locator('[data-test="cohort-table"] tbody tr').first().locator('td').nth(col).evaluate((td) => (td as unknown as { style: { background: string } }).style.background);
    expect(await bg(2)).toContain('rgba(7, 193, 96');
    expect(await bg(4)).toBe('');
    expect(await panel(page, 'cohorts').locator('[data-test="figure-kind"]').innerText()).toBe('事件');
    await shot(page, 'cohorts', 'dash-results-01-cohorts');

    // By week: the cohorts are the weeks' Mondays, still 7 adds.
    const weekly = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/analytics/cohorts' && new URL(r.url()).searchParams.get('granularity') === 'week');
    await page.locator('[data-test="dash-granularity"] label', { hasText: '按周' }).click();
    await weekly;
    const a = await get<Cohorts>('/api/v1/analytics/cohorts?granularity=week');
    await expect.poll(async () => (await cells(page, 'cohort-table')).map((r) => r[1])).toEqual([...a.cohorts.filter((x) => x.adds > 0).map((x) => String(x.adds)), '7']);
    const csv = await download(page, 'cohorts');
    expect(csv.name).toBe(`留存-${T(29)}_${today}.csv`);
    expect(csv.text.charCodeAt(0)).toBe(0xfeff);
    await expect(panel(page, 'cohorts').innerText()).resolves.not.toMatch(RAW);
    await page.close();
    expect(h.problems).toEqual([]);
  });

  it('流失分析: the losses, the rate over the base snapshot and each grouping’s buckets as the API has them', async () => {
    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/`);
    await open(page, 'churn');
    const a = await get<Churn>('/api/v1/analytics/churn');
    // c1 and c2 deleted 李四, 张三 deleted z1; the base is T-1's snapshot.
    expect(a.total).toMatchObject({ losses: 3, lostByCustomer: 2, lostByStaff: 1 });
    expect(a.baseAsOf).toBe(T(1));
    expect(await panel(page, 'churn').locator('[data-test="churn-losses"]').innerText()).toBe('3');
    expect(await panel(page, 'churn').locator('[data-test="churn-by-customer"]').innerText()).toBe('2');
    expect(await panel(page, 'churn').locator('[data-test="churn-by-staff"]').innerText()).toBe('1');
    expect(await panel(page, 'churn').locator('[data-test="churn-rate"]').innerText()).toBe(pct(a.total.rate));
    const rows = (d: string) => a.dimensions.find((x) => x.dimension === d)!.buckets.map((b) => [b.label, String(b.losses), String(b.lostByCustomer), String(b.lostByStaff), String(b.relations), pct(b.rate), b.ratio === null ? '—' : `${b.ratio.toFixed(2)}×`]);
    // 群发消息 first: c1 and c2 got three broadcasts each in the 30 days before they left.
    expect(await cells(page, 'churn-table')).toEqual(rows('broadcasts'));
    const three = a.dimensions.find((x) => x.dimension === 'broadcasts')!.buckets.find((b) => b.bucket === '3+')!;
    expect(three).toMatchObject({ label: '3条及以上', losses: 2 });
    const chart = JSON.parse((await page.locator('[data-test="churn-chart"]').getAttribute('data-chart'))!) as { x: string[]; rates: (number | null)[]; losses: number[] };
    expect(chart.x).toEqual(a.dimensions.find((x) => x.dimension === 'broadcasts')!.buckets.map((b) => b.label));
    expect(chart.losses).toEqual(a.dimensions.find((x) => x.dimension === 'broadcasts')!.buckets.map((b) => b.losses));
    if (three.ratio !== null && three.ratio > 1) expect(await page.locator('[data-test="churn-headline"]').innerText()).toContain('3条及以上');
    await shot(page, 'churn', 'dash-results-02-churn');
    // Every grouping, in words.
    for (const [dimension, word] of [
      ['sinceOrder', '距上次下单'],
      ['sinceInteraction', '距上次互动'],
      ['owner', '所属员工'],
      ['channel', '渠道'],
    ] as const) {
      await panel(page, 'churn').locator('[data-test="churn-dimension"]').click();
      await page.locator('.el-select-dropdown__item:visible', { hasText: word }).click();
      await expect.poll(() => cells(page, 'churn-table')).toEqual(rows(dimension));
    }
    expect((await cells(page, 'churn-table')).map((r) => r[0])).toContain('春季海报');
    // Sorted by the rate, highest first, on a click of its header.
    await panel(page, 'churn').locator('[data-test="churn-table"] th', { hasText: '流失率' }).click();
    const byRate = a.dimensions.find((x) => x.dimension === 'channel')!.buckets.map((b) => b.rate).filter((r) => r !== null).sort((x, y) => y! - x!);
    expect((await cells(page, 'churn-table')).slice(0, byRate.length).map((r) => r[5])).toEqual(byRate.map(pct));
    const csv = await download(page, 'churn');
    expect(csv.name).toBe(`流失分析-${T(29)}_${today}.csv`);
    await expect(panel(page, 'churn').innerText()).resolves.not.toMatch(RAW);
    await page.close();
    expect(h.problems).toEqual([]);
  });

  /** The reach panel's table, funnel and holdout comparison against the API's answer. */
  async function expectReach(page: Page, token?: string, query = '') {
    const a = await get<Reach>(`/api/v1/analytics/reach${query}`, token);
    await expect
      .poll(() => cells(page, 'reach-sources'))
      .toEqual(
        a.sources.map((s) => [
          { care: '关怀', winback: '挽回', broadcast: '群发' }[s.sourceKind]!,
          s.name,
          s.holdoutPercent ? `${s.holdoutPercent}%` : '不设',
          String(s.funnel.planned),
          String(s.funnel.sent),
          String(s.funnel.holdout),
          pct(s.outcomes.targeted.orderedRate7d),
          pct(s.outcomes.holdout.orderedRate7d),
          pts(s.lift.orderedRate7d),
          yuan(s.outcomes.targeted.revenue7dCents),
        ]),
      );
    return a;
  }
  const outcomeRow = (group: string, o: Outcome) => [group, String(o.messages), String(o.matured), String(o.ordered7d), pct(o.orderedRate7d), String(o.orders7d), yuan(o.revenue7dCents), String(o.replied7d), pct(o.replyRate7d)];

  it('触达效果: each source’s funnel, skips by reason in words, and its customers against the holdout with the lift', async () => {
    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/`);
    await open(page, 'reach');
    const a = await expectReach(page);
    const care = a.sources.find((s) => s.name === '生日关怀')!;
    // 11 rows, 7 of them in a task: 3 sent, 1 waiting for the member, 2 held out, 2 skipped, 1 over quota, 1 failed, 1 expired.
    expect(care.funnel).toMatchObject({ planned: 11, submitted: 7, sent: 3, holdout: 2, skipped: 4, overQuota: 1, failed: 1, expired: 1, pending: 1, skippedByReason: { holdout: 2, daily_cap: 1, opted_out: 1 } });
    // Targeted: every row drawn for the message (not held out, not opted out) — c3 and z1 ordered; held out: z2 ordered.
    expect(care.outcomes.targeted).toMatchObject({ messages: 8, ordered7d: 2, orders7d: 3, revenue7dCents: 27_400 });
    expect(care.outcomes.holdout).toMatchObject({ messages: 2, ordered7d: 1, revenue7dCents: 8_800 });
    // The funnel drawn is the one with the most rows: 生日关怀.
    expect(await panel(page, 'reach').locator('[data-test="reach-source"]').innerText()).toContain('关怀·生日关怀');
    const funnel = JSON.parse((await page.locator('[data-test="reach-funnel"]').getAttribute('data-chart'))!) as { steps: { name: string; value: number }[]; rest: { name: string; value: number }[] };
    expect(funnel.steps).toEqual([
      { name: '计划发送', value: 11 },
      { name: '已生成群发任务', value: 7 },
      { name: '员工已确认', value: care.funnel.confirmed },
      { name: '已送达', value: 3 },
    ]);
    // Then where the rest went, in words: the holdout first; the two skip reasons (one row each) in either order.
    expect(funnel.rest[0]).toEqual({ name: '对照组（不发送）', value: 2 });
    expect(funnel.rest.slice(1, 3).map((r) => r.name).sort()).toEqual(['跳过·客户已退订', '跳过·超出每日上限'].sort());
    expect(funnel.rest.slice(3)).toEqual([
      { name: '超出群发额度', value: 1 },
      { name: '失败·已不是好友', value: 1 },
      { name: '已撤回或过期', value: 1 },
      { name: '等待发送', value: 1 },
    ]);
    expect(await cells(page, 'reach-outcomes')).toEqual([
      outcomeRow('目标组（抽中发送的全部）', care.outcomes.targeted),
      outcomeRow('其中已送达', care.outcomes.sent),
      outcomeRow('对照组（不发送）', care.outcomes.holdout),
      ['提升（目标组 − 对照组）', '', '', '', pts(care.lift.orderedRate7d), '', '', '', pts(care.lift.replyRate7d)],
    ]);
    await shot(page, 'reach', 'dash-results-03-reach');

    // The broadcast's funnel, picked from the list; then the list narrowed to broadcasts.
    await panel(page, 'reach').locator('[data-test="reach-source"]').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: '双十二预热' }).click();
    const b = a.sources.find((s) => s.name === '双十二预热')!;
    await expect.poll(async () => JSON.parse((await page.locator('[data-test="reach-funnel"]').getAttribute('data-chart'))!).steps[0].value).toBe(b.funnel.planned);
    expect(await cells(page, 'reach-outcomes')).toEqual(expect.arrayContaining([outcomeRow('对照组（不发送）', b.outcomes.holdout)]));
    const narrowed = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/analytics/reach' && new URL(r.url()).searchParams.get('kind') === 'broadcast');
    await panel(page, 'reach').locator('[data-test="reach-kind"] label', { hasText: '群发' }).click();
    await narrowed;
    expect((await expectReach(page, undefined, '?kind=broadcast')).sources.map((s) => s.name)).toEqual(['双十二预热']);
    const csv = await download(page, 'reach');
    expect(csv.name).toBe(`触达效果-${T(29)}_${today}.csv`);
    expect(csv.text.split('\r\n')[1]).toContain('双十二预热');
    await expect(panel(page, 'reach').innerText()).resolves.not.toMatch(RAW);
    await page.close();
    expect(h.problems).toEqual([]);
  });

  /** The staff table against the API's members, in the table's order (by 新增客户 unless sorted otherwise). */
  const staffRow = (m: StaffMember) => [
    m.status === 'resigned' ? `${m.name}（已离职）` : m.name,
    String(m.wecomDays),
    String(m.chatCnt),
    String(m.messageCnt),
    m.replyPercentage === null ? '—' : `${(m.replyPercentage as number).toFixed(1)}%`,
    m.avgReplyTime === null ? '—' : `${m.avgReplyTime} 分`,
    String(m.negativeFeedbackCnt),
    String(m.newApplyCnt),
    String(m.newContactCnt),
    m.customers === null ? '—' : String(m.customers),
    String(m.massTasks),
    String(m.confirmedLate),
    String(m.neverConfirmed),
    String(m.awaiting),
    String(m.followupsDue),
    String(m.followupsDone),
  ];

  it('员工统计: WeCom’s figures next to the bot’s for every member, sortable by any of them', async () => {
    const page = await (await signedIn()).newPage();
    await page.goto(`${app.url}/console/`);
    await open(page, 'staff');
    const a = await get<Staff>('/api/v1/analytics/staff');
    expect(a.members.length).toBeGreaterThan(2);
    // The sandbox played get_user_behavior_data: 30 days pulled for each member.
    expect(a.members.some((m) => (m.chatCnt as number) > 0)).toBe(true);
    const lisi = a.members.find((m) => m.userid === 'lisi')!;
    expect(lisi).toMatchObject({ followupsDue: 2, followupsDone: 1 });
    const byNew = [...a.members].sort((x, y) => (y.newContactCnt as number) - (x.newContactCnt as number));
    await expect.poll(async () => (await cells(page, 'staff-table')).map((r) => r[8])).toEqual(byNew.map((m) => String(m.newContactCnt)));
    expect([...(await cells(page, 'staff-table'))].sort()).toEqual(a.members.map(staffRow).sort());
    // Sort by 聊天数, most first, then the other way.
    const chats = panel(page, 'staff').locator('[data-test="staff-table"] th', { hasText: '聊天数' });
    await chats.click();
    const desc = a.members.map((m) => m.chatCnt as number).sort((x, y) => y - x);
    expect((await cells(page, 'staff-table')).map((r) => Number(r[2]))).toEqual(desc);
    await chats.click();
    expect((await cells(page, 'staff-table')).map((r) => Number(r[2]))).toEqual([...desc].reverse());
    expect(await panel(page, 'staff').locator('[data-test="figure-kind"]').innerText()).toBe('混合');
    await shot(page, 'staff', 'dash-results-04-staff');
    const csv = await download(page, 'staff');
    expect(csv.name).toBe(`员工统计-${T(29)}_${today}.csv`);
    expect(csv.text.slice(1).split('\r\n')[0].startsWith('员工,')).toBe(true);
    expect(csv.text.slice(1).trim().split('\r\n')).toHaveLength(a.members.length + 1);
    await expect(panel(page, 'staff').innerText()).resolves.not.toMatch(RAW);
    await page.close();
    expect(h.problems).toEqual([]);
  });

  it('shows a staff member (李四) his own cohorts, losses, messages and figures only', async () => {
    const ctx = await h.signIn('李四');
    const page = await ctx.newPage();
    await page.goto(`${app.url}/console/`);
    expect(await page.locator('[data-test="dash-scope"]').innerText()).toContain('只统计你自己的客户');

    // 留存: 李四's adds only, T-20 (c1-c4) and T-5 (c5).
    const { cohorts } = await expectCohorts(page, staffToken);
    expect(cohorts.map((x) => x.adds)).toEqual([4, 1]);
    await shot(page, 'cohorts', 'dash-results-05-staff-cohorts');

    // 流失分析: c1 and c2 deleted him; 张三's z1 is not his.
    await open(page, 'churn');
    const churn = await get<Churn>('/api/v1/analytics/churn', staffToken);
    expect(churn.total).toMatchObject({ losses: 2, lostByCustomer: 2, lostByStaff: 0 });
    expect(await panel(page, 'churn').locator('[data-test="churn-losses"]').innerText()).toBe('2');
    expect(await panel(page, 'churn').locator('[data-test="churn-rate"]').innerText()).toBe(pct(churn.total.rate));
    await panel(page, 'churn').locator('[data-test="churn-dimension"]').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: '所属员工' }).click();
    await expect.poll(async () => (await cells(page, 'churn-table')).map((r) => r[0])).toEqual(['李四']);
    await shot(page, 'churn', 'dash-results-06-staff-churn');

    // 触达效果: the rows he was the sender of: 生日关怀's five, 双十二预热's seven.
    await open(page, 'reach');
    const reach = await expectReach(page, staffToken);
    expect(Object.fromEntries(reach.sources.map((s) => [s.name, s.funnel.planned]))).toEqual({ 生日关怀: 5, 双十二预热: 7 });
    await shot(page, 'reach', 'dash-results-07-staff-reach');

    // 员工统计: one line, his.
    await open(page, 'staff');
    const staff = await get<Staff>('/api/v1/analytics/staff', staffToken);
    expect(staff.members.map((m) => m.userid)).toEqual(['lisi']);
    await expect.poll(() => cells(page, 'staff-table')).toEqual([staffRow(staff.members[0])]);
    await shot(page, 'staff', 'dash-results-08-staff-staff');
    const csv = await download(page, 'staff');
    expect(csv.text.slice(1).trim().split('\r\n')).toHaveLength(2);
    await page.close();
    await ctx.close();
    expect(h.problems).toEqual([]);
  });
});
