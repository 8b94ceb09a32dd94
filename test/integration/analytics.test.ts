import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { FixedClock } from '../../src/shared/clock.js';
import { addDays, daysBetween, zonedTimeToUtc } from '../../src/shared/dates.js';
import { periodOf } from '../../src/domain/analytics/analytics-periods.js';
import type { Granularity } from '../../src/domain/analytics/analytics.types.js';
import { externalContactEventXml } from '../../src/wecom/sandbox/callback-xml.js';
import { dayOf, generateCorp, TZ, type Truth, type TruthChange } from './analytics-corp.js';
import { CounterDeltaRepository } from '../../src/persistence/repositories/counter-delta.repository.js';

const DAY = 86_400_000;
const FIRST_DAY = '2026-01-05';
const DAYS = 60;
const LAST_DAY = addDays(FIRST_DAY, DAYS - 1);

type Counts = { added: number; lostByCustomer: number; lostByStaff: number; net: number; transferredIn: number; transferredOut: number };
const zero = (): Counts => ({ added: 0, lostByCustomer: 0, lostByStaff: 0, net: 0, transferredIn: 0, transferredOut: 0 });

function bump(c: Counts, kind: TruthChange['kind']): void {
  if (kind === 'added') c.added++;
  else if (kind === 'lost_by_customer') c.lostByCustomer++;
  else if (kind === 'lost_by_staff') c.lostByStaff++;
  else if (kind === 'transferred_in') c.transferredIn++;
  else c.transferredOut++;
  c.net = c.added - c.lostByCustomer - c.lostByStaff;
}

/** The slow way: growth straight from what happened. `tagIds` maps 'group/name' to the tag's id. */
function refGrowth(
  t: Truth,
  q: { from: string; to: string; granularity: Granularity; by: 'none' | 'channel' | 'staff' | 'tag'; userid?: string; channelId?: string },
  tagIds: Map<string, string>,
): Record<string, Counts> {
  const out: Record<string, Counts> = {};
  for (const c of t.changes) {
    const day = dayOf(c.at);
    if (day < q.from || day > q.to) continue;
    if (q.userid !== undefined && c.userid !== q.userid) continue;
    if (q.channelId !== undefined && (c.channelId ?? '') !== q.channelId) continue;
    const period = periodOf(day, q.granularity);
    const keys =
      q.by === 'none' ? [''] : q.by === 'channel' ? [c.channelId ?? ''] : q.by === 'staff' ? [c.userid] : c.kind.startsWith('transferred') ? [] : c.tags.map((n) => tagIds.get(n)!);
    for (const k of keys) bump((out[`${period}|${k}`] ??= zero()), c.kind);
  }
  return out;
}

function apiGrowth(lines: (Counts & { period: string; key: string })[]): Record<string, Counts> {
  const out: Record<string, Counts> = {};
  for (const l of lines) out[`${l.period}|${l.key}`] = { added: l.added, lostByCustomer: l.lostByCustomer, lostByStaff: l.lostByStaff, net: l.net, transferredIn: l.transferredIn, transferredOut: l.transferredOut };
  return out;
}

interface RefChannel {
  adds: number;
  lostByCustomer: number;
  lostByStaff: number;
  matured7d: number;
  retained7d: number;
  matured30d: number;
  retained30d: number;
  ordered30d: number;
  revenue30dCents: number;
  orderedShare30d: number | null;
  retention7d: number | null;
  retention30d: number | null;
}

const rate = (n: number, d: number) => (d > 0 ? Math.round((n / d) * 10_000) / 10_000 : null);

/** Channel effectiveness the slow way; `throughOf(day)` is the day the outcomes of that day's adds were counted through. */
function refChannels(t: Truth, q: { from: string; to: string; userid?: string }, throughOf: (day: string) => string, extra: TruthChange[] = []): Record<string, RefChannel> {
  const out: Record<string, RefChannel & { orderedMatured: number }> = {};
  const changes = [...t.changes, ...extra];
  for (const c of changes) {
    const day = dayOf(c.at);
    if (day < q.from || day > q.to || (q.userid !== undefined && c.userid !== q.userid)) continue;
    const r = (out[c.channelId ?? ''] ??= { adds: 0, lostByCustomer: 0, lostByStaff: 0, matured7d: 0, retained7d: 0, matured30d: 0, retained30d: 0, ordered30d: 0, revenue30dCents: 0, orderedShare30d: null, retention7d: null, retention30d: null, orderedMatured: 0 });
    if (c.kind === 'lost_by_customer') r.lostByCustomer++;
    if (c.kind === 'lost_by_staff') r.lostByStaff++;
    if (c.kind !== 'added') continue;
    r.adds++;
    const through = throughOf(day);
    const end = zonedTimeToUtc(addDays(through, 1), '00:00', TZ).getTime();
    const lostWithin = (days: number) => changes.some((l) => (l.kind === 'lost_by_customer' || l.kind === 'lost_by_staff') && l.userid === c.userid && l.ext === c.ext && l.at >= c.at && l.at < Math.min(c.at + days * DAY, end));
    const bought = t.orders.filter((o) => o.ext === c.ext && o.at >= c.at && o.at < Math.min(c.at + 30 * DAY, end));
    if (bought.length > 0) {
      r.ordered30d++;
      r.revenue30dCents += bought.reduce((s, o) => s + o.cents, 0);
    }
    if (daysBetween(day, through) >= 7) {
      r.matured7d++;
      if (!lostWithin(7)) r.retained7d++;
    }
    if (daysBetween(day, through) >= 30) {
      r.matured30d++;
      if (!lostWithin(30)) r.retained30d++;
      if (bought.length > 0) r.orderedMatured++;
    }
  }
  const res: Record<string, RefChannel> = {};
  for (const [k, { orderedMatured, ...r }] of Object.entries(out)) {
    res[k] = { ...r, retention7d: rate(r.retained7d, r.matured7d), retention30d: rate(r.retained30d, r.matured30d), orderedShare30d: rate(orderedMatured, r.matured30d) };
  }
  return res;
}

function apiChannels(body: { ranking: (RefChannel & { channelId: string })[]; unattributed: RefChannel & { channelId: string } }): Record<string, RefChannel> {
  const out: Record<string, RefChannel> = {};
  for (const r of [...body.ranking, ...(body.unattributed.adds + body.unattributed.lostByCustomer + body.unattributed.lostByStaff > 0 ? [body.unattributed] : [])]) {
    const { adds, lostByCustomer, lostByStaff, matured7d, retained7d, matured30d, retained30d, ordered30d, revenue30dCents, orderedShare30d, retention7d, retention30d } = r;
    out[r.channelId] = { adds, lostByCustomer, lostByStaff, matured7d, retained7d, matured30d, retained30d, ordered30d, revenue30dCents, orderedShare30d, retention7d, retention30d };
  }
  return out;
}

describe.each(testEngines())('analytics on %s', (engine) => {
  let app: TestApp;
  let truth: Truth;
  let tagIds: Map<string, string>;
  let staffToken = '';
  const clock = new FixedClock(zonedTimeToUtc(FIRST_DAY, '08:00', TZ));
  const all = { from: FIRST_DAY, to: LAST_DAY };
  /** The outcomes of each day's adds were counted through this day (set by the rolls the tests run). */
  let throughOf: (day: string) => string = () => FIRST_DAY;
  const extra: TruthChange[] = [];

  // Deltas still waiting (MySQL) are folded first, as the product's reads do (docs/analytics.md §Counters every add shares).
  const dump = async () => ({
    folded: await new CounterDeltaRepository(app.container.db).fold().then(() => true),
    growth: await app.container.db.query('SELECT day, userid, channel_id, added, lost_by_customer, lost_by_staff, transferred_in, transferred_out, retained_7d, retained_30d, ordered_30d, revenue_30d_cents, outcomes_through FROM analytics_daily_growth ORDER BY day, userid, channel_id'),
    tags: await app.container.db.query('SELECT day, group_id, tag_id, userid, added, lost_by_customer, lost_by_staff FROM analytics_daily_growth_tags ORDER BY day, tag_id, userid'),
  });
  const get = (path: string, token = TEST_ADMIN_TOKEN) => api(app, 'GET', path, undefined, token);

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    truth = await generateCorp(app.container, clock, { seed: 20260105, firstDay: FIRST_DAY, days: DAYS, newPerDay: [3, 6] });
    const rows = await app.container.db.query<{ id: string; name: string; gname: string }>('SELECT t.id, t.name, g.name AS gname FROM tags t JOIN tag_groups g ON g.id = t.group_id');
    tagIds = new Map(rows.map((r) => [`${r.gname}/${r.name}`, r.id]));
    staffToken = (await app.container.tokens.create({ role: 'staff', userid: 'zhangsan' })).token;
    clock.set(zonedTimeToUtc(addDays(LAST_DAY, 1), '00:20', TZ));
  }, 600_000);
  afterAll(() => app?.close());

  it('generates a corp worth measuring', () => {
    const customers = new Set(truth.changes.filter((c) => c.kind === 'added').map((c) => c.ext));
    expect(customers.size).toBeGreaterThan(200);
    for (const kind of ['added', 'lost_by_customer', 'lost_by_staff', 'transferred_in', 'transferred_out'] as const) expect(truth.changes.filter((c) => c.kind === kind).length, kind).toBeGreaterThan(0);
    expect(truth.orders.length).toBeGreaterThan(20);
  });

  it('counts growth as events are handled: whole, per channel, member and tag, by day, week and month', async () => {
    for (const granularity of ['day', 'week', 'month'] as const) {
      for (const by of ['none', 'channel', 'staff', 'tag'] as const) {
        const res = await get(`/api/v1/analytics/growth?from=${FIRST_DAY}&to=${LAST_DAY}&granularity=${granularity}&by=${by}`);
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ kind: 'event', timezone: TZ, from: FIRST_DAY, to: LAST_DAY, granularity, by, scope: 'all' });
        expect(apiGrowth(res.body.lines), `${granularity}/${by}`).toEqual(refGrowth(truth, { ...all, granularity, by }, tagIds));
      }
    }
    // The total is the unsplit sum, and net = added − both losses.
    const whole = await get(`/api/v1/analytics/growth?from=${FIRST_DAY}&to=${LAST_DAY}&granularity=month`);
    const sum = Object.values(refGrowth(truth, { ...all, granularity: 'month', by: 'none' }, tagIds)).reduce((a, c) => ({ ...a, added: a.added + c.added, lostByCustomer: a.lostByCustomer + c.lostByCustomer, lostByStaff: a.lostByStaff + c.lostByStaff, transferredIn: a.transferredIn + c.transferredIn, transferredOut: a.transferredOut + c.transferredOut }), zero());
    expect(whole.body.total).toEqual({ ...sum, net: sum.added - sum.lostByCustomer - sum.lostByStaff });
    // Filters: one channel, one member; one tag group.
    const ch = truth.channels[1].id;
    const oneChannel = await get(`/api/v1/analytics/growth?from=${FIRST_DAY}&to=${LAST_DAY}&granularity=week&by=staff&channel=${ch}&userid=lisi`);
    expect(apiGrowth(oneChannel.body.lines)).toEqual(refGrowth(truth, { ...all, granularity: 'week', by: 'staff', channelId: ch, userid: 'lisi' }, tagIds));
    const [{ gid }] = await app.container.db.query<{ gid: string }>("SELECT id AS gid FROM tag_groups WHERE name = '来源'");
    const grouped = await get(`/api/v1/analytics/growth?from=${FIRST_DAY}&to=${LAST_DAY}&by=tag&tagGroup=${gid}`);
    const expected = Object.fromEntries(Object.entries(refGrowth(truth, { ...all, granularity: 'day', by: 'tag' }, tagIds)).filter(([k]) => [...tagIds].some(([n, id]) => n.startsWith('来源/') && k.endsWith(`|${id}`))));
    expect(apiGrowth(grouped.body.lines)).toEqual(expected);
    expect(grouped.body.lines.every((l: { groupName: string }) => l.groupName === '来源')).toBe(true);
  });

  it('answers the total customers over time from the nightly snapshots', async () => {
    for (const granularity of ['day', 'week', 'month'] as const) {
      const res = await get(`/api/v1/analytics/customer-totals?from=${FIRST_DAY}&to=${LAST_DAY}&granularity=${granularity}`);
      expect(res.body.kind).toBe('snapshot');
      const want: Record<string, number> = {};
      for (const [day, s] of truth.snapshots) want[periodOf(day, granularity)] = s.corp;
      expect(Object.fromEntries(res.body.lines.map((l: { period: string; customers: number }) => [l.period, l.customers]))).toEqual(want);
    }
    const byStaff = await get(`/api/v1/analytics/customer-totals?from=${FIRST_DAY}&to=${LAST_DAY}&by=staff`);
    const want: Record<string, number> = {};
    for (const [day, s] of truth.snapshots) for (const [u, n] of s.perStaff) want[`${day}|${u}`] = n;
    expect(Object.fromEntries(byStaff.body.lines.map((l: { period: string; key: string; customers: number }) => [`${l.period}|${l.key}`, l.customers]))).toEqual(want);
    // By week or month, each member's figure is the one of the period's last night, and a member without customers
    // that night has no line (docs/analytics.md §Customer totals by member): a member with a row in the middle of a
    // period and none on its last night (their last customer left) is not counted at the period's end.
    const nights = [...truth.snapshots.keys()].sort();
    const mid = nights.find((d, i) => i + 1 < nights.length && periodOf(nights[i + 1], 'week') === periodOf(d, 'week') && periodOf(nights[i + 1], 'month') === periodOf(d, 'month'))!;
    await app.container.db.query('INSERT INTO analytics_daily_totals (day, userid, customers, taken_at) VALUES (?, ?, ?, ?)', [mid, 'leftmid', 5, 0]);
    try {
      for (const granularity of ['week', 'month'] as const) {
        const res = await get(`/api/v1/analytics/customer-totals?from=${FIRST_DAY}&to=${LAST_DAY}&granularity=${granularity}&by=staff`);
        const lastNight = new Map<string, string>();
        for (const day of nights) lastNight.set(periodOf(day, granularity), day);
        const ends: Record<string, number> = {};
        for (const [period, day] of lastNight) for (const [u, n] of truth.snapshots.get(day)!.perStaff) ends[`${period}|${u}|${day}`] = n;
        expect(res.body.lines.length).toBeGreaterThan(0);
        expect(Object.fromEntries(res.body.lines.map((l: { period: string; key: string; asOf: string; customers: number }) => [`${l.period}|${l.key}|${l.asOf}`, l.customers]))).toEqual(ends);
      }
    } finally {
      await app.container.db.query("DELETE FROM analytics_daily_totals WHERE userid = 'leftmid'");
    }
  });

  it('rolls the nightly window and backfills older days from the ledger: the same growth, and channel outcomes as the slow way says', async () => {
    const before = await get(`/api/v1/analytics/growth?from=${FIRST_DAY}&to=${LAST_DAY}&by=channel`);
    const sched = app.container.scheduling.scheduler;
    // A backfill of the older days first, then the night after the last day.
    const older = await sched.runNow('analytics', { at: zonedTimeToUtc(addDays(LAST_DAY, -30), '01:00', TZ) });
    expect(older.status).toBe('done');
    expect(older.counts).toMatchObject({ days: 31, snapshot: 0 });
    const nightly = await sched.runNow('analytics');
    expect(nightly.status).toBe('done');
    expect(nightly.counts).toMatchObject({ days: 31, snapshot: 1 });
    throughOf = (day) => (day >= addDays(LAST_DAY, -30) ? LAST_DAY : addDays(LAST_DAY, -31));

    const after = await get(`/api/v1/analytics/growth?from=${FIRST_DAY}&to=${LAST_DAY}&by=channel`);
    expect(after.body.lines).toEqual(before.body.lines);
    // Rolled days answer from their summary rows: every split and filter still says what happened.
    const ch = truth.channels[0].id;
    for (const granularity of ['day', 'month'] as const) {
      for (const by of ['none', 'channel', 'staff', 'tag'] as const) {
        const res = await get(`/api/v1/analytics/growth?from=${FIRST_DAY}&to=${LAST_DAY}&granularity=${granularity}&by=${by}`);
        expect(apiGrowth(res.body.lines), `${granularity}/${by}`).toEqual(refGrowth(truth, { ...all, granularity, by }, tagIds));
        const mine = await get(`/api/v1/analytics/growth?from=${FIRST_DAY}&to=${LAST_DAY}&granularity=${granularity}&by=${by}&userid=wangwu`);
        expect(apiGrowth(mine.body.lines), `${granularity}/${by}/wangwu`).toEqual(refGrowth(truth, { ...all, granularity, by, userid: 'wangwu' }, tagIds));
        if (by === 'tag') continue;
        const one = await get(`/api/v1/analytics/growth?from=${FIRST_DAY}&to=${LAST_DAY}&granularity=${granularity}&by=${by}&channel=${ch}`);
        expect(apiGrowth(one.body.lines), `${granularity}/${by}/${ch}`).toEqual(refGrowth(truth, { ...all, granularity, by, channelId: ch }, tagIds));
      }
    }
    // A range that is partly rolled: the days after the last roll come from the detail rows.
    await app.container.db.query('DELETE FROM analytics_days WHERE day > ?', [addDays(LAST_DAY, -3)]);
    const mixed = await get(`/api/v1/analytics/growth?from=${FIRST_DAY}&to=${LAST_DAY}&by=staff`);
    expect(apiGrowth(mixed.body.lines)).toEqual(refGrowth(truth, { ...all, granularity: 'day', by: 'staff' }, tagIds));
    const channels = await get(`/api/v1/analytics/channels?from=${FIRST_DAY}&to=${LAST_DAY}`);
    expect(channels.status).toBe(200);
    expect(channels.body.kind).toBe('event');
    expect(apiChannels(channels.body)).toEqual(refChannels(truth, all, throughOf));
    // Ranked by adds, highest first, ranks 1…n.
    const adds = channels.body.ranking.map((r: { adds: number }) => r.adds);
    expect(adds).toEqual([...adds].sort((a, b) => b - a));
    expect(channels.body.ranking.map((r: { rank: number }) => r.rank)).toEqual(adds.map((_: number, i: number) => i + 1));
    const byRevenue = await get(`/api/v1/analytics/channels?from=${FIRST_DAY}&to=${LAST_DAY}&sort=revenue`);
    const rev = byRevenue.body.ranking.map((r: { revenue30dCents: number }) => r.revenue30dCents);
    expect(rev).toEqual([...rev].sort((a, b) => b - a));
    // A shorter range, per week: the periods add up to the whole.
    const from = addDays(FIRST_DAY, 10);
    const weekly = await get(`/api/v1/analytics/channels?from=${from}&to=${LAST_DAY}&granularity=week`);
    expect(apiChannels(weekly.body)).toEqual(refChannels(truth, { from, to: LAST_DAY }, throughOf));
    const perWeekAdds = weekly.body.lines.reduce((s: number, l: { adds: number; channelId: string }) => s + (l.channelId ? l.adds : 0), 0);
    expect(perWeekAdds).toBe(weekly.body.ranking.reduce((s: number, r: { adds: number }) => s + r.adds, 0));
  });

  it('gives the same rows when a day is rolled twice', async () => {
    const once = await dump();
    const rollup = app.container.scheduling.analytics;
    for (let d = addDays(LAST_DAY, -30); d <= LAST_DAY; d = addDays(d, 1)) await rollup.rollDay(d, LAST_DAY, clock.now());
    for (let d = FIRST_DAY; d < addDays(LAST_DAY, -30); d = addDays(d, 1)) await rollup.rollDay(d, addDays(LAST_DAY, -31), clock.now());
    expect(await dump()).toEqual(once);
    // The nightly run again, under another occasion (a second later), changes nothing either.
    const again = await app.container.scheduling.scheduler.runNow('analytics', { at: new Date(clock.now().getTime() + 1000) });
    expect(again.status).toBe('done');
    expect(await dump()).toEqual(once);
  });

  it('counts a late event on its own day at once, and a re-roll of that day agrees', async () => {
    const c = app.container;
    // A relation added 22–28 days before the end and untouched since: the customer deletes the member, but the
    // callback arrives only now, with its CreateTime 15 days back.
    const lateAt = zonedTimeToUtc(addDays(LAST_DAY, -15), '12:00', TZ).getTime();
    const touched = new Set(truth.changes.filter((x) => x.kind !== 'added').map((x) => `${x.userid}|${x.ext}`));
    const candidate = truth.changes.find((x) => {
      const day = dayOf(x.at);
      return x.kind === 'added' && x.channelId && day >= addDays(LAST_DAY, -28) && day <= addDays(LAST_DAY, -22) && !touched.has(`${x.userid}|${x.ext}`) && truth.changes.filter((y) => y.ext === x.ext).length === 1;
    })!;
    expect(candidate).toBeDefined();
    // Delivered now (a fresh signature), about an event of 15 days ago.
    const xml = externalContactEventXml({ corpId: c.sandbox!.options.corp.corpId, createTime: Math.floor(lateAt / 1000), changeType: 'del_follow_user', userid: candidate.userid, externalUserId: candidate.ext });
    await c.sandbox!.deliverCallback(xml);
    await c.inboxProcessor.drain();
    const tags = [...new Set(truth.changes.filter((x) => x.ext === candidate.ext).flatMap((x) => x.tags))];
    extra.push({ kind: 'lost_by_customer', userid: candidate.userid, ext: candidate.ext, channelId: candidate.channelId, at: lateAt, tags });
    const withLate: Truth = { ...truth, changes: [...truth.changes, ...extra] };

    for (const by of ['none', 'channel', 'tag'] as const) {
      const res = await get(`/api/v1/analytics/growth?from=${FIRST_DAY}&to=${LAST_DAY}&by=${by}`);
      expect(apiGrowth(res.body.lines), by).toEqual(refGrowth(withLate, { ...all, granularity: 'day', by }, tagIds));
    }
    // The add's outcomes change only when its day is rolled again: the nightly window does.
    const run = await c.scheduling.scheduler.runNow('analytics', { at: new Date(clock.now().getTime() + 2000) });
    expect(run.status).toBe('done');
    const growth = await get(`/api/v1/analytics/growth?from=${FIRST_DAY}&to=${LAST_DAY}&by=tag`);
    expect(apiGrowth(growth.body.lines)).toEqual(refGrowth(withLate, { ...all, granularity: 'day', by: 'tag' }, tagIds));
    const channels = await get(`/api/v1/analytics/channels?from=${FIRST_DAY}&to=${LAST_DAY}`);
    expect(apiChannels(channels.body)).toEqual(refChannels(truth, all, throughOf, extra));
    const once = await dump();
    await c.scheduling.analytics.rollDay(dayOf(lateAt), LAST_DAY, clock.now());
    await c.scheduling.analytics.rollDay(dayOf(candidate.at), LAST_DAY, clock.now());
    expect(await dump()).toEqual(once);
  });

  it('gives staff their own numbers only', async () => {
    const mine = await get(`/api/v1/analytics/growth?from=${FIRST_DAY}&to=${LAST_DAY}&by=staff`, staffToken);
    expect(mine.status).toBe(200);
    expect(mine.body.scope).toBe('own');
    expect(new Set(mine.body.lines.map((l: { key: string }) => l.key))).toEqual(new Set(['zhangsan']));
    const withLate: Truth = { ...truth, changes: [...truth.changes, ...extra] };
    expect(apiGrowth(mine.body.lines)).toEqual(refGrowth(withLate, { ...all, granularity: 'day', by: 'staff', userid: 'zhangsan' }, tagIds));
    const tags = await get(`/api/v1/analytics/growth?from=${FIRST_DAY}&to=${LAST_DAY}&by=tag`, staffToken);
    expect(apiGrowth(tags.body.lines)).toEqual(refGrowth(withLate, { ...all, granularity: 'day', by: 'tag', userid: 'zhangsan' }, tagIds));
    const channels = await get(`/api/v1/analytics/channels?from=${FIRST_DAY}&to=${LAST_DAY}`, staffToken);
    expect(apiChannels(channels.body)).toEqual(refChannels(truth, { ...all, userid: 'zhangsan' }, throughOf, extra));
    const totals = await get(`/api/v1/analytics/customer-totals?from=${FIRST_DAY}&to=${LAST_DAY}`, staffToken);
    const own = Object.fromEntries([...truth.snapshots].filter(([, s]) => s.perStaff.has('zhangsan')).map(([day, s]) => [day, s.perStaff.get('zhangsan')]));
    expect(Object.fromEntries(totals.body.lines.map((l: { period: string; customers: number }) => [l.period, l.customers]))).toEqual(own);
    for (const path of ['/api/v1/analytics/growth?userid=lisi', '/api/v1/analytics/channels?userid=lisi', '/api/v1/analytics/customer-totals?userid=lisi']) {
      const res = await get(path, staffToken);
      expect(res.status, path).toBe(403);
    }
    // The whole corp's answer is not the member's.
    const corp = await get(`/api/v1/analytics/growth?from=${FIRST_DAY}&to=${LAST_DAY}`);
    expect(corp.body.total.added).toBeGreaterThan(mine.body.total.added);
  });

  it('exports CSV with a UTF-8 BOM and zh-CN headers over real HTTP', async () => {
    const res = await fetch(`${app.url}/api/v1/analytics/growth?from=${FIRST_DAY}&to=${LAST_DAY}&granularity=week&by=channel&format=csv`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv; charset=utf-8/);
    expect(res.headers.get('content-disposition')).toContain(`filename="customer-growth-${FIRST_DAY}_${LAST_DAY}.csv"`);
    expect(res.headers.get('content-disposition')).toContain(`filename*=UTF-8''${encodeURIComponent('客户增长')}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
    const lines = text.slice(1).trimEnd().split('\r\n');
    expect(lines[0]).toBe('周期,开始日期,结束日期,渠道,新增客户,客户删除员工,员工删除客户,净增,转入（继承）,转出（继承）');
    const json = await get(`/api/v1/analytics/growth?from=${FIRST_DAY}&to=${LAST_DAY}&granularity=week&by=channel`);
    expect(lines.length - 1).toBe(json.body.lines.length);
    const first = json.body.lines[0];
    expect(lines[1]).toBe([first.period, first.periodStart, first.periodEnd, first.label, first.added, first.lostByCustomer, first.lostByStaff, first.net, first.transferredIn, first.transferredOut].join(','));

    const ranking = await fetch(`${app.url}/api/v1/analytics/channels?from=${FIRST_DAY}&to=${LAST_DAY}&format=csv`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    // fetch's text() drops the BOM, as Excel's reader does.
    const rtext = await ranking.text();
    const rlines = rtext.trimEnd().split('\r\n');
    expect(rlines[0]).toBe('排名,渠道,新增客户,客户删除员工,员工删除客户,净增,7日留存率,7日已满期新增,7日留存,30日留存率,30日已满期新增,30日留存,30日内下单人数,30日下单率,30日内成交金额（元）');
    expect(rlines).toHaveLength(1 + truth.channels.length);
    expect(rlines[1]).toMatch(/^1,(地推二维码|公众号菜单|门店海报),\d+/);

    const totals = await fetch(`${app.url}/api/v1/analytics/customer-totals?from=${FIRST_DAY}&to=${LAST_DAY}&granularity=month&format=csv`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    const tbytes = new Uint8Array(await totals.arrayBuffer());
    expect([...tbytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(new TextDecoder('utf-8', { ignoreBOM: true }).decode(tbytes).split('\r\n')[0]).toBe('\uFEFF周期,截至日期,客户总数');
  });

  it('refuses bad input with a zh-CN message naming the field', async () => {
    const bad = await get('/api/v1/analytics/growth?from=2026-02-30');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.fields.from).toContain('YYYY-MM-DD');
    const reversed = await get('/api/v1/analytics/channels?from=2026-03-01&to=2026-02-01');
    expect(reversed.status).toBe(400);
    expect(reversed.body.error.details.fields.from).toBe('开始日期不能晚于结束日期');
    const long = await get('/api/v1/analytics/growth?from=2020-01-01&to=2026-01-01');
    expect(long.body.error.details.fields.to).toContain('800');
    const gran = await get('/api/v1/analytics/customer-totals?granularity=year');
    expect(gran.body.error.details.fields.granularity).toBe('粒度须为 day、week 或 month');
    const mixed = await get('/api/v1/analytics/growth?by=tag&channel=x');
    expect(mixed.body.error.details.fields.channel).toBeDefined();
    const group = await get('/api/v1/analytics/growth?by=tag&tagGroup=nope');
    expect(group.body.error.details.fields.tagGroup).toBe('标签组不存在');
  });
});
