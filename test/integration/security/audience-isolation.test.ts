import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { contactEventXml, postCallback } from '../../helpers/callbacks.js';
import { Db } from '../../../src/persistence/db.js';
import { QueryTimeoutError } from '../../../src/persistence/query-timeout.error.js';
import { MAX_AUDIENCE_TERMS, parseAudience } from '../../../src/domain/audiences/index.js';
import { compileAudience } from '../../../src/domain/audiences/audience.compiler.js';
import { insertOrders } from '../../factories/orders.js';

// One staff query used to freeze the bot on SQLite. docs/security.md §Audience queries.

const CUSTOMERS = 2000;

/** 2,000 customers, each with a tag and 0–3 orders, inserted in a few multi-row statements. */
async function seed(app: TestApp): Promise<void> {
  const db = app.container.db;
  await db.query("INSERT INTO tag_groups (id, name, sort_order, source, updated_at) VALUES ('g1', '等级', 0, 'wecom', 0)");
  for (let t = 0; t < 10; t++) await db.query("INSERT INTO tags (id, group_id, name, sort_order, source, updated_at) VALUES (?, 'g1', ?, 0, 'wecom', 0)", [`t${t}`, `标签${t}`]);
  for (let start = 0; start < CUSTOMERS; start += 200) {
    const ids = Array.from({ length: 200 }, (_, i) => `wmIso${String(start + i).padStart(5, '0')}`);
    await db.query(
      `INSERT INTO customers (external_user_id, name, type, gender, activity, created_at, updated_at) VALUES ${ids.map(() => "(?, ?, 1, 0, 'active', 0, 0)").join(',')}`,
      ids.flatMap((id) => [id, `客户${id}`]),
    );
    await db.query(`INSERT INTO customer_tags (external_user_id, tag_id, userid, source, created_at) VALUES ${ids.map(() => "(?, ?, '', 'manual', 0)").join(',')}`, ids.flatMap((id, i) => [id, `t${i % 10}`]));
    await insertOrders(db, ids.flatMap((id, i) => Array.from({ length: i % 4 }, (_, k) => ({ externalUserId: id, orderNo: `${id}-${k}`, amountCents: 100 * (k + 1) }))));
  }
}

/** Post signed callbacks one after another until `until` settles; returns each one's time to acknowledgement. */
async function callbacksDuring(app: TestApp, until: Promise<unknown>): Promise<number[]> {
  let done = false;
  void until.finally(() => (done = true));
  const latencies: number[] = [];
  for (let i = 0; !done || latencies.length < 3; i++) {
    const started = performance.now();
    const res = await postCallback(app.url, contactEventXml('edit_external_contact', { externalUserId: `wmIsoCb${i}` }));
    latencies.push(performance.now() - started);
    expect(res.status).toBe(200);
    await new Promise((r) => setTimeout(r, 20));
  }
  return latencies;
}

// The slowest statement one can write without a table: 10^8 rows of a cross join, seconds on every engine.
const SLOW_SQL =
  'WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 10) SELECT COUNT(*) AS n FROM r a, r b, r c, r d, r e, r f, r g, r h';

describe.each(testEngines())('security: audience queries never hold up callback acknowledgements (%s)', (engine) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(engine);
    await seed(app);
  }, 60_000);
  afterAll(async () => app?.close());

  it(`refuses more than ${MAX_AUDIENCE_TERMS} conditions with the audience syntax error, and acknowledges every callback within 1 s meanwhile`, async () => {
    // The reported attack: 330 `spent>=1` terms OR'd together, 3,956 characters.
    const hostile = Array.from({ length: 330 }, () => 'spent>=1').join(' OR ');
    // The largest the parser accepts, costly on every axis the language offers: orders, tags, negation.
    const largest = Array.from({ length: MAX_AUDIENCE_TERMS }, (_, i) =>
      i % 3 === 0 ? `spent>=${i}` : i % 3 === 1 ? `NOT tag:"等级/标签${i % 10}"` : `orders>=${i % 4}`,
    ).join(' OR ');
    // Three at once, as an impatient user or a script would send them.
    const refusals = Promise.all(Array.from({ length: 3 }, () => api(app, 'GET', `/api/v1/customers?pageSize=100&audience=${encodeURIComponent(hostile)}`)));
    const queries = Promise.all([
      refusals,
      ...Array.from({ length: 4 }, () => api(app, 'GET', `/api/v1/customers?pageSize=100&audience=${encodeURIComponent(largest)}`)),
      api(app, 'POST', '/api/v1/audiences/preview', { audience: largest }),
    ]);
    const latencies = await callbacksDuring(app, queries);
    const [refused, ...answered] = await queries;
    expect(Math.max(...latencies), `callback acknowledgement times (ms): ${latencies.map(Math.round).join(', ')}`).toBeLessThan(1000);

    for (const r of refused) {
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('invalid_audience');
      expect(r.body.error.message).toContain(`最多 ${MAX_AUDIENCE_TERMS} 个条件`);
    }
    for (const r of answered) expect(r.status).toBe(200);
    expect(answered[0].body.total).toBe(CUSTOMERS);
  }, 60_000);

  it('compiles order terms to comparisons of the totals stored on the customer, not a subquery per term', async () => {
    const text = Array.from({ length: MAX_AUDIENCE_TERMS }, (_, i) => (i % 2 ? `spent>=${i}` : `orders<${i}`)).join(' OR ');
    const where = compileAudience(parseAudience(text), { engine, today: '2026-03-10', timezone: 'Asia/Shanghai' });
    expect(where.sql).not.toMatch(/FROM orders|SELECT/);
    expect(where.params).toHaveLength(MAX_AUDIENCE_TERMS);
  });

  it('stops an API read at its own deadline with a clear error, and the event loop keeps turning meanwhile', async () => {
    const db = new Db(app.container.db.dataSource, { apiReadTimeoutMs: 300 });
    try {
      let longestGap = 0;
      let last = performance.now();
      const ticker = setInterval(() => {
        const now = performance.now();
        longestGap = Math.max(longestGap, now - last);
        last = now;
      }, 10);
      const started = performance.now();
      const err = await db.apiRead(SLOW_SQL).then(
        () => null,
        (e: unknown) => e,
      );
      const took = performance.now() - started;
      clearInterval(ticker);
      expect(err).toBeInstanceOf(QueryTimeoutError);
      expect((err as QueryTimeoutError).status).toBe(503);
      expect((err as QueryTimeoutError).message).toContain('查询超时，请缩小人群条件');
      expect(took).toBeLessThan(3000);
      expect(longestGap, 'the event loop stalled during an API read').toBeLessThan(250);
      // The reader (SQLite) or the connection (MySQL) is usable again right after.
      expect(await db.apiRead<{ n: number }>('SELECT COUNT(*) AS n FROM customers')).toEqual([{ n: CUSTOMERS }]);
    } finally {
      await db.close();
    }
  }, 30_000);
});

describe.each(testEngines())('security: an API read past API_STATEMENT_TIMEOUT_MS answers 503 查询超时 (%s)', (engine) => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp(engine, { env: { API_STATEMENT_TIMEOUT_MS: '1' } });
    await seed(app);
  }, 60_000);
  afterAll(async () => app?.close());

  it('answers 503 query_timeout with a zh-CN message, not a 500', async () => {
    // Order terms make every customer's orders be read: tag terms alone are index lookups, over in under 1 ms.
    const largest = Array.from({ length: MAX_AUDIENCE_TERMS }, (_, i) => (i % 2 ? `NOT tag:"等级/标签${i % 10}"` : `spent>=${i}`)).join(' OR ');
    const res = await api(app, 'GET', `/api/v1/customers?pageSize=100&q=客户&audience=${encodeURIComponent(largest)}`);
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('query_timeout');
    expect(res.body.error.message).toMatch(/^查询超时，请缩小人群条件/);
  }, 30_000);
});
