import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { buildCustomer } from '../factories/customers.js';
import { CustomerOrderTotals1795000000023 } from '../../migrations/0023-customer-order-totals.js';
import type { Db } from '../../src/persistence/db.js';
import { useMigratedWithout } from '../helpers/migrated-without.js';

// docs/audiences.md §Order totals on the customer: each customer's order count and total are stored on the customer,
// recounted by every order writer, and the `orders`/`spent` audience terms compare them.

interface Totals {
  count: number;
  cents: number;
}

/** Per customer: what is stored on the row, and what its orders add up to. */
async function totals(db: Db): Promise<{ stored: Map<string, Totals>; counted: Map<string, Totals> }> {
  const stored = await db.query<{ id: string; n: number | string; s: number | string }>('SELECT external_user_id AS id, order_count AS n, order_total_cents AS s FROM customers');
  const counted = await db.query<{ id: string; n: number | string; s: number | string }>(
    'SELECT c.external_user_id AS id, COUNT(o.id) AS n, COALESCE(SUM(o.amount_cents), 0) AS s FROM customers c LEFT JOIN orders o ON o.external_user_id = c.external_user_id GROUP BY c.external_user_id',
  );
  const toMap = (rows: typeof stored) => new Map(rows.map((r) => [r.id, { count: Number(r.n), cents: Number(r.s) }]));
  return { stored: toMap(stored), counted: toMap(counted) };
}

async function expectTotalsAgree(db: Db): Promise<Map<string, Totals>> {
  const { stored, counted } = await totals(db);
  expect(stored).toEqual(counted);
  return stored;
}

describe.each(testEngines())('order totals stored on the customer (%s)', (engine) => {
  let app: TestApp;
  const ids = ['wmTotA', 'wmTotB', 'wmTotC', 'wmTotD'];

  const importOrders = async (orders: { orderNo: string; externalUserId: string; amount: string | number; orderedAt?: string }[]) => {
    const res = await api(app, 'POST', '/api/v1/orders/import', { orders: orders.map((o) => ({ orderedAt: '2026-03-01 10:00', ...o })) });
    expect(res.status).toBe(200);
    return res.body as { imported: number; updated: number; unchanged: number; failed: number };
  };
  const count = async (audience: string) => (await api(app, 'POST', '/api/v1/audiences/count', { audience })).body.count as number;

  beforeAll(async () => {
    app = await startTestApp(engine);
    for (const id of ids) await buildCustomer(app.container, { externalUserId: id, owners: ['zhangsan'] });
  });
  afterAll(() => app?.close());

  it('follow an import, the same import again, changed amounts, an order moved to another customer, and an erasure', async () => {
    const db = app.container.db;
    const file = [
      { orderNo: 'T-1', externalUserId: 'wmTotA', amount: '100.00' },
      { orderNo: 'T-2', externalUserId: 'wmTotA', amount: '50.50' },
      { orderNo: 'T-3', externalUserId: 'wmTotB', amount: 80 },
      { orderNo: 'T-4', externalUserId: 'wmTotC', amount: '0.01' },
      { orderNo: 'T-5', externalUserId: 'wmNobody', amount: 1 },
    ];
    expect(await importOrders(file)).toMatchObject({ imported: 4, failed: 1 });
    let stored = await expectTotalsAgree(db);
    expect(stored.get('wmTotA')).toEqual({ count: 2, cents: 15050 });
    expect(stored.get('wmTotD')).toEqual({ count: 0, cents: 0 });
    expect(await count('spent>=150')).toBe(1);
    expect(await count('orders>=1')).toBe(3);

    // The same file again counts nothing twice.
    expect(await importOrders(file)).toMatchObject({ imported: 0, unchanged: 4 });
    stored = await expectTotalsAgree(db);
    expect(stored.get('wmTotA')).toEqual({ count: 2, cents: 15050 });

    // A corrected amount, and an order that belonged to B now belongs to D.
    expect(await importOrders([{ orderNo: 'T-2', externalUserId: 'wmTotA', amount: '10' }, { orderNo: 'T-3', externalUserId: 'wmTotD', amount: 80 }])).toMatchObject({ updated: 2 });
    stored = await expectTotalsAgree(db);
    expect(stored.get('wmTotA')).toEqual({ count: 2, cents: 11000 });
    expect(stored.get('wmTotB')).toEqual({ count: 0, cents: 0 });
    expect(stored.get('wmTotD')).toEqual({ count: 1, cents: 8000 });
    expect(await count('spent>=150')).toBe(0);
    expect(await count('orders<1')).toBe(1);

    // Erasure deletes the customer with their orders; the others keep theirs.
    expect((await api(app, 'POST', '/api/v1/customers/wmTotA/erase')).status).toBe(200);
    stored = await expectTotalsAgree(db);
    expect(stored.has('wmTotA')).toBe(false);
    expect(stored.get('wmTotD')).toEqual({ count: 1, cents: 8000 });
    expect(await count('orders>=1')).toBe(2);
    // An import naming the erased customer is refused, and leaves no order behind.
    expect(await importOrders([{ orderNo: 'T-9', externalUserId: 'wmTotA', amount: 5 }])).toMatchObject({ imported: 0, failed: 1 });
    expect(await db.query("SELECT order_no FROM orders WHERE external_user_id = 'wmTotA'")).toEqual([]);
  });

  it('stay equal to the orders when imports of the same customers and order numbers run at once', async () => {
    const db = app.container.db;
    const live = ['wmTotB', 'wmTotC', 'wmTotD'];
    // Each import writes the same 60 order numbers with its own amounts and owners, so they overwrite each other.
    const files = Array.from({ length: 6 }, (_, f) =>
      Array.from({ length: 60 }, (_, k) => ({ orderNo: `C-${k}`, externalUserId: live[(k + f) % live.length], amount: (f + 1) * 10 + k })),
    );
    const reports = await Promise.all(files.map(importOrders));
    for (const r of reports) expect(r.failed).toBe(0);
    await expectTotalsAgree(db);
    const [{ n }] = await db.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM orders WHERE order_no LIKE 'C-%'");
    expect(Number(n)).toBe(60);
  });
});

describe.each(testEngines())('migration 0023 backfills the stored order totals (%s)', (engine) => {
  const CUSTOMERS = 9000;
  const mig = useMigratedWithout(engine, [CustomerOrderTotals1795000000023]);

  it('counts every customer’s orders across several ranges, leaves customers without orders at 0, and can be undone', async () => {
    // 0–4 orders per customer: about 18,000 orders, two backfill ranges and a last open one.
    const expected = new Map<string, Totals>();
    for (let start = 0; start < CUSTOMERS; start += 500) {
      const ids = Array.from({ length: 500 }, (_, i) => `wmMig${String(start + i).padStart(5, '0')}`);
      await mig.ds.query(`INSERT INTO customers (external_user_id, name, type, gender, activity, created_at, updated_at) VALUES ${ids.map(() => "(?, '', 1, 0, 'active', 0, 0)").join(',')}`, ids);
      const orders = ids.flatMap((id, i) => Array.from({ length: (start + i) % 5 }, (_, k) => [`${id}-${k}`, id, `${id}-${k}`, 100 * (k + 1) + i, 0, 0]));
      for (const o of orders) {
        const t = expected.get(o[1] as string) ?? { count: 0, cents: 0 };
        expected.set(o[1] as string, { count: t.count + 1, cents: t.cents + (o[3] as number) });
      }
      await mig.ds.query(`INSERT INTO orders (id, external_user_id, order_no, amount_cents, ordered_at, created_at) VALUES ${orders.map(() => '(?,?,?,?,?,?)').join(',')}`, orders.flat());
    }
    expect(await mig.ds.showMigrations()).toBe(false);
    mig.ds.migrations.push(new CustomerOrderTotals1795000000023());
    expect((await mig.ds.runMigrations({ transaction: 'each' })).map((m) => m.name)).toEqual(['CustomerOrderTotals1795000000023']);

    const rows = (await mig.ds.query('SELECT external_user_id AS id, order_count AS n, order_total_cents AS s FROM customers')) as { id: string; n: number | string; s: number | string }[];
    expect(rows).toHaveLength(CUSTOMERS);
    let withOrders = 0;
    for (const r of rows) {
      const want = expected.get(r.id) ?? { count: 0, cents: 0 };
      if (want.count > 0) withOrders++;
      expect({ id: r.id, count: Number(r.n), cents: Number(r.s) }).toEqual({ id: r.id, ...want });
    }
    expect(withOrders).toBe(CUSTOMERS * 0.8);
    const indexNames = async () => ((await mig.ds.createQueryRunner().getTable('customers'))?.indices.map((i) => i.name) ?? []).sort();
    // MySQL counts look candidates up in the covering index with the totals; SQLite keeps the narrower one.
    expect(await indexNames()).toContain(engine === 'mysql' ? 'ix_customers_audience_orders' : 'ix_customers_audience');
    expect(await indexNames()).not.toContain(engine === 'mysql' ? 'ix_customers_audience' : 'ix_customers_audience_orders');

    await mig.ds.undoLastMigration({ transaction: 'each' });
    const cols = ((await mig.ds.createQueryRunner().getTable('customers'))?.columns.map((c) => c.name) ?? []);
    expect(cols).not.toContain('order_count');
    expect(cols).not.toContain('order_total_cents');
    expect(await indexNames()).toContain('ix_customers_audience');
  }, 120_000);
});
