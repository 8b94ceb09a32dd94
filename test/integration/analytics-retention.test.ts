import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { AnalyticsRetention1795000000028 } from '../../migrations/0028-analytics-retention.js';
import { AnalyticsChurnIndex1795000000031 } from '../../migrations/0031-analytics-churn-index.js';
import { FixedClock } from '../../src/shared/clock.js';
import { addDays, zonedTimeToUtc } from '../../src/shared/dates.js';
import { periodOf } from '../../src/domain/analytics/analytics-periods.js';
import type { Granularity } from '../../src/domain/analytics/analytics.types.js';
import { externalContactEventXml } from '../../src/wecom/sandbox/callback-xml.js';
import { dayOf, generateCorp, rng, TZ, type Truth, type TruthChange } from './analytics-corp.js';
import { useMigratedWithout } from '../helpers/migrated-without.js';
import { AnalyticsRetentionRepository } from '../../src/persistence/repositories/analytics-retention.repository.js';
import { RetentionRollupService } from '../../src/domain/analytics/retention-rollup.service.js';
import { silentLogger } from '../../src/shared/logger.js';

const DAY = 86_400_000;
const FIRST_DAY = '2026-01-05';
const DAYS = 60;
const LAST_DAY = addDays(FIRST_DAY, DAYS - 1);
/** The nights whose churn base the tests compare (the night before each range asked). */
const BASE_NIGHTS = [addDays(FIRST_DAY, 19), addDays(FIRST_DAY, 34)];

/** What else the corp did, as the test made it happen: the bot's sent messages, orders known at once, KF messages. */
interface Extra {
  deliveries: { ext: string; at: number; kind: 'care' | 'broadcast' | 'winback' }[];
  /** `imported`: when the bot learned of it (an order can be dated before the snapshot but imported after it). */
  orders: { ext: string; at: number; imported: number }[];
  kf: { ext: string; at: number }[];
}

/** CreateTime is in whole seconds: the bot records WeCom's times so. */
const sec = (ms: number) => Math.floor(ms / 1000) * 1000;
const startOf = (day: string) => zonedTimeToUtc(day, '00:00', TZ).getTime();

/** Relation state after every change up to (not including) `before`, as the truth saw it. */
function relationsAt(changes: TruthChange[], before: number): Map<string, TruthChange> {
  const last = new Map<string, TruthChange>();
  for (const c of [...changes].sort((a, b) => a.at - b.at)) if (sec(c.at) < before) last.set(`${c.userid}|${c.ext}`, c);
  return last;
}

/** The slow way: the profile buckets of a customer at instant `t`, from the truth (last interaction known at `handled`). */
function bucketsAt(t: Truth, x: Extra, ext: string, at: number, handled = at): Record<string, string> {
  const firstAdd = Math.min(...t.changes.filter((c) => c.ext === ext && c.kind === 'added').map((c) => sec(c.at)));
  const kfBefore = x.kf.filter((k) => k.ext === ext && k.at <= handled).map((k) => k.at);
  const since = kfBefore.length > 0 ? Math.max(...kfBefore) : Number.isFinite(firstAdd) ? firstAdd : null;
  const orders = x.orders.filter((o) => o.ext === ext && o.at <= at && o.imported <= handled).map((o) => o.at);
  const days = (then: number | null) => (then === null ? null : Math.max(0, Math.floor((at - then) / DAY)));
  const inWindow = (v: number) => v >= at - 30 * DAY && v < at;
  const count = (n: number) => (n >= 3 ? '3+' : String(n));
  const o = days(orders.length > 0 ? Math.max(...orders) : null);
  const i = days(since);
  return {
    all: 'all',
    botMessages: count(x.deliveries.filter((d) => d.ext === ext && inWindow(d.at)).length),
    broadcasts: count(x.deliveries.filter((d) => d.ext === ext && d.kind === 'broadcast' && inWindow(d.at)).length),
    kfMessages: count(x.kf.filter((k) => k.ext === ext && inWindow(k.at)).length),
    sinceOrder: o === null ? 'none' : o <= 30 ? '0-30' : o <= 90 ? '31-90' : o <= 180 ? '91-180' : '181+',
    sinceInteraction: i === null ? 'none' : i <= 7 ? '0-7' : i <= 30 ? '8-30' : i <= 90 ? '31-90' : '91+',
  };
}

type Tally = Record<string, { losses: number; relations: number }>;

/** The slow churn table: losses in [from, to] and the active relations at the base night, per dimension and bucket. */
function refChurn(t: Truth, x: Extra, q: { from: string; to: string; userid?: string; channelId?: string }, baseNight: string, late: { change: TruthChange; handled: number }[] = []): Tally {
  const out: Tally = {};
  const bump = (k: string, field: 'losses' | 'relations') => ((out[k] ??= { losses: 0, relations: 0 })[field] += 1);
  const keep = (c: { userid: string; channelId: string | null }) => (q.userid === undefined || c.userid === q.userid) && (q.channelId === undefined || (c.channelId ?? '') === q.channelId);
  for (const c of [...t.changes.map((change) => ({ change, handled: sec(change.at) })), ...late]) {
    const ch = c.change;
    if ((ch.kind !== 'lost_by_customer' && ch.kind !== 'lost_by_staff') || !keep(ch)) continue;
    const day = dayOf(ch.at);
    if (day < q.from || day > q.to) continue;
    for (const [dim, b] of Object.entries(bucketsAt(t, x, ch.ext, sec(ch.at), c.handled))) bump(`${dim}|${b}`, 'losses');
    bump(`owner|${ch.userid}`, 'losses');
    bump(`channel|${ch.channelId ?? ''}`, 'losses');
  }
  const night = zonedTimeToUtc(addDays(baseNight, 1), '00:20', TZ).getTime();
  for (const r of relationsAt(t.changes, startOf(addDays(baseNight, 1))).values()) {
    if ((r.kind !== 'added' && r.kind !== 'transferred_in') || !keep(r)) continue;
    for (const [dim, b] of Object.entries(bucketsAt(t, x, r.ext, night))) bump(`${dim}|${b}`, 'relations');
    bump(`owner|${r.userid}`, 'relations');
    bump(`channel|${r.channelId ?? ''}`, 'relations');
  }
  return out;
}

interface ApiChurn {
  baseAsOf: string | null;
  total: { losses: number; relations: number; rate: number | null };
  dimensions: { dimension: string; buckets: { bucket: string; losses: number; relations: number; rate: number | null; ratio: number | null }[] }[];
  lines: { period: string; losses: number }[];
}

function apiChurn(a: ApiChurn): Tally {
  const out: Tally = {};
  if (a.total.losses + a.total.relations > 0) out['all|all'] = { losses: a.total.losses, relations: a.total.relations };
  for (const d of a.dimensions) for (const b of d.buckets) if (b.losses + b.relations > 0) out[`${d.dimension}|${b.bucket}`] = { losses: b.losses, relations: b.relations };
  return out;
}

/** The slow cohort table: per cohort period, adds and relations still active at the end of day + 7k (known weeks only). */
function refCohorts(t: Truth, q: { from: string; to: string; granularity: Granularity; userid?: string; channelId?: string }, through: string, extra: TruthChange[] = []) {
  const changes = [...t.changes, ...extra].sort((a, b) => a.at - b.at);
  const out: Record<string, { adds: number; cells: (number | null)[] }> = {};
  const unknown = new Set<string>();
  for (let d = q.from; d <= q.to; d = addDays(d, 1)) {
    const p = periodOf(d, q.granularity);
    out[p] ??= { adds: 0, cells: Array(12).fill(0) };
    for (let k = 1; k <= 12; k++) if (addDays(d, 7 * k) > through) unknown.add(`${p}|${k}`);
  }
  for (const c of changes) {
    const day = dayOf(c.at);
    if (c.kind !== 'added' || day < q.from || day > q.to) continue;
    if ((q.userid !== undefined && c.userid !== q.userid) || (q.channelId !== undefined && (c.channelId ?? '') !== q.channelId)) continue;
    const cohort = out[periodOf(day, q.granularity)];
    cohort.adds++;
    for (let k = 1; k <= 12; k++) {
      const mark = startOf(addDays(day, 7 * k + 1));
      const later = changes.filter((e) => e.userid === c.userid && e.ext === c.ext && sec(e.at) > sec(c.at) && sec(e.at) < mark);
      const last = later[later.length - 1];
      if (!last || (last.kind !== 'lost_by_customer' && last.kind !== 'lost_by_staff')) cohort.cells[k - 1]!++;
    }
  }
  for (const [p, c] of Object.entries(out)) c.cells = c.cells.map((v, i) => (unknown.has(`${p}|${i + 1}`) ? null : v));
  return out;
}

function apiCohorts(body: { cohorts: { cohort: string; adds: number; cells: { retained: number | null; share: number | null }[] }[] }) {
  return Object.fromEntries(body.cohorts.map((c) => [c.cohort, { adds: c.adds, cells: c.cells.map((x) => x.retained) }]));
}

describe.each(testEngines())('retention cohorts and churn analysis on %s', (engine) => {
  let app: TestApp;
  let truth: Truth;
  let staffToken = '';
  const clock = new FixedClock(zonedTimeToUtc(FIRST_DAY, '08:00', TZ));
  const x: Extra = { deliveries: [], orders: [], kf: [] };
  const late: { change: TruthChange; handled: number }[] = [];
  const get = (path: string, token = TEST_ADMIN_TOKEN) => api(app, 'GET', path, undefined, token);
  const dump = async () => ({
    cohorts: (await app.container.db.query<Record<string, unknown>>('SELECT * FROM analytics_cohort_days ORDER BY day, userid, channel_id')).map(({ id: _id, ...r }) => r),
    churn: await app.container.db.query('SELECT day, dimension, bucket, userid, channel_id, lost_by_customer, lost_by_staff FROM analytics_daily_churn ORDER BY day, dimension, bucket, userid, channel_id'),
  });

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    const c = app.container;
    const rand = rng(7);
    let n = 0;
    const onDay = async (day: string, at: number) => {
      const active = (await c.db.query<{ ext: string }>("SELECT DISTINCT external_user_id AS ext FROM follow_relations WHERE status = 'active' ORDER BY external_user_id")).map((r) => r.ext);
      const orders: { orderNo: string; externalUserId: string; amount: string; orderedAt: string }[] = [];
      // The morning's ledger rows go in as one statement, written before each KF message and at the end, so the inbox
      // sees the same rows as when each was inserted alone: one commit (one MariaDB log flush) instead of dozens a day.
      let rows: unknown[][] = [];
      const flush = async () => {
        if (rows.length === 0) return;
        await c.db.query(
          `INSERT INTO deliveries (source, external_user_id, occasion, kind, channel, priority, sender_userid, text, local_date, not_before, expires_at, status, created_at, updated_at, sent_at)
           VALUES ${rows.map(() => "(?, ?, ?, ?, 'mass_task', 1, 'zhangsan', '你好', ?, ?, ?, 'sent', ?, ?, ?)").join(', ')}`,
          rows.flat(),
        );
        rows = [];
      };
      for (const ext of active) {
        const roll = rand();
        if (roll < 0.12) {
          // A message the bot sent this morning, as the dispatcher leaves it in the ledger.
          const kind = (['care', 'broadcast', 'broadcast', 'winback'] as const)[Math.floor(rand() * 4)];
          rows.push([`test:${kind}`, ext, `o-${n++}`, kind, day, at, at + DAY, at, at, at]);
          x.deliveries.push({ ext, at, kind });
        } else if (roll < 0.15) {
          const orderedAt = at - Math.floor(rand() * 10) * 3600_000;
          orders.push({ orderNo: `RT-${n++}`, externalUserId: ext, amount: '88.00', orderedAt: new Date(orderedAt).toISOString() });
          x.orders.push({ ext, at: orderedAt, imported: at });
        } else if (roll < 0.18) {
          await flush();
          await c.sandbox!.sendKfMessage({ openKfId: 'wkSandboxKf01', externalUserId: ext, text: '请问有新品吗' });
          await c.inboxProcessor.drain();
          x.kf.push({ ext, at });
        }
      }
      await flush();
      if (orders.length > 0) await c.archive.orders.importJson(orders);
    };
    const onNight = async (day: string, night: Date) => {
      await c.scheduling.retention.takeChurnBase(day, night);
    };
    truth = await generateCorp(c, clock, { seed: 20260105, firstDay: FIRST_DAY, days: DAYS, newPerDay: [3, 6], onDay, onNight });
    staffToken = (await c.tokens.create({ role: 'staff', userid: 'zhangsan' })).token;
    clock.set(zonedTimeToUtc(addDays(LAST_DAY, 1), '00:20', TZ));
  }, 900_000);
  afterAll(() => app?.close());

  it('generates a corp with messages, orders and KF messages before its losses', async () => {
    expect(x.deliveries.length).toBeGreaterThan(100);
    expect(x.orders.length).toBeGreaterThan(20);
    expect(x.kf.length).toBeGreaterThan(20);
    const [{ n }] = await app.container.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM timeline_entries WHERE source = 'kf'");
    expect(Number(n)).toBe(x.kf.length);
    const orders = await app.container.db.query<{ ext: string; at: number }>("SELECT external_user_id AS ext, ordered_at AS at FROM orders WHERE order_no LIKE 'RT-%' ORDER BY external_user_id, ordered_at");
    expect(orders.map((o) => `${o.ext}@${Number(o.at)}`)).toEqual(x.orders.map((o) => `${o.ext}@${o.at}`).sort());
  });

  it('answers churn from what was recorded at each loss and the nightly base, before and after the nightly roll', async () => {
    const check = async () => {
      for (const [from, to] of [
        [addDays(BASE_NIGHTS[0], 1), LAST_DAY],
        [addDays(BASE_NIGHTS[1], 1), addDays(BASE_NIGHTS[1], 14)],
      ]) {
        const res = await get(`/api/v1/analytics/churn?from=${from}&to=${to}&granularity=week`);
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ kind: 'snapshot', kinds: { losses: 'event', relations: 'snapshot' }, baseAsOf: addDays(from, -1), scope: 'all' });
        expect(apiChurn(res.body), `${from}…${to}`).toEqual(refChurn(truth, x, { from, to }, addDays(from, -1), late));
        // Lines per week add up to the losses.
        expect(res.body.lines.reduce((s: number, l: { losses: number }) => s + l.losses, 0)).toBe(res.body.total.losses);
        const ch = truth.channels[1].id;
        const filtered = await get(`/api/v1/analytics/churn?from=${from}&to=${to}&userid=lisi&channel=${ch}`);
        expect(apiChurn(filtered.body)).toEqual(refChurn(truth, x, { from, to, userid: 'lisi', channelId: ch }, addDays(from, -1), late));
        const none = await get(`/api/v1/analytics/churn?from=${from}&to=${to}&channel=`);
        expect(apiChurn(none.body)).toEqual(refChurn(truth, x, { from, to, channelId: '' }, addDays(from, -1), late));
      }
    };
    await check();
    const run = await app.container.scheduling.scheduler.runNow('analytics');
    expect(run.status).toBe('done');
    expect(run.counts).toMatchObject({ snapshot: 1 });
    await check();
    // Rates and ratios: a bucket's losses over its base, against the whole's.
    const res = await get(`/api/v1/analytics/churn?from=${addDays(BASE_NIGHTS[0], 1)}&to=${LAST_DAY}`);
    const { total } = res.body as ApiChurn;
    expect(total.losses).toBeGreaterThan(10);
    expect(total.rate).toBeCloseTo(total.losses / total.relations, 4);
    for (const d of (res.body as ApiChurn).dimensions) {
      for (const b of d.buckets) {
        if (b.relations === 0) expect(b.rate).toBeNull();
        else expect(b.ratio).toBeCloseTo(b.losses / b.relations / total.rate!, 1);
      }
    }
  });

  it('answers cohorts as the slow way says, per week, day and month, filtered', async () => {
    // The nightly run above rolled every add day of the corp (the last 115 days) with marks through LAST_DAY.
    for (const granularity of ['week', 'day', 'month'] as const) {
      const res = await get(`/api/v1/analytics/cohorts?from=${FIRST_DAY}&to=${LAST_DAY}&granularity=${granularity}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ kind: 'event', weeks: 12, granularity });
      expect(apiCohorts(res.body), granularity).toEqual(refCohorts(truth, { from: FIRST_DAY, to: LAST_DAY, granularity }, LAST_DAY));
    }
    const ch = truth.channels[0].id;
    const one = await get(`/api/v1/analytics/cohorts?from=${FIRST_DAY}&to=${LAST_DAY}&userid=wangwu&channel=${ch}`);
    expect(apiCohorts(one.body)).toEqual(refCohorts(truth, { from: FIRST_DAY, to: LAST_DAY, granularity: 'week', userid: 'wangwu', channelId: ch }, LAST_DAY));
    const week = await get(`/api/v1/analytics/cohorts?from=${FIRST_DAY}&to=${LAST_DAY}`);
    // The first week's cohort has reached week 7 (its last day, 01-11, + 49 <= the last rolled day, 03-05), not week 8.
    expect(week.body.cohorts[0].cells[6].share).not.toBeNull();
    expect(week.body.cohorts[0].cells[7].share).toBeNull();
    const kept = week.body.cohorts[0].cells[0];
    expect(kept.share).toBeCloseTo(kept.retained / week.body.cohorts[0].adds, 4);
  });

  it('gives the same rows when the window is rolled twice, and a late loss counts on its day at once and in the cohorts after the re-roll', async () => {
    const c = app.container;
    const once = await dump();
    await c.scheduling.retention.rollWindow(LAST_DAY, clock.now());
    expect(await dump()).toEqual(once);
    const backfill = await c.scheduling.scheduler.runNow('analytics', { at: new Date(clock.now().getTime() + 1000) });
    expect(backfill.status).toBe('done');
    expect(await dump()).toEqual(once);

    // A relation added three to five weeks before the end, untouched since: its customer deleted the member 12 days
    // before the end, but the callback arrives only now.
    const lateAt = zonedTimeToUtc(addDays(LAST_DAY, -12), '12:00', TZ).getTime();
    const touched = new Set(truth.changes.filter((y) => y.kind !== 'added').map((y) => `${y.userid}|${y.ext}`));
    const add = truth.changes.find((y) => y.kind === 'added' && dayOf(y.at) >= addDays(LAST_DAY, -35) && dayOf(y.at) <= addDays(LAST_DAY, -21) && !touched.has(`${y.userid}|${y.ext}`))!;
    expect(add).toBeDefined();
    const xml = externalContactEventXml({ corpId: c.sandbox!.options.corp.corpId, createTime: Math.floor(lateAt / 1000), changeType: 'del_follow_user', userid: add.userid, externalUserId: add.ext });
    await c.sandbox!.deliverCallback(xml);
    await c.inboxProcessor.drain();
    const change: TruthChange = { kind: 'lost_by_customer', userid: add.userid, ext: add.ext, channelId: add.channelId, at: lateAt, tags: [] };
    late.push({ change, handled: clock.now().getTime() });
    const from = addDays(BASE_NIGHTS[0], 1);
    const churn = await get(`/api/v1/analytics/churn?from=${from}&to=${LAST_DAY}`);
    expect(apiChurn(churn.body)).toEqual(refChurn(truth, x, { from, to: LAST_DAY }, BASE_NIGHTS[0], late));

    const before = await get(`/api/v1/analytics/cohorts?from=${FIRST_DAY}&to=${LAST_DAY}`);
    expect(apiCohorts(before.body)).toEqual(refCohorts(truth, { from: FIRST_DAY, to: LAST_DAY, granularity: 'week' }, LAST_DAY));
    const nightly = await c.scheduling.scheduler.runNow('analytics', { at: new Date(clock.now().getTime() + 2000) });
    expect(nightly.status).toBe('done');
    const after = await get(`/api/v1/analytics/cohorts?from=${FIRST_DAY}&to=${LAST_DAY}`);
    expect(apiCohorts(after.body)).toEqual(refCohorts(truth, { from: FIRST_DAY, to: LAST_DAY, granularity: 'week' }, LAST_DAY, [change]));
    expect(apiCohorts(after.body)).not.toEqual(apiCohorts(before.body));
    const churnAgain = await get(`/api/v1/analytics/churn?from=${from}&to=${LAST_DAY}`);
    expect(churnAgain.body).toEqual(churn.body);
    const rolled = await dump();
    await c.scheduling.retention.rollCohortDay(dayOf(add.at), LAST_DAY);
    await c.scheduling.retention.rollChurnDay(dayOf(lateAt), clock.now());
    expect(await dump()).toEqual(rolled);
  });

  it('takes the same nightly base bucketed in one statement per slice of customers (MySQL\'s way) as bucketed page by page', async () => {
    const c = app.container;
    const repo = new AnalyticsRetentionRepository(c.db);
    // A night no other check reads, taken at the test's last night.
    const day = '2027-03-01';
    const base = () => c.db.query('SELECT dimension, bucket, userid, channel_id, relations FROM analytics_daily_churn_base WHERE day = ? ORDER BY dimension, bucket, userid, channel_id', [day]);
    const byPage = await new RetentionRollupService(repo, TZ, silentLogger, 5).takeChurnBase(day, clock.now());
    const pageRows = await base();
    // Slices of 7 customers: many statements, and customers with two relations on a slice's edge.
    const bySlice = await new RetentionRollupService(repo, TZ, silentLogger, 5, 7).takeChurnBase(day, clock.now());
    expect(bySlice).toEqual(byPage);
    expect(await base()).toEqual(pageRows);
    expect(byPage.relations).toBeGreaterThan(50);
    const buckets = new Set(pageRows.map((r) => `${String(r.dimension)}|${String(r.bucket)}`));
    // Every dimension has more than one bucket filled, so the statement's bucketing is really compared.
    for (const dim of ['botMessages', 'kfMessages', 'sinceOrder', 'sinceInteraction']) expect([...buckets].filter((b) => b.startsWith(`${dim}|`)).length, dim).toBeGreaterThan(1);
    await c.db.query('DELETE FROM analytics_daily_churn_base WHERE day = ?', [day]);
    await c.db.query('DELETE FROM analytics_retention_days WHERE day = ?', [day]);
  });

  it('gives staff their own relations only', async () => {
    const from = addDays(BASE_NIGHTS[0], 1);
    const mine = await get(`/api/v1/analytics/churn?from=${from}&to=${LAST_DAY}`, staffToken);
    expect(mine.status).toBe(200);
    expect(mine.body.scope).toBe('own');
    expect(apiChurn(mine.body)).toEqual(refChurn(truth, x, { from, to: LAST_DAY, userid: 'zhangsan' }, BASE_NIGHTS[0], late));
    const owners = mine.body.dimensions.find((d: { dimension: string }) => d.dimension === 'owner').buckets.map((b: { bucket: string }) => b.bucket);
    expect(owners).toEqual(['zhangsan']);
    const cohorts = await get(`/api/v1/analytics/cohorts?from=${FIRST_DAY}&to=${LAST_DAY}`, staffToken);
    expect(apiCohorts(cohorts.body)).toEqual(refCohorts(truth, { from: FIRST_DAY, to: LAST_DAY, granularity: 'week', userid: 'zhangsan' }, LAST_DAY, late.map((l) => l.change)));
    for (const path of ['/api/v1/analytics/cohorts?userid=lisi', '/api/v1/analytics/churn?userid=lisi']) expect((await get(path, staffToken)).status, path).toBe(403);
  });

  it('exports CSV with a UTF-8 BOM and zh-CN headers over real HTTP', async () => {
    const auth = { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } };
    const res = await fetch(`${app.url}/api/v1/analytics/cohorts?from=${FIRST_DAY}&to=${LAST_DAY}&format=csv`, auth);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv; charset=utf-8/);
    expect(res.headers.get('content-disposition')).toContain(`filename*=UTF-8''${encodeURIComponent('留存')}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes).slice(1).trimEnd().split('\r\n');
    expect(lines[0]).toBe(['同期群', '开始日期', '结束日期', '新增客户', ...Array.from({ length: 12 }, (_, i) => `第${i + 1}周`)].join(','));
    const json = await get(`/api/v1/analytics/cohorts?from=${FIRST_DAY}&to=${LAST_DAY}`);
    const first = json.body.cohorts[0];
    expect(lines[1]).toBe([first.cohort, first.periodStart, first.periodEnd, first.adds, ...first.cells.map((c: { share: number | null }) => (c.share === null ? '' : `${(c.share * 100).toFixed(2)}%`))].join(','));
    expect(lines).toHaveLength(json.body.cohorts.length + 2);

    const churn = await fetch(`${app.url}/api/v1/analytics/churn?from=${addDays(BASE_NIGHTS[0], 1)}&to=${LAST_DAY}&format=csv`, auth);
    const cbytes = new Uint8Array(await churn.arrayBuffer());
    expect([...cbytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const clines = new TextDecoder('utf-8', { ignoreBOM: true }).decode(cbytes).slice(1).trimEnd().split('\r\n');
    expect(clines[0]).toBe(`维度,分组,流失关系数,客户删除员工,员工删除客户,期初关系数（${BASE_NIGHTS[0]}）,流失率,相对整体`);
    expect(clines[1]).toMatch(/^全部,全部,\d+,\d+,\d+,\d+,\d+\.\d{2}%,1\.00×$/);
    expect(clines.some((l) => l.startsWith('流失前30天机器人消息数,3条及以上,'))).toBe(true);
    expect(clines.some((l) => l.startsWith('距上次下单天数,从未下单,'))).toBe(true);
  });

  it('refuses bad input with a zh-CN message naming the field', async () => {
    const bad = await get('/api/v1/analytics/cohorts?from=2026-02-30');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.fields.from).toContain('YYYY-MM-DD');
    const gran = await get('/api/v1/analytics/churn?granularity=year');
    expect(gran.status).toBe(400);
    expect(gran.body.error.details.fields.granularity).toBe('粒度须为 day、week 或 month');
    const reversed = await get('/api/v1/analytics/churn?from=2026-03-01&to=2026-02-01');
    expect(reversed.body.error.details.fields.from).toBe('开始日期不能晚于结束日期');
    const long = await get(`/api/v1/analytics/cohorts?channel=${'x'.repeat(40)}`);
    expect(long.body.error.details.fields.channel).toContain('36');
    const fmt = await get('/api/v1/analytics/cohorts?format=xlsx');
    expect(fmt.body.error.details.fields.format).toBe('格式须为 json 或 csv');
  });
});

describe.each(testEngines())('migration 0028 (retention cohorts and churn) can be undone and redone (%s)', (engine) => {
  const TABLES = ['analytics_cohort_days', 'analytics_loss_profiles', 'analytics_daily_churn', 'analytics_daily_churn_base', 'analytics_retention_days'];
  // Every migration but this one (and 0031, which indexes its tables) first, so undoing the last one undoes exactly it.
  const mig = useMigratedWithout(engine, [AnalyticsRetention1795000000028, AnalyticsChurnIndex1795000000031]);

  it('creates its five tables and removes them again', async () => {
    const present = async () => {
      const qr = mig.ds.createQueryRunner();
      try {
        return await Promise.all(TABLES.map((t) => qr.hasTable(t)));
      } finally {
        await qr.release();
      }
    };
    mig.ds.migrations.push(new AnalyticsRetention1795000000028());
    expect((await mig.ds.runMigrations({ transaction: 'each' })).map((m) => m.name)).toEqual(['AnalyticsRetention1795000000028']);
    expect(await present()).toEqual(TABLES.map(() => true));
    await mig.ds.undoLastMigration({ transaction: 'each' });
    expect(await present()).toEqual(TABLES.map(() => false));
    expect((await mig.ds.runMigrations({ transaction: 'each' })).map((m) => m.name)).toEqual(['AnalyticsRetention1795000000028']);
    expect(await present()).toEqual(TABLES.map(() => true));
  }, 60_000);

  it('migration 0031 replaces the churn member index with covering ones and can be undone', async () => {
    const indexes = async () => {
      const qr = mig.ds.createQueryRunner();
      try {
        return (await qr.getTable('analytics_daily_churn'))!.indices.map((i) => i.name).filter((n) => n?.startsWith('ix_')).sort();
      } finally {
        await qr.release();
      }
    };
    const before = ['ix_analytics_daily_churn_channel', 'ix_analytics_daily_churn_member'];
    const after = ['ix_analytics_daily_churn_channel', 'ix_analytics_daily_churn_dim_channel', 'ix_analytics_daily_churn_dim_member', 'ix_analytics_daily_churn_member_cover'];
    expect(await indexes()).toEqual(before);
    mig.ds.migrations.push(new AnalyticsChurnIndex1795000000031());
    expect((await mig.ds.runMigrations({ transaction: 'each' })).map((m) => m.name)).toEqual(['AnalyticsChurnIndex1795000000031']);
    expect(await indexes()).toEqual(after);
    await mig.ds.undoLastMigration({ transaction: 'each' });
    expect(await indexes()).toEqual(before);
    await mig.ds.runMigrations({ transaction: 'each' });
    expect(await indexes()).toEqual(after);
  }, 60_000);
});
