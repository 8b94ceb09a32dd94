/**
 * `npm run bench -- analytics`: the analytics layer (docs/analytics.md §Size) over a generated corp of
 * BENCH_ANALYTICS_CUSTOMERS customers (default 1,000,000) with two years of history ending 2026-11-30, generated in
 * bulk, history included (the ledger, its rollups with their outcomes, the nightly totals and mix, as the rolls would
 * have left them; never by running 730 rolls): customers with activity, RFM and stage, 1.2 relations each, 5 tag links
 * each, an add for every relation over the two years, losses for about a quarter of them, orders for a third of the
 * customers. It times each dashboard question (BENCH_ANALYTICS_REQUESTS after 3 warm-ups, p50 and p95), then one
 * night's job (the 31-day re-roll, the totals snapshot and the mix snapshot) with the event loop's longest wait,
 * BENCH_ANALYTICS_RUNS times (default 3; median and range). SQLite and MySQL (BENCH_MYSQL_URL, else TEST_MYSQL_URL,
 * else the local MariaDB); BENCH_ANALYTICS_ENGINES=sqlite|mysql narrows it. The machine is shared: run it under
 * `flock /tmp/bench.lock`. The questions are timed as calls into AnalyticsService in this process, not through a
 * running bot's HTTP API with its workers on (on SQLite, not on the bot's reader thread): a lower bound on what an
 * operator waits for, not the product as it runs.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createTestDatabase } from '../../test/helpers/databases.js';
import { createDataSource, type DbEngine } from '../../src/persistence/data-source.js';
import { Db } from '../../src/persistence/db.js';
import { createPrng } from '../../src/shared/prng.js';
import { migrations } from '../../migrations/index.js';
import { silentLogger } from '../../src/shared/logger.js';
import { FixedClock } from '../../src/shared/clock.js';
import { addDays, localDate, zonedTimeToUtc } from '../../src/shared/dates.js';
import { ALL_CHANNELS, ALL_MEMBERS, AnalyticsRepository } from '../../src/persistence/repositories/analytics.repository.js';
import { AnalyticsRollupService, OUTCOME_WINDOW_DAYS } from '../../src/domain/analytics/analytics-rollup.service.js';
import { AnalyticsService } from '../../src/domain/analytics/analytics.service.js';
import { RFM_SEGMENTS } from '../../src/domain/scoring/rfm.js';
import { STAGES } from '../../src/domain/scoring/lifecycle.js';

const TZ = 'Asia/Shanghai';
const END = '2026-11-30';
const DAYS = 730;
const FIRST = addDays(END, -(DAYS - 1));
const DAY_MS = 86_400_000;
const BATCH = 1000;
const BENCH_MYSQL_URL = process.env.BENCH_MYSQL_URL ?? process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const ACTIVITY = ['active', 'dormant', 'churned'];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** Insert rows in multi-row statements of BATCH rows, each in a transaction of its own. */
async function insertMany(db: Db, table: string, cols: string[], rows: unknown[][]): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) {
    const chunk = rows.slice(i, i + BATCH);
    await db.tx((em) => em.query(`INSERT INTO ${table} (${cols.join(', ')}) VALUES ${chunk.map(() => `(${cols.map(() => '?').join(',')})`).join(',')}`, chunk.flat()));
  }
}

interface Counts {
  customers: number;
  relations: number;
  tagLinks: number;
  changes: number;
  orders: number;
  growthRows: number;
  tagRows: number;
  mixRows: number;
}

/** The corp and its two years, in bulk. Rollups are aggregated here as the rolls would have written them. */
export async function generate(db: Db, n: number): Promise<Counts> {
  const rand = createPrng(20261130);
  const staffN = Math.max(10, Math.round(n / 5000));
  const channelsN = 30;
  const staff = Array.from({ length: staffN }, (_, i) => `staff${i}`);
  await insertMany(db, 'staff', ['userid', 'name', 'status', 'updated_at'], staff.map((s, i) => [s, `员工${i}`, 'active', 0]));
  const channels = Array.from({ length: channelsN }, (_, i) => `ch-${String(i).padStart(4, '0')}`);
  await insertMany(db, 'channels', ['id', 'name', 'state', 'staff', 'tags', 'created_at', 'updated_at'], channels.map((id, i) => [id, `渠道${i}`, `st_${i}`, '[]', '[]', 0, 0]));
  const groups = Array.from({ length: 5 }, (_, g) => `grp${g}`);
  const tags = Array.from({ length: 50 }, (_, t) => ({ id: `tag${String(t).padStart(2, '0')}`, group: groups[t % 5] }));
  await insertMany(db, 'tag_groups', ['id', 'name', 'sort_order', 'source', 'updated_at'], groups.map((g, i) => [g, `分组${i}`, i, 'wecom', 0]));
  await insertMany(db, 'tags', ['id', 'group_id', 'name', 'sort_order', 'source', 'updated_at'], tags.map((t, i) => [t.id, t.group, `标签${i}`, i, 'wecom', 0]));
  const groupOf = new Map(tags.map((t) => [t.id, t.group]));

  const start = zonedTimeToUtc(FIRST, '00:00', TZ).getTime();
  const endMs = zonedTimeToUtc(addDays(END, 1), '00:00', TZ).getTime();
  const growth = new Map<string, { day: string; userid: string; channelId: string; v: number[] }>();
  const tagAgg = new Map<string, { day: string; group: string; tag: string; userid: string; v: number[] }>();
  const bump = (day: string, userid: string, channelId: string, col: number, by = 1) => {
    const k = `${day}|${userid}|${channelId}`;
    const g = growth.get(k) ?? { day, userid, channelId, v: [0, 0, 0, 0, 0, 0, 0, 0, 0] };
    g.v[col] += by;
    growth.set(k, g);
  };
  const c: Counts = { customers: n, relations: 0, tagLinks: 0, changes: 0, orders: 0, growthRows: 0, tagRows: 0, mixRows: 0 };
  const finalMix = new Map<string, number>();
  const states: unknown[][] = [];
  for (let from = 0; from < n; from += BATCH) {
    const cust: unknown[][] = [];
    const rels: unknown[][] = [];
    const links: unknown[][] = [];
    const changes: unknown[][] = [];
    const orders: unknown[][] = [];
    for (let i = from; i < Math.min(n, from + BATCH); i++) {
      const ext = `wm${String(i).padStart(10, '0')}`;
      const activity = ACTIVITY[Math.floor(rand() * 3)];
      const rfm = rand() < 0.6 ? RFM_SEGMENTS[Math.floor(rand() * RFM_SEGMENTS.length)] : null;
      const stage = STAGES[Math.floor(rand() * STAGES.length)];
      const myTags = [...new Set(Array.from({ length: 5 }, () => tags[Math.floor(rand() * tags.length)].id))];
      const members = rand() < 0.2 ? [staff[i % staffN], staff[(i + 1) % staffN]] : [staff[i % staffN]];
      let firstAdd = Infinity;
      for (const userid of members) {
        const addedAt = start + Math.floor(rand() * DAYS * DAY_MS);
        firstAdd = Math.min(firstAdd, addedAt);
        const channelId = rand() < 0.75 ? channels[Math.floor(rand() * channelsN)] : null;
        const lost = rand() < 0.25 ? addedAt + Math.floor(rand() * 200 * DAY_MS) : null;
        const isLost = lost !== null && lost < endMs;
        const lossKind = rand() < 0.6 ? 'lost_by_customer' : 'lost_by_staff';
        rels.push([userid, ext, 1, channelId ? `st_${channels.indexOf(channelId)}` : null, addedAt, isLost ? (lossKind === 'lost_by_customer' ? 'deleted_by_customer' : 'deleted_by_staff') : 'active', addedAt, 0, 0]);
        const addDay = localDate(new Date(addedAt), TZ);
        changes.push([addedAt, 'added', userid, ext, channelId, JSON.stringify(myTags), addedAt]);
        bump(addDay, userid, channelId ?? '', 0);
        for (const t of myTags) {
          const k = `${addDay}|${t}|${userid}`;
          const a = tagAgg.get(k) ?? { day: addDay, group: groupOf.get(t)!, tag: t, userid, v: [0, 0, 0] };
          a.v[0]++;
          tagAgg.set(k, a);
        }
        if (isLost) {
          const lossDay = localDate(new Date(lost), TZ);
          changes.push([lost, lossKind, userid, ext, channelId, JSON.stringify(myTags), lost]);
          bump(lossDay, userid, channelId ?? '', lossKind === 'lost_by_customer' ? 1 : 2);
          for (const t of myTags) {
            const k = `${lossDay}|${t}|${userid}`;
            const a = tagAgg.get(k) ?? { day: lossDay, group: groupOf.get(t)!, tag: t, userid, v: [0, 0, 0] };
            a.v[lossKind === 'lost_by_customer' ? 1 : 2]++;
            tagAgg.set(k, a);
          }
        }
        // Outcomes as the rolls would have counted them (through END).
        if (!isLost || lost - addedAt >= 7 * DAY_MS) bump(addDay, userid, channelId ?? '', 5);
        if (!isLost || lost - addedAt >= 30 * DAY_MS) bump(addDay, userid, channelId ?? '', 6);
      }
      if (rand() < 0.33) {
        const at = Math.min(endMs - 1, firstAdd + Math.floor(rand() * 60 * DAY_MS));
        const cents = 1000 + Math.floor(rand() * 99_000);
        orders.push([`o-${i}`, ext, `NO${i}`, cents, at, at]);
        c.orders++;
      }
      cust.push([ext, `客户${i}`, 1, 0, firstAdd, activity, rfm, stage, 0, firstAdd, firstAdd]);
      for (const t of myTags) links.push([ext, t, '', 'channel', firstAdd]);
      c.relations += members.length;
      c.tagLinks += myTags.length;
      for (const [dim, v] of [['activity', activity], ['rfm', rfm ?? ''], ['stage', stage]] as const) {
        for (const u of ['', ...members]) finalMix.set(`${dim}|${v}|${u}`, (finalMix.get(`${dim}|${v}|${u}`) ?? 0) + 1);
      }
      states.push([ext, addDays(END, -1), activity, rfm ?? '', stage, null, '', '', '']);
    }
    c.changes += changes.length;
    await insertMany(db, 'customers', ['external_user_id', 'name', 'type', 'gender', 'first_added_at', 'activity', 'rfm', 'stage', 'opted_out', 'created_at', 'updated_at'], cust);
    await insertMany(db, 'follow_relations', ['userid', 'external_user_id', 'add_way', 'state', 'added_at', 'status', 'last_event_time', 'created_at', 'updated_at'], rels);
    await insertMany(db, 'customer_tags', ['external_user_id', 'tag_id', 'userid', 'source', 'created_at'], links);
    await insertMany(db, 'analytics_relation_events', ['occurred_at', 'kind', 'userid', 'external_user_id', 'channel_id', 'tag_ids', 'created_at'], changes);
    await insertMany(db, 'orders', ['id', 'external_user_id', 'order_no', 'amount_cents', 'ordered_at', 'created_at'], orders);
  }
  await insertMany(db, 'analytics_customer_states', ['external_user_id', 'as_of', 'activity', 'rfm', 'stage', 'prev_as_of', 'prev_activity', 'prev_rfm', 'prev_stage'], states);
  // The summary rows a roll writes next to the detail (all members per channel, each member over all channels, the
  // corp; all members per tag), and every day marked rolled.
  for (const g of [...growth.values()]) {
    for (const [u, ch] of [
      [ALL_MEMBERS, g.channelId],
      [g.userid, ALL_CHANNELS],
      [ALL_MEMBERS, ALL_CHANNELS],
    ]) {
      const k = `${g.day}|${u}|${ch}`;
      const sum = growth.get(k) ?? { day: g.day, userid: u, channelId: ch, v: [0, 0, 0, 0, 0, 0, 0, 0, 0] };
      g.v.forEach((x, i) => (sum.v[i] += x));
      growth.set(k, sum);
    }
  }
  for (const t of [...tagAgg.values()]) {
    const k = `${t.day}|${t.tag}|${ALL_MEMBERS}`;
    const sum = tagAgg.get(k) ?? { day: t.day, group: t.group, tag: t.tag, userid: ALL_MEMBERS, v: [0, 0, 0] };
    t.v.forEach((x, i) => (sum.v[i] += x));
    tagAgg.set(k, sum);
  }
  await insertMany(db, 'analytics_days', ['day', 'rolled_at', 'snapshot_at'], Array.from({ length: DAYS }, (_, d) => [addDays(FIRST, d), endMs, endMs]));
  const growthRows = [...growth.values()].map((g) => [g.day, g.userid, g.channelId, g.v[0], g.v[1], g.v[2], 0, 0, g.v[5], g.v[6], 0, 0, END]);
  await insertMany(db, 'analytics_daily_growth', ['day', 'userid', 'channel_id', 'added', 'lost_by_customer', 'lost_by_staff', 'transferred_in', 'transferred_out', 'retained_7d', 'retained_30d', 'ordered_30d', 'revenue_30d_cents', 'outcomes_through'], growthRows);
  await insertMany(db, 'analytics_daily_growth_tags', ['day', 'group_id', 'tag_id', 'userid', 'added', 'lost_by_customer', 'lost_by_staff'], [...tagAgg.values()].map((t) => [t.day, t.group, t.tag, t.userid, ...t.v]));
  c.growthRows = growthRows.length;
  c.tagRows = tagAgg.size;
  // Two years of nightly snapshots: the final mix scaled along the way (the figures' shape, not their history).
  const mixRows: unknown[][] = [];
  const totals: unknown[][] = [];
  const transitions: unknown[][] = [];
  for (let d = 0; d < DAYS; d++) {
    const day = addDays(FIRST, d);
    const f = (d + 1) / DAYS;
    for (const [k, v] of finalMix) {
      const [dim, value, userid] = k.split('|');
      mixRows.push([day, dim, value, userid, Math.round(v * f)]);
    }
    totals.push([day, '', Math.round(n * 0.8 * f), 0]);
    for (const s of staff) totals.push([day, s, Math.round((n * 0.96 * f) / staffN), 0]);
    for (const [from, to] of [['loyal', 'at_risk'], ['at_risk', 'churned'], ['customer', 'loyal'], ['new', 'prospect']]) {
      transitions.push([day, 'stage', from, to, '', Math.round(n * 0.002 * rand())]);
      for (const s of staff) transitions.push([day, 'stage', from, to, s, Math.round((n * 0.002 * rand()) / staffN)]);
    }
  }
  await insertMany(db, 'analytics_daily_mix', ['day', 'dimension', 'value', 'userid', 'customers'], mixRows);
  await insertMany(db, 'analytics_daily_totals', ['day', 'userid', 'customers', 'taken_at'], totals);
  await insertMany(db, 'analytics_daily_transitions', ['day', 'dimension', 'from_value', 'to_value', 'userid', 'customers'], transitions);
  c.mixRows = mixRows.length;
  return c;
}

async function benchEngine(engine: DbEngine, n: number, runs: number, requests: number): Promise<Record<string, number | string>> {
  const target = await createTestDatabase(engine, { mysqlUrl: BENCH_MYSQL_URL, prefix: 'wecom_ops_analytics_bench' });
  const ds = createDataSource({ databaseUrl: target.url, migrations });
  await ds.initialize();
  try {
    await ds.runMigrations({ transaction: 'each' });
    const db = new Db(ds);
    const t0 = Date.now();
    const counts = await generate(db, n);
    const genSeconds = (Date.now() - t0) / 1000;
    const repo = new AnalyticsRepository(db);
    const clock = new FixedClock(zonedTimeToUtc(addDays(END, 1), '00:20', TZ));
    const service = new AnalyticsService(repo, clock, TZ);
    const rollup = new AnalyticsRollupService(repo, TZ, silentLogger, 5000);
    const admin = { role: 'admin' as const, userid: null };
    const yearAgo = addDays(END, -364);
    const questions: [string, () => Promise<unknown>][] = [
      ['growth 30d by day', () => service.growth({ granularity: 'day', by: 'none', from: addDays(END, -29), to: END }, admin)],
      ['growth 1y by channel/week', () => service.growth({ granularity: 'week', by: 'channel', from: yearAgo, to: END }, admin)],
      ['growth 2y by month', () => service.growth({ granularity: 'month', by: 'none', from: FIRST, to: END }, admin)],
      ['growth 90d by tag group', () => service.growth({ granularity: 'day', by: 'tag', tagGroupId: 'grp0', from: addDays(END, -89), to: END }, admin)],
      ['customer totals 2y by month', () => service.totals({ granularity: 'month', by: 'none', from: FIRST, to: END }, admin)],
      ['channels 1y ranking', () => service.channels({ granularity: 'month', sort: 'retention30d', from: yearAgo, to: END }, admin)],
      ['mix 1y stage by week', () => service.mix({ granularity: 'week', dimension: 'stage', from: yearAgo, to: END }, admin)],
      ['transitions 1y stage by month', () => service.transitions({ granularity: 'month', dimension: 'stage', from: yearAgo, to: END }, admin)],
      ['growth 1y staff own', () => service.growth({ granularity: 'week', by: 'none', from: yearAgo, to: END }, { role: 'staff', userid: 'staff1' })],
    ];
    const out: Record<string, number | string> = { engine, ...counts, genSeconds: round(genSeconds) };
    let worstP95 = 0;
    for (const [name, ask] of questions) {
      for (let i = 0; i < 3; i++) await ask();
      const ms: number[] = [];
      for (let i = 0; i < requests; i++) {
        const s = performance.now();
        await ask();
        ms.push(performance.now() - s);
      }
      out[`${name} p50 ms`] = round(pct(ms, 50));
      out[`${name} p95 ms`] = round(pct(ms, 95));
      worstP95 = Math.max(worstP95, pct(ms, 95));
    }
    out.worstQueryP95Ms = round(worstP95);
    const nights: number[] = [];
    const loops: number[] = [];
    const parts: Record<string, number[]> = { roll: [], totals: [], mix: [] };
    for (let r = 0; r < runs; r++) {
      const loop = monitorEventLoopDelay({ resolution: 10 });
      loop.enable();
      const now = clock.now();
      let s = performance.now();
      await rollup.rollWindow(END, now);
      parts.roll.push((performance.now() - s) / 1000);
      s = performance.now();
      await rollup.takeSnapshot(END, now);
      parts.totals.push((performance.now() - s) / 1000);
      s = performance.now();
      await rollup.takeMixSnapshot(END, now);
      parts.mix.push((performance.now() - s) / 1000);
      loop.disable();
      nights.push(parts.roll[r] + parts.totals[r] + parts.mix[r]);
      loops.push(loop.max / 1e6);
    }
    out.nightSecondsMedian = round(median(nights), 2);
    out.nightSecondsRange = `${round(Math.min(...nights), 2)}–${round(Math.max(...nights), 2)}`;
    out.rollWindowSeconds = round(median(parts.roll), 2);
    out.totalsSnapshotSeconds = round(median(parts.totals), 2);
    out.mixSnapshotSeconds = round(median(parts.mix), 2);
    out.loopMaxWaitMsMedian = round(median(loops));
    out.runs = runs;
    out.rollWindowDays = OUTCOME_WINDOW_DAYS + 1;
    return out;
  } finally {
    await ds.destroy();
    await target.drop();
  }
}

/** Entry point for scripts/bench/index.ts. */
export async function runAnalyticsBench(): Promise<Record<string, number | string>[]> {
  const n = Number(process.env.BENCH_ANALYTICS_CUSTOMERS ?? 1_000_000);
  const runs = Number(process.env.BENCH_ANALYTICS_RUNS ?? 3);
  const requests = Number(process.env.BENCH_ANALYTICS_REQUESTS ?? 20);
  const engines = (process.env.BENCH_ANALYTICS_ENGINES ?? 'sqlite,mysql').split(',').filter(Boolean) as DbEngine[];
  const rows: Record<string, number | string>[] = [];
  for (const engine of engines) rows.push(await benchEngine(engine, n, runs, requests));
  return rows;
}
