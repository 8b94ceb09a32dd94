import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { DeliveryRepository } from '../../../src/persistence/repositories/delivery.repository.js';
import { SendSlotRepository } from '../../../src/persistence/repositories/send-slot.repository.js';
import { DeliveryLedger, ForecastLedger, type CapSettings, type PlanOutcome } from '../../../src/domain/delivery/delivery-ledger.js';
import type { DeliveryChannel, NewDelivery } from '../../../src/domain/delivery/delivery.types.js';
import { createRandom } from '../../unit/domain/audiences/audience.generator.js';

// DeliveryLedger.planMany plans a page with a few multi-row statements (docs/audiences.md §Planning a broadcast). It
// must decide exactly as planning the same messages one at a time does: the same outcomes, the same rows and the same
// cap slots, including several messages for one customer in priority order, duplicates inside the page and against
// the ledger, caps already partly used, and a concurrent planner that took a slot the page had read as free.

const DAY = '2026-03-10';
const AT = new Date('2026-03-10T02:00:00Z');

describe.each(testEngines())('the ledger plans a page as it plans one message at a time (%s)', (engine) => {
  let app: TestApp;
  let repo: DeliveryRepository;
  let sendSlots: SendSlotRepository;
  beforeAll(async () => {
    app = await startTestApp(engine);
    repo = new DeliveryRepository(app.container.db);
    sendSlots = new SendSlotRepository(app.container.db);
  });
  afterAll(async () => app?.close());

  const db = () => app.container.db;
  async function clear(): Promise<void> {
    await db().query('DELETE FROM send_slots');
    await db().query('DELETE FROM deliveries');
  }

  /** The ledger and the slots, without ids: what the outcome of planning is. */
  async function snapshot(): Promise<{ rows: string[]; slots: string[] }> {
    const rows = await db().query<Record<string, unknown>>(
      'SELECT source, external_user_id, occasion, kind, channel, priority, sender_userid, text, status, reason, run_id, local_date, not_before, expires_at FROM deliveries',
    );
    const slots = await db().query<Record<string, unknown>>(
      'SELECT s.external_user_id, s.scope, s.period, s.n, d.source, d.occasion FROM send_slots s LEFT JOIN deliveries d ON d.id = s.delivery_id',
    );
    const norm = (r: Record<string, unknown>) => JSON.stringify(Object.entries(r).map(([k, v]) => [k, v === null ? null : String(v)]));
    return { rows: rows.map(norm).sort(), slots: slots.map(norm).sort() };
  }

  const strip = (o: PlanOutcome) => (o.result === 'duplicate' ? o : { result: o.result, reason: o.result === 'skipped' ? o.reason : undefined });

  function message(p: Partial<NewDelivery> & { externalUserId: string; source: string }): NewDelivery {
    return {
      kind: 'care',
      occasion: `birthday:2026`,
      channel: 'mass_task',
      priority: 100,
      senderUserid: 'zhangsan',
      text: '生日快乐',
      attachments: [],
      localDate: DAY,
      notBefore: AT,
      expiresAt: new Date(AT.getTime() + 3_600_000),
      ...p,
    };
  }

  /** Random pages over few customers, so caps, duplicates and several messages per customer are common. */
  function scenario(seed: number): { before: NewDelivery[]; pages: NewDelivery[][]; caps: CapSettings } {
    const random = createRandom(seed);
    const int = (n: number) => Math.floor(random() * n);
    const pick = <T,>(xs: readonly T[]): T => xs[int(xs.length)];
    const customers = ['wmA', 'wmB', 'wmC', 'wmD', 'wmE'];
    const one = (): NewDelivery => {
      const channel = pick<DeliveryChannel>(['mass_task', 'mass_task', 'kf', 'staff_reminder']);
      return message({
        externalUserId: pick(customers),
        source: pick(['care:r1', 'care:r2', 'winback:w1', 'broadcast:b1']),
        occasion: pick(['birthday:2026', 'holiday:x:2026', 'step:1:2026-03-10']),
        channel,
        priority: pick([300, 200, 100, 50]),
        senderUserid: random() < 0.1 ? null : 'zhangsan',
        text: random() < 0.05 ? '长'.repeat(1500) : `消息${int(100)}`,
        skipReason: random() < 0.1 ? 'opted_out: 客户已退订 / customer opted out' : null,
        localDate: random() < 0.8 ? DAY : '2026-03-11',
      });
    };
    const caps: CapSettings = { perCustomerPerDay: 1 + int(2), massQuotaRule: pick(['one_per_day', 'seven_per_week', 'days_of_month'] as const) };
    const before = Array.from({ length: int(4) }, one);
    const pages = Array.from({ length: 1 + int(3) }, () => Array.from({ length: 1 + int(12) }, one));
    return { before, pages, caps };
  }

  async function run(s: ReturnType<typeof scenario>, mode: 'page' | 'single'): Promise<{ outcomes: unknown[]; state: Awaited<ReturnType<typeof snapshot>> }> {
    await clear();
    // Counts the one-at-a-time inserts, so the page path is seen to do the work (no fallback without a race).
    let single = 0;
    const counting = Object.create(repo) as DeliveryRepository;
    counting.insertPlanned = (...args) => (single++, repo.insertPlanned(...args));
    const ledger = new DeliveryLedger(counting, sendSlots, s.caps, () => AT, 'run-1');
    for (const d of s.before) await ledger.plan(d);
    single = 0;
    const outcomes: unknown[] = [];
    for (const page of s.pages) {
      if (mode === 'page') outcomes.push(...(await ledger.planMany(page)).map(strip));
      else for (const d of page) outcomes.push(strip(await ledger.plan(d)));
    }
    if (mode === 'page') expect(single).toBe(0);
    return { outcomes, state: await snapshot() };
  }

  it('gives the same outcomes, rows and slots for 60 random scenarios', async () => {
    let skipped = 0;
    let duplicates = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const s = scenario(seed);
      const single = await run(s, 'single');
      const page = await run(s, 'page');
      expect(page.outcomes, `seed ${seed}`).toEqual(single.outcomes);
      expect(page.state, `seed ${seed}`).toEqual(single.state);
      skipped += single.outcomes.filter((o) => (o as PlanOutcome).result === 'skipped').length;
      duplicates += single.outcomes.filter((o) => (o as PlanOutcome).result === 'duplicate').length;
    }
    // The scenarios must reach the interesting cases.
    expect(skipped).toBeGreaterThan(30);
    expect(duplicates).toBeGreaterThan(10);
  }, 120_000);

  it('a forecast (the care calendar) decides as the ledger does, writing nothing, for 60 random scenarios', async () => {
    for (let seed = 1; seed <= 60; seed++) {
      const s = scenario(seed);
      const real = await run(s, 'page');
      // The same ledger before the pages, then the forecast of the pages over it.
      await clear();
      const ledger = new DeliveryLedger(repo, sendSlots, s.caps, () => AT, 'run-1');
      for (const d of s.before) await ledger.plan(d);
      const before = await snapshot();
      const forecast = new ForecastLedger(repo, sendSlots, s.caps);
      const outcomes: unknown[] = [];
      for (const page of s.pages) outcomes.push(...(await forecast.planMany(page)).map(strip));
      expect(outcomes, `seed ${seed}`).toEqual(real.outcomes);
      expect(await snapshot(), `seed ${seed}`).toEqual(before);
    }
  }, 120_000);

  it('a customer with several messages: the first in the page takes the day, the mass quota refusal gives the day back', async () => {
    await clear();
    const ledger = new DeliveryLedger(repo, sendSlots, { perCustomerPerDay: 1, massQuotaRule: 'one_per_day' }, () => AT);
    // Yesterday's quota is irrelevant; today's is already used by an earlier mass message of another source.
    await ledger.plan(message({ externalUserId: 'wmQ', source: 'broadcast:b0', occasion: 'broadcast', localDate: DAY }));
    await db().query("DELETE FROM send_slots WHERE scope = 'daily'");
    const out = await ledger.planMany([
      message({ externalUserId: 'wmQ', source: 'care:r1', priority: 300 }),
      message({ externalUserId: 'wmQ', source: 'care:r2', priority: 200, channel: 'kf' }),
      message({ externalUserId: 'wmQ', source: 'care:r2', priority: 200, channel: 'kf' }),
      message({ externalUserId: 'wmR', source: 'care:r1', priority: 300 }),
    ]);
    expect(out.map((o) => [o.result, o.result === 'skipped' ? o.reason.split(':')[0] : null])).toEqual([
      ['skipped', 'wecom_quota'],
      ['planned', null],
      ['duplicate', null],
      ['planned', null],
    ]);
    const slots = await db().query<{ external_user_id: string; scope: string; n: number | string }>(
      'SELECT external_user_id, scope, n FROM send_slots ORDER BY external_user_id, scope',
    );
    expect(slots.map((s) => `${s.external_user_id}/${s.scope}/${Number(s.n)}`)).toEqual(['wmQ/daily/1', 'wmQ/wecom_mass/1', 'wmR/daily/1', 'wmR/wecom_mass/1']);
  });

  it('when another planner took a slot the page read as free, the page is planned again one message at a time', async () => {
    await clear();
    const caps: CapSettings = { perCustomerPerDay: 2, massQuotaRule: 'one_per_day' };
    const ledger = new DeliveryLedger(repo, sendSlots, caps, () => AT);
    // A repository whose slot read is stale: it does not see the slot another planner committed.
    const stale = Object.create(sendSlots) as SendSlotRepository;
    stale.slotsTaken = async () => new Map();
    const racing = new DeliveryLedger(repo, stale, caps, () => AT);
    await ledger.plan(message({ externalUserId: 'wmS', source: 'care:other', occasion: 'x' }));
    const out = await racing.planMany([message({ externalUserId: 'wmS', source: 'care:r1' }), message({ externalUserId: 'wmT', source: 'care:r1' })]);
    expect(out.map((o) => (o.result === 'skipped' ? o.reason.split(':')[0] : o.result))).toEqual(['wecom_quota', 'planned']);
    const [{ n }] = await db().query<{ n: number | string }>("SELECT COUNT(*) AS n FROM send_slots WHERE external_user_id = 'wmS'");
    expect(Number(n)).toBe(2);
    const [{ n: rows }] = await db().query<{ n: number | string }>('SELECT COUNT(*) AS n FROM deliveries');
    expect(Number(rows)).toBe(3);
  });

  it('slots read ahead: the page reads none in its transaction, and a slot another planner took after the read sends the page one message at a time', async () => {
    await clear();
    const caps: CapSettings = { perCustomerPerDay: 1, massQuotaRule: 'seven_per_week' };
    // Counts the slot reads made in a transaction (the page's) and the one-at-a-time inserts (the fallback).
    let inTx = 0;
    const counting = Object.create(sendSlots) as SendSlotRepository;
    counting.slotsTaken = (customers, scope, period, em) => {
      if (em) inTx++;
      return sendSlots.slotsTaken(customers, scope, period, em);
    };
    let single = 0;
    const singles = Object.create(repo) as DeliveryRepository;
    singles.insertPlanned = (...args) => (single++, repo.insertPlanned(...args));
    const ledger = new DeliveryLedger(singles, counting, caps, () => AT);
    const other = new DeliveryLedger(repo, sendSlots, caps, () => AT);

    // Read ahead and nothing else happens: the page plans from it, with no slot read in its transaction.
    const first = ['wmA1', 'wmA2'].map((externalUserId) => message({ externalUserId, source: 'broadcast:b20', occasion: 'broadcast' }));
    const out1 = await ledger.planMany(first, { newKeys: true, preload: await ledger.preload(first) });
    expect(out1.map((o) => o.result)).toEqual(['planned', 'planned']);
    expect([inTx, single]).toEqual([0, 0]);

    // Read ahead, then a care message takes wmB1's one slot of the day before the page is written: the page's slot
    // insert meets the unique key and the page is planned again one message at a time, where the slot counts.
    const second = ['wmB1', 'wmB2'].map((externalUserId) => message({ externalUserId, source: 'broadcast:b20', occasion: 'broadcast' }));
    const preload = await ledger.preload(second);
    expect((await other.plan(message({ externalUserId: 'wmB1', source: 'care:r1', priority: 300 }))).result).toBe('planned');
    const out2 = await ledger.planMany(second, { newKeys: true, preload });
    expect(out2.map((o) => (o.result === 'skipped' ? o.reason.split(':')[0] : o.result))).toEqual(['daily_cap', 'planned']);
    expect(single).toBe(2);
    const slots = await db().query<{ external_user_id: string; scope: string; source: string }>(
      "SELECT s.external_user_id, s.scope, d.source FROM send_slots s JOIN deliveries d ON d.id = s.delivery_id WHERE s.external_user_id LIKE 'wmB%' ORDER BY s.external_user_id, s.scope",
    );
    expect(slots.map((x) => `${x.external_user_id}/${x.scope}/${x.source}`)).toEqual([
      'wmB1/daily/care:r1',
      'wmB1/wecom_mass/care:r1',
      'wmB2/daily/broadcast:b20',
      'wmB2/wecom_mass/broadcast:b20',
    ]);
  });

  it('slots read ahead are planned from once: handed in again, the page reads the slots anew', async () => {
    await clear();
    const ledger = new DeliveryLedger(repo, sendSlots, { perCustomerPerDay: 1, massQuotaRule: 'seven_per_week' }, () => AT);
    const page = [message({ externalUserId: 'wmC1', source: 'broadcast:b21', occasion: 'broadcast' })];
    const preload = await ledger.preload(page);
    expect((await ledger.planMany(page, { newKeys: true, preload })).map((o) => o.result)).toEqual(['planned']);
    // As a transaction retried after a deadlock would: the rows it wrote are gone, and the same preload comes again.
    // Its book already holds the day's slot this page claimed; planned from it, the customer would be refused.
    await clear();
    expect((await ledger.planMany(page, { newKeys: true, preload })).map((o) => o.result)).toEqual(['planned']);
    const [{ n }] = await db().query<{ n: number | string }>("SELECT COUNT(*) AS n FROM send_slots WHERE external_user_id = 'wmC1'");
    expect(Number(n)).toBe(2);
  });

  it('a page said to hold only new keys, one of which another planner wrote meanwhile: that one is a duplicate, the rest planned once', async () => {
    await clear();
    const caps: CapSettings = { perCustomerPerDay: 2, massQuotaRule: 'seven_per_week' };
    const ledger = new DeliveryLedger(repo, sendSlots, caps, () => AT);
    // Another instance, planning the same broadcast on a stale claim, has written wmV's row.
    const first = await ledger.plan(message({ externalUserId: 'wmV', source: 'broadcast:b9' }));
    expect(first.result).toBe('planned');
    const page = ['wmU', 'wmV', 'wmW'].map((externalUserId) => message({ externalUserId, source: 'broadcast:b9' }));
    const out = await ledger.planMany(page, { newKeys: true });
    expect(out.map((o) => o.result)).toEqual(['planned', 'duplicate', 'planned']);
    const rows = await db().query<{ id: number | string; external_user_id: string }>("SELECT id, external_user_id FROM deliveries WHERE source = 'broadcast:b9' ORDER BY external_user_id");
    expect(rows.map((r) => r.external_user_id)).toEqual(['wmU', 'wmV', 'wmW']);
    // Each outcome's id is its own row's, and each slot is held by its customer's row.
    const idOf = new Map(rows.map((r) => [r.external_user_id, Number(r.id)]));
    expect(out.map((o) => (o.result === 'duplicate' ? null : o.id))).toEqual([idOf.get('wmU'), null, idOf.get('wmW')]);
    const slots = await db().query<{ external_user_id: string; holder: string }>(
      'SELECT s.external_user_id, d.external_user_id AS holder FROM send_slots s JOIN deliveries d ON d.id = s.delivery_id',
    );
    expect(slots).toHaveLength(6);
    for (const x of slots) expect(x.holder).toBe(x.external_user_id);
  });

  it('with new keys, a page of many rows over several statements answers each row its own id', async () => {
    await clear();
    // Counts the key reads: none, neither before the inserts (the keys are new) nor after them (the ids come from
    // the inserts: RETURNING on SQLite, the first id on MySQL).
    let keyReads = 0;
    const counting = Object.create(repo) as DeliveryRepository;
    counting.idsOfKeys = (...args) => (keyReads++, repo.idsOfKeys(...args));
    const ledger = new DeliveryLedger(counting, sendSlots, { perCustomerPerDay: 1, massQuotaRule: 'seven_per_week' }, () => AT);
    // More rows than one insert statement holds on either engine (MySQL 1,000, SQLite 500).
    const page = Array.from({ length: 2_345 }, (_, i) => message({ externalUserId: `wmN${String(i).padStart(5, '0')}`, source: 'broadcast:b10' }));
    const out = await ledger.planMany(page, { newKeys: true });
    expect(keyReads).toBe(0);
    expect(out.every((o) => o.result === 'planned')).toBe(true);
    const rows = await db().query<{ id: number | string; external_user_id: string }>("SELECT id, external_user_id FROM deliveries WHERE source = 'broadcast:b10'");
    const idOf = new Map(rows.map((r) => [r.external_user_id, Number(r.id)]));
    expect(out.map((o) => (o.result === 'planned' ? o.id : null))).toEqual(page.map((d) => idOf.get(d.externalUserId)));
    const [{ wrong }] = await db().query<{ wrong: number | string }>(
      'SELECT COUNT(*) AS wrong FROM send_slots s JOIN deliveries d ON d.id = s.delivery_id WHERE d.external_user_id <> s.external_user_id',
    );
    expect(Number(wrong)).toBe(0);
  });
});
