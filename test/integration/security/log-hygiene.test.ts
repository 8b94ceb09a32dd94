import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { MAX_LOG_LINE_BYTES } from '../../../src/shared/logger.js';
import { compileAudience } from '../../../src/domain/audiences/audience.compiler.js';
import { parseAudience } from '../../../src/domain/audiences/index.js';
import { capturedLogger } from '../../helpers/captured-logger.js';

// A tag value full of "/" used to give a 500 and write 16 MB of log with the searched phone
// in clear. docs/security.md §Audience queries and §Logging.

const PHONE = '13812345678';


describe.each(testEngines())('security: failing audience queries and the log (%s)', (engine) => {
  let app: TestApp;
  const captured = capturedLogger();
  beforeAll(async () => {
    app = await startTestApp(engine, { logger: captured.log });
    const db = app.container.db;
    await db.query("INSERT INTO tag_groups (id, name, sort_order, source, updated_at) VALUES ('g1', '组/甲', 0, 'wecom', 0)");
    await db.query("INSERT INTO tags (id, group_id, name, sort_order, source, updated_at) VALUES ('t1', 'g1', '/a//b', 0, 'wecom', 0)");
    for (const [id, name] of [['wmLog1', `客户${PHONE}`], ['wmLog2', '另一位']]) {
      await db.query("INSERT INTO customers (external_user_id, name, type, gender, activity, created_at, updated_at) VALUES (?, ?, 1, 0, 'active', 0, 0)", [id, name]);
      await db.query("INSERT INTO customer_tags (external_user_id, tag_id, userid, source, created_at) VALUES (?, 't1', '', 'manual', 0)", [id]);
    }
  });
  afterAll(async () => app?.close());

  function assertCleanLog(from: number): void {
    const lines = captured.lines.slice(from);
    for (const line of lines) {
      expect(Buffer.byteLength(line), 'a log line over the cap').toBeLessThanOrEqual(MAX_LOG_LINE_BYTES);
      expect(line, 'the searched text reached the log').not.toContain(PHONE);
      expect(line, 'SQL reached the log').not.toMatch(/SELECT|FROM customers|FROM customer_tags|EXISTS|parameters/);
    }
  }

  it('answers a tag value of 3,995 slashes (the reported repro) with 200, its SQL linear in the value', async () => {
    const from = captured.lines.length;
    const res = await api(app, 'GET', `/api/v1/customers?q=${PHONE}&audience=${encodeURIComponent(`tag:${'/'.repeat(3995)}`)}`);
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(0);
    assertCleanLog(from);
    // Linear: the value travels twice whatever its slashes, and the SQL does not grow with it.
    const ctx = { engine, today: '2026-03-10', timezone: 'Asia/Shanghai' };
    const short = compileAudience(parseAudience('tag:/'), ctx);
    const long = compileAudience(parseAudience(`tag:${'/'.repeat(3995)}`), ctx);
    expect(long.params).toHaveLength(2);
    expect(long.sql).toBe(short.sql);
  });

  it('still matches group/name at the right slash when both parts contain slashes', async () => {
    const res = await api(app, 'GET', `/api/v1/customers?audience=${encodeURIComponent('tag:"组/甲//a//b"')}`);
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(2);
    const byName = await api(app, 'GET', `/api/v1/customers?audience=${encodeURIComponent('tag:/a//b')}`);
    expect(byName.body.total).toBe(2);
  });

  it('logs a failing statement without its SQL, its parameters or the searched phone, and within the line cap', async () => {
    const from = captured.lines.length;
    // Make the list statement itself fail, the searched phone among its parameters: it reads the tag links for the
    // audience's tag term (a tag that exists, so the term is not settled before the statement).
    await app.container.db.query(engine === 'mysql' ? 'RENAME TABLE customer_tags TO customer_tags_gone' : 'ALTER TABLE customer_tags RENAME TO customer_tags_gone');
    try {
      const res = await api(app, 'GET', `/api/v1/customers?q=${PHONE}&audience=${encodeURIComponent('spent>=1 OR tag:"组/甲//a//b"')}`);
      expect(res.status).toBe(500);
      expect(res.body.error).toEqual({ code: 'internal_error', message: '服务器内部错误' });
    } finally {
      await app.container.db.query(engine === 'mysql' ? 'RENAME TABLE customer_tags_gone TO customer_tags' : 'ALTER TABLE customer_tags_gone RENAME TO customer_tags');
    }
    const logged = captured.lines.slice(from);
    expect(logged.some((l) => l.includes('unhandled error')), 'the failure was logged').toBe(true);
    assertCleanLog(from);
  });
});
