import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { FixedClock } from '../../src/shared/clock.js';
import { silentLogger } from '../../src/shared/logger.js';
import { BroadcastPlanner } from '../../src/domain/broadcasts/broadcast-planner.js';
import { DeliveryLedger } from '../../src/domain/delivery/delivery-ledger.js';
import type { CareScanRepository } from '../../src/persistence/repositories/care-scan.repository.js';
import { insertCustomer, insertRelation, insertStaff } from '../fixtures/scheduling.js';

const AT = new Date('2026-09-09T10:00:00+08:00');
const CUSTOMERS = 60;
const PAGE = 4;

/**
 * Planning a broadcast streams its audience (docs/audiences.md §Planning a broadcast): whatever the audience's size,
 * the planner holds the customers of one page (SQLite) or two (MySQL, where the next page is read while the ledger
 * writes this one), and the ledger is handed one page at a time. Counted, not measured: the customers the scan has
 * handed out and the ledger has not yet planned, at every step, over an audience of 15 pages. Every customer still
 * gets exactly one row.
 */
describe.each(testEngines())('broadcast planning streams its audience on %s', (engine) => {
  let app: TestApp;
  const clock = new FixedClock(AT);

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    const db = app.container.db;
    await insertStaff(db, 'zhangsan', '张三');
    for (let i = 0; i < CUSTOMERS; i++) {
      const id = `wm-stream-${String(i).padStart(3, '0')}`;
      await insertCustomer(db, { externalUserId: id, name: `客户${i}`, firstAddedAt: new Date('2026-01-01T00:00:00Z') });
      await insertRelation(db, 'zhangsan', id, new Date('2026-01-01T00:00:00Z'));
    }
  });
  afterAll(() => app?.close());

  it('holds at most one page (two on MySQL) and hands the ledger one page at a time, each customer once', async () => {
    const m = app.container.scheduling;
    const { repos } = app.container;
    const created = await api(app, 'POST', '/api/v1/broadcasts', { name: '全员流式', audience: 'all', message: { text: '{{name}}您好' } });
    expect(created.status).toBe(201);
    const audience = Number((await app.container.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM customers'))[0].n);
    expect(audience).toBeGreaterThanOrEqual(CUSTOMERS);

    // The scan as the planner sees it, counting the customers it hands out; the ledger, counting what it planned.
    let handedOut = 0;
    let planned = 0;
    let mostHeld = 0;
    const batches: number[] = [];
    const scan: CareScanRepository = Object.create(repos.scan);
    scan.recipients = async function* (conditions, pageSize) {
      for await (const page of repos.scan.recipients(conditions, pageSize)) {
        handedOut += page.length;
        mostHeld = Math.max(mostHeld, handedOut - planned);
        yield page;
      }
    };
    const ledger = new DeliveryLedger(m.repos.deliveries, m.repos.sendSlots, { massQuotaRule: m.settings.massQuotaRule, perCustomerPerDay: m.settings.perCustomerPerDay }, () => clock.now());
    const sink = {
      plan: ledger.plan.bind(ledger),
      planMany: async (ds: Parameters<DeliveryLedger['planMany']>[0]) => {
        batches.push(ds.length);
        const out = await ledger.planMany(ds);
        planned += ds.length;
        return out;
      },
    };
    const planner = new BroadcastPlanner(
      repos.broadcasts, scan, m.repos.deliveries, (v) => repos.tags.liveTagsNamed(v), engine,
      { tz: 'Asia/Shanghai', pageSize: PAGE, senderPolicy: m.settings.senderPolicy, quietHours: { ...m.settings.quietHours, tz: 'Asia/Shanghai' } },
      'streaming-test', silentLogger,
    );
    const counts = await planner.planDue({ now: clock.now(), clock: () => clock.now(), sink, isDryRun: false });

    expect(counts).toMatchObject({ claimed: 1, failed: 0, duplicate: 0 });
    expect(counts.planned + counts.skipped).toBe(audience);
    expect(handedOut).toBe(audience);
    expect(batches.length).toBeGreaterThanOrEqual(Math.ceil(audience / PAGE));
    expect(Math.max(...batches)).toBeLessThanOrEqual(PAGE);
    expect(mostHeld).toBeLessThanOrEqual((engine === 'mysql' ? 2 : 1) * PAGE);
    const rows = await app.container.db.query<{ external_user_id: string }>('SELECT external_user_id FROM deliveries WHERE broadcast_id = ?', [created.body.id]);
    expect(rows).toHaveLength(audience);
    expect(new Set(rows.map((r) => r.external_user_id)).size).toBe(audience);
  });
});
