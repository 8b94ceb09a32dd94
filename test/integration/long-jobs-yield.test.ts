import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { turnsDuring } from '../helpers/event-loop.js';
import { FixedClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/logger.js';
import { buildScheduling, type SchedulingModule } from '../../src/container.js';
import type { JobContext } from '../../src/jobs/job.types.js';
import { insertCustomer, insertRelation, insertStaff } from '../fixtures/scheduling.js';

const AT = new Date('2026-09-08T10:00:00+08:00');
const CUSTOMERS = 40;
const PAGE = 4;

/**
 * A long job gives the event loop a turn between its pages. On SQLite every statement runs synchronously and settles
 * as a microtask, so before, a job over a million customers never let a callback be answered until it finished
 * (docs/inbox.md §Long jobs share the loop). Counted, not timed: how many times a self-rescheduling setImmediate ran
 * while the job was running.
 */
describe.each(testEngines())('long jobs yield to the event loop on %s', (engine) => {
  let app: TestApp;
  let m: SchedulingModule;
  const clock = new FixedClock(AT);
  const ctx = (isDryRun: boolean): JobContext => ({ at: clock.now(), clock, occasionKey: `t${Math.random()}`, isDryRun, runId: null, log: silentLogger, report: () => undefined });

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    m = buildScheduling(app.container, { settings: { pageSize: PAGE }, clock, instanceId: 'yield-test' });
    const db = app.container.db;
    await insertStaff(db, 'zhangsan', '张三');
    for (let i = 0; i < CUSTOMERS; i++) {
      const id = `wm-yield-${String(i).padStart(3, '0')}`;
      await insertCustomer(db, { externalUserId: id, name: `客户${i}`, firstAddedAt: new Date('2026-01-01T00:00:00Z') });
      await insertRelation(db, 'zhangsan', id, new Date('2026-01-01T00:00:00Z'));
    }
  });
  afterAll(() => app?.close());

  it('the scoring job lets the loop turn at least once a page', async () => {
    const turns = await turnsDuring(() => m.jobs.get('scoring').run(ctx(false)));
    expect(turns).toBeGreaterThanOrEqual(CUSTOMERS / PAGE);
  });

  it('planning a broadcast to everyone lets the loop turn at least once a page', async () => {
    const created = await api(app, 'POST', '/api/v1/broadcasts', { name: '全员', audience: 'all', message: { text: '{{name}}您好' } });
    expect(created.status).toBe(201);
    const turns = await turnsDuring(async () => {
      const counts = await m.jobs.get('broadcasts').run(ctx(true));
      expect(counts.planned).toBe(CUSTOMERS);
    });
    expect(turns).toBeGreaterThanOrEqual(CUSTOMERS / PAGE);
  });

  it("the journeys' tick lets the loop turn between batches of signals", async () => {
    // Every WeChat-KF message is a reply signal: a surge leaves thousands for the next tick, read 500 at a time.
    const db = app.container.db;
    const signals = 1_600;
    for (let i = 0; i < signals; i += 400) {
      const rows = Array.from({ length: Math.min(400, signals - i) }, (_, k) => ['replied', `wm-yield-${String((i + k) % CUSTOMERS).padStart(3, '0')}`, '{}', AT.getTime()]);
      await db.query(`INSERT INTO journey_signals (kind, external_user_id, data, occurred_at) VALUES ${rows.map(() => '(?,?,?,?)').join(',')}`, rows.flat());
    }
    const turns = await turnsDuring(() => m.jobs.get('journeys').run(ctx(false)));
    const [{ n }] = await db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM journey_signals');
    expect(Number(n)).toBe(0);
    // Four batches of signals, a turn before each, besides the due pages' own.
    expect(turns).toBeGreaterThanOrEqual(Math.ceil(signals / 500));
  });
});
