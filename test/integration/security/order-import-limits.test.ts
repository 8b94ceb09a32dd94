import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { testEngines } from '../../helpers/databases.js';
import { api, startTestApp, type TestApp } from '../../helpers/app.js';
import { buildCustomer } from '../../factories/customers.js';
import { MAX_IMPORT_ROWS } from '../../../src/domain/orders/order.service.js';

const CUSTOMER = 'wmLimitA';
const HEADER = 'orderNo,externalUserId,amount,orderedAt\n';
const row = (i: number) => `L-${i},${CUSTOMER},0.01,2026-03-07 10:00\n`;
const csvOf = (rows: number, from = 0) => HEADER + Array.from({ length: rows }, (_, i) => row(from + i)).join('');

/**
 * POST a CSV with Transfer-Encoding: chunked, one piece per 1,000 rows, as a client that does not know the size
 * up front would. Resolves with the answer even when the server answers before the upload ends.
 */
function postCsvChunked(url: string, token: string, pieces: string[]): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/api/v1/orders/import`,
      { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv', 'transfer-encoding': 'chunked' } },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(parts).toString('utf8')) }));
      },
    );
    req.on('error', reject);
    let at = 0;
    const writeMore = () => {
      while (at < pieces.length) if (!req.write(pieces[at++])) return void req.once('drain', writeMore);
      req.end();
    };
    writeMore();
  });
}

/**
 * A CSV import is read as a stream and capped at MAX_IMPORT_ROWS rows (the JSON import's cap
 * too); one row more is a 413 naming the limit and imports nothing. docs/security.md §Order import limits.
 */
describe.each(testEngines())('order import limits (%s)', (engine) => {
  let app: TestApp;
  let operator = '';
  beforeAll(async () => {
    app = await startTestApp(engine);
    await buildCustomer(app.container, { externalUserId: CUSTOMER, owners: ['zhangsan'] });
    operator = (await app.container.tokens.create({ role: 'operator' })).token;
  });
  afterAll(async () => app?.close());

  const orderCount = async () => Number((await app.container.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM orders'))[0].n);
  const postCsv = async (body: string) => {
    const res = await fetch(`${app.url}/api/v1/orders/import`, { method: 'POST', headers: { authorization: `Bearer ${operator}`, 'content-type': 'text/csv' }, body });
    return { status: res.status, body: (await res.json()) as any };
  };

  it(`refuses a CSV of ${MAX_IMPORT_ROWS} + 1 rows with 413 naming the limit, and imports none of it`, async () => {
    expect(MAX_IMPORT_ROWS).toBe(50_000);
    const res = await postCsv(csvOf(MAX_IMPORT_ROWS + 1));
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('too_many_rows');
    expect(res.body.error.message).toContain(`一次最多导入 ${MAX_IMPORT_ROWS} 行订单`);
    expect(res.body.error.details).toEqual({ maxRows: MAX_IMPORT_ROWS });
    expect(await orderCount()).toBe(0);
  });

  it('answers 413 to a chunked upload that keeps going past the limit, before it ends, and the server keeps serving', async () => {
    const pieces = [HEADER];
    for (let from = 0; from < MAX_IMPORT_ROWS + 20_000; from += 1000) pieces.push(Array.from({ length: 1000 }, (_, i) => row(from + i)).join(''));
    const res = await postCsvChunked(app.url, operator, pieces);
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('too_many_rows');
    expect(await orderCount()).toBe(0);
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
  });

  it('refuses JSON over the same limit with the same 413', async () => {
    const orders = Array.from({ length: MAX_IMPORT_ROWS + 1 }, () => ({}));
    const res = await api(app, 'POST', '/api/v1/orders/import', { orders }, operator);
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('too_many_rows');
    expect(await orderCount()).toBe(0);
  });

  it(`imports a CSV of exactly ${MAX_IMPORT_ROWS} rows`, async () => {
    const res = await postCsv(csvOf(MAX_IMPORT_ROWS));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ imported: MAX_IMPORT_ROWS, failed: 0 });
    expect(await orderCount()).toBe(MAX_IMPORT_ROWS);
  });
});
