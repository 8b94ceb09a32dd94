import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueryRunner } from 'typeorm';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { noteMysqlSkipped } from '../helpers/databases.js';
import { contactEventXml, postCallback } from '../helpers/callbacks.js';

noteMysqlSkipped();

/**
 * On MySQL a callback is stored on a connection of the inbox's own, so a pool taken up by handlers, jobs and API
 * requests never holds an acknowledgement back (docs/inbox.md §Acknowledgements on MySQL). Here every connection of
 * the shared pool is held in an open transaction while WeCom's callbacks arrive: each is answered 200 and stored
 * exactly once while the pool is still full, and the stored events are handled once it is free again.
 */
describe.skipIf(!process.env.TEST_MYSQL_URL)('acknowledgements while the shared MySQL pool is taken', () => {
  let app: TestApp;
  const held: QueryRunner[] = [];

  beforeAll(async () => {
    app = await startTestApp('mysql', { overrides: { inbox: { workers: 2 } }, startServices: true });
  });
  afterAll(async () => {
    for (const qr of held.splice(0)) await qr.release().catch(() => undefined);
    await app?.close();
  });

  it('answers and stores callbacks while every shared connection is in use, and handles them once it is free', async () => {
    const ds = app.container.db.dataSource;
    const poolSize = (ds.options as { poolSize?: number }).poolSize!;
    // Take the whole shared pool: each runner holds its connection in an open transaction, as a slow handler would.
    for (let i = 0; i < poolSize; i++) {
      const qr = ds.createQueryRunner();
      await qr.connect();
      await qr.startTransaction();
      await qr.query('SELECT 1');
      held.push(qr);
    }
    // The shared pool really is full: one more statement on it waits.
    let sharedAnswered = false;
    const shared = app.container.db.query('SELECT 1 AS one').then(() => (sharedAnswered = true));

    const codes = await Promise.all(
      Array.from({ length: 5 }, (_, i) => postCallback(app.url, contactEventXml('edit_external_contact', { externalUserId: `wmAckPool${i}` })).then((r) => r.status)),
    );
    expect(codes).toEqual([200, 200, 200, 200, 200]);
    // Answered while the shared pool was still full, and stored once each (read on a connection outside both pools).
    expect(sharedAnswered).toBe(false);
    const mysql = await import('mysql2/promise');
    const conn = await mysql.createConnection(app.db.url);
    try {
      const [rows] = await conn.query("SELECT subject_key, COUNT(*) AS n FROM inbox_events WHERE dedupe_key LIKE '%wmAckPool%' OR subject_key LIKE '%wmAckPool%' GROUP BY subject_key ORDER BY subject_key");
      expect((rows as { n: number }[]).map((r) => Number(r.n))).toEqual([1, 1, 1, 1, 1]);
    } finally {
      await conn.end();
    }

    // The pool is given back: the waiting statement runs and the events are handled.
    for (const qr of held.splice(0)) {
      await qr.rollbackTransaction();
      await qr.release();
    }
    await shared;
    const deadline = Date.now() + 15_000;
    let open = -1;
    while (Date.now() < deadline) {
      open = Number((await app.container.db.query<{ n: number | string }>("SELECT COUNT(*) AS n FROM inbox_events WHERE status IN ('pending', 'running')"))[0].n);
      if (open === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(open).toBe(0);
  });
});
