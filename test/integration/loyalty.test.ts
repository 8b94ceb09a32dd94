import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { buildCustomer } from '../factories/customers.js';
import { FixedClock } from '../../src/shared/clock.js';
import { useMigratedWithout } from '../helpers/migrated-without.js';
import { Loyalty1795000000036 } from '../../migrations/0036-loyalty.js';

// docs/loyalty.md: the points ledger (orders, birthday month, manual, redemption, FIFO expiry, erasure), tiers (up at
// once with a congratulation in the ledger, down after the grace), audiences, and the balance = ledger invariant.

const TIERS = JSON.stringify([
  { name: '普通', threshold: 0, benefits: '积分累计' },
  { name: '银卡', threshold: 100, benefits: '98 折' },
  { name: '金卡', threshold: 500, benefits: '95 折，专属客服' },
]);

describe.each(testEngines())('loyalty programme (%s)', (engine) => {
  let app: TestApp;
  // Mid-March 2026, Shanghai.
  const clock = new FixedClock('2026-03-10T02:00:00Z');
  let staffToken = '';

  const importOrders = async (orders: { orderNo: string; externalUserId: string; amount: string | number; orderedAt?: string }[]) => {
    const res = await api(app, 'POST', '/api/v1/orders/import', { orders: orders.map((o) => ({ orderedAt: '2026-03-09 10:00', ...o })) });
    expect(res.status).toBe(200);
    return res.body as { imported: number; updated: number; unchanged: number; failed: number };
  };
  const summary = async (id: string, token?: string) => (await api(app, 'GET', `/api/v1/customers/${id}/loyalty`, undefined, token)).body;
  const count = async (audience: string) => (await api(app, 'POST', '/api/v1/audiences/count', { audience })).body.count as number;
  const expectInvariant = async () => {
    const rows = await app.container.loyalty.balancesAgainstLedger();
    for (const r of rows) {
      expect(r.balance, r.id).toBe(r.sum);
      expect(r.balance, r.id).toBeGreaterThanOrEqual(0);
    }
  };
  let n = 0;
  const rid = () => `req-${engine}-${++n}-${Date.now()}`;

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock }, env: { LOYALTY_TIERS: TIERS, LOYALTY_DOWNGRADE_GRACE_DAYS: '30' } });
    for (const id of ['wmLoyA', 'wmLoyB', 'wmLoyC']) await buildCustomer(app.container, { externalUserId: id, owners: ['zhangsan'] });
    await buildCustomer(app.container, { externalUserId: 'wmLoyLisi', owners: ['lisi'] });
    // wmLoyB's birthday is in March: orders placed in March earn double.
    await app.container.archive.repos.customers.applyEdits('wmLoyB', { birthday: { calendar: 'solar', month: 3, day: 20, year: null, leapMonth: false } }, clock.now().getTime());
    staffToken = (await app.container.tokens.create({ role: 'staff', userid: 'zhangsan' })).token;
  });
  afterAll(() => app?.close());

  it('credits imported orders once, doubles the birthday month, and keeps the balance equal to the ledger', async () => {
    const file = [
      { orderNo: 'L-1', externalUserId: 'wmLoyA', amount: '60.99' },
      { orderNo: 'L-2', externalUserId: 'wmLoyB', amount: '30' },
      { orderNo: 'L-3', externalUserId: 'wmLoyB', amount: '30', orderedAt: '2026-02-20 10:00' },
    ];
    expect(await importOrders(file)).toMatchObject({ imported: 3 });
    expect((await summary('wmLoyA')).balance).toBe(60);
    // 30 × 2 in March, 30 in February.
    const b = await summary('wmLoyB');
    expect(b.balance).toBe(90);
    expect(b.recent.map((e: { words: string }) => e.words).sort()).toEqual(['生日月订单（多倍积分）', '订单消费']);
    // A re-import, and the same file again: nothing twice.
    expect(await importOrders(file)).toMatchObject({ imported: 0, unchanged: 3 });
    expect((await summary('wmLoyA')).balance).toBe(60);
    expect((await summary('wmLoyB')).balance).toBe(90);
    await expectInvariant();
  });

  it('redeems only with confirmation, once per request id, never below zero, with a zh-CN refusal', async () => {
    const path = '/api/v1/customers/wmLoyA/loyalty/redeem';
    expect((await api(app, 'POST', path, { points: 10, requestId: rid() }, staffToken)).status).toBe(400);
    const id = rid();
    const first = await api(app, 'POST', path, { points: 10, note: '兑换咖啡券', requestId: id, confirm: true }, staffToken);
    expect(first.status).toBe(201);
    expect(first.body.balance).toBe(50);
    const again = await api(app, 'POST', path, { points: 10, note: '兑换咖啡券', requestId: id, confirm: true }, staffToken);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ replayed: true, balance: 50 });
    const over = await api(app, 'POST', path, { points: 51, requestId: rid(), confirm: true }, staffToken);
    expect(over.status).toBe(409);
    expect(over.body.error?.message ?? over.body.message).toMatch(/积分不足：当前可用 50 积分，本次需要 51 积分/);
    expect((await summary('wmLoyA')).balance).toBe(50);
    // Another member's customer does not exist for this staff member.
    expect((await api(app, 'POST', '/api/v1/customers/wmLoyLisi/loyalty/redeem', { points: 1, requestId: rid(), confirm: true }, staffToken)).status).toBe(404);
    expect((await api(app, 'GET', '/api/v1/customers/wmLoyLisi/loyalty', undefined, staffToken)).status).toBe(404);
    await expectInvariant();
  });

  it('lets operators give and deduct by hand, recorded in the audit log; staff may not', async () => {
    const path = '/api/v1/customers/wmLoyC/loyalty/adjust';
    expect((await api(app, 'POST', path, { points: 5, note: '补偿', requestId: rid() }, staffToken)).status).toBe(403);
    const give = await api(app, 'POST', path, { points: 40, note: '活动补偿', requestId: rid() });
    expect(give.status).toBe(201);
    const take = await api(app, 'POST', path, { points: -45, note: '误发', requestId: rid() });
    expect(take.status).toBe(409);
    expect((await api(app, 'POST', path, { points: -15, note: '误发扣回', requestId: rid() })).status).toBe(201);
    const s = await summary('wmLoyC');
    expect(s.balance).toBe(25);
    expect(s.recent.map((e: { words: string }) => e.words)).toEqual(['积分调整扣减', '客服赠送积分']);
    const audit = await api(app, 'GET', '/api/v1/audit-log?action=loyalty.adjust');
    expect(audit.status).toBe(200);
    expect(audit.body.items.length).toBe(2);
    expect(audit.body.items[0]).toMatchObject({ targetId: 'wmLoyC', after: { balance: 25, points: -15 }, before: { balance: 40 } });
    await expectInvariant();
  });

  it('moves up a tier at once with one congratulation in the ledger, and down only after the grace period', async () => {
    expect((await summary('wmLoyC')).tier.name).toBe('普通');
    // wmLoyC: 25 + 80 → 105 ≥ 100: 银卡.
    await importOrders([{ orderNo: 'L-C1', externalUserId: 'wmLoyC', amount: 80 }]);
    const s = await summary('wmLoyC');
    expect(s.tier.name).toBe('银卡');
    expect(s.next).toMatchObject({ name: '金卡', missing: 395 });
    const rows = await app.container.db.query<{ source: string; occasion: string; status: string; text: string; channel: string }>(
      "SELECT source, occasion, status, text, channel FROM deliveries WHERE external_user_id = 'wmLoyC'",
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ source: 'loyalty:tier', occasion: 'tier:1:1', channel: 'mass_task', status: 'planned' });
    expect(rows[0].text).toContain('银卡');
    // Evaluating again changes nothing and plans nothing.
    await app.container.loyalty.evaluateAll();
    expect(await app.container.db.query("SELECT id FROM deliveries WHERE external_user_id = 'wmLoyC'")).toHaveLength(1);

    // Audiences: tier by name (a customer without an account is 普通), points comparisons.
    expect(await count('tier:银卡')).toBe(1);
    expect(await count('tier:普通')).toBe(3);
    expect(await count('tier:钻石')).toBe(0);
    expect(await count('points>=100')).toBe(1);
    expect(await count('points>50')).toBe(2);
    // wmLoyA has exactly 50; wmLoyLisi, without an account, 0.
    expect(await count('points<50')).toBe(1);
    expect(await count('points<=50')).toBe(2);
    expect(await count('tier:银卡 AND points>=100 AND NOT tier:金卡')).toBe(1);

    // Below the threshold: still 银卡 through the grace period, 普通 after it.
    expect((await api(app, 'POST', '/api/v1/customers/wmLoyC/loyalty/redeem', { points: 10, requestId: rid(), confirm: true }, staffToken)).status).toBe(201);
    expect((await summary('wmLoyC')).tier.name).toBe('银卡');
    clock.advance(29 * 86_400_000);
    await app.container.loyalty.evaluateAll();
    expect((await summary('wmLoyC')).tier.name).toBe('银卡');
    clock.advance(2 * 86_400_000);
    expect(await app.container.loyalty.evaluateAll()).toMatchObject({ downgraded: 1 });
    expect((await summary('wmLoyC')).tier.name).toBe('普通');
    // A downgrade sends nothing.
    expect(await app.container.db.query("SELECT id FROM deliveries WHERE external_user_id = 'wmLoyC'")).toHaveLength(1);
    await expectInvariant();
  });

  it('expires the oldest points first, counting what was used against them, at the end of the following year', async () => {
    // wmLoyA: 60 earned in March 2026 (expire 2028-01-01), 10 redeemed. 25 more earned in 2027.
    clock.set('2027-06-01T02:00:00Z');
    await importOrders([{ orderNo: 'L-A2', externalUserId: 'wmLoyA', amount: 25, orderedAt: '2027-05-30 10:00' }]);
    expect((await summary('wmLoyA')).balance).toBe(75);
    expect((await summary('wmLoyA')).expiring).toMatchObject({ points: 50, at: '2027-12-31T16:00:00.000Z' });
    clock.set('2027-12-31T15:59:00Z');
    expect(await app.container.loyalty.expireAll(clock.now())).toMatchObject({ points: 0 });
    // Shanghai midnight: 60 − 10 used = 50 expire; the 25 of 2027 stay.
    clock.set('2028-01-01T18:40:00Z');
    const res = await app.container.scheduling.jobs.get('loyalty').run({
      at: clock.now(),
      clock,
      occasionKey: '2028-01-02',
      isDryRun: false,
      runId: null,
      log: app.log,
      report: () => undefined,
    });
    // wmLoyA 50; wmLoyB all 90 of 2026; wmLoyC 120 earned in 2026 less 25 used: 95.
    expect(res).toMatchObject({ expiredCustomers: 3, expiredPoints: 235 });
    const a = await summary('wmLoyA');
    expect(a.balance).toBe(25);
    expect(a.recent[0]).toMatchObject({ words: '积分过期', points: -50 });
    // Run again: nothing more.
    expect(await app.container.loyalty.expireAll(clock.now())).toMatchObject({ points: 0 });
    await expectInvariant();
  });

  it('keeps only non-personal stubs of an erased customer\'s ledger, and the link stops working', async () => {
    const link = (await api(app, 'POST', '/api/v1/customers/wmLoyB/loyalty/link')).body as { url: string };
    expect((await fetch(link.url)).status).toBe(200);
    expect((await api(app, 'POST', '/api/v1/customers/wmLoyB/erase')).status).toBe(200);
    const rows = await app.container.db.query<{ external_user_id: string; reference: string; note: string | null; points: number }>(
      "SELECT external_user_id, reference, note, points FROM loyalty_points WHERE external_user_id LIKE 'erased:%'",
    );
    // Two orders and the expiry.
    expect(rows.length).toBe(3);
    for (const r of rows) {
      expect(r.reference).toMatch(/^erased:\d+$/);
      expect(r.note).toBeNull();
    }
    expect(await app.container.db.query("SELECT * FROM loyalty_points WHERE external_user_id = 'wmLoyB' OR reference IN ('order:L-2', 'order:L-3')")).toHaveLength(0);
    expect(await app.container.db.query("SELECT * FROM loyalty_accounts WHERE external_user_id = 'wmLoyB'")).toHaveLength(0);
    const page = await fetch(link.url);
    expect(page.status).toBe(404);
    expect(await page.text()).toContain('未找到积分信息');
  });

  it('records the congratulation of an opted-out customer as skipped, and sends it to nobody', async () => {
    await buildCustomer(app.container, { externalUserId: 'wmLoyOut', owners: ['zhangsan'] });
    expect((await api(app, 'PATCH', '/api/v1/customers/wmLoyOut', { optedOut: true })).status).toBe(200);
    await importOrders([{ orderNo: 'L-OUT', externalUserId: 'wmLoyOut', amount: 150 }]);
    expect((await summary('wmLoyOut')).tier.name).toBe('银卡');
    const rows = await app.container.db.query<{ status: string; reason: string | null }>("SELECT status, reason FROM deliveries WHERE external_user_id = 'wmLoyOut'");
    expect(rows).toHaveLength(1);
    expect(rows[0].status).toBe('skipped');
    expect(rows[0].reason).toMatch(/^opted_out/);
  });
});

describe.each(testEngines())('migration 0036 loyalty undone and redone (%s)', (engine) => {
  const m = useMigratedWithout(engine, [Loyalty1795000000036]);

  it('creates the three tables, drops them, and creates them again', async () => {
    const tables = async () => {
      const q = m.ds.createQueryRunner();
      try {
        return await Promise.all(['loyalty_points', 'loyalty_accounts', 'loyalty_tiers'].map((t) => q.hasTable(t)));
      } finally {
        await q.release();
      }
    };
    expect(await tables()).toEqual([false, false, false]);
    m.ds.migrations.push(new Loyalty1795000000036());
    expect((await m.ds.runMigrations({ transaction: 'each' })).map((x) => x.name)).toEqual(['Loyalty1795000000036']);
    expect(await tables()).toEqual([true, true, true]);
    await m.ds.undoLastMigration({ transaction: 'each' });
    expect(await tables()).toEqual([false, false, false]);
    expect((await m.ds.runMigrations({ transaction: 'each' })).map((x) => x.name)).toEqual(['Loyalty1795000000036']);
    expect(await tables()).toEqual([true, true, true]);
  });
});
