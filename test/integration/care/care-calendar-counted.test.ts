import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { api, startTestApp, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { FixedClock } from '../../../src/shared/clock.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { zonedTimeToUtc } from '../../../src/shared/dates.js';
import { CarePlanner } from '../../../src/domain/care/care-planner.js';
import { CareCalendarService } from '../../../src/domain/care/care-calendar.service.js';
import { occasionKey } from '../../../src/domain/care/occasions.js';
import type { NewDelivery } from '../../../src/domain/delivery/delivery.types.js';
import { insertCustomer, insertRelation, insertStaff } from '../../fixtures/scheduling.js';

// Each case compares every page of every rule on two holidays, twice over: minutes on MySQL on a busy machine.
vi.setConfig({ testTimeout: 180_000 });

const TZ = 'Asia/Shanghai';
const sh = (local: string) => new Date(`${local}+08:00`);
// 中秋 (09-25) and 国庆 (10-01) with the days around them.
const FROM = '2026-09-24';
const DAYS = 9;
const NATIONAL_DAY = '2026-10-01';

type Line = { ruleId: string; planned: number; already: number; skipped: Record<string, number>; optedOut: number };

/**
 * A holiday rule's day is counted in SQL, with only the customers SQL cannot decide planned one by one
 * (docs/care.md §The care calendar). The reference is the same calendar forecasting every customer through the
 * planner and the ledger's own decisions (which care-calendar.test.ts checks against the real care job): every count,
 * every drill-down page and the customers listed on it must be the same, for a corp where a holiday meets every case
 * (opted out, no sender, a birthday or an anniversary on the day, a broadcast holding the day's slot, a full and a
 * nearly full WeCom quota, the day's run already recorded for one customer), and for rule variants (holdout, an
 * audience, staff reminders, WeChat-KF, a template near WeCom's length limit, a second holiday rule on the same day).
 */
describe.each(testEngines())('care calendar counted in SQL on %s', (engine) => {
  const clock = new FixedClock(sh(`${FROM}T08:00:00`));
  let app: TestApp;
  let ruleIds: Record<string, string>;

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    const db = app.container.db;
    await insertStaff(db, 'zhangsan', '张三');
    await insertStaff(db, 'lisi', '李四');
    const added = sh('2025-03-01T10:00:00');
    const customer = async (id: string, seed: Partial<Parameters<typeof insertCustomer>[1]> = {}, follower: string | null = 'zhangsan', status = 'active') => {
      await insertCustomer(db, { externalUserId: id, name: `客户${id}`, firstAddedAt: added, ...seed });
      if (follower) await insertRelation(db, follower, id, seed.firstAddedAt ?? added, status);
    };
    for (let i = 1; i <= 12; i++) await customer(`wm_c${String(i).padStart(2, '0')}`, i % 3 === 0 ? { name: 'ab' } : {}, i % 2 ? 'zhangsan' : 'lisi');
    await customer('wm_o1', { isOptedOut: true });
    await customer('wm_o2', { isOptedOut: true, name: 'o2' });
    await customer('wm_n1', {}, null);
    await customer('wm_n2', { isOptedOut: true }, null);
    await customer('wm_n3', {}, 'lisi', 'deleted');
    await customer('wm_ch1', { activity: 'churned' });
    await customer('wm_ch2', { activity: 'churned', isOptedOut: true });
    // A birthday on 国庆: the birthday rule (300) takes the day's slot before the holiday rule (200).
    await customer('wm_b1', { birthday: { calendar: 'solar', month: 10, day: 1 } });
    // A year since being added, and a hundred days: the anniversary rule (150) comes after the holiday rule.
    await customer('wm_a1', { firstAddedAt: sh('2025-10-01T12:00:00') });
    await customer('wm_a2', { firstAddedAt: sh('2026-06-23T12:00:00') });
    for (const id of ['wm_x1', 'wm_q1', 'wm_q2', 'wm_k1']) await customer(id);

    const rules = (await api(app, 'GET', '/api/v1/care-rules')).body.items as { id: string; seedKey: string }[];
    ruleIds = Object.fromEntries(rules.map((r) => [r.seedKey, r.id]));
    const m = app.container.scheduling;
    const row = (d: Partial<NewDelivery> & Pick<NewDelivery, 'source' | 'externalUserId' | 'occasion'>): NewDelivery => ({
      kind: 'care',
      channel: 'mass_task',
      priority: 100,
      senderUserid: 'zhangsan',
      text: 'x',
      attachments: [],
      localDate: NATIONAL_DAY,
      notBefore: zonedTimeToUtc(NATIONAL_DAY, '09:00', TZ),
      expiresAt: zonedTimeToUtc('2026-10-02', '00:00', TZ),
      ...d,
    });
    // A broadcast on 国庆 holds wm_x1's slot of the day; the day's run already planned wm_k1's greeting.
    await m.ledger.planMany([row({ source: 'broadcast:test', kind: 'broadcast', externalUserId: 'wm_x1', occasion: 'broadcast' })]);
    await m.ledger.planMany([row({ source: `care:${ruleIds.holidays}`, ruleId: ruleIds.holidays, externalUserId: 'wm_k1', occasion: occasionKey({ kind: 'holiday', holidayKey: 'national-day', year: 2026 }) })]);
    // October's WeCom quota (31 a month): full for wm_q1, one left for wm_q2.
    for (const [id, n] of [['wm_q1', 31], ['wm_q2', 30]] as const) {
      for (let k = 1; k <= n; k++) await db.query("INSERT INTO send_slots (external_user_id, scope, period, n, delivery_id, created_at) VALUES (?, 'wecom_mass', '2026-10', ?, 0, 0)", [id, k]);
    }
  });
  afterAll(() => app?.close());

  /** The counted calendar and the reference, over a planner whose pages hold `pageSize` customers. */
  const calendars = (pageSize: number) => {
    const c = app.container;
    const planner = new CarePlanner(c.repos.scan, (v) => c.repos.tags.liveTagsNamed(v), engine, { tz: TZ, pageSize, senderPolicy: 'latest' }, silentLogger);
    const settings = c.scheduling.calendar.describeSettings();
    const make = (count: boolean) => new CareCalendarService(c.repos.careRules, planner, c.repos.deliveries, c.repos.sendSlots, settings, clock, c.repos.scan, count);
    return { counted: make(true), reference: make(false) };
  };

  /** Every page of a rule's customers on a day, as the console asks for them. */
  const listing = async (cal: CareCalendarService, date: string, ruleId: string, pageSize: number) => {
    const pages: unknown[] = [];
    for (let page = 1; ; page++) {
      const got = await cal.customers({ date, ruleId, page, pageSize });
      pages.push({ total: got.total, items: got.items });
      if (got.items.length < pageSize) return pages;
    }
  };

  const expectSame = async () => {
    for (const pageSize of [3, 5000]) {
      const { counted, reference } = calendars(pageSize);
      const want = await reference.days({ from: FROM, days: DAYS });
      expect(await counted.days({ from: FROM, days: DAYS })).toEqual(want);
      for (const rule of want.rules) {
        expect(await counted.days({ from: FROM, days: DAYS, ruleId: rule.id })).toEqual(await reference.days({ from: FROM, days: DAYS, ruleId: rule.id }));
        for (const date of ['2026-09-25', NATIONAL_DAY]) {
          if (!want.days.find((d) => d.date === date)?.rules.some((l) => l.ruleId === rule.id)) continue;
          // Pages of 4 across planner pages of 3 (a page spans two of them), and of 7.
          for (const size of pageSize === 3 ? [4, 7] : [7]) expect(await listing(counted, date, rule.id, size)).toEqual(await listing(reference, date, rule.id, size));
        }
      }
    }
    return calendars(5000).counted.days({ from: FROM, days: DAYS });
  };
  const lineOf = (days: { days: { date: string; rules: Line[] }[] }, date: string, ruleId: string) => days.days.find((d) => d.date === date)?.rules.find((l) => l.ruleId === ruleId);
  const patch = async (id: string, body: Record<string, unknown>) => expect((await api(app, 'PATCH', `/api/v1/care-rules/${id}`, body)).status).toBe(200);
  // Each case starts from the seeded holiday rule.
  beforeEach(() => patch(ruleIds.holidays, { holdoutPercent: 0, audience: null, channel: 'mass_task', template: '{{holiday}}快乐！感谢一直以来的支持。—— {{staff}}' }));

  it('counts a holiday as the planner decides it, customer by customer', async () => {
    const got = await expectSame();
    // The corp meets every case on 国庆 (the test is not comparing two empty days).
    expect(lineOf(got, NATIONAL_DAY, ruleIds.holidays)).toEqual(
      expect.objectContaining({ already: 1, optedOut: 4, skipped: { no_sender: 2, daily_cap: 2, wecom_quota: 1 }, planned: 16 }),
    );
    expect(lineOf(got, NATIONAL_DAY, ruleIds.anniversary)).toEqual(expect.objectContaining({ planned: 0, skipped: { daily_cap: 2 } }));
    expect(lineOf(got, NATIONAL_DAY, ruleIds.birthday)).toEqual(expect.objectContaining({ planned: 1 }));
  });

  it('with a holdout, an audience, staff reminders and WeChat-KF', async () => {
    await patch(ruleIds.holidays, { holdoutPercent: 30 });
    const held = await expectSame();
    expect(lineOf(held, NATIONAL_DAY, ruleIds.holidays)?.skipped.holdout).toBeGreaterThan(0);
    await patch(ruleIds.holidays, { audience: 'NOT activity:churned' });
    await expectSame();
    await patch(ruleIds.holidays, { channel: 'staff_reminder' });
    const staff = await expectSame();
    expect(lineOf(staff, NATIONAL_DAY, ruleIds.holidays)?.optedOut).toBe(0);
    await patch(ruleIds.holidays, { channel: 'kf' });
    const kf = await expectSame();
    expect(lineOf(kf, NATIONAL_DAY, ruleIds.holidays)?.skipped.no_sender).toBeUndefined();
  });

  it('with a template whose length depends on the name, and a second holiday rule on the same day', async () => {
    // 3,996 bytes before the name: the two-byte names fit, the others (客户wm_… is 12 bytes and more) are too long.
    await patch(ruleIds.holidays, { template: `${'好'.repeat(1329)}{{holiday}}{{name}}` });
    const long = await expectSame();
    expect(lineOf(long, NATIONAL_DAY, ruleIds.holidays)?.skipped.text_too_long).toBeGreaterThan(0);
    await patch(ruleIds.holidays, { template: '{{holiday}}快乐！—— {{staff}}' });
    const created = await api(app, 'POST', '/api/v1/care-rules', {
      name: '国庆VIP',
      occasion: { type: 'holiday', holidays: ['national-day'] },
      audience: 'NOT activity:churned',
      template: '{{name}}，国庆快乐',
      priority: 250,
    });
    expect(created.status).toBe(201);
    const two = await expectSame();
    expect(lineOf(two, NATIONAL_DAY, created.body.id as string)?.planned).toBeGreaterThan(0);
    expect(lineOf(two, NATIONAL_DAY, ruleIds.holidays)?.skipped.daily_cap).toBeGreaterThan(2);
  });
});
