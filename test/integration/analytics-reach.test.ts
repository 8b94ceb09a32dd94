import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { ReachLive1795000000033 } from '../../migrations/0033-reach-live.js';
import { FixedClock } from '../../src/shared/clock.js';
import { addDays, daysBetween, localDate, zonedTimeToUtc } from '../../src/shared/dates.js';
import { createPrng } from '../../src/shared/prng.js';
import { periodOf } from '../../src/domain/analytics/analytics-periods.js';
import type { Granularity } from '../../src/domain/analytics/analytics.types.js';
import { useMigratedWithout } from '../helpers/migrated-without.js';

/**
 * 触达效果 (docs/analytics.md §Care and campaign results): a generated ledger of care, win-back and broadcast rows in
 * every status, with orders and WeChat-KF messages around their sends, rolled by the real `analytics` job; every figure
 * the API answers is compared with a slow reference computed straight from the raw tables.
 */

const TZ = 'Asia/Shanghai';
const DAY = 86_400_000;
const FIRST_DAY = '2026-03-02';
const DAYS = 24;
const LAST_DAY = addDays(FIRST_DAY, DAYS - 1);
const STAFF = ['zhangsan', 'lisi', 'wangwu'];
const at = (day: string, hhmm: string) => zonedTimeToUtc(day, hhmm, TZ).getTime();

/** The statuses a row ends in, with the reason the ledger gives it and whether it reached WeCom. */
const OUTCOMES: { status: string; reason: string | null; submitted: boolean; sent?: boolean }[] = [
  { status: 'sent', reason: null, submitted: true, sent: true },
  { status: 'sent', reason: null, submitted: true, sent: true },
  { status: 'sent', reason: null, submitted: true, sent: true },
  { status: 'submitted', reason: null, submitted: true },
  { status: 'failed', reason: 'not_friend (WeCom status 2)', submitted: true },
  { status: 'failed', reason: 'wecom_fail_list', submitted: true },
  { status: 'failed', reason: 'errcode 45009: api freq out of limit', submitted: false },
  { status: 'over_quota', reason: '客户本期群发次数已满 / WeCom status 3', submitted: true },
  { status: 'expired', reason: 'not_confirmed: 成员未确认发送 / the staff member never sent the task', submitted: true },
  { status: 'expired', reason: '窗口已过 / window passed before sending', submitted: false },
  { status: 'skipped', reason: 'holdout: 对照组 / held out', submitted: false },
  { status: 'skipped', reason: 'holdout: 对照组 / held out', submitted: false },
  { status: 'skipped', reason: 'daily_cap: 今天已安排更高优先级的消息', submitted: false },
  { status: 'skipped', reason: 'opted_out: 客户已退订', submitted: false },
  { status: 'skipped', reason: 'no_sender: 客户没有有效的跟进成员', submitted: false },
  { status: 'planned', reason: null, submitted: false },
];

interface Raw {
  id: number;
  kind: string;
  rule_id: string | null;
  broadcast_id: string | null;
  external_user_id: string;
  sender_userid: string | null;
  local_date: string;
  status: string;
  reason: string | null;
  not_before: number;
  submitted_at: number | null;
  sent_at: number | null;
}

type Outcome = { messages: number; matured: number; ordered7d: number; orderedRate7d: number | null; orders7d: number; revenue7dCents: number; replied7d: number; replyRate7d: number | null };
type Figures = {
  funnel: Record<string, number | Record<string, number>>;
  outcomes: { targeted: Outcome; sent: Outcome; holdout: Outcome };
  lift: { orderedRate7d: number | null; replyRate7d: number | null };
};

const rate = (n: number, d: number) => (d > 0 ? Math.round((n / d) * 10_000) / 10_000 : null);

/**
 * The slow way, from the raw tables: every ledger row of the range, each with its customer's orders and KF messages
 * (from the customer) in the 7 days from its send (or, unsent, from when it was meant to go), counted through the end
 * of `through`.
 */
async function reference(app: TestApp, q: { from: string; to: string; granularity: Granularity; sender?: string; kind?: string; id?: string }, through: string): Promise<{ sources: Record<string, Figures>; lines: Record<string, Figures> }> {
  const db = app.container.db;
  const rows = (await db.query<Raw>('SELECT * FROM deliveries')).map((r) => ({
    ...r,
    id: Number(r.id),
    not_before: Number(r.not_before),
    submitted_at: r.submitted_at === null ? null : Number(r.submitted_at),
    sent_at: r.sent_at === null ? null : Number(r.sent_at),
  }));
  const orders = (await db.query<{ external_user_id: string; ordered_at: number | string; amount_cents: number | string }>('SELECT * FROM orders')).map((o) => ({ ext: o.external_user_id, at: Number(o.ordered_at), cents: Number(o.amount_cents) }));
  const kf = (await db.query<{ external_user_id: string; occurred_at: number | string; data: string; source: string }>('SELECT * FROM timeline_entries'))
    .filter((t) => t.source === 'kf' && JSON.parse(t.data).origin === 3)
    .map((t) => ({ ext: t.external_user_id, at: Number(t.occurred_at) }));
  const end = at(addDays(through, 1), '00:00');
  const sources: Record<string, Figures> = {};
  const lines: Record<string, Figures> = {};
  const blank = (): Figures => {
    const o = (): Outcome => ({ messages: 0, matured: 0, ordered7d: 0, orderedRate7d: null, orders7d: 0, revenue7dCents: 0, replied7d: 0, replyRate7d: null });
    return {
      funnel: { planned: 0, submitted: 0, confirmed: 0, sent: 0, skipped: 0, skippedByReason: {}, holdout: 0, overQuota: 0, failed: 0, failedByReason: {}, expired: 0, pending: 0 },
      outcomes: { targeted: o(), sent: o(), holdout: o() },
      lift: { orderedRate7d: null, replyRate7d: null },
    };
  };
  const matured = new Map<Outcome, { ordered: number; replied: number }>();
  const code = (reason: string | null) => /^([a-z][a-z0-9_]*)/.exec(reason ?? '')?.[1] ?? 'unknown';
  for (const r of rows) {
    if (r.local_date < q.from || r.local_date > q.to) continue;
    if (q.sender !== undefined && r.sender_userid !== q.sender) continue;
    if (q.kind !== undefined && r.kind !== q.kind) continue;
    const id = r.kind === 'broadcast' ? r.broadcast_id! : r.rule_id!;
    if (q.id !== undefined && id !== q.id) continue;
    const start = r.sent_at ?? r.not_before;
    const stop = Math.min(start + 7 * DAY, end);
    const isMatured = start + 7 * DAY <= end;
    const bought = orders.filter((o) => o.ext === r.external_user_id && o.at >= start && o.at < stop);
    const replied = kf.some((m) => m.ext === r.external_user_id && m.at >= start && m.at < stop);
    for (const f of [(sources[`${r.kind}|${id}`] ??= blank()), (lines[`${periodOf(r.local_date, q.granularity)}|${r.kind}|${id}`] ??= blank())]) {
      const fn = f.funnel as Record<string, number> & { skippedByReason: Record<string, number>; failedByReason: Record<string, number> };
      fn.planned++;
      if (r.submitted_at !== null) fn.submitted++;
      if (r.status === 'sent' || r.status === 'over_quota' || (r.status === 'failed' && (r.reason ?? '').startsWith('not_friend'))) fn.confirmed++;
      const c = code(r.reason);
      if (r.status === 'sent') fn.sent++;
      else if (r.status === 'over_quota') fn.overQuota++;
      else if (r.status === 'expired') fn.expired++;
      else if (r.status === 'failed') (fn.failed++, (fn.failedByReason[c] = (fn.failedByReason[c] ?? 0) + 1));
      else if (r.status === 'skipped') {
        fn.skipped++;
        fn.skippedByReason[c] = (fn.skippedByReason[c] ?? 0) + 1;
        if (c === 'holdout') fn.holdout++;
      } else fn.pending++;
      const groups: Outcome[] = [];
      if (r.status === 'skipped' && c === 'holdout') groups.push(f.outcomes.holdout);
      else if (!(r.status === 'skipped' && ['opted_out', 'no_sender', 'text_too_long'].includes(c))) groups.push(f.outcomes.targeted);
      if (r.status === 'sent') groups.push(f.outcomes.sent);
      for (const g of groups) {
        const m = matured.get(g) ?? { ordered: 0, replied: 0 };
        matured.set(g, m);
        g.messages++;
        if (isMatured) g.matured++;
        if (bought.length > 0) {
          g.ordered7d++;
          g.orders7d += bought.length;
          g.revenue7dCents += bought.reduce((s, o) => s + o.cents, 0);
          if (isMatured) m.ordered++;
        }
        if (replied) {
          g.replied7d++;
          if (isMatured) m.replied++;
        }
      }
    }
  }
  for (const f of [...Object.values(sources), ...Object.values(lines)]) {
    for (const g of [f.outcomes.targeted, f.outcomes.sent, f.outcomes.holdout]) {
      const m = matured.get(g) ?? { ordered: 0, replied: 0 };
      g.orderedRate7d = rate(m.ordered, g.matured);
      g.replyRate7d = rate(m.replied, g.matured);
    }
    const d = (a: number | null, b: number | null) => (a === null || b === null ? null : Math.round((a - b) * 10_000) / 10_000);
    f.lift = { orderedRate7d: d(f.outcomes.targeted.orderedRate7d, f.outcomes.holdout.orderedRate7d), replyRate7d: d(f.outcomes.targeted.replyRate7d, f.outcomes.holdout.replyRate7d) };
  }
  return { sources, lines };
}

function fromApi(body: { sources: (Figures & { sourceKind: string; sourceId: string })[]; lines: (Figures & { period: string; sourceKind: string; sourceId: string })[] }) {
  const pick = (f: Figures): Figures => ({ funnel: f.funnel, outcomes: f.outcomes, lift: f.lift });
  return {
    sources: Object.fromEntries(body.sources.map((s) => [`${s.sourceKind}|${s.sourceId}`, pick(s)])),
    lines: Object.fromEntries(body.lines.map((l) => [`${l.period}|${l.sourceKind}|${l.sourceId}`, pick(l)])),
  };
}

describe.each(testEngines())('care and campaign results (触达效果) on %s', (engine) => {
  let app: TestApp;
  const clock = new FixedClock(new Date(at(FIRST_DAY, '08:00')));
  const ids: { care: string; winback: string; boundary: string; broadcast: string } = { care: '', winback: '', boundary: '', broadcast: '' };
  let staffToken = '';
  const get = (path: string, token = TEST_ADMIN_TOKEN) => api(app, 'GET', path, undefined, token);
  const through = addDays(LAST_DAY, 0);

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    const db = app.container.db;
    const rule = async (name: string, occasion: unknown) => {
      const res = await api(app, 'POST', '/api/v1/care-rules', { name, occasion, template: '您好 {{name}}' });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body.id as string;
    };
    ids.care = await rule('生日关怀', { type: 'birthday' });
    ids.boundary = await rule('周年纪念', { type: 'anniversary', days: [100], years: false });
    ids.winback = await rule('沉睡唤醒', { type: 'winback', steps: [{ day: 0, template: '好久不见' }] });
    ids.broadcast = '0195a000-0000-7000-8000-00000000b001';
    const now = at(FIRST_DAY, '08:00');
    await db.query(
      `INSERT INTO broadcasts (id, name, audience, text, sender_policy, send_at, status, created_at, updated_at) VALUES (?, '三月新品', 'all', '新品上市', 'owner', ?, 'sending', ?, ?)`,
      [ids.broadcast, now, now, now],
    );

    // The ledger: each day, each source, a few dozen customers in every status.
    const rand = createPrng(20260302);
    const pick = <T,>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
    const deliveries: unknown[][] = [];
    const orders: unknown[][] = [];
    const kf: unknown[][] = [];
    let n = 0;
    for (let d = 0; d < DAYS; d++) {
      const day = addDays(FIRST_DAY, d);
      for (const [kind, id] of [
        ['care', ids.care],
        ['winback', ids.winback],
        ['broadcast', ids.broadcast],
      ] as const) {
        if (kind === 'broadcast' && d % 7 !== 2) continue;
        const count = kind === 'broadcast' ? 60 : 12 + Math.floor(rand() * 10);
        for (let i = 0; i < count; i++) {
          const ext = `wm-reach-${Math.floor(rand() * 400)}`;
          const o = pick(OUTCOMES);
          const notBefore = at(day, '09:00');
          const sentAt = o.sent ? notBefore + Math.floor(rand() * 3 * DAY) : null;
          const sender = o.reason?.startsWith('no_sender') ? null : pick(STAFF);
          deliveries.push([
            `${kind}:${id}`, kind, kind === 'broadcast' ? null : id, kind === 'broadcast' ? id : null, ext, `o:${day}:${i}`, 'mass_task', 100, sender, 'x', day, notBefore, notBefore + 2 * DAY,
            o.status, o.reason, o.submitted ? `m-${n}` : null, o.submitted ? notBefore + 60_000 : null, sentAt, now, now,
          ]);
          n++;
          // Orders and KF messages around the send: before it, within 7 days, after.
          const ref = sentAt ?? notBefore;
          if (rand() < 0.35) orders.push([`o-${orders.length}`, ext, `R-${orders.length}`, 100 + Math.floor(rand() * 90_000), ref + Math.floor((rand() * 10 - 1.5) * DAY), now]);
          if (rand() < 0.25) kf.push([ext, 'kf/text', '微信客服：在吗', JSON.stringify({ openKfId: 'wk1', origin: pick([3, 3, 5]), msgType: 'text' }), 'kf', `kf-${kf.length}`, ref + Math.floor((rand() * 9 - 1) * DAY), now]);
        }
      }
    }
    // Boundaries: one customer, one send; orders at the send, just inside 7 days, at 7 days exactly, just before.
    const send = at(addDays(FIRST_DAY, 3), '10:00');
    deliveries.push([`care:${ids.boundary}`, 'care', ids.boundary, null, 'wm-edge', 'edge', 'mass_task', 100, 'lisi', 'x', addDays(FIRST_DAY, 3), at(addDays(FIRST_DAY, 3), '09:00'), send + DAY, 'sent', null, 'm-edge', send, send, now, now]);
    deliveries.push([`care:${ids.boundary}`, 'care', ids.boundary, null, 'wm-edge-2', 'edge', 'mass_task', 100, 'lisi', 'x', addDays(FIRST_DAY, 3), at(addDays(FIRST_DAY, 3), '09:00'), send + DAY, 'skipped', 'holdout: 对照组', null, null, null, now, now]);
    orders.push(['e-1', 'wm-edge', 'E-1', 1000, send, now], ['e-2', 'wm-edge', 'E-2', 2000, send + 7 * DAY - 1, now], ['e-3', 'wm-edge', 'E-3', 4000, send + 7 * DAY, now], ['e-4', 'wm-edge', 'E-4', 8000, send - 1, now]);
    // The held-out customer's 7 days start when the message was meant to go (09:00), not when it would have been sent.
    orders.push(['e-5', 'wm-edge-2', 'E-5', 300, at(addDays(FIRST_DAY, 10), '08:59'), now], ['e-6', 'wm-edge-2', 'E-6', 500, at(addDays(FIRST_DAY, 10), '09:00'), now]);
    kf.push(['wm-edge', 'kf/text', '微信客服：到了', JSON.stringify({ origin: 3 }), 'kf', 'kf-edge-1', send + 7 * DAY, now]);
    kf.push(['wm-edge-2', 'kf/text', '微信客服：你好', JSON.stringify({ origin: 5 }), 'kf', 'kf-edge-2', send + DAY, now]);

    for (let i = 0; i < deliveries.length; i += 200) {
      const chunk = deliveries.slice(i, i + 200);
      await db.query(
        `INSERT INTO deliveries (source, kind, rule_id, broadcast_id, external_user_id, occasion, channel, priority, sender_userid, text, local_date, not_before, expires_at,
           status, reason, msgid, submitted_at, sent_at, created_at, updated_at) VALUES ${chunk.map(() => '(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)').join(',')}`,
        chunk.flat(),
      );
    }
    for (const o of orders) await db.query('INSERT INTO orders (id, external_user_id, order_no, amount_cents, ordered_at, created_at) VALUES (?,?,?,?,?,?)', o);
    for (const k of kf) await db.query('INSERT INTO timeline_entries (external_user_id, kind, summary, data, source, source_id, occurred_at, created_at) VALUES (?,?,?,?,?,?,?,?)', k);
    staffToken = (await app.container.tokens.create({ role: 'staff', userid: 'zhangsan' })).token;
    // The night after the last day.
    clock.set(new Date(at(addDays(LAST_DAY, 1), '00:20')));
    const run = await app.container.scheduling.scheduler.runNow('analytics');
    expect(run.status, run.error ?? '').toBe('done');
    expect(run.counts).toMatchObject({ reachMessages: deliveries.length });
  }, 600_000);
  afterAll(() => app?.close());

  it('answers the funnel and the 7-day outcomes of every source as the raw tables say, by day, week and month', async () => {
    for (const granularity of ['day', 'week', 'month'] as const) {
      const res = await get(`/api/v1/analytics/reach?from=${FIRST_DAY}&to=${LAST_DAY}&granularity=${granularity}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ kind: 'event', scope: 'all', timezone: TZ, windowDays: 7, unrolled: [] });
      expect(fromApi(res.body)).toEqual(await reference(app, { from: FIRST_DAY, to: LAST_DAY, granularity }, through));
    }
    const whole = await get(`/api/v1/analytics/reach?from=${FIRST_DAY}&to=${LAST_DAY}`);
    const names = Object.fromEntries(whole.body.sources.map((s: { sourceId: string; name: string }) => [s.sourceId, s.name]));
    expect(names).toEqual({ [ids.care]: '生日关怀', [ids.boundary]: '周年纪念', [ids.winback]: '沉睡唤醒', [ids.broadcast]: '三月新品' });
    // Something of everything happened, so the comparison above means something.
    const care = whole.body.sources.find((s: { sourceId: string }) => s.sourceId === ids.care);
    for (const k of ['sent', 'submitted', 'confirmed', 'holdout', 'overQuota', 'failed', 'expired', 'pending']) expect(care.funnel[k], k).toBeGreaterThan(0);
    expect(Object.keys(care.funnel.skippedByReason).sort()).toEqual(['daily_cap', 'holdout', 'no_sender', 'opted_out']);
    expect(care.outcomes.targeted.ordered7d).toBeGreaterThan(0);
    expect(care.outcomes.holdout.replied7d).toBeGreaterThan(0);
    // A shorter range, one kind, one source.
    const from = addDays(FIRST_DAY, 5);
    const wb = await get(`/api/v1/analytics/reach?from=${from}&to=${LAST_DAY}&granularity=week&kind=winback`);
    expect(fromApi(wb.body)).toEqual(await reference(app, { from, to: LAST_DAY, granularity: 'week', kind: 'winback' }, through));
    const one = await get(`/api/v1/analytics/reach?from=${FIRST_DAY}&to=${LAST_DAY}&kind=broadcast&id=${ids.broadcast}`);
    expect(one.body.sources).toHaveLength(1);
    expect(fromApi(one.body)).toEqual(await reference(app, { from: FIRST_DAY, to: LAST_DAY, granularity: 'day', kind: 'broadcast', id: ids.broadcast }, through));
  });

  it('counts orders in the 7 days from the send: at the send and just before 7 days, not at 7 days or before it', async () => {
    const res = await get(`/api/v1/analytics/reach?from=${FIRST_DAY}&to=${LAST_DAY}&kind=care&id=${ids.boundary}`);
    const [s] = res.body.sources;
    expect(s.outcomes.sent).toEqual({ messages: 1, matured: 1, ordered7d: 1, orderedRate7d: 1, orders7d: 2, revenue7dCents: 3000, replied7d: 0, replyRate7d: 0 });
    // The held-out customer: from 09:00, when the message was meant to go; the servicer's own KF message is no reply.
    expect(s.outcomes.holdout).toEqual({ messages: 1, matured: 1, ordered7d: 1, orderedRate7d: 1, orders7d: 1, revenue7dCents: 300, replied7d: 0, replyRate7d: 0 });
    expect(s.lift).toEqual({ orderedRate7d: 0, replyRate7d: 0 });
  });

  it('gives a staff member only the rows they sent; another member is 403', async () => {
    const mine = await get(`/api/v1/analytics/reach?from=${FIRST_DAY}&to=${LAST_DAY}&granularity=week`, staffToken);
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({ scope: 'own', userid: 'zhangsan' });
    expect(fromApi(mine.body)).toEqual(await reference(app, { from: FIRST_DAY, to: LAST_DAY, granularity: 'week', sender: 'zhangsan' }, through));
    const all = await get(`/api/v1/analytics/reach?from=${FIRST_DAY}&to=${LAST_DAY}`);
    const planned = (b: { sources: { funnel: { planned: number } }[] }) => b.sources.reduce((s, x) => s + x.funnel.planned, 0);
    expect(planned(mine.body)).toBeLessThan(planned(all.body));
    expect((await get('/api/v1/analytics/reach?userid=lisi', staffToken)).status).toBe(403);
    // An operator may ask for one member's.
    const lisi = await get(`/api/v1/analytics/reach?from=${FIRST_DAY}&to=${LAST_DAY}&userid=lisi`);
    expect(fromApi(lisi.body)).toEqual(await reference(app, { from: FIRST_DAY, to: LAST_DAY, granularity: 'day', sender: 'lisi' }, through));
  });

  it('rolls a day twice to the same rows, counts a late order on the next roll, and says which days are not rolled', async () => {
    const db = app.container.db;
    const dump = () => db.query('SELECT day, kind, source_id, userid, status, reason, messages, submitted, confirmed, matured, ordered, ordered_matured, orders, revenue_cents, replied, replied_matured FROM analytics_daily_reach ORDER BY day, kind, source_id, userid, status, reason');
    const once = await dump();
    expect(once.length).toBeGreaterThan(0);
    const again = await app.container.scheduling.scheduler.runNow('analytics', { at: new Date(clock.now().getTime() + 1000) });
    expect(again.status).toBe('done');
    expect(await dump()).toEqual(once);
    // An order imported late, for a customer who was sent the care message 10 days before the end.
    const day = addDays(LAST_DAY, -10);
    const [row] = await db.query<{ external_user_id: string; sent_at: number | string }>("SELECT external_user_id, sent_at FROM deliveries WHERE local_date = ? AND status = 'sent' AND rule_id = ? ORDER BY id LIMIT 1", [day, ids.care]);
    await db.query('INSERT INTO orders (id, external_user_id, order_no, amount_cents, ordered_at, created_at) VALUES (?,?,?,?,?,?)', ['late-1', row.external_user_id, 'LATE-1', 123_456, Number(row.sent_at) + DAY, clock.now().getTime()]);
    const before = (await get(`/api/v1/analytics/reach?from=${day}&to=${day}&kind=care&id=${ids.care}`)).body.sources[0].outcomes.sent.revenue7dCents;
    const backfill = await app.container.scheduling.scheduler.runNow('analytics', { at: new Date(clock.now().getTime() + 2000) });
    expect(backfill.status).toBe('done');
    const after = await get(`/api/v1/analytics/reach?from=${day}&to=${day}&kind=care&id=${ids.care}`);
    expect(after.body.sources[0].outcomes.sent.revenue7dCents).toBe(before + 123_456);
    expect(fromApi(after.body)).toEqual(await reference(app, { from: day, to: day, granularity: 'day', kind: 'care', id: ids.care }, through));
    // Today has not been rolled: the answer says so instead of showing zeros as if nothing was sent.
    const today = localDate(clock.now(), TZ);
    const open = await get(`/api/v1/analytics/reach?from=${addDays(today, -2)}&to=${today}`);
    expect(open.body.unrolled).toEqual([{ from: today, to: today }]);
    expect(daysBetween(LAST_DAY, today)).toBe(1);
  });

  it('exports CSV with a BOM and zh-CN headers', async () => {
    const res = await fetch(`${app.url}/api/v1/analytics/reach?from=${FIRST_DAY}&to=${LAST_DAY}&format=csv`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    expect(res.headers.get('content-disposition')).toContain(encodeURIComponent('触达效果'));
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes).split('\r\n');
    expect(lines[0]).toMatch(/^\uFEFF类型,名称,计划,已提交,员工已确认,已送达,已跳过,其中对照组,跳过原因,/);
    expect(lines[0]).toContain('下单率提升（目标组−对照组）');
    expect(lines.filter((l) => l.startsWith('关怀规则,生日关怀,'))).toHaveLength(1);
    expect(lines.find((l) => l.startsWith('关怀规则,生日关怀,'))).toContain('对照组（不发送）');
    expect(lines.join('\n')).not.toMatch(/\bholdout\b|opted_out|daily_cap/);
    const periods = await fetch(`${app.url}/api/v1/analytics/reach?from=${FIRST_DAY}&to=${LAST_DAY}&granularity=month&table=periods&format=csv`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    expect((await periods.text()).split('\r\n')[0]).toMatch(/^\uFEFF?周期,开始日期,结束日期,类型,名称/);
  });

  it('refuses bad input with a zh-CN message naming the field', async () => {
    const kind = await get('/api/v1/analytics/reach?kind=sms');
    expect(kind.status).toBe(400);
    expect(kind.body.error.details.fields.kind).toBe('类型须为 care、winback、broadcast、loyalty、survey 或 journey');
    // A kind the console offers without rows of its own yet answers empty, not 400.
    expect((await get('/api/v1/analytics/reach?kind=survey')).status).toBe(200);
    const idOnly = await get(`/api/v1/analytics/reach?id=${ids.care}`);
    expect(idOnly.status).toBe(400);
    expect(idOnly.body.error.details.fields.id).toContain('kind');
    const unknown = await get('/api/v1/analytics/reach?kind=care&id=nope');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details.fields.id).toBe('没有这个关怀规则、唤醒活动、群发、客户旅程或问卷');
    // A win-back campaign asked for as a care rule is not one.
    expect((await get(`/api/v1/analytics/reach?kind=care&id=${ids.winback}`)).status).toBe(400);
    const table = await get('/api/v1/analytics/reach?table=x');
    expect(table.body.error.details.fields.table).toBeDefined();
    const gran = await get('/api/v1/analytics/reach?granularity=year');
    expect(gran.body.error.details.fields.granularity).toBe('粒度须为 day、week 或 month');
  });

  it("counts today's funnel live as the ledger changes (the delivery-results pass), and the night's roll takes the day over", async () => {
    const db = app.container.db;
    const scheduler = app.container.scheduling.scheduler;
    const today = localDate(clock.now(), TZ);
    const funnels = (body: Parameters<typeof fromApi>[0]) => Object.fromEntries(Object.entries(fromApi(body).sources).map(([k, f]) => [k, f.funnel]));
    const live = async () => (await get(`/api/v1/analytics/reach?from=${today}&to=${today}`)).body;
    const expected = async () => {
      const ref = await reference(app, { from: today, to: today, granularity: 'day' }, today);
      return Object.fromEntries(Object.entries(ref.sources).map(([k, f]) => [k, f.funnel]));
    };
    const pass = async (minutes: number) => {
      clock.set(new Date(clock.now().getTime() + minutes * 60_000));
      const run = await scheduler.runNow('delivery-results');
      expect(run.status, run.error ?? '').toBe('done');
      return run.counts ?? {};
    };
    // Nothing planned for today yet: the pass writes nothing.
    expect((await pass(1)).reachLiveMessages).toBeUndefined();
    // Today's ledger: a broadcast's rows planned, held out and skipped, and a care rule's, not due before 09:00.
    const stamp = clock.now().getTime();
    const nine = at(today, '09:00');
    const rows: unknown[][] = [];
    for (let i = 0; i < 30; i++) {
      const bc = i < 20;
      const [status, reason] = i % 10 === 0 ? ['skipped', 'holdout: 对照组 / held out'] : i % 10 === 1 ? ['skipped', 'opted_out: 客户已退订'] : ['planned', null];
      rows.push([bc ? `broadcast:${ids.broadcast}` : `care:${ids.care}`, bc ? 'broadcast' : 'care', bc ? null : ids.care, bc ? ids.broadcast : null, `wm-reach-${i}`, `live:${today}:${i}`, 'mass_task', 100, STAFF[i % 3], 'x', today, nine, nine + DAY, status, reason, null, null, null, stamp, stamp]);
    }
    await db.query(
      `INSERT INTO deliveries (source, kind, rule_id, broadcast_id, external_user_id, occasion, channel, priority, sender_userid, text, local_date, not_before, expires_at,
         status, reason, msgid, submitted_at, sent_at, created_at, updated_at) VALUES ${rows.map(() => '(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)').join(',')}`,
      rows.flat(),
    );
    expect(await pass(1)).toMatchObject({ reachLiveMessages: 30 });
    const first = await live();
    expect(first.unrolled).toEqual([{ from: today, to: today }]);
    expect(funnels(first)).toEqual(await expected());
    expect(first.sources.find((s: { sourceId: string }) => s.sourceId === ids.broadcast).funnel).toMatchObject({ planned: 20, pending: 16, holdout: 2 });
    // Deliveries happen: some submitted, some sent, one failed.
    const t = clock.now().getTime() + 30_000;
    await db.query("UPDATE deliveries SET status = 'submitted', msgid = 'm-live', submitted_at = ?, updated_at = ? WHERE local_date = ? AND status = 'planned' AND external_user_id IN ('wm-reach-2', 'wm-reach-3', 'wm-reach-4', 'wm-reach-22')", [t, t, today]);
    await db.query("UPDATE deliveries SET status = 'sent', sent_at = ?, updated_at = ? WHERE local_date = ? AND external_user_id IN ('wm-reach-2', 'wm-reach-22')", [t, t, today]);
    await db.query("UPDATE deliveries SET status = 'failed', reason = 'not_friend (WeCom status 2)', updated_at = ? WHERE local_date = ? AND external_user_id = 'wm-reach-3'", [t, today]);
    expect(await pass(2)).toMatchObject({ reachLiveMessages: 30 });
    const moved = await live();
    expect(funnels(moved)).toEqual(await expected());
    expect(moved.sources.find((s: { sourceId: string }) => s.sourceId === ids.broadcast).funnel).toMatchObject({ submitted: 3, confirmed: 2, sent: 1, failed: 1, pending: 14 });
    // Passed again once the changes have settled, nothing is counted again, and the rows stay as they were.
    const dump = () => db.query('SELECT * FROM analytics_daily_reach WHERE day = ? ORDER BY kind, source_id, userid, status, reason', [today]);
    const settled = await dump();
    expect((await pass(10)).reachLiveMessages).toBeUndefined();
    expect(await dump()).toEqual(settled);
    // The night after: the roll replaces the live rows with its own (the same funnel, and the outcomes), and later passes
    // leave the rolled day alone.
    clock.set(new Date(at(addDays(today, 1), '00:20')));
    const night = await scheduler.runNow('analytics');
    expect(night.status, night.error ?? '').toBe('done');
    const rolled = await get(`/api/v1/analytics/reach?from=${today}&to=${today}`);
    expect(rolled.body.unrolled).toEqual([]);
    expect(fromApi(rolled.body)).toEqual(await reference(app, { from: today, to: today, granularity: 'day' }, today));
    expect(funnels(rolled.body)).toEqual(funnels(moved));
    const afterNight = await dump();
    await db.query("UPDATE deliveries SET status = 'sent', sent_at = ?, updated_at = ? WHERE local_date = ? AND external_user_id = 'wm-reach-4'", [clock.now().getTime(), clock.now().getTime(), today]);
    await pass(1);
    expect(await dump()).toEqual(afterNight);
  });

  it('keeps settled days at night as they are, and rolls one again after a late result or a late order in its windows', async () => {
    const db = app.container.db;
    const scheduler = app.container.scheduling.scheduler;
    const lastDay = addDays(localDate(clock.now(), TZ), -1);
    const dump = () => db.query('SELECT day, kind, source_id, userid, status, reason, messages, submitted, confirmed, matured, ordered, ordered_matured, orders, revenue_cents, replied, replied_matured FROM analytics_daily_reach ORDER BY day, kind, source_id, userid, status, reason');
    const night = async () => {
      clock.set(new Date(clock.now().getTime() + 60_000));
      const run = await scheduler.runNow('analytics', { at: clock.now() });
      expect(run.status, run.error ?? '').toBe('done');
      return run.counts as Record<string, number>;
    };
    // The night before this one: the day the last test changed after its roll is rolled again.
    await night();
    const before = await dump();
    const again = await night();
    // The first days' windows closed long before the last roll: kept. The same rows as rolling every day.
    expect(again.reachDaysSkipped).toBeGreaterThan(5);
    expect(await dump()).toEqual(before);
    const whole = await get(`/api/v1/analytics/reach?from=${FIRST_DAY}&to=${lastDay}&granularity=week`);
    expect(fromApi(whole.body)).toEqual(await reference(app, { from: FIRST_DAY, to: lastDay, granularity: 'week' }, lastDay));
    // A member confirms an old task late (its row sent days after), and an order of a settled day's window is imported
    // late: those days are rolled again.
    const [late] = await db.query<{ id: number }>("SELECT id FROM deliveries WHERE local_date = ? AND status = 'submitted' ORDER BY id LIMIT 1", [FIRST_DAY]);
    const now = clock.now().getTime();
    await db.query("UPDATE deliveries SET status = 'sent', sent_at = ?, updated_at = ? WHERE id = ?", [at(addDays(FIRST_DAY, 1), '12:00'), now, late.id]);
    const day2 = addDays(FIRST_DAY, 2);
    const [sent] = await db.query<{ external_user_id: string; sent_at: number | string }>("SELECT external_user_id, sent_at FROM deliveries WHERE local_date = ? AND status = 'sent' ORDER BY id LIMIT 1", [day2]);
    await db.query('INSERT INTO orders (id, external_user_id, order_no, amount_cents, ordered_at, created_at) VALUES (?,?,?,?,?,?)', ['late-2', sent.external_user_id, 'LATE-2', 77_700, Number(sent.sent_at) + 3 * DAY, now]);
    const third = await night();
    // Every settled day whose windows the order's time falls in is rolled (whoever's they are), and the first day.
    expect(third.reachDaysSkipped).toBeLessThan(again.reachDaysSkipped - 1);
    const after = await get(`/api/v1/analytics/reach?from=${FIRST_DAY}&to=${lastDay}&granularity=day`);
    expect(fromApi(after.body)).toEqual(await reference(app, { from: FIRST_DAY, to: lastDay, granularity: 'day' }, lastDay));
    // A backfill (a past day) rolls every day, settled or not; the night after it gives the rows of before.
    const settled = await dump();
    const backfill = await scheduler.runNow('analytics', { at: new Date(at(lastDay, '12:00')) });
    expect(backfill.status, backfill.error ?? '').toBe('done');
    expect((backfill.counts as Record<string, number>).reachDaysSkipped).toBe(0);
    await night();
    expect(await dump()).toEqual(settled);
  });
});

describe.each(testEngines())('migration 0033 (reach live, settled days, covering index) can be undone and redone (%s)', (engine) => {
  // Every other migration first, so undoing the last one undoes exactly it.
  const mig = useMigratedWithout(engine, [ReachLive1795000000033]);

  it('adds the ledger and orders indexes, the windows column and the covering index, and removes them again', async () => {
    const state = async () => {
      const qr = mig.ds.createQueryRunner();
      try {
        const [deliveries, orders, days, reach] = await Promise.all(['deliveries', 'orders', 'analytics_reach_days', 'analytics_daily_reach'].map((t) => qr.getTable(t)));
        return {
          ledger: deliveries!.indices.some((i) => i.name === 'ix_deliveries_local_date_updated'),
          orders: orders!.indices.some((i) => i.name === 'ix_orders_created'),
          windows: days!.columns.some((c) => c.name === 'windows_end'),
          reach: reach!.indices.map((i) => i.name).filter((n) => n?.startsWith('ix_analytics_reach_member')),
        };
      } finally {
        await qr.release();
      }
    };
    const before = { ledger: false, orders: false, windows: false, reach: ['ix_analytics_reach_member'] };
    const after = { ledger: true, orders: true, windows: true, reach: ['ix_analytics_reach_member_cover'] };
    expect(await state()).toEqual(before);
    mig.ds.migrations.push(new ReachLive1795000000033());
    expect((await mig.ds.runMigrations({ transaction: 'each' })).map((m) => m.name)).toEqual(['ReachLive1795000000033']);
    expect(await state()).toEqual(after);
    await mig.ds.undoLastMigration({ transaction: 'each' });
    expect(await state()).toEqual(before);
    await mig.ds.runMigrations({ transaction: 'each' });
    expect(await state()).toEqual(after);
  }, 60_000);
});
