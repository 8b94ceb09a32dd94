import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from '../helpers/databases.js';
import { api, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../helpers/app.js';
import { buildCustomer } from '../factories/customers.js';

const A = 'wmOrdA';
const B = 'wmOrdB';
const C = 'wmOrdC';
const D = 'wmOrdD';
const E = 'wmOrdE';
const F = 'wmOrdF';

describe.each(testEngines())('orders import (订单导入) over HTTP (%s)', (engine) => {
  let app: TestApp;
  const tokens = { operator: '', zhangsan: '' };

  beforeAll(async () => {
    app = await startTestApp(engine);
    for (const [ext, owner] of [[A, 'zhangsan'], [B, 'lisi'], [C, 'zhangsan'], [D, 'lisi'], [E, 'lisi'], [F, 'lisi']]) {
      await buildCustomer(app.container, { externalUserId: ext, owners: [owner] });
    }
    tokens.operator = (await app.container.tokens.create({ role: 'operator' })).token;
    tokens.zhangsan = (await app.container.tokens.create({ role: 'staff', userid: 'zhangsan' })).token;
  });
  afterAll(async () => app?.close());

  const importJson = (orders: unknown, token = tokens.operator) => api(app, 'POST', '/api/v1/orders/import', { orders }, token);
  async function importCsv(body: string | Buffer, token = tokens.operator): Promise<{ status: number; body: any }> {
    const res = await fetch(`${app.url}/api/v1/orders/import`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' }, body });
    return { status: res.status, body: await res.json() };
  }
  const ordersOf = async (ext: string) => (await api(app, 'GET', `/api/v1/customers/${ext}/orders?pageSize=500`)).body;
  const audience = async (expr: string) =>
    (await api(app, 'GET', `/api/v1/customers?pageSize=500&audience=${encodeURIComponent(expr)}`)).body.items.map((i: { externalUserId: string }) => i.externalUserId).sort();

  const first = [
    { orderNo: 'NO-1001', externalUserId: A, amount: '199.90', orderedAt: '2026-03-01 10:00' },
    { orderNo: 'NO-1002', externalUserId: A, amount: 0.1, orderedAt: '2026-03-02T10:00:00+08:00' },
    { orderNo: 'NO-2001', externalUserId: B, amount: '1,000.00', orderedAt: '2026-03-03T02:00:00Z' },
    { orderNo: 'NO-3001', externalUserId: C, amount: '0.20', orderedAt: '2026-03-04 08:00:00' },
    { orderNo: 'NO-3002', externalUserId: C, amount: 0.1, orderedAt: '2026-03-04 09:00' },
    { orderNo: 'NO-3003', externalUserId: C, amount: '0.70', orderedAt: '2026-03-04 10:00' },
    { orderNo: 'NO-9001', externalUserId: A, amount: 'abc', orderedAt: '2026-03-01 10:00' },
    { orderNo: 'NO-9002', externalUserId: A, amount: '5', orderedAt: '2026-02-30 10:00' },
    { orderNo: 'NO-9003', externalUserId: 'wmNobody', amount: '5', orderedAt: '2026-03-01 10:00' },
    { orderNo: 'NO-1001', externalUserId: B, amount: '1', orderedAt: '2026-03-01 10:00' },
    'not an order',
    { externalUserId: A, amount: '5', orderedAt: '2026-03-01 10:00' },
  ];
  const firstErrors = [
    { line: 7, code: 'invalid_amount' },
    { line: 8, code: 'invalid_ordered_at' },
    { line: 9, code: 'unknown_customer' },
    { line: 10, code: 'duplicate_order_no' },
    { line: 11, code: 'invalid_row' },
    { line: 12, code: 'missing_order_no' },
  ];

  it('imports JSON orders in exact cents, reports bad rows by line and imports the good ones', async () => {
    const res = await importJson(first);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ imported: 6, updated: 0, unchanged: 0, failed: 6 });
    expect(res.body.errors.map((e: { line: number; code: string }) => ({ line: e.line, code: e.code }))).toEqual(firstErrors);
    expect(res.body.errors.every((e: { message: string }) => e.message.length > 0)).toBe(true);
    expect(res.body.errors[2].message).toContain('wmNobody');
    expect(res.body.errors[3].message).toContain('第 1 行');

    const a = await ordersOf(A);
    expect(a.total).toBe(2);
    expect(a.items.map((o: { orderNo: string; amountCents: number; orderedAt: string }) => [o.orderNo, o.amountCents, o.orderedAt])).toEqual([
      ['NO-1002', 10, '2026-03-02T02:00:00.000Z'],
      ['NO-1001', 19990, '2026-03-01T02:00:00.000Z'],
    ]);
    expect((await ordersOf(C)).items.reduce((s: number, o: { amountCents: number }) => s + o.amountCents, 0)).toBe(100);
    const archive = await api(app, 'GET', `/api/v1/customers/${A}`);
    expect(archive.body.orders).toEqual({ count: 2, totalCents: 20000, lastOrderedAt: '2026-03-02T02:00:00.000Z' });
    expect((await api(app, 'GET', `/api/v1/customers/${E}`)).body.orders).toEqual({ count: 0, totalCents: 0, lastOrderedAt: null });
  });

  it('re-importing the same orders changes nothing; a changed amount, time or customer updates the row', async () => {
    const snapshot = () => app.container.db.query('SELECT id, order_no, external_user_id, amount_cents, ordered_at, created_at FROM orders ORDER BY order_no');
    const before = await snapshot();
    const again = await importJson(first);
    expect(again.body).toMatchObject({ imported: 0, updated: 0, unchanged: 6, failed: 6 });
    expect(await snapshot()).toEqual(before);

    const changed = await importJson([
      { orderNo: 'NO-1002', externalUserId: A, amount: '5.00', orderedAt: '2026-03-02T10:00:00+08:00' },
      { orderNo: 'NO-3001', externalUserId: C, amount: '0.2', orderedAt: '2026-03-04 08:30' },
      { orderNo: 'NO-3003', externalUserId: A, amount: '0.70', orderedAt: '2026-03-04 10:00' },
      { orderNo: 'NO-2001', externalUserId: B, amount: 1000, orderedAt: '2026-03-03 10:00' },
    ]);
    expect(changed.body).toEqual({ imported: 0, updated: 3, unchanged: 1, failed: 0, errors: [] });
    const after = new Map((await snapshot()).map((r: any) => [r.order_no, r]));
    const old = new Map(before.map((r: any) => [r.order_no, r]));
    expect(Number(after.get('NO-1002').amount_cents)).toBe(500);
    expect(after.get('NO-1002').id).toBe(old.get('NO-1002').id);
    expect(Number(after.get('NO-1002').created_at)).toBe(Number(old.get('NO-1002').created_at));
    expect(new Date(Number(after.get('NO-3001').ordered_at)).toISOString()).toBe('2026-03-04T00:30:00.000Z');
    expect(after.get('NO-3003').external_user_id).toBe(A);

    // Put NO-3003 back on C for the audience test below.
    expect((await importJson([{ orderNo: 'NO-3003', externalUserId: C, amount: '0.70', orderedAt: '2026-03-04 10:00' }])).body.updated).toBe(1);
  });

  it('imports CSV with a BOM, Chinese headers, CRLF, quoted fields and line numbers that count multi-line fields', async () => {
    const csv =
      '\uFEFF订单号,客户ID,金额,下单时间,备注\r\n' +
      'NO-4001,wmOrdD,"1,299.00",2026/3/5 9:05,"含逗号, 的备注"\r\n' +
      '"NO-""4002""",wmOrdD,0.01,2026-03-06T12:00:00Z,\r\n' +
      '\r\n' +
      'NO-4003,wmOrdD,-1,2026-03-06 10:00,\r\n' +
      'NO-2001,wmOrdB,1000.00,2026-03-03 10:00,"多行\n备注"\r\n' +
      'NO-4004,wmNobody,1,2026-03-06 10:00,\r\n' +
      'NO-1001,wmOrdA,199.9,2026-03-01 10:00:00,\r\n';
    const res = await importCsv(csv);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ imported: 2, updated: 0, unchanged: 2, failed: 2 });
    expect(res.body.errors.map((e: { line: number; code: string }) => [e.line, e.code])).toEqual([
      [5, 'invalid_amount'],
      [8, 'unknown_customer'],
    ]);
    const d = await ordersOf(D);
    expect(d.items.map((o: { orderNo: string; amountCents: number; orderedAt: string }) => [o.orderNo, o.amountCents, o.orderedAt])).toEqual([
      ['NO-"4002"', 1, '2026-03-06T12:00:00.000Z'],
      ['NO-4001', 129900, '2026-03-05T01:05:00.000Z'],
    ]);
    expect((await importCsv(csv)).body).toMatchObject({ imported: 0, updated: 0, unchanged: 4, failed: 2 });
  });

  it('refuses a whole CSV without the required columns, with an unclosed quote, not in UTF-8, or too large', async () => {
    const header = await importCsv('orderNo,amount\nA,1\n');
    expect(header.status).toBe(400);
    expect(header.body.error.code).toBe('invalid_csv_header');
    expect(header.body.error.message).toContain('externalUserId');
    const quote = await importCsv('orderNo,externalUserId,amount,orderedAt\nA,"wmOrdA,1,2026-03-01\n');
    expect(quote.status).toBe(400);
    expect(quote.body.error.code).toBe('invalid_csv');
    // 订单号 in GBK, as Excel saves "CSV" on Chinese Windows.
    const gbk = Buffer.concat([Buffer.from([0xb6, 0xa9, 0xb5, 0xa5, 0xba, 0xc5]), Buffer.from(',externalUserId,amount,orderedAt\n')]);
    const encoding = await importCsv(gbk);
    expect(encoding.status).toBe(400);
    expect(encoding.body.error.code).toBe('invalid_encoding');
    expect((await importCsv('')).status).toBe(400);
    const huge = await importCsv(`orderNo,externalUserId,amount,orderedAt\n${'x'.repeat(5 * 1024 * 1024 + 10)}`);
    expect(huge.status).toBe(413);
  });

  it('refuses a malformed JSON envelope, and lets only operators and admins import', async () => {
    expect((await api(app, 'POST', '/api/v1/orders/import', { rows: [] }, tokens.operator)).status).toBe(400);
    expect((await api(app, 'POST', '/api/v1/orders/import', { orders: 'x' }, tokens.operator)).status).toBe(400);
    expect((await importJson([], tokens.zhangsan)).status).toBe(403);
    expect((await importCsv('orderNo,externalUserId,amount,orderedAt\n', tokens.zhangsan)).status).toBe(403);
    expect((await importJson([], TEST_ADMIN_TOKEN)).body).toEqual({ imported: 0, updated: 0, unchanged: 0, failed: 0, errors: [] });
  });

  it('staff see the orders of customers they follow only', async () => {
    const own = await api(app, 'GET', `/api/v1/customers/${A}/orders`, undefined, tokens.zhangsan);
    expect(own.status).toBe(200);
    expect(own.body.total).toBe(2);
    expect(own.body.items[0]).toEqual({ id: expect.any(String), orderNo: 'NO-1002', externalUserId: A, amountCents: 500, orderedAt: '2026-03-02T02:00:00.000Z', createdAt: expect.any(String) });
    expect((await api(app, 'GET', `/api/v1/customers/${B}/orders`, undefined, tokens.zhangsan)).status).toBe(404);
    expect((await api(app, 'GET', `/api/v1/customers/${B}`, undefined, tokens.zhangsan)).status).toBe(404);
    expect((await api(app, 'GET', '/api/v1/customers/wmNobody/orders')).status).toBe(404);
    const paged = await api(app, 'GET', `/api/v1/customers/${C}/orders?page=2&pageSize=2`);
    expect(paged.body.total).toBe(3);
    expect(paged.body.items.map((o: { orderNo: string }) => o.orderNo)).toEqual(['NO-3001']);
  });

  it('imports across several transactions (1,200 rows) with line numbers intact, idempotently', async () => {
    const lines = ['orderNo,externalUserId,amount,orderedAt'];
    for (let i = 1; i <= 1200; i++) lines.push(`F-${String(i).padStart(4, '0')},${F},0.01,2026-03-07 10:${String(i % 60).padStart(2, '0')}`);
    lines.splice(600, 0, 'F-BAD,wmOrdF,0.001,2026-03-07 10:00');
    lines.splice(1100, 0, 'F-GONE,wmGone,1,2026-03-07 10:00');
    const csv = `${lines.join('\n')}\n`;
    const res = await importCsv(csv);
    expect(res.body).toMatchObject({ imported: 1200, updated: 0, unchanged: 0, failed: 2 });
    expect(res.body.errors.map((e: { line: number; code: string }) => [e.line, e.code])).toEqual([
      [601, 'invalid_amount'],
      [1101, 'unknown_customer'],
    ]);
    expect((await ordersOf(F)).total).toBe(1200);
    expect((await importCsv(csv)).body).toMatchObject({ imported: 0, updated: 0, unchanged: 1200, failed: 2 });
    expect((await api(app, 'GET', `/api/v1/customers/${F}`)).body.orders).toEqual({ count: 1200, totalCents: 1200, lastOrderedAt: '2026-03-07T02:59:00.000Z' });
  });

  it('after import, orders>= and spent>= audiences select exactly the expected customers', async () => {
    // A 204.90 (2 orders) · B 1000.00 (1) · C 1.00 (3) · D 1299.01 (2) · E nothing · F 12.00 (1200)
    expect(await audience('orders>=2')).toEqual([A, C, D, F]);
    expect(await audience('orders>=3')).toEqual([C, F]);
    expect(await audience('orders<1')).toEqual([E]);
    expect(await audience('spent>=1000')).toEqual([B, D]);
    expect(await audience('spent>=204.9')).toEqual([A, B, D]);
    expect(await audience('spent>=204.91')).toEqual([B, D]);
    expect(await audience('spent<=1')).toEqual([C, E]);
    expect(await audience('orders>=2 AND spent>=100')).toEqual([A, D]);
    const preview = await api(app, 'POST', '/api/v1/audiences/preview', { audience: 'spent>=1000' });
    expect(preview.body.count).toBe(2);
  });

  it('order numbers differing only in case are one order within an import; against stored ones MySQL refuses the twin', async () => {
    const G = 'wmOrdG';
    await buildCustomer(app.container, { externalUserId: G, owners: ['lisi'] });
    const row = (orderNo: string) => ({ orderNo, externalUserId: G, amount: '1', orderedAt: '2026-03-08 10:00' });
    const inFile = await importJson([row('CASE-1'), row('case-1')]);
    expect(inFile.body).toMatchObject({ imported: 1, failed: 1, errors: [{ line: 2, code: 'duplicate_order_no' }] });
    const twin = await importJson([row('Case-1')]);
    // MySQL's unique key (utf8mb4_unicode_ci) would turn an insert into an overwrite of CASE-1; SQLite keeps both.
    if (engine === 'mysql') expect(twin.body).toMatchObject({ imported: 0, updated: 0, failed: 1, errors: [{ line: 1, code: 'order_no_conflict' }] });
    else expect(twin.body).toMatchObject({ imported: 1, failed: 0 });
    expect((await ordersOf(G)).items.find((o: { orderNo: string }) => o.orderNo === 'CASE-1')).toBeTruthy();
  });
});
