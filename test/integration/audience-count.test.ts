import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { compileAudience } from '../../src/domain/audiences/audience.compiler.js';
import { parseAudience } from '../../src/domain/audiences/index.js';
import { resolveAudienceTags } from '../../src/domain/audiences/audience.tags.js';
import { TagRepository } from '../../src/persistence/repositories/tag.repository.js';
import { insertOrders } from '../factories/orders.js';

// docs/audiences.md: the count endpoint, the compiled shape that keeps a count fast, and the reader it runs on.

const HEADLINE = 'tag:"等级/VIP" AND tag:北京 AND NOT activity:churned AND spent>=100';

describe.each(testEngines())('audience count (%s)', (engine) => {
  let app: TestApp;
  const expected: string[] = [];
  beforeAll(async () => {
    app = await startTestApp(engine);
    const db = app.container.db;
    await db.query("INSERT INTO tag_groups (id, name, sort_order, source, updated_at) VALUES ('g1', '等级', 0, 'wecom', 0), ('g2', '门店', 0, 'wecom', 0)");
    await db.query("INSERT INTO tags (id, group_id, name, sort_order, source, updated_at) VALUES ('vip', 'g1', 'VIP', 0, 'wecom', 0), ('bj', 'g2', '北京', 0, 'wecom', 0)");
    for (let i = 0; i < 60; i++) {
      const ext = `wmCnt${String(i).padStart(3, '0')}`;
      const activity = ['active', 'dormant', 'churned'][i % 3];
      await db.query("INSERT INTO customers (external_user_id, name, type, gender, activity, created_at, updated_at) VALUES (?, ?, 1, 0, ?, 0, 0)", [ext, `客户${i}`, activity]);
      const owners = i % 4 === 0 ? ['zhangsan', 'lisi'] : ['zhangsan'];
      for (const o of owners) await db.query("INSERT INTO follow_relations (userid, external_user_id, add_way, status, created_at, updated_at) VALUES (?, ?, 1, 'active', 0, 0)", [o, ext]);
      // A tag belongs to a relation: VIP on zhangsan's relation, 北京 sometimes only on lisi's.
      const vip = i % 2 === 0;
      const bj = i % 4 === 0 || i % 5 === 0;
      if (vip) await db.query("INSERT INTO customer_tags (external_user_id, tag_id, userid, source, created_at) VALUES (?, 'vip', 'zhangsan', 'wecom', 0)", [ext]);
      if (bj) await db.query("INSERT INTO customer_tags (external_user_id, tag_id, userid, source, created_at) VALUES (?, 'bj', ?, 'wecom', 0)", [ext, owners.at(-1)]);
      const spent = (i % 7) * 4000; // 0 … 240 yuan over two orders
      if (spent > 0) {
        await insertOrders(db, [
          { externalUserId: ext, orderNo: `${ext}-1`, amountCents: spent / 2 },
          { externalUserId: ext, orderNo: `${ext}-2`, amountCents: spent / 2 },
        ]);
      }
      if (vip && bj && activity !== 'churned' && spent >= 10_000) expected.push(ext);
    }
  }, 60_000);
  afterAll(async () => app?.close());

  it('POST /api/v1/audiences/count answers the same count as the preview and as the rules say', async () => {
    expect(expected.length).toBeGreaterThan(0);
    const count = await api(app, 'POST', '/api/v1/audiences/count', { audience: HEADLINE });
    expect(count.status).toBe(200);
    expect(count.body).toEqual({ count: expected.length });
    const preview = await api(app, 'POST', '/api/v1/audiences/preview', { audience: HEADLINE });
    expect(preview.body.count).toBe(expected.length);
    // The sample and the per-member counts read the same customers (on MySQL from the tags' intersection first).
    const sample = (preview.body.sample as { externalUserId: string }[]).map((c) => c.externalUserId);
    expect(sample).toHaveLength(Math.min(10, expected.length));
    for (const id of sample) expect(expected).toContain(id);
    const lisi = expected.filter((ext) => Number(ext.slice(-3)) % 4 === 0).length;
    expect(preview.body.byStaff).toEqual([{ userid: 'zhangsan', count: expected.length }, ...(lisi > 0 ? [{ userid: 'lisi', count: lisi }] : [])]);
    // …and so does the customer list, page and total.
    const list = await api(app, 'GET', `/api/v1/customers?audience=${encodeURIComponent(HEADLINE)}&pageSize=100`);
    expect(list.body.total).toBe(expected.length);
    expect((list.body.items as { externalUserId: string }[]).map((c) => c.externalUserId).sort()).toEqual([...expected].sort());
    const bad = await api(app, 'POST', '/api/v1/audiences/count', { audience: 'tag:' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_audience');
  });

  it('compiles tag terms to semi-joins the statement can be driven from, and order terms to the totals stored on the customer', () => {
    const w = compileAudience(parseAudience(`${HEADLINE} AND orders>=1 AND (spent<500 OR tag:VIP)`), { engine, today: '2026-03-17', timezone: 'Asia/Shanghai' });
    expect(w.sql.match(/^\(c\.external_user_id IN \(SELECT ct\.external_user_id FROM customer_tags ct/)).not.toBeNull();
    // No statement reads orders (docs/audiences.md §Order totals on the customer).
    expect(w.sql).not.toMatch(/orders/);
    expect(w.sql).toContain('(c.order_total_cents >= ?)');
    expect(w.sql).toContain('(c.order_count >= ?)');
    expect(w.sql).toContain('(c.order_total_cents < ?)');
  });

  it('on MySQL counts from the required tags first and looks their customers up in the covering index', async () => {
    const db = app.container.db;
    const expr = parseAudience(HEADLINE);
    const tagIds = await resolveAudienceTags((values) => new TagRepository(db).liveTagsNamed(values), expr);
    const w = compileAudience(expr, { engine, today: '2026-03-17', timezone: 'Asia/Shanghai', tagIds });
    if (engine === 'sqlite') return expect(w.count).toBeUndefined();
    // The tags are intersected on their binary keys (migration 0065), and the customers found in the column's collation.
    expect(w.count!.from).toMatch(/^\(SELECT DISTINCT t0\.customer_key AS id FROM customer_tags t0 WHERE t0\.tag_key IN \(\?\) AND t0\.customer_key IN \(SELECT t1\.customer_key/);
    expect(w.count!.from).toMatch(/\) d STRAIGHT_JOIN customers c FORCE INDEX FOR JOIN \(ix_customers_audience_orders\) ON c\.external_user_id = CONVERT\(d\.id USING utf8mb4\) COLLATE utf8mb4_unicode_ci$/);
    expect(w.count!.where).not.toMatch(/customer_tags/);
    expect(w.count!.params.slice(0, 2)).toEqual(['vip', 'bj']);
    // A term that reads another customer column keeps the table's rows.
    const gendered = compileAudience(parseAudience(`${HEADLINE} AND gender:male`), { engine, today: '2026-03-17', timezone: 'Asia/Shanghai', tagIds });
    expect(gendered.count!.from).not.toMatch(/FORCE INDEX/);
    // Pages and joins read the same intersection.
    expect(w.narrowed).toEqual(w.count);
    // One required tag: the plain statement, its customers looked up in the covering index; nothing narrowed.
    const one = compileAudience(parseAudience('tag:VIP AND spent>=100'), { engine, today: '2026-03-17', timezone: 'Asia/Shanghai', tagIds: new Map([['VIP', ['vip']]]) });
    expect(one.count).toEqual({ from: 'customers c FORCE INDEX FOR JOIN (ix_customers_audience_orders)', where: one.sql, params: one.params });
    expect(one.narrowed).toBeUndefined();
    // One tag next to a term the index does not hold: the plain statement as it is.
    expect(compileAudience(parseAudience('tag:VIP AND gender:male'), { engine, today: '2026-03-17', timezone: 'Asia/Shanghai', tagIds: new Map([['VIP', ['vip']]]) }).count).toBeUndefined();
    // An OR of tags: a union of disjoint index ranges, for the count only.
    const either = compileAudience(parseAudience('tag:VIP OR tag:北京'), { engine, today: '2026-03-17', timezone: 'Asia/Shanghai', tagIds: new Map([['VIP', ['vip']], ['北京', ['bj']]]) });
    expect(either.count!.from).toContain(' UNION ALL ');
    expect(either.count!.params).toEqual(['bj', 'vip', 'bj']);
    expect(either.narrowed).toBeUndefined();
  });

  it('runs every statement of a count and a preview as an API read (on an SQLite file: the reader thread, off the event loop)', async () => {
    const db = app.container.db;
    const viaReader: string[] = [];
    const viaMain: string[] = [];
    const apiRead = db.apiRead.bind(db);
    const query = db.query.bind(db);
    db.apiRead = (async (sql: string, params?: unknown[]) => {
      viaReader.push(sql);
      return apiRead(sql, params);
    }) as typeof db.apiRead;
    db.query = (async (sql: string, params?: unknown[]) => {
      viaMain.push(sql);
      return query(sql, params);
    }) as typeof db.query;
    try {
      expect((await api(app, 'POST', '/api/v1/audiences/count', { audience: HEADLINE })).status).toBe(200);
      expect((await api(app, 'POST', '/api/v1/audiences/preview', { audience: HEADLINE })).status).toBe(200);
    } finally {
      db.apiRead = apiRead;
      db.query = query;
    }
    // The compiled audience (its tag semi-join, or on MySQL the count's tag intersection) is in the count, and in the
    // preview's count, sample and per-staff counts; the sample's own tags are then read by id, which is not an
    // audience query. The tag names are resolved to ids before each compilation, also as an API read
    // (docs/audiences.md §Tag names become ids).
    const audienceSql = (s: string) => s.includes('c.external_user_id IN (SELECT ct.external_user_id FROM customer_tags ct') || s.includes('FROM customer_tags t0');
    const tagLookup = (s: string) => s.includes('FROM tags t LEFT JOIN tag_groups g');
    expect(viaReader.filter(audienceSql)).toHaveLength(4);
    expect(viaReader.filter(tagLookup)).toHaveLength(2);
    expect([...viaMain.filter(audienceSql), ...viaMain.filter(tagLookup)]).toEqual([]);
  });

  it('keeps answering /healthz while a long API read holds the reader and a count waits behind it', async () => {
    const db = app.container.db;
    // Seconds of work on the reader (or on MySQL's server), without a table.
    const slow = db
      .apiRead('WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 10) SELECT COUNT(*) AS n FROM r a, r b, r c, r d, r e, r f, r g, r h')
      .catch(() => null);
    const counted = api(app, 'POST', '/api/v1/audiences/count', { audience: HEADLINE });
    const pings: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
      pings.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
    await slow;
    expect((await counted).body).toEqual({ count: expected.length });
    // A generous bound: the point is "not blocked for the length of the read", not a speed.
    expect(Math.max(...pings), `healthz times (ms): ${pings.map(Math.round).join(', ')}`).toBeLessThan(1000);
  }, 30_000);
});
