import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { FixedClock } from '../../../src/shared/clock.js';
import { addDays } from '../../../src/shared/dates.js';
import { birthdayDateInYear, holidaysOn } from '../../../src/domain/care/occasions.js';
import { addSandboxCustomer, insertCustomer } from '../../fixtures/scheduling.js';

type RuleDay = { ruleId: string; planned: number; already: number; skipped: Record<string, number>; optedOut: number; isHeldByQuietHours: boolean; isExpiringUnsent: boolean };
type Day = { date: string; lunar: string; holidays: string[]; rules: RuleDay[] };

const sh = (local: string) => new Date(`${local}+08:00`);
// Twelve days around 中秋 (2026-09-25) and 国庆 (10-01), so the holiday rule, which reaches everyone, competes with
// birthdays for each customer's one daily slot.
const FROM = '2026-09-22';
const DAYS = 12;

/**
 * The calendar says, for each day, what the care job plans when the clock is that day: the same planner pass and the
 * ledger's own decisions. Checked by asking the calendar first, then running the real job day by day and reading
 * what it wrote.
 */
describe.each(testEngines())('care calendar on %s', (engine) => {
  const clock = new FixedClock(sh(`${FROM}T08:00:00`));
  let app: TestApp;
  const ids: Record<string, string> = {};
  let ruleIds: Record<string, string>;

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    const c = app.container;
    const lunarDay = birthdayDateInYear({ calendar: 'lunar', month: 8, day: 20 }, 2026)!;
    expect(lunarDay >= FROM && lunarDay < addDays(FROM, DAYS)).toBe(true);
    ids.solar = await addSandboxCustomer(c, 'zhangsan', { name: '公历寿星', birthday: { calendar: 'solar', month: 9, day: 24 }, firstAddedAt: sh('2025-03-01T10:00:00') });
    ids.lunar = await addSandboxCustomer(c, 'lisi', { name: '农历寿星', birthday: { calendar: 'lunar', month: 8, day: 20 }, firstAddedAt: sh('2025-03-01T10:00:00') });
    // A birthday on 中秋: the birthday rule (priority 300) takes the day's slot, the holiday rule is skipped for them.
    ids.festive = await addSandboxCustomer(c, 'zhangsan', { name: '中秋寿星', birthday: { calendar: 'solar', month: 9, day: 25 }, firstAddedAt: sh('2025-03-01T10:00:00') });
    ids.optedOut = await addSandboxCustomer(c, 'zhangsan', { name: '已退订', birthday: { calendar: 'solar', month: 9, day: 24 }, isOptedOut: true, firstAddedAt: sh('2025-03-01T10:00:00') });
    ids.hundred = await addSandboxCustomer(c, 'lisi', { name: '百日客户', firstAddedAt: sh(`${addDays('2026-09-27', -100)}T12:00:00`) });
    ids.yearOne = await addSandboxCustomer(c, 'lisi', { name: '一周年', firstAddedAt: sh('2025-09-28T12:00:00') });
    ids.fresh = await addSandboxCustomer(c, 'wangwu', { name: '新客', firstAddedAt: sh('2026-09-20T15:00:00') });
    // In the archive with nobody following them: no sender, so skipped.
    await insertCustomer(c.db, { externalUserId: 'wm_no_sender_cal', name: '无人跟进', birthday: { calendar: 'solar', month: 9, day: 24 }, firstAddedAt: sh('2025-03-01T10:00:00') });
    const rules = (await api(app, 'GET', '/api/v1/care-rules')).body.items as { id: string; seedKey: string }[];
    ruleIds = Object.fromEntries(rules.map((r) => [r.seedKey, r.id]));
  });
  afterAll(() => app?.close());

  const calendar = async (query = '') => {
    const res = await api(app, 'GET', `/api/v1/care-rules/calendar?from=${FROM}&days=${DAYS}${query}`);
    expect(res.status).toBe(200);
    return res.body as { from: string; settings: Record<string, unknown>; rules: { id: string }[]; items: Day[] };
  };
  const line = (day: Day | undefined, ruleId: string) => day?.rules.find((r) => r.ruleId === ruleId);

  it('answers each day with lunar dates, holidays and per-rule counts, opt-outs and skips included', async () => {
    const cal = await calendar();
    expect(cal.items).toHaveLength(DAYS);
    expect(cal.settings).toMatchObject({ careTime: '09:00', quietHours: { start: '21:00', end: '09:00' }, perCustomerPerDay: 1 });
    const byDate = new Map(cal.items.map((d) => [d.date, d]));
    expect(byDate.get('2026-09-25')).toMatchObject({ lunar: '八月十五', holidays: ['中秋节'] });
    expect(line(byDate.get('2026-09-24'), ruleIds.birthday)).toMatchObject({ planned: 1, optedOut: 1, skipped: { no_sender: 1 } });
    const midAutumn = byDate.get('2026-09-25')!;
    expect(line(midAutumn, ruleIds.birthday)).toMatchObject({ planned: 1 });
    // Everyone but the opted-out customer (left out) and the birthday customer (daily cap), and the one without a sender.
    expect(line(midAutumn, ruleIds.holidays)).toMatchObject({ planned: 5, optedOut: 1, skipped: { daily_cap: 1, no_sender: 1 } });
    expect(line(byDate.get('2026-09-23'), ruleIds['followup-3d'])).toMatchObject({ planned: 1 });
    expect(line(byDate.get('2026-09-27'), ruleIds.anniversary)).toMatchObject({ planned: 1 });
    expect(line(byDate.get('2026-09-28'), ruleIds.anniversary)).toMatchObject({ planned: 1 });
    const lunarDay = birthdayDateInYear({ calendar: 'lunar', month: 8, day: 20 }, 2026)!;
    expect(line(byDate.get(lunarDay), ruleIds.birthday)).toMatchObject({ planned: 1 });
    // A plain day with nothing due has no lines.
    expect(byDate.get('2026-09-26')!.rules).toEqual([]);
    expect(holidaysOn('2026-09-26')).toEqual([]);

    const one = await calendar(`&rule=${ruleIds.holidays}`);
    expect(one.rules.map((r) => r.id)).toEqual([ruleIds.holidays]);
    expect(line(one.items.find((d) => d.date === '2026-09-25'), ruleIds.holidays)).toEqual(line(midAutumn, ruleIds.holidays));
    expect(one.items.flatMap((d) => d.rules.map((r) => r.ruleId)).every((id) => id === ruleIds.holidays)).toBe(true);
  });

  it('lists the customers of one rule on one day, paged, with what becomes of each', async () => {
    const page1 = await api(app, 'GET', `/api/v1/care-rules/calendar/2026-09-25/customers?rule=${ruleIds.holidays}&page=1&pageSize=4`);
    expect(page1.status).toBe(200);
    expect(page1.body.total).toBe(8);
    expect(page1.body.items).toHaveLength(4);
    const page2 = await api(app, 'GET', `/api/v1/care-rules/calendar/2026-09-25/customers?rule=${ruleIds.holidays}&page=2&pageSize=4`);
    const all = [...page1.body.items, ...page2.body.items] as { externalUserId: string; outcome: string; reason: string | null; text: string | null; name: string }[];
    expect(new Set(all.map((c) => c.externalUserId)).size).toBe(8);
    const of = (id: string) => all.find((c) => c.externalUserId === id)!;
    expect(of(ids.festive)).toMatchObject({ outcome: 'skipped', reason: expect.stringMatching(/^daily_cap/) });
    expect(of(ids.optedOut)).toMatchObject({ outcome: 'opted_out', text: null });
    expect(of(ids.solar)).toMatchObject({ outcome: 'planned', name: '公历寿星', text: expect.stringContaining('中秋节快乐') });
    expect((await api(app, 'GET', `/api/v1/care-rules/calendar/2026-02-30/customers?rule=${ruleIds.holidays}`)).status).toBe(400);
    expect((await api(app, 'GET', '/api/v1/care-rules/calendar/2026-09-25/customers?rule=nope')).status).toBe(404);
    expect((await api(app, 'GET', '/api/v1/care-rules/calendar?days=500')).status).toBe(400);
  });

  it('equals what the care job plans when the clock is each of those days', async () => {
    const before = await calendar();
    for (const day of before.items) {
      clock.set(sh(`${day.date}T09:00:00`));
      const run = await app.container.scheduling.scheduler.runNow('care');
      expect(run.status).toBe('done');
      const rows = await app.container.db.query<{ rule_id: string; status: string; reason: string | null }>(
        "SELECT rule_id, status, reason FROM deliveries WHERE kind = 'care' AND local_date = ?",
        [day.date],
      );
      const written = new Map<string, { planned: number; skipped: Record<string, number> }>();
      for (const r of rows) {
        const w = written.get(r.rule_id) ?? { planned: 0, skipped: {} };
        if (r.status === 'skipped') {
          const code = /^[a-z_]+/.exec(r.reason ?? '')![0];
          w.skipped[code] = (w.skipped[code] ?? 0) + 1;
        } else w.planned += 1;
        written.set(r.rule_id, w);
      }
      const forecast = new Map(day.rules.filter((l) => l.planned + Object.keys(l.skipped).length > 0).map((l) => [l.ruleId, { planned: l.planned, skipped: l.skipped }]));
      expect({ date: day.date, rules: Object.fromEntries(written) }).toEqual({ date: day.date, rules: Object.fromEntries(forecast) });
      expect(run.counts).toMatchObject({ planned: day.rules.reduce((n, l) => n + l.planned, 0) });
    }
    // Once run, a day's messages are in the ledger: the calendar counts them as already planned, nothing new.
    const after = await calendar();
    const midAutumn = after.items.find((d) => d.date === '2026-09-25')!;
    expect(line(midAutumn, ruleIds.holidays)).toMatchObject({ planned: 0, already: 7, optedOut: 1 });
  });

  it('a birthday rule that fires days ahead: the calendar shows it on that day, and the planner plans the same', async () => {
    const created = await api(app, 'POST', '/api/v1/care-rules', {
      name: '生日前提醒员工',
      occasion: { type: 'birthday', daysBefore: 2 },
      channel: 'staff_reminder',
      template: '客户{{name}}还有 {{days}} 天过生日，准备一份礼物吧',
      priority: 10,
    });
    expect(created.status).toBe(201);
    expect(created.body.occasion).toEqual({ type: 'birthday', daysBefore: 2 });
    const id = created.body.id as string;
    // Birthdays on 24 September: the reminder is on the 22nd, to staff (so the opted-out customer too), and nobody
    // follows one of them.
    const cal = await calendar(`&rule=${id}`);
    expect(cal.items.filter((d) => d.rules.length).map((d) => d.date)).toEqual(expect.arrayContaining(['2026-09-22']));
    expect(line(cal.items.find((d) => d.date === '2026-09-22'), id)).toMatchObject({ planned: 2, optedOut: 0, skipped: { no_sender: 1 } });
    const who = await api(app, 'GET', `/api/v1/care-rules/calendar/2026-09-22/customers?rule=${id}`);
    expect(who.body.items.find((c: { externalUserId: string }) => c.externalUserId === ids.solar)).toMatchObject({ outcome: 'planned', text: '客户公历寿星还有 2 天过生日，准备一份礼物吧' });

    // The planner on that day (its run was already recorded above, so planned directly into the ledger).
    const m = app.container.scheduling;
    const rules = (await m.careRules.list()).filter((r) => r.id === id);
    const counts = await m.planner.planDay({ today: '2026-09-22', now: sh('2026-09-22T09:00:00'), rules, sink: m.ledger });
    expect(counts).toMatchObject({ planned: 2, skipped: 1 });
    const rows = await app.container.db.query<{ status: string }>("SELECT status FROM deliveries WHERE rule_id = ? AND local_date = '2026-09-22'", [id]);
    expect(rows).toHaveLength(3);
    expect((await api(app, 'POST', '/api/v1/care-rules', { name: 'x', occasion: { type: 'birthday', daysBefore: 40 }, template: 't' })).body.error.details.fields).toHaveProperty(['occasion.daysBefore']);
  });

  it('follows an edit of a rule: a birthday rule limited to VIPs drops the day it no longer reaches', async () => {
    clock.set(sh(`${FROM}T08:00:00`));
    const patched = await api(app, 'PATCH', `/api/v1/care-rules/${ruleIds.birthday}`, { audience: 'tag:VIP客户' });
    expect(patched.status).toBe(200);
    const cal = await calendar(`&rule=${ruleIds.birthday}`);
    expect(cal.items.flatMap((d) => d.rules)).toEqual([]);
    const bad = await api(app, 'PATCH', `/api/v1/care-rules/${ruleIds.birthday}`, { audience: 'tag:VIP AND (' });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.error.details.fields)).toEqual(['audience']);
  });
});
