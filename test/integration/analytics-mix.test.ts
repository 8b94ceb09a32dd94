import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { turnsDuring } from '../helpers/event-loop.js';
import { FixedClock } from '../../src/shared/clock.js';
import { addDays, zonedTimeToUtc } from '../../src/shared/dates.js';
import { periodOf } from '../../src/domain/analytics/analytics-periods.js';
import { RFM_SEGMENTS } from '../../src/domain/scoring/rfm.js';
import { STAGES } from '../../src/domain/scoring/lifecycle.js';
import type { MixDimension, MixValues } from '../../src/domain/analytics/analytics.types.js';
import { insertCustomer, insertRelation, insertStaff } from '../fixtures/scheduling.js';
import { buildScheduling } from '../../src/container.js';
import { rng, TZ } from './analytics-corp.js';

const FIRST = '2026-04-01';
const NIGHTS = 24;
const STAFF = ['zhangsan', 'lisi', 'wangwu'];
const ACTIVITY = ['active', 'dormant', 'churned'];

/**
 * The activity and value mix (客户结构): each night the scoring job's values are snapshotted per customer; the API's mix
 * and transitions are compared with what the test set, night by night (both engines).
 */
describe.each(testEngines())('analytics mix on %s', (engine) => {
  let app: TestApp;
  const clock = new FixedClock(zonedTimeToUtc(FIRST, '09:00', TZ));
  /** Per night, each customer's values and members (customers with no member are KF contacts: not counted). */
  const nights = new Map<string, Map<string, { values: MixValues; members: string[] }>>();
  let staffToken = '';
  const get = (path: string, token = TEST_ADMIN_TOKEN) => api(app, 'GET', path, undefined, token);
  const LAST = addDays(FIRST, NIGHTS - 1);

  function refMix(day: string, dim: MixDimension, userid = ''): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of nights.get(day)!.values()) {
      if (c.members.length === 0 || (userid && !c.members.includes(userid))) continue;
      out[c.values[dim]] = (out[c.values[dim]] ?? 0) + 1;
    }
    return out;
  }

  function refTransitions(from: string, to: string, dim: MixDimension, granularity: 'day' | 'week' | 'month', userid = ''): Record<string, number> {
    const out: Record<string, number> = {};
    for (let day = from; day <= to; day = addDays(day, 1)) {
      const before = nights.get(addDays(day, -1));
      if (!before) continue;
      for (const [ext, c] of nights.get(day)!) {
        const was = before.get(ext);
        if (!was || was.members.length === 0 || c.members.length === 0 || (userid && !c.members.includes(userid))) continue;
        if (was.values[dim] === c.values[dim]) continue;
        const k = `${periodOf(day, granularity)}|${was.values[dim]}|${c.values[dim]}`;
        out[k] = (out[k] ?? 0) + 1;
      }
    }
    return out;
  }

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    const db = app.container.db;
    for (const s of STAFF) await insertStaff(db, s, s);
    staffToken = (await app.container.tokens.create({ role: 'staff', userid: 'zhangsan' })).token;
    const rand = rng(4242);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    const state = new Map<string, { values: MixValues; members: string[] }>();
    let n = 0;
    const newCustomer = async (withMember: boolean) => {
      const ext = `wm-mix-${String(n++).padStart(4, '0')}`;
      await insertCustomer(db, { externalUserId: ext, name: `客户${n}`, firstAddedAt: clock.now() });
      await db.query("UPDATE customers SET activity = 'active', rfm = NULL, stage = 'new' WHERE external_user_id = ?", [ext]);
      const members = withMember ? [...new Set([pick(STAFF), ...(rand() < 0.3 ? [pick(STAFF)] : [])])] : [];
      for (const m of members) await insertRelation(db, m, ext, clock.now(), rand() < 0.2 ? 'deleted_by_customer' : 'active');
      state.set(ext, { values: { activity: 'active', rfm: '', stage: 'new' }, members });
    };
    for (let i = 0; i < 60; i++) await newCustomer(i % 12 !== 0);
    for (let d = 0; d < NIGHTS; d++) {
      const day = addDays(FIRST, d);
      clock.set(zonedTimeToUtc(day, '04:00', TZ));
      // What the scoring job would do overnight: some customers move.
      for (const [ext, c] of state) {
        if (rand() >= 0.25) continue;
        const values: MixValues = {
          activity: rand() < 0.5 ? c.values.activity : pick(ACTIVITY),
          rfm: rand() < 0.5 ? c.values.rfm : pick(['', ...RFM_SEGMENTS]),
          stage: rand() < 0.5 ? c.values.stage : pick(STAGES),
        };
        await db.query('UPDATE customers SET activity = ?, rfm = ?, stage = ? WHERE external_user_id = ?', [values.activity, values.rfm || null, values.stage, ext]);
        c.values = values;
      }
      if (d % 5 === 2) await newCustomer(true);
      nights.set(day, new Map([...state].map(([k, v]) => [k, { values: { ...v.values }, members: [...v.members] }])));
      // The night after: the whole nightly job.
      clock.set(zonedTimeToUtc(addDays(day, 1), '00:20', TZ));
      const run = await app.container.scheduling.scheduler.runNow('analytics');
      expect(run.status, day).toBe('done');
    }
  }, 300_000);
  afterAll(() => app?.close());

  it('answers the mix per night, week and month, and as it is now', async () => {
    for (const dimension of ['activity', 'rfm', 'stage'] as const) {
      for (const granularity of ['day', 'week', 'month'] as const) {
        const res = await get(`/api/v1/analytics/mix?from=${FIRST}&to=${LAST}&dimension=${dimension}&granularity=${granularity}`);
        expect(res.status).toBe(200);
        expect(res.body.kind).toBe('snapshot');
        const want: Record<string, number> = {};
        const lastOf = new Map<string, string>();
        for (const day of nights.keys()) lastOf.set(periodOf(day, granularity), day);
        for (const [period, day] of lastOf) for (const [v, k] of Object.entries(refMix(day, dimension))) want[`${period}|${day}|${v}`] = k;
        expect(Object.fromEntries(res.body.lines.map((l: { period: string; asOf: string; value: string; customers: number }) => [`${l.period}|${l.asOf}|${l.value}`, l.customers])), `${dimension}/${granularity}`).toEqual(want);
      }
      const now = await get(`/api/v1/analytics/mix?from=${FIRST}&to=${LAST}&dimension=${dimension}`);
      expect(now.body.latest.asOf).toBe(LAST);
      expect(Object.fromEntries(now.body.latest.values.map((v: { value: string; customers: number }) => [v.value, v.customers]))).toEqual(refMix(LAST, dimension));
      const shares = now.body.latest.values.reduce((s: number, v: { share: number }) => s + v.share, 0);
      expect(shares).toBeCloseTo(1, 3);
    }
    const labels = await get(`/api/v1/analytics/mix?from=${LAST}&to=${LAST}&dimension=stage`);
    for (const v of labels.body.latest.values) expect(v.label).not.toBe(v.value);
  });

  it('counts the changes between nights: e.g. how many loyal customers became at_risk in a month', async () => {
    for (const dimension of ['activity', 'rfm', 'stage'] as const) {
      for (const granularity of ['day', 'month'] as const) {
        const res = await get(`/api/v1/analytics/transitions?from=${FIRST}&to=${LAST}&dimension=${dimension}&granularity=${granularity}`);
        expect(res.body.kind).toBe('snapshot');
        const got = Object.fromEntries(res.body.lines.map((l: { period: string; fromValue: string; toValue: string; customers: number }) => [`${l.period}|${l.fromValue}|${l.toValue}`, l.customers]));
        expect(got, `${dimension}/${granularity}`).toEqual(refTransitions(FIRST, LAST, dimension, granularity));
      }
    }
    const one = await get(`/api/v1/analytics/transitions?from=${FIRST}&to=${LAST}&dimension=stage&granularity=month&fromValue=loyal&toValue=at_risk`);
    const want = Object.entries(refTransitions(FIRST, LAST, 'stage', 'month')).filter(([k]) => k.endsWith('|loyal|at_risk'));
    expect(one.body.lines.map((l: { period: string; customers: number }) => [`${l.period}|loyal|at_risk`, l.customers])).toEqual(want);
    expect(one.body.total).toEqual(want.length ? [{ fromValue: 'loyal', fromLabel: '忠诚客户', toValue: 'at_risk', toLabel: '流失风险', customers: want.reduce((s, [, k]) => s + k, 0) }] : []);
  });

  it('gives the same snapshot when the night is taken again, even after a late change, counting against the night before', async () => {
    const c = app.container;
    const dump = () =>
      Promise.all([
        c.db.query(`SELECT day, dimension, value, userid, customers FROM analytics_daily_mix WHERE day = ? ORDER BY dimension, value, userid`, [LAST]),
        c.db.query(`SELECT day, dimension, from_value, to_value, userid, customers FROM analytics_daily_transitions WHERE day = ? ORDER BY dimension, from_value, to_value, userid`, [LAST]),
      ]);
    const once = await dump();
    await c.scheduling.analytics.takeMixSnapshot(LAST, clock.now());
    expect(await dump()).toEqual(once);
    // Scoring changes one customer again the same night and the snapshot is retaken: the change counts from the night
    // before, once.
    const [ext, cust] = [...nights.get(LAST)!].find(([, v]) => v.members.length > 0 && v.values.stage !== 'churned')!;
    await c.db.query("UPDATE customers SET stage = 'churned' WHERE external_user_id = ?", [ext]);
    cust.values.stage = 'churned';
    await c.scheduling.analytics.takeMixSnapshot(LAST, clock.now());
    await c.scheduling.analytics.takeMixSnapshot(LAST, clock.now());
    const res = await get(`/api/v1/analytics/transitions?from=${LAST}&to=${LAST}&dimension=stage`);
    expect(Object.fromEntries(res.body.lines.map((l: { period: string; fromValue: string; toValue: string; customers: number }) => [`${l.period}|${l.fromValue}|${l.toValue}`, l.customers]))).toEqual(refTransitions(LAST, LAST, 'stage', 'day'));
    const mix = await get(`/api/v1/analytics/mix?from=${LAST}&to=${LAST}&dimension=stage`);
    expect(Object.fromEntries(mix.body.latest.values.map((v: { value: string; customers: number }) => [v.value, v.customers]))).toEqual(refMix(LAST, 'stage'));
  });

  it('gives staff the mix and changes of their own customers only', async () => {
    const mine = await get(`/api/v1/analytics/mix?from=${FIRST}&to=${LAST}&dimension=activity`, staffToken);
    expect(mine.body.scope).toBe('own');
    expect(Object.fromEntries(mine.body.latest.values.map((v: { value: string; customers: number }) => [v.value, v.customers]))).toEqual(refMix(LAST, 'activity', 'zhangsan'));
    const changes = await get(`/api/v1/analytics/transitions?from=${FIRST}&to=${LAST}&dimension=rfm&granularity=week`, staffToken);
    expect(Object.fromEntries(changes.body.lines.map((l: { period: string; fromValue: string; toValue: string; customers: number }) => [`${l.period}|${l.fromValue}|${l.toValue}`, l.customers]))).toEqual(
      refTransitions(FIRST, LAST, 'rfm', 'week', 'zhangsan'),
    );
    expect((await get('/api/v1/analytics/mix?userid=lisi', staffToken)).status).toBe(403);
    expect((await get('/api/v1/analytics/transitions?userid=lisi', staffToken)).status).toBe(403);
  });

  it('exports the mix as CSV with zh-CN labels', async () => {
    const res = await fetch(`${app.url}/api/v1/analytics/mix?from=${LAST}&to=${LAST}&dimension=stage&format=csv`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = new TextDecoder().decode(bytes).trimEnd().split('\r\n');
    expect(lines[0]).toBe('周期,截至日期,生命周期阶段,客户数,占比');
    expect(lines.slice(1).every((l) => /^\d{4}-\d{2}-\d{2},\d{4}-\d{2}-\d{2},(新客户|潜在客户|成交客户|忠诚客户|流失风险|已流失),\d+,[\d.]+%$/.test(l))).toBe(true);
    const bad = await get('/api/v1/analytics/mix?dimension=mood');
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.fields.dimension).toBe('维度须为 activity、rfm 或 stage');
  });
  it('gives the event loop a turn every page while it snapshots (on SQLite statements run on the loop)', async () => {
    const m = buildScheduling(app.container, { settings: { pageSize: 5 }, clock, instanceId: 'analytics-yield' });
    const [{ k }] = await app.container.db.query<{ k: number | string }>('SELECT COUNT(*) AS k FROM customers');
    expect(await turnsDuring(() => m.analytics.takeMixSnapshot(LAST, clock.now()))).toBeGreaterThanOrEqual(Math.floor(Number(k) / 5));
    // A page of the totals snapshot is the active relations of pageSize customers.
    const [{ r }] = await app.container.db.query<{ r: number | string }>("SELECT COUNT(DISTINCT external_user_id) AS r FROM follow_relations WHERE status = 'active'");
    expect(await turnsDuring(() => m.analytics.takeSnapshot(LAST, clock.now()))).toBeGreaterThanOrEqual(Math.floor(Number(r) / 5));
    expect(await turnsDuring(() => m.analytics.rollWindow(LAST, clock.now()))).toBeGreaterThanOrEqual(31);
  });
});
