import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { FixedClock } from '../../../src/shared/clock.js';
import { compileAudience } from '../../../src/domain/audiences/audience.compiler.js';
import { parseAudience } from '../../../src/domain/audiences/index.js';
import { addSandboxCustomer, ledgerOf } from '../../fixtures/scheduling.js';

// 需求预测 / 复购提醒 end to end over HTTP (docs/repurchase.md): an order import predicts, the archive and the sidebar
// show it, audiences `due_in` / `overdue` count it, the nightly job keeps it, and a 复购提醒 rule plans one ledger row
// `daysBefore` days ahead of the predicted date, never a second for the same cycle.

const sh = (local: string) => new Date(`${local}+08:00`);

describe.each(testEngines())('repurchase prediction on %s', (engine) => {
  const clock = new FixedClock(sh('2026-12-06T10:00:00'));
  let app: TestApp;
  const id: Record<'a' | 'b' | 'c' | 'd', string> = { a: '', b: '', c: '', d: '' };

  const importOrders = async (orders: { orderNo: string; externalUserId: string; orderedAt: string }[]) => {
    const res = await api(app, 'POST', '/api/v1/orders/import', { orders: orders.map((o) => ({ amount: '99.00', ...o })) });
    expect(res.status).toBe(200);
    return res.body as { imported: number; updated: number; failed: number };
  };
  const count = async (audience: string) => {
    const res = await api(app, 'POST', '/api/v1/audiences/count', { audience });
    expect(res.status).toBe(200);
    return res.body.count as number;
  };
  const archive = async (ext: string) => (await api(app, 'GET', `/api/v1/customers/${ext}`)).body;
  const repurchaseRows = async (ext: string) => (await ledgerOf(app.container.db, ext)).filter((r) => r.occasion.startsWith('repurchase:'));

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    id.a = await addSandboxCustomer(app.container, 'zhangsan', { name: '月度客户' });
    id.b = await addSandboxCustomer(app.container, 'zhangsan', { name: '旬度客户' });
    id.c = await addSandboxCustomer(app.container, 'zhangsan', { name: '只买一次' });
    id.d = await addSandboxCustomer(app.container, 'zhangsan', { name: '久未回购' });
    const at = (ext: string, no: string, day: string) => ({ orderNo: no, externalUserId: ext, orderedAt: `${day} 10:00` });
    expect(
      await importOrders([
        // A: every 30 days, last 11-26. B: every 10 days, last 11-26. C: one order. D: 30 days apart, last 10-01.
        at(id.a, 'A1', '2026-08-28'),
        at(id.a, 'A2', '2026-09-27'),
        at(id.a, 'A3', '2026-10-27'),
        at(id.a, 'A4', '2026-11-26'),
        at(id.b, 'B1', '2026-11-06'),
        at(id.b, 'B2', '2026-11-16'),
        at(id.b, 'B3', '2026-11-26'),
        at(id.c, 'C1', '2026-11-01'),
        at(id.d, 'D1', '2026-09-01'),
        at(id.d, 'D2', '2026-10-01'),
      ]),
    ).toMatchObject({ imported: 10, failed: 0 });
  });

  it('predicts from the customers’ own intervals after an import before any night, and shrinks in the nightly job', async () => {
    // No typical interval yet: B's own median, 10 days after 11-26.
    expect((await archive(id.b)).repurchase).toMatchObject({ dueOn: '2026-12-06', daysUntil: 0, intervalDays: 10, typicalDays: null });
    expect((await app.container.scheduling.scheduler.runNow('scoring')).status).toBe('done');
  });
  afterAll(() => app?.close());

  it('predicts shrunk toward the typical interval after the night, and the archive shows it', async () => {
    // Votes (own medians): A 30, B 10, D 30 → typical 30; the weight is 0.5. A: (3·30 + 0.5·30)/3.5 = 30 → 12-26.
    // B: (2·10 + 0.5·30)/2.5 = 14 → 12-10. D: (1·30 + 0.5·30)/1.5 = 30 → 10-31, overdue.
    expect((await archive(id.a)).repurchase).toEqual({
      dueOn: '2026-12-26',
      daysUntil: 20,
      intervalDays: 30,
      ownDays: 30,
      typicalDays: 30,
      segment: null,
      orderDays: 4,
      lastOrderOn: '2026-11-26',
    });
    expect((await archive(id.b)).repurchase).toMatchObject({ dueOn: '2026-12-10', daysUntil: 4, intervalDays: 14, ownDays: 10, typicalDays: 30 });
    expect((await archive(id.d)).repurchase).toMatchObject({ dueOn: '2026-10-31', daysUntil: -36 });
    expect((await archive(id.c)).repurchase).toBeNull();
  });

  it('counts due_in and overdue audiences', async () => {
    expect(await count('due_in<=7d')).toBe(1);
    expect(await count('due_in<=30d')).toBe(2);
    expect(await count('overdue>=14d')).toBe(1);
    expect(await count('overdue>=37d')).toBe(0);
    expect(await count('NOT due_in>=0d AND NOT overdue>=1d')).toBe(1);
    const bad = await api(app, 'POST', '/api/v1/audiences/count', { audience: 'due_in<=7' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('天数');
  });

  it('reads the predictions through ix_repurchase_due, a range of dates', async () => {
    const plan = async (text: string): Promise<string> => {
      const c = compileAudience(parseAudience(text), { engine, today: '2026-12-06', timezone: 'Asia/Shanghai', now: clock.now().getTime() });
      const sql = `SELECT COUNT(*) AS n FROM customers c WHERE ${c.sql}`;
      const rows = await app.container.db.query<Record<string, unknown>>(engine === 'mysql' ? `EXPLAIN ${sql}` : `EXPLAIN QUERY PLAN ${sql}`, c.params);
      return JSON.stringify(rows);
    };
    expect(await plan('due_in<=7d')).toContain('ix_repurchase_due');
    expect(await plan('overdue>=14d')).toContain('ix_repurchase_due');
  });

  it('an import that moves an order re-predicts both customers, with the night’s typical interval', async () => {
    // D1 moves to C: D keeps one order (no prediction), C gets two.
    expect(await importOrders([{ orderNo: 'D1', externalUserId: id.c, orderedAt: '2026-09-01 10:00' }])).toMatchObject({ updated: 1 });
    expect((await archive(id.d)).repurchase).toBeNull();
    expect((await archive(id.c)).repurchase).toMatchObject({ lastOrderOn: '2026-11-01', orderDays: 2 });
    // And back, for the care test below.
    expect(await importOrders([{ orderNo: 'D1', externalUserId: id.d, orderedAt: '2026-09-01 10:00' }])).toMatchObject({ updated: 1 });
    expect((await archive(id.d)).repurchase).toMatchObject({ dueOn: '2026-10-31' });
  });

  it('plans 复购提醒 through the ledger three days before the predicted date, once per cycle', async () => {
    const created = await api(app, 'POST', '/api/v1/care-rules', {
      name: '复购提醒',
      occasion: { type: 'repurchase', daysBefore: 3 },
      template: '{{name}}，您常买的商品预计 {{days}} 天后（{{date}}）就要用完啦',
      priority: 110,
    });
    expect(created.status).toBe(201);
    const bad = await api(app, 'POST', '/api/v1/care-rules', { name: 'x', occasion: { type: 'repurchase', daysBefore: 90 }, template: 't' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('0–60');

    // 12-06: B is due 12-10, four days ahead: not yet.
    app.container.sandbox!.clearCalls();
    expect((await app.container.scheduling.scheduler.runNow('care')).status).toBe('done');
    expect(await repurchaseRows(id.b)).toHaveLength(0);

    // 12-07: three days ahead: one task, keyed by the cycle's last order.
    clock.set(sh('2026-12-07T10:00:00'));
    expect((await app.container.scheduling.scheduler.runNow('care')).status).toBe('done');
    const rows = await repurchaseRows(id.b);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ occasion: 'repurchase:2026-11-26', status: 'submitted', source: `care:${created.body.id}` });
    const tasks = app.container.sandbox!.calls('externalcontact/add_msg_template');
    expect(tasks.map((t) => (t.params.external_userid as string[])[0])).toEqual([id.b]);
    expect(JSON.stringify(tasks)).toContain('3 天后（2026-12-10）');
    // Neither A (due 12-26) nor D (overdue) is reminded.
    expect(await repurchaseRows(id.a)).toHaveLength(0);
    expect(await repurchaseRows(id.d)).toHaveLength(0);

    // The next days of the window (B is still due within three days, re-predicted overnight): nothing new for the same cycle.
    clock.set(sh('2026-12-08T10:00:00'));
    expect((await app.container.scheduling.scheduler.runNow('scoring')).status).toBe('done');
    expect((await app.container.scheduling.scheduler.runNow('care')).status).toBe('done');
    clock.set(sh('2026-12-09T10:00:00'));
    expect((await app.container.scheduling.scheduler.runNow('care')).status).toBe('done');
    expect(await repurchaseRows(id.b)).toHaveLength(1);

    // A new order starts a new cycle: reminded again when it comes within three days.
    expect(await importOrders([{ orderNo: 'B4', externalUserId: id.b, orderedAt: '2026-12-08 09:00' }])).toMatchObject({ imported: 1 });
    const next = (await archive(id.b)).repurchase as { dueOn: string; lastOrderOn: string };
    expect(next.lastOrderOn).toBe('2026-12-08');
    const [y, m, d] = next.dueOn.split('-').map(Number);
    clock.set(new Date(Date.UTC(y, m - 1, d - 3, 2)));
    expect((await app.container.scheduling.scheduler.runNow('care')).status).toBe('done');
    expect((await repurchaseRows(id.b)).map((r) => r.occasion)).toEqual(['repurchase:2026-11-26', 'repurchase:2026-12-08']);
  });

  it('an erasure removes the prediction with the orders', async () => {
    expect((await api(app, 'POST', `/api/v1/customers/${id.a}/erase`)).status).toBe(200);
    expect(await app.container.db.query('SELECT * FROM repurchase_predictions WHERE external_user_id = ?', [id.a])).toHaveLength(0);
  });
});
