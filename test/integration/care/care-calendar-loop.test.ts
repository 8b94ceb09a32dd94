import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { api, startTestApp, type TestApp } from '../../helpers/app.js';
import { testEngines } from '../../helpers/databases.js';
import { FixedClock } from '../../../src/shared/clock.js';
import type { DbEngine } from '../../../src/persistence/data-source.js';
import { insertStaff } from '../../fixtures/scheduling.js';

vi.setConfig({ testTimeout: 120_000 });

const NATIONAL_DAY = '2026-10-01';
/** Customers generated in SQL: enough that counting 国庆's audience takes a while on either engine. */
const CUSTOMERS = 200_000;

/** `n` customers and an active follow relation each, in two statements (ids wmGen0 …). */
async function generateCustomers(app: TestApp, engine: DbEngine, n: number): Promise<void> {
  const digits = `(${Array.from({ length: 10 }, (_, i) => `SELECT ${i} AS x`).join(' UNION ALL ')})`;
  const num = 'a.x + 10 * b.x + 100 * c.x + 1000 * d.x + 10000 * e.x + 100000 * f.x';
  const from = `FROM ${digits} a, ${digits} b, ${digits} c, ${digits} d, ${digits} e, ${digits} f WHERE ${num} < ${n}`;
  const id = engine === 'sqlite' ? `'wmGen' || (${num})` : `CONCAT('wmGen', ${num})`;
  const added = new Date('2025-03-01T02:00:00Z').getTime();
  await app.container.db.query(
    `INSERT INTO customers (external_user_id, name, type, gender, first_added_at, activity, opted_out, created_at, updated_at) SELECT ${id}, ${id}, 1, 0, ${added}, 'active', 0, 0, 0 ${from}`,
  );
  await app.container.db.query(
    `INSERT INTO follow_relations (userid, external_user_id, add_way, added_at, status, created_at, updated_at) SELECT 'zhangsan', ${id}, 1, ${added}, 'active', 0, 0 ${from}`,
  );
}

/**
 * The care calendar counts a holiday over its whole audience in SQL (docs/care.md §The care calendar): at a million
 * customers one statement of seconds. Those counts are API reads (docs/care.md §Counts off the event loop): on an
 * SQLite file they run on the reader thread, so the event loop keeps answering every other request meanwhile (on the
 * main connection better-sqlite3 held it for the whole statement); on MySQL the statement is a round trip anyway.
 */
describe.each(testEngines())('care calendar counts off the event loop (%s)', (engine) => {
  let app: TestApp;
  let holidays: string;

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock: new FixedClock(new Date('2026-09-30T00:00:00Z')) } });
    await insertStaff(app.container.db, 'zhangsan', '张三');
    await generateCustomers(app, engine, CUSTOMERS);
    const rules = (await api(app, 'GET', '/api/v1/care-rules')).body.items as { id: string; seedKey: string }[];
    holidays = rules.find((r) => r.seedKey === 'holidays')!.id;
  }, 120_000);
  afterAll(() => app?.close());

  it('answers /healthz while the calendar counts 国庆 over the whole audience, and the count is whole', async () => {
    const db = app.container.db;
    // When the count's statement (reachCounts: the one with long_names) was asked and when its answer came back, on
    // whichever path it takes.
    const count = { asked: 0, answered: 0, via: '' };
    const apiRead = db.apiRead.bind(db);
    const query = db.query.bind(db);
    const watch = (via: string, run: (sql: string, params?: unknown[]) => Promise<unknown[]>) =>
      (async (sql: string, params?: unknown[]) => {
        if (!sql.includes('AS long_names')) return run(sql, params);
        count.asked = performance.now();
        count.via = via;
        try {
          return await run(sql, params);
        } finally {
          count.answered = performance.now();
        }
      }) as typeof db.apiRead;
    db.apiRead = watch('apiRead', apiRead);
    db.query = watch('query', query);
    try {
      let done = false;
      const calendar = api(app, 'GET', `/api/v1/care-rules/calendar?from=${NATIONAL_DAY}&days=1&rule=${holidays}`).finally(() => (done = true));
      // Pings one after the other until the calendar has answered: each one's send and answer times.
      const pings: { sent: number; answered: number }[] = [];
      while (!done) {
        const sent = performance.now();
        expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
        pings.push({ sent, answered: performance.now() });
      }
      const res = await calendar;
      expect(res.status).toBe(200);
      const line = (res.body.items as { date: string; holidays: string[]; rules: { ruleId: string; planned: number; optedOut: number }[] }[])[0];
      expect(line.holidays).toEqual(['国庆节']);
      expect(line.rules).toMatchObject([{ ruleId: holidays, planned: CUSTOMERS, optedOut: 0 }]);
      expect(count.via).toBe('apiRead');
      // Asked and answered within the count's statement: with the count on the main thread, none could be.
      const during = pings.filter((p) => p.sent >= count.asked && p.answered <= count.answered);
      expect(during.length, `pings answered during the ${Math.round(count.answered - count.asked)} ms count: ${during.length} of ${pings.length}`).toBeGreaterThanOrEqual(3);
    } finally {
      db.apiRead = apiRead;
      db.query = query;
    }
  });
});
