import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { AnalyticsStaff1795000000029 } from '../../migrations/0029-analytics-staff.js';
import { insertRelation, insertStaff } from '../fixtures/scheduling.js';
import { FixedClock } from '../../src/shared/clock.js';
import { addDays, daysBetween, localDate, zonedTimeToUtc } from '../../src/shared/dates.js';
import { periodOf } from '../../src/domain/analytics/analytics-periods.js';
import { behaviorOf, chinaDayStart } from '../../src/wecom/sandbox/apis/stats.api.js';
import { Db } from '../../src/persistence/db.js';
import { useMigratedWithout } from '../helpers/migrated-without.js';
import { AnalyticsStaffPeriods1795000000035 } from '../../migrations/0035-analytics-staff-periods.js';
import { StaffPerformanceService } from '../../src/domain/analytics/staff-performance.service.js';
import { StaffStatsRepository } from '../../src/persistence/repositories/staff-stats.repository.js';
import { StaffStatsService } from '../../src/domain/analytics/staff-stats.service.js';
import { silentLogger } from '../../src/shared/logger.js';
import { AnalyticsService } from '../../src/domain/analytics/analytics.service.js';
import { AnalyticsRepository } from '../../src/persistence/repositories/analytics.repository.js';
import { StaffRollCovering1795000000039 } from '../../migrations/0039-staff-roll-covering.js';

const TZ = 'Asia/Shanghai';
/** The first night the job runs: 00:20 of this day rolls and pulls the day before. */
const NIGHT1 = '2026-06-10';
const API = 'externalcontact/get_user_behavior_data';
const MEMBERS = ['lisi', 'wangwu', 'zhangsan'];
const H = 3_600_000;

const dayStartS = (day: string) => Math.floor(zonedTimeToUtc(day, '00:00', TZ).getTime() / 1000);
const sandboxDay = (statS: number) => localDate(new Date(statS * 1000), TZ);

/**
 * 员工统计: WeCom's 联系客户统计 pulled through the real client over HTTP from the sandbox once per member, the bot's own
 * figures rolled from the ledger and the notes, and GET /api/v1/analytics/staff compared with a slow reference computed
 * from the raw rows (both engines).
 */
describe.each(testEngines())('analytics staff performance on %s', (engine) => {
  let app: TestApp;
  let db: Db;
  const clock = new FixedClock(zonedTimeToUtc(NIGHT1, '00:20', TZ));
  let staffToken = '';
  const get = (path: string, token = TEST_ADMIN_TOKEN) => api(app, 'GET', path, undefined, token);
  const calls = () => app.container.sandbox!.calls(API);
  const run = (offsetMs: number) => app.container.scheduling.scheduler.runNow('analytics', { at: new Date(clock.now().getTime() + offsetMs) });
  const stored = async (userid?: string) =>
    (await db.query<Record<string, unknown>>(
      `SELECT userid, day, chat_cnt, message_cnt, reply_percentage_x100, avg_reply_time, negative_feedback_cnt, new_apply_cnt, new_contact_cnt FROM analytics_staff_behavior${userid ? ' WHERE userid = ?' : ''} ORDER BY userid, day`,
      userid ? [userid] : [],
    )).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null || k === 'userid' || k === 'day' ? v : Number(v)])));

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    db = app.container.db;
    const sb = app.container.sandbox!;
    for (const u of [...MEMBERS, 'outside']) sb.store.staff.set(u, { userid: u, name: `员工${u}`, department: [1], isOutsideVisibleRange: u === 'outside' });
    for (const u of MEMBERS) await insertStaff(db, u, `员工${u}`);
    // In the bot's staff list but outside the app's visible range: WeCom refuses it (60011).
    await insertStaff(db, 'outside', '范围外');
    // Left the company: not pulled.
    await insertStaff(db, 'gone', '已离职');
    await db.query("UPDATE staff SET status = 'resigned' WHERE userid = 'gone'");
    staffToken = (await app.container.tokens.create({ role: 'staff', userid: 'zhangsan' })).token;
  });
  afterAll(async () => {
    await app?.close();
  });

  it('first night: one call per member over HTTP, 30 days back, reply fields missing where WeCom left them out', async () => {
    const out = await run(0);
    expect(out.status).toBe('done');
    const c = calls();
    // One call per working member, each naming that member alone: several would come back summed into one row.
    expect(c.map((x) => (x.params.userid as string[]).join(',')).sort()).toEqual(['lisi', 'outside', 'wangwu', 'zhangsan']);
    const yesterday = addDays(NIGHT1, -1);
    for (const call of c) {
      const start = call.params.start_time as number;
      const end = call.params.end_time as number;
      expect(sandboxDay(start)).toBe(addDays(yesterday, -29));
      expect(sandboxDay(end)).toBe(yesterday);
      expect((chinaDayStart(end) - chinaDayStart(start)) / 86_400).toBeLessThanOrEqual(29);
    }
    expect(c.filter((x) => x.errcode === 0)).toHaveLength(3);
    expect(c.find((x) => (x.params.userid as string[])[0] === 'outside')!.errcode).toBe(60011);
    expect(out.counts).toMatchObject({ staffPullMembers: 4, staffPullCalls: 4, staffPullDays: 90, staffPullFailed: 1 });
    expect(out.lines.some((l) => l.includes('outside') && l.includes('60011'))).toBe(true);

    // What is stored is what the sandbox's seeded figures say for each (member, day), and a day without chats has no
    // reply figures (NULL), not zeros.
    const rows = await stored();
    expect(rows).toHaveLength(90);
    let missing = 0;
    for (const r of rows) {
      const f = behaviorOf(r.userid as string, dayStartS(r.day as string));
      expect(r).toEqual({
        userid: r.userid,
        day: r.day,
        chat_cnt: f.chat_cnt,
        message_cnt: f.message_cnt,
        reply_percentage_x100: f.reply_percentage === undefined ? null : Math.round(f.reply_percentage * 100),
        avg_reply_time: f.avg_reply_time ?? null,
        negative_feedback_cnt: f.negative_feedback_cnt,
        new_apply_cnt: f.new_apply_cnt,
        new_contact_cnt: f.new_contact_cnt,
      });
      if (f.chat_cnt === 0) {
        missing++;
        expect(r.reply_percentage_x100).toBeNull();
        expect(r.avg_reply_time).toBeNull();
      }
    }
    expect(missing).toBeGreaterThan(0);
    // The refused member is parked with its error, visible to an operator; nothing stored for it.
    const res = await get(`/api/v1/analytics/staff?from=${addDays(yesterday, -29)}&to=${yesterday}`);
    expect(res.status).toBe(200);
    const outside = res.body.members.find((m: { userid: string }) => m.userid === 'outside');
    expect(outside.pull).toMatchObject({ lastDay: null, failures: 1 });
    expect(outside.pull.lastError).toContain('60011');
    expect(res.body.members.find((m: { userid: string }) => m.userid === 'zhangsan').pull).toMatchObject({ lastDay: yesterday, failures: 0, lastError: null });
  });

  it('running the night again pulls again and stores the same rows', async () => {
    const before = await stored();
    const n = calls().length;
    const out = await run(1000);
    expect(out.status).toBe('done');
    const again = calls().slice(n);
    expect(again).toHaveLength(4);
    expect(await stored()).toEqual(before);
  });

  it('the next night pulls the days since the last one (its last days again), a newly seen member its 30 days', async () => {
    clock.set(zonedTimeToUtc(addDays(NIGHT1, 1), '00:20', TZ));
    app.container.sandbox!.store.staff.set('zhaoliu', { userid: 'zhaoliu', name: '赵六', department: [1] });
    await insertStaff(db, 'zhaoliu', '赵六');
    const n = calls().length;
    const out = await run(0);
    expect(out.status).toBe('done');
    const night2 = calls().slice(n);
    const byMember = new Map(night2.map((x) => [(x.params.userid as string[])[0], x]));
    expect([...byMember.keys()].sort()).toEqual(['lisi', 'outside', 'wangwu', 'zhangsan', 'zhaoliu']);
    expect(night2).toHaveLength(5);
    const yesterday = addDays(NIGHT1, 0);
    for (const u of MEMBERS) {
      const x = byMember.get(u)!;
      // The newest days already pulled are pulled again (a day asked for just after midnight may not be final).
      expect(sandboxDay(x.params.start_time as number)).toBe(addDays(yesterday, -2));
      expect(sandboxDay(x.params.end_time as number)).toBe(yesterday);
      expect(await stored(u)).toHaveLength(31);
    }
    // The refused member still starts from its first night; the new one gets its 30 days.
    expect(sandboxDay(byMember.get('outside')!.params.start_time as number)).toBe(addDays(yesterday, -29));
    expect(sandboxDay(byMember.get('zhaoliu')!.params.start_time as number)).toBe(addDays(yesterday, -29));
    expect(await stored('zhaoliu')).toHaveLength(30);
  });

  it('a member far behind is pulled in calls of at most 30 days, never more than 180 days back', async () => {
    const today = localDate(clock.now(), TZ);
    await db.query('UPDATE analytics_staff_pulls SET last_day = ? WHERE userid = ?', [addDays(today, -250), 'lisi']);
    const n = calls().length;
    expect((await run(2000)).status).toBe('done');
    const lisi = calls().slice(n).filter((x) => (x.params.userid as string[])[0] === 'lisi');
    expect(lisi.length).toBe(6);
    const days: string[] = [];
    for (const x of lisi) {
      expect(x.errcode).toBe(0);
      const a = sandboxDay(x.params.start_time as number);
      const b = sandboxDay(x.params.end_time as number);
      expect(daysBetween(a, b)).toBeLessThanOrEqual(29);
      expect(daysBetween(a, today)).toBeLessThanOrEqual(180);
      for (let d = a; d <= b; d = addDays(d, 1)) days.push(d);
    }
    // Contiguous, from the oldest day WeCom still has (a day inside its 180) through yesterday.
    expect(days[0]).toBe(addDays(today, -179));
    expect(days[days.length - 1]).toBe(addDays(today, -1));
    expect(new Set(days).size).toBe(days.length);
    expect(days).toHaveLength(179);
  });

  it('WeCom busy (-1) is retried by the client with backoff, so nothing is parked', async () => {
    app.container.sandbox!.injectFault({ api: API, errcode: -1, count: 2 });
    const n = calls().length;
    const out = await run(5000);
    expect(out.status).toBe('done');
    const c = calls().slice(n);
    expect(c.filter((x) => x.errcode === -1)).toHaveLength(2);
    // Only the member outside the visible range is still refused (its fifth night in a row); the busy answers were
    // retried into successes.
    expect(out.counts).toMatchObject({ staffPullFailed: 1 });
    const pulls = await db.query<{ userid: string; failures: number | string }>('SELECT userid, failures FROM analytics_staff_pulls ORDER BY userid');
    expect(pulls.map((p) => [p.userid, Number(p.failures)])).toEqual([['lisi', 0], ['outside', 5], ['wangwu', 0], ['zhangsan', 0], ['zhaoliu', 0]]);
  });

  it('the sandbox plays WeCom: 600018 past 30 days or 180 days back, several members summed into one row', async () => {
    const sb = app.container.sandbox!;
    const token = (await sb.invoke('GET', 'gettoken', { corpid: sb.options.corp.corpId, corpsecret: sb.options.corp.secret })).body.access_token as string;
    const today = localDate(clock.now(), TZ);
    const call = (body: Record<string, unknown>) => sb.invoke('POST', API, { access_token: token }, body);
    const s = (d: string) => dayStartS(d);
    expect((await call({ userid: ['lisi'], start_time: s(addDays(today, -40)), end_time: s(addDays(today, -9)) })).body.errcode).toBe(600018);
    expect((await call({ userid: ['lisi'], start_time: s(addDays(today, -40)), end_time: s(addDays(today, -10)) })).body.errcode).toBe(0);
    expect((await call({ userid: ['lisi'], start_time: s(addDays(today, -181)), end_time: s(addDays(today, -170)) })).body.errcode).toBe(600018);
    expect((await call({ userid: ['lisi'], start_time: s(addDays(today, -3)) * 1000, end_time: s(addDays(today, -1)) * 1000 })).body.errcode).toBe(600018);
    expect((await call({ start_time: s(addDays(today, -3)), end_time: s(addDays(today, -1)) })).body.errcode).toBe(40058);
    // Not at 00:00: rounded down to the day.
    const both = await call({ userid: ['lisi', 'wangwu'], start_time: s(addDays(today, -7)) + 3600 * 13, end_time: s(addDays(today, -1)) + 60 });
    const rows = both.body.behavior_data as Record<string, number>[];
    expect(rows).toHaveLength(7);
    for (const r of rows) {
      const a = behaviorOf('lisi', r.stat_time);
      const b = behaviorOf('wangwu', r.stat_time);
      expect(r.chat_cnt).toBe(a.chat_cnt + b.chat_cnt);
      expect(r.new_contact_cnt).toBe(a.new_contact_cnt + b.new_contact_cnt);
      expect('reply_percentage' in r).toBe(a.chat_cnt + b.chat_cnt > 0);
    }
  });

  it('GET /analytics/staff matches a slow reference from the raw rows, per week, with the bot figures next to WeCom’s', async () => {
    const today = localDate(clock.now(), TZ);
    const from = addDays(today, -28);
    const to = addDays(today, -1);
    // The bot's own raw facts: mass tasks with their outcomes, follow-ups, relations.
    const tasks: { sender: string; submittedAt: number; sentAfterH: number | null; expired: boolean }[] = [];
    let k = 0;
    for (let d = from; d <= to; d = addDays(d, 1)) {
      for (const sender of MEMBERS) {
        k++;
        if (k % 3 !== 0) continue;
        const submittedAt = zonedTimeToUtc(d, '09:00', TZ).getTime() + (k % 5) * H;
        const kind = k % 4;
        tasks.push({ sender, submittedAt, sentAfterH: kind === 0 ? 2 : kind === 1 ? 30 : null, expired: kind === 2 });
      }
    }
    for (const t of tasks) await insertTask(db, t);
    const notes: { userid: string; due: string; done: boolean }[] = [];
    for (let i = 0; i < 40; i++) notes.push({ userid: MEMBERS[i % 3], due: addDays(from, (i * 7) % 28), done: i % 3 !== 0 });
    for (const n of notes) {
      await db.query('INSERT INTO notes (id, external_user_id, userid, text, due_date, done_at, created_at) VALUES (?,?,?,?,?,?,?)', [randomUUID(), 'wm_x', n.userid, '回访', n.due, n.done ? clock.now().getTime() : null, 0]);
    }
    const relations: Record<string, number> = { zhangsan: 5, lisi: 3, wangwu: 0 };
    for (const [u, count] of Object.entries(relations)) for (let i = 0; i < count; i++) await insertRelation(db, u, `wm_${u}_${i}`, new Date(0));
    await insertRelation(db, 'wangwu', 'wm_gone', new Date(0), 'deleted_by_customer');
    expect((await run(3000)).status).toBe('done');

    const res = await get(`/api/v1/analytics/staff?from=${from}&to=${to}&granularity=week`);
    expect(res.status).toBe(200);
    expect(res.body.lateConfirmHours).toBe(24);
    type Ref = Record<string, number | null>;
    const ref = new Map<string, Ref & { w: number; rp: number; rt: number }>();
    const at = (period: string, u: string) => {
      const key = `${period}|${u}`;
      let r = ref.get(key);
      if (!r) ref.set(key, (r = { chatCnt: 0, messageCnt: 0, newContactCnt: 0, negativeFeedbackCnt: 0, replyDays: 0, massTasks: 0, confirmedLate: 0, neverConfirmed: 0, awaiting: 0, followupsDue: 0, followupsDone: 0, w: 0, rp: 0, rt: 0 }));
      return r;
    };
    for (const u of MEMBERS) {
      for (let d = from; d <= to; d = addDays(d, 1)) {
        const f = behaviorOf(u, dayStartS(d));
        const r = at(periodOf(d, 'week'), u);
        (r.chatCnt as number) += f.chat_cnt;
        (r.messageCnt as number) += f.message_cnt;
        (r.newContactCnt as number) += f.new_contact_cnt;
        (r.negativeFeedbackCnt as number) += f.negative_feedback_cnt;
        if (f.reply_percentage !== undefined) {
          (r.replyDays as number)++;
          r.w += f.chat_cnt;
          r.rp += f.chat_cnt * f.reply_percentage;
          r.rt += f.chat_cnt * f.avg_reply_time!;
        }
      }
    }
    for (const t of tasks) {
      const r = at(periodOf(localDate(new Date(t.submittedAt), TZ), 'week'), t.sender);
      (r.massTasks as number)++;
      if (t.sentAfterH !== null && t.sentAfterH > 24) (r.confirmedLate as number)++;
      if (t.expired) (r.neverConfirmed as number)++;
      if (t.sentAfterH === null && !t.expired) (r.awaiting as number)++;
    }
    for (const n of notes) {
      const r = at(periodOf(n.due, 'week'), n.userid);
      (r.followupsDue as number)++;
      if (n.done) (r.followupsDone as number)++;
    }
    const lines = res.body.lines.filter((l: { userid: string }) => MEMBERS.includes(l.userid));
    expect(lines).toHaveLength(ref.size);
    for (const l of lines) {
      const r = ref.get(`${l.period}|${l.userid}`)!;
      expect(r).toBeDefined();
      const { w, rp, rt, ...counts } = r;
      expect(l).toMatchObject(counts);
      expect(l.replyPercentage).toBe(w > 0 ? Math.round((rp / w) * 100) / 100 : null);
      expect(l.avgReplyTime).toBe(w > 0 ? Math.round((rt / w) * 10) / 10 : null);
    }
    // Customers: the last snapshot (taken tonight, for yesterday) counts the active relations.
    for (const u of MEMBERS) {
      const m = res.body.members.find((x: { userid: string }) => x.userid === u);
      expect(m).toMatchObject({ customers: relations[u], customersAsOf: to });
      const last = lines.filter((l: { userid: string }) => l.userid === u).pop();
      if (last.periodEnd === to) expect(last.customers).toBe(relations[u]);
    }
    // Summed per period in SQL: by day and by month each member's whole range is the same, and its lines add up to it.
    for (const granularity of ['day', 'month']) {
      const other = await get(`/api/v1/analytics/staff?from=${from}&to=${to}&granularity=${granularity}`);
      expect(other.status).toBe(200);
      expect(other.body.members).toEqual(res.body.members);
      for (const m of other.body.members as Record<string, number | string>[]) {
        const mine = (other.body.lines as Record<string, number | string>[]).filter((l) => l.userid === m.userid);
        for (const k of ['wecomDays', 'chatCnt', 'messageCnt', 'replyDays', 'massTasks', 'confirmedLate', 'followupsDue', 'followupsDone']) {
          expect(mine.reduce((s, l) => s + Number(l[k]), 0), `${granularity} ${m.userid} ${k}`).toBe(m[k]);
        }
      }
    }
  });

  it('whole weeks and months read from their nightly sums answer as summing every day does', async () => {
    const today = localDate(clock.now(), TZ);
    // lisi has 179 days of WeCom's figures (the far-behind pull), the others 30 or so, the bot's figures a month.
    const bySumming = new StaffPerformanceService(new StaffStatsRepository(db), (q, v) => new AnalyticsService(new AnalyticsRepository(db), clock, TZ).frame(q, v), false);
    const admin = { role: 'admin' as const, userid: null };
    const ranges: [string, string][] = [
      [addDays(today, -179), addDays(today, -1)],
      // Starting on a Monday and the first of a month, and ending on a Sunday or a month's last day.
      ['2026-01-05', '2026-06-28'],
      ['2026-02-01', '2026-05-31'],
      // Inside one period: no whole period at all.
      [addDays(today, -3), addDays(today, -2)],
    ];
    let wholeRead = 0;
    for (const [from, to] of ranges) {
      for (const granularity of ['week', 'month'] as const) {
        for (const userid of [undefined, 'lisi']) {
          const res = await get(`/api/v1/analytics/staff?from=${from}&to=${to}&granularity=${granularity}${userid ? `&userid=${userid}` : ''}`);
          expect(res.status).toBe(200);
          const ref = JSON.parse(JSON.stringify(await bySumming.staff({ from, to, granularity, userid }, admin)));
          expect(res.body, `${from}…${to} ${granularity} ${userid ?? 'all'}`).toEqual(ref);
          wholeRead += res.body.lines.filter((l: { period: string; periodStart: string; periodEnd: string }) => periodOf(addDays(l.periodStart, -1), granularity) !== l.period && periodOf(addDays(l.periodEnd, 1), granularity) !== l.period).length;
        }
      }
    }
    expect(wholeRead).toBeGreaterThan(50);
    // The sums are the night's: rolling them again writes the same rows.
    const sums = () => db.query('SELECT granularity, period, userid, behavior_days, chat_cnt, reply_weighted_x100, mass_tasks, followups_due FROM analytics_staff_periods ORDER BY granularity, period, userid');
    const before = await sums();
    expect(before.length).toBeGreaterThan(20);
    await new StaffStatsService(new StaffStatsRepository(db), { getUserBehaviorData: async () => [] }, TZ, silentLogger).rollPeriods(addDays(today, -200), clock.now());
    expect(await sums()).toEqual(before);
  });

  it('staff see themselves only; CSV has a BOM and Chinese headers; bad parameters name their fields', async () => {
    const today = localDate(clock.now(), TZ);
    const own = await get(`/api/v1/analytics/staff?from=${addDays(today, -7)}&to=${addDays(today, -1)}`, staffToken);
    expect(own.status).toBe(200);
    expect(own.body.scope).toBe('own');
    expect(new Set(own.body.members.map((m: { userid: string }) => m.userid))).toEqual(new Set(['zhangsan']));
    expect(new Set(own.body.lines.map((m: { userid: string }) => m.userid))).toEqual(new Set(['zhangsan']));
    expect((await get('/api/v1/analytics/staff?userid=lisi', staffToken)).status).toBe(403);

    const csv = await fetch(`${app.url}/api/v1/analytics/staff?from=${addDays(today, -7)}&to=${addDays(today, -1)}&format=csv&table=members`, { headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const bytes = new Uint8Array(await csv.arrayBuffer());
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = new TextDecoder().decode(bytes);
    expect(text.split('\r\n')[0]).toContain('员工,企业微信统计天数,聊天总数');
    expect(text).toContain('员工zhangsan');

    const bad = await get('/api/v1/analytics/staff?from=2026-13-01&granularity=year&table=x');
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.error.details.fields).sort()).toEqual(['from', 'granularity', 'table']);
  });
});

/** A mass task as the delivery ledger keeps it: the batch and one recipient row. */
async function insertTask(db: Db, t: { sender: string; submittedAt: number; sentAfterH: number | null; expired: boolean }): Promise<void> {
  const id = randomUUID();
  await db.query(
    "INSERT INTO delivery_batches (id, channel, sender_userid, text, attachments, status, msgid, recipients, instance_id, created_at, submitted_at) VALUES (?, 'mass_task', ?, 'hi', '[]', ?, ?, 1, 'i', ?, ?)",
    [id, t.sender, t.sentAfterH === null && !t.expired ? 'submitted' : 'done', `msg-${id}`, t.submittedAt, t.submittedAt],
  );
  const status = t.sentAfterH !== null ? 'sent' : t.expired ? 'expired' : 'submitted';
  await db.query(
    `INSERT INTO deliveries (source, external_user_id, occasion, kind, channel, priority, sender_userid, text, attachments, local_date, not_before, expires_at, status, reason, batch_id, msgid, created_at, updated_at, submitted_at, sent_at)
     VALUES (?, ?, 'o', 'broadcast', 'mass_task', 0, ?, 'hi', '[]', '2026-01-01', 0, 0, ?, ?, ?, ?, 0, 0, ?, ?)`,
    [`broadcast:${id}`, `wm_${id}`, t.sender, status, t.expired ? 'not_confirmed: 成员未确认发送 / the staff member never sent the task' : null, id, `msg-${id}`, t.submittedAt, t.sentAfterH === null ? null : t.submittedAt + t.sentAfterH * H],
  );
}

describe.each(testEngines())('migration 0035 (staff sums per week and month) can be undone and redone (%s)', (engine) => {
  const mig = useMigratedWithout(engine, [AnalyticsStaffPeriods1795000000035]);

  it('creates the sums table, filled from the days already stored, and removes it again', async () => {
    const q = (sql: string, p: unknown[] = []) => mig.ds.query(sql, p);
    const has = async () => {
      const qr = mig.ds.createQueryRunner();
      try {
        return await qr.hasTable('analytics_staff_periods');
      } finally {
        await qr.release();
      }
    };
    // Two members' days before the migration: a Monday-to-Wednesday of June (one week, one month), with a day WeCom
    // gave no reply figures.
    for (const [userid, day, chats, pct] of [['lisi', '2026-06-01', 10, 5000], ['lisi', '2026-06-02', 0, null], ['lisi', '2026-06-03', 30, 9000], ['wangwu', '2026-06-03', 4, 10000]] as const) {
      await q('INSERT INTO analytics_staff_behavior (userid, day, chat_cnt, message_cnt, reply_percentage_x100, avg_reply_time, negative_feedback_cnt, new_apply_cnt, new_contact_cnt, pulled_at) VALUES (?,?,?,?,?,?,?,?,?,?)', [userid, day, chats, chats * 2, pct, pct === null ? null : 3, 0, 1, 1, 0]);
    }
    await q("INSERT INTO analytics_staff_daily (userid, day, mass_tasks, confirmed_late, never_confirmed, awaiting, followups_due, followups_done, rolled_at) VALUES ('lisi', '2026-06-02', 2, 1, 0, 0, 3, 1, 0)");
    mig.ds.migrations.push(new AnalyticsStaffPeriods1795000000035());
    expect((await mig.ds.runMigrations({ transaction: 'each' })).map((m) => m.name)).toEqual(['AnalyticsStaffPeriods1795000000035']);
    const rows = (await q('SELECT granularity, period, userid, behavior_days, chat_cnt, reply_days, reply_weight, reply_weighted_x100, reply_time_weighted, daily_days, mass_tasks, followups_due FROM analytics_staff_periods ORDER BY granularity, userid')).map((r: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : v])),
    );
    const lisi = { userid: 'lisi', behavior_days: 3, chat_cnt: 40, reply_days: 2, reply_weight: 40, reply_weighted_x100: 10 * 5000 + 30 * 9000, reply_time_weighted: 40 * 3, daily_days: 1, mass_tasks: 2, followups_due: 3 };
    const wangwu = { userid: 'wangwu', behavior_days: 1, chat_cnt: 4, reply_days: 1, reply_weight: 4, reply_weighted_x100: 40000, reply_time_weighted: 12, daily_days: 0, mass_tasks: 0, followups_due: 0 };
    expect(rows).toEqual([
      { granularity: 'month', period: '2026-06', ...lisi },
      { granularity: 'month', period: '2026-06', ...wangwu },
      { granularity: 'week', period: '2026-06-01', ...lisi },
      { granularity: 'week', period: '2026-06-01', ...wangwu },
    ]);
    await mig.ds.undoLastMigration({ transaction: 'each' });
    expect(await has()).toBe(false);
    expect((await mig.ds.runMigrations({ transaction: 'each' })).map((m) => m.name)).toEqual(['AnalyticsStaffPeriods1795000000035']);
    expect(await has()).toBe(true);
  }, 60_000);
});

describe.each(testEngines())('migration 0029 (analytics staff) can be undone and redone (%s)', (engine) => {
  // Every migration but this one first, so undoing the last one undoes exactly it; and but 0035, which sums its tables,
  // and 0039, which widens its batches index.
  const mig = useMigratedWithout(engine, [AnalyticsStaff1795000000029, AnalyticsStaffPeriods1795000000035, StaffRollCovering1795000000039]);

  it('creates its three tables and the batches index, and removes them again', async () => {
    const tables = async () => {
      const qr = mig.ds.createQueryRunner();
      try {
        const names = ['analytics_staff_behavior', 'analytics_staff_pulls', 'analytics_staff_daily'];
        const present = await Promise.all(names.map((n) => qr.hasTable(n)));
        const batches = await qr.getTable('delivery_batches');
        return { present, batchIndex: batches?.indices.some((i) => i.name === 'ix_delivery_batches_submitted') ?? false };
      } finally {
        await qr.release();
      }
    };
    mig.ds.migrations.push(new AnalyticsStaff1795000000029());
    expect((await mig.ds.runMigrations({ transaction: 'each' })).map((m) => m.name)).toEqual(['AnalyticsStaff1795000000029']);
    expect(await tables()).toEqual({ present: [true, true, true], batchIndex: true });
    await mig.ds.undoLastMigration({ transaction: 'each' });
    expect(await tables()).toEqual({ present: [false, false, false], batchIndex: false });
    expect((await mig.ds.runMigrations({ transaction: 'each' })).map((m) => m.name)).toEqual(['AnalyticsStaff1795000000029']);
    expect(await tables()).toEqual({ present: [true, true, true], batchIndex: true });
  }, 60_000);
});

describe.each(testEngines())('migration 0039 (the staff roll reads its indexes alone) can be undone and redone (%s)', (engine) => {
  const mig = useMigratedWithout(engine, [StaffRollCovering1795000000039]);

  it('rolls the same figures before, after and undone; on SQLite the roll reads both indexes alone', async () => {
    const db = new Db(mig.ds);
    // The roll's statements, to ask SQLite how it reads them.
    const statements: string[] = [];
    const seen = new Proxy(db, {
      get(target, prop, receiver) {
        if (prop === 'query') return (sql: string, params?: unknown[]) => (statements.push(sql), target.query(sql, params));
        return Reflect.get(target, prop, receiver);
      },
    });
    const staff = new StaffStatsService(new StaffStatsRepository(seen), { getUserBehaviorData: async () => [] }, TZ, silentLogger);
    const day = '2026-06-01';
    const at = zonedTimeToUtc(day, '10:00', TZ).getTime();
    // lisi: a task confirmed 30 h late and one never confirmed; wangwu: one on time and one still waiting.
    for (const t of [
      { sender: 'lisi', submittedAt: at, sentAfterH: 30, expired: false },
      { sender: 'lisi', submittedAt: at + H, sentAfterH: null, expired: true },
      { sender: 'wangwu', submittedAt: at, sentAfterH: 1, expired: false },
      { sender: 'wangwu', submittedAt: at + 2 * H, sentAfterH: null, expired: false },
      // The day after: not this day's.
      { sender: 'lisi', submittedAt: at + 24 * H, sentAfterH: 1, expired: false },
    ]) await insertTask(db, t);
    const rolled = async () => {
      await staff.rollDay(day, new Date(at + 48 * H));
      return (await db.query<Record<string, unknown>>('SELECT userid, mass_tasks, confirmed_late, never_confirmed, awaiting FROM analytics_staff_daily WHERE day = ? ORDER BY userid', [day])).map((r) =>
        Object.fromEntries(Object.entries(r).map(([k, v]) => [k, k === 'userid' ? v : Number(v)])),
      );
    };
    const expected = [
      { userid: 'lisi', mass_tasks: 2, confirmed_late: 1, never_confirmed: 1, awaiting: 0 },
      { userid: 'wangwu', mass_tasks: 2, confirmed_late: 0, never_confirmed: 0, awaiting: 1 },
    ];
    const indexes = async () => {
      const qr = mig.ds.createQueryRunner();
      try {
        const names = async (t: string) => ((await qr.getTable(t))?.indices ?? []).map((i) => i.name).filter((n) => n?.startsWith('ix_deliveries_batch') || n?.startsWith('ix_delivery_batches_submitted')).sort();
        return [...(await names('deliveries')), ...(await names('delivery_batches'))];
      } finally {
        await qr.release();
      }
    };
    const plan = async () => {
      const sql = statements.find((x) => x.includes('FROM delivery_batches b'))!;
      const rows = (await db.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, [0, 1])).map((r) => r.detail);
      return rows.filter((d) => / (b|d) /.test(`${d} `) || d.includes('INDEX')).join(' | ');
    };
    try {
      expect(await indexes()).toEqual(['ix_deliveries_batch', 'ix_delivery_batches_submitted']);
      expect(await rolled()).toEqual(expected);
      // Before: each task's row and each recipient's row read from the table.
      if (engine === 'sqlite') expect(await plan()).not.toContain('COVERING');

      mig.ds.migrations.push(new StaffRollCovering1795000000039());
      expect((await mig.ds.runMigrations({ transaction: 'each' })).map((m) => m.name)).toEqual(['StaffRollCovering1795000000039']);
      expect(await indexes()).toEqual(['ix_deliveries_batch_outcome', 'ix_delivery_batches_submitted_cover']);
      expect(await rolled()).toEqual(expected);
      if (engine === 'sqlite') {
        const p = await plan();
        expect(p).toContain('COVERING INDEX ix_delivery_batches_submitted_cover');
        expect(p).toContain('COVERING INDEX ix_deliveries_batch_outcome');
      }

      await mig.ds.undoLastMigration({ transaction: 'each' });
      expect(await indexes()).toEqual(['ix_deliveries_batch', 'ix_delivery_batches_submitted']);
      expect(await rolled()).toEqual(expected);
      expect((await mig.ds.runMigrations({ transaction: 'each' })).map((m) => m.name)).toEqual(['StaffRollCovering1795000000039']);
      expect(await indexes()).toEqual(['ix_deliveries_batch_outcome', 'ix_delivery_batches_submitted_cover']);
    } finally {
      await db.close();
    }
  }, 60_000);
});
