import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { api, startTestApp, type TestApp } from '../helpers/app.js';
import { testEngines } from '../helpers/databases.js';
import { FixedClock } from '../../src/shared/clock.js';
import { addDays, localDate } from '../../src/shared/dates.js';
import { buildScheduling, type SchedulingModule } from '../../src/container.js';
import type { JobCounts } from '../../src/jobs/job.types.js';
import type { Db } from '../../src/persistence/db.js';
import { insertCustomer, insertRelation, insertStaff } from '../fixtures/scheduling.js';

const sh = (local: string) => new Date(`${local}+08:00`);
const TODAY = '2026-06-01';
const AT = sh(`${TODAY}T03:30:00`);
/** Noon, Shanghai time, `n` days before (negative: after) `date`. */
const daysAgo = (n: number, date = TODAY) => sh(`${addDays(date, -n)}T12:00:00`);

let orderSeq = 0;
/** An order row as the import writes it (the import API is not needed here). */
async function insertOrder(db: Db, externalUserId: string, orderedAt: Date, amountCents: number): Promise<void> {
  orderSeq += 1;
  const no = `T${String(orderSeq).padStart(6, '0')}`;
  await db.query('INSERT INTO orders (id, external_user_id, order_no, amount_cents, ordered_at, created_at) VALUES (?,?,?,?,?,?)', [no, externalUserId, no, amountCents, orderedAt.getTime(), 0]);
}

/** A followed customer, added long ago, who spoke yesterday (so active). */
async function customer(db: Db, id: string, over: { addedAt?: Date; lastInteractionAt?: Date | null; relation?: 'active' | 'deleted' } = {}): Promise<void> {
  await insertCustomer(db, { externalUserId: id, firstAddedAt: over.addedAt ?? sh('2025-01-01T10:00:00'), lastInteractionAt: over.lastInteractionAt === undefined ? daysAgo(1) : over.lastInteractionAt });
  await insertRelation(db, 'zhangsan', id, over.addedAt ?? sh('2025-01-01T10:00:00'), over.relation ?? 'active');
}

async function scores(db: Db): Promise<Record<string, { rfm: string | null; stage: string | null }>> {
  const rows = await db.query<{ external_user_id: string; rfm: string | null; stage: string | null }>('SELECT external_user_id, rfm, stage FROM customers ORDER BY external_user_id');
  return Object.fromEntries(rows.map((r) => [r.external_user_id, { rfm: r.rfm, stage: r.stage }]));
}

const snapshot = async (db: Db) =>
  JSON.stringify({
    customers: await db.query('SELECT external_user_id, activity, rfm, stage, updated_at FROM customers ORDER BY external_user_id'),
    tags: await db.query('SELECT external_user_id, tag_id, userid, source, rule_id FROM customer_tags ORDER BY external_user_id, tag_id, source'),
  });

// Eight buyers, one per segment: latest order 5 or 100 days ago (mean 52.5), 5 or 1 orders (mean 3), ¥1000 or ¥10
// in all (mean ¥505). The id spells R, F, M: 1 = better than the corp's mean.
const BUYERS: { id: string; recentDays: number; orders: number; spent: number; rfm: string }[] = [
  { id: 'c-111', recentDays: 5, orders: 5, spent: 100_000, rfm: '重要价值' },
  { id: 'c-101', recentDays: 5, orders: 1, spent: 100_000, rfm: '重要发展' },
  { id: 'c-011', recentDays: 100, orders: 5, spent: 100_000, rfm: '重要保持' },
  { id: 'c-001', recentDays: 100, orders: 1, spent: 100_000, rfm: '重要挽留' },
  { id: 'c-110', recentDays: 5, orders: 5, spent: 1_000, rfm: '一般价值' },
  { id: 'c-100', recentDays: 5, orders: 1, spent: 1_000, rfm: '一般发展' },
  { id: 'c-010', recentDays: 100, orders: 5, spent: 1_000, rfm: '一般保持' },
  { id: 'c-000', recentDays: 100, orders: 1, spent: 1_000, rfm: '一般挽留' },
];

async function seedBuyers(db: Db): Promise<void> {
  for (const b of BUYERS) {
    await customer(db, b.id);
    // The latest order carries the remainder, so the sum is exact; the others lie 1..4 days before it.
    const each = Math.floor(b.spent / b.orders);
    for (let k = 0; k < b.orders; k++) await insertOrder(db, b.id, daysAgo(b.recentDays + k), k === 0 ? b.spent - each * (b.orders - 1) : each);
  }
  // Outside the window (365 days): a buyer only long ago gets no segment but is still a customer.
  await customer(db, 'c-lapsed');
  await insertOrder(db, 'c-lapsed', daysAgo(400), 5_000_000);
  await customer(db, 'c-none');
  // Not in the archive (an import ahead of a sync) and in the future (a re-run `--at` an earlier day): both would
  // move every mean if they counted.
  await insertOrder(db, 'ghost-not-archived', daysAgo(1), 900_000_000);
  await insertOrder(db, 'c-000', daysAgo(-3), 900_000_000);
}

describe.each(testEngines())('scoring job on %s', (engine) => {
  let app: TestApp;
  let m: SchedulingModule;
  const clock = new FixedClock(AT);
  const lines: string[] = [];
  /** Run the job's body directly (no occasion claim), as `job run scoring --at` would. */
  const run = (at: Date, isDryRun = false): Promise<JobCounts> =>
    m.jobs.get('scoring').run({ at, clock: new FixedClock(at), occasionKey: localDate(at, 'Asia/Shanghai'), isDryRun, runId: null, log: app.log, report: (l) => void lines.push(l) });

  beforeAll(async () => {
    app = await startTestApp(engine, { build: { clock } });
    // Pages of 3 customers: the keyset paging and the per-page order aggregate are crossed many times.
    m = buildScheduling(app.container, { settings: { pageSize: 3 }, clock, instanceId: 'scoring-test' });
    await insertStaff(app.container.db, 'zhangsan', '张三');
  });
  afterAll(() => app?.close());
  beforeEach(async () => {
    for (const t of ['customer_tags', 'orders', 'follow_relations', 'customers', 'job_runs']) await app.container.db.query(`DELETE FROM ${t}`);
    lines.length = 0;
  });

  it('puts each buyer in its RFM segment against the corp means, and everyone else in none', async () => {
    const db = app.container.db;
    await seedBuyers(db);
    const counts = await run(AT);
    const got = await scores(db);
    for (const b of BUYERS) expect(got[b.id], b.id).toEqual({ rfm: b.rfm, stage: b.orders >= 3 ? 'loyal' : 'customer' });
    expect(got['c-lapsed']).toEqual({ rfm: null, stage: 'customer' });
    expect(got['c-none']).toEqual({ rfm: null, stage: 'prospect' });
    expect(counts).toMatchObject({ withOrders: 8, rfmChanged: 8, stageChanged: 10, 'rfm:重要价值': 1, 'rfm:一般挽留': 1, 'stage:loyal': 4, 'stage:customer': 5, 'stage:prospect': 1 });
    expect(lines.some((l) => l.startsWith('RFM') && l.includes('重要价值 1'))).toBe(true);
    // The same run then applied the seeded behaviour rules to the fresh segments and stages (config/tag-rules.json).
    const tagged = await db.query<{ name: string; group_name: string }>(
      "SELECT t.name, g.name AS group_name FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id JOIN tag_groups g ON g.id = t.group_id WHERE ct.external_user_id = 'c-111' AND ct.source = 'behaviour' ORDER BY t.name",
    );
    expect(tagged.map((t) => `${t.group_name}/${t.name}`).sort()).toEqual(['价值/重要价值', '行为/忠诚'].sort());
  });

  it('serves the contract audiences rfm:重要价值 and "rfm:重要价值 OR stage:loyal" through GET /api/v1/customers', async () => {
    await seedBuyers(app.container.db);
    await run(AT);
    const ids = async (audience: string) => {
      const res = await api(app, 'GET', `/api/v1/customers?audience=${encodeURIComponent(audience)}&pageSize=100`);
      expect(res.status).toBe(200);
      return (res.body.items as { externalUserId: string }[]).map((i) => i.externalUserId).sort();
    };
    expect(await ids('rfm:重要价值')).toEqual(['c-111']);
    expect(await ids('rfm:重要价值 OR stage:loyal')).toEqual(['c-010', 'c-011', 'c-110', 'c-111']);
    expect(await ids('rfm:重要挽留 OR rfm:重要保持')).toEqual(['c-001', 'c-011']);
  });

  it('moves one customer through new → prospect → customer → loyal → at_risk → churned, and back on a new order', async () => {
    const db = app.container.db;
    const day0 = '2026-01-01';
    const on = (n: number) => sh(`${addDays(day0, n)}T03:30:00`);
    const stage = async () => (await scores(db)).life.stage;
    await customer(db, 'life', { addedAt: sh(`${day0}T10:00:00`), lastInteractionAt: sh(`${day0}T10:05:00`) });

    await run(on(1));
    expect(await stage()).toBe('new');
    await run(on(10));
    expect(await stage()).toBe('prospect');
    await insertOrder(db, 'life', sh(`${addDays(day0, 10)}T15:00:00`), 19_900);
    await db.query('UPDATE customers SET last_interaction_at = ? WHERE external_user_id = ?', [sh(`${addDays(day0, 10)}T15:00:00`).getTime(), 'life']);
    await run(on(11));
    expect(await stage()).toBe('customer');
    await insertOrder(db, 'life', sh(`${addDays(day0, 11)}T15:00:00`), 9_900);
    await insertOrder(db, 'life', sh(`${addDays(day0, 12)}T15:00:00`), 9_900);
    await run(on(13));
    expect(await stage()).toBe('loyal');
    // 30 days after the last order and 32 after the last word: dormant, and no recent order to say otherwise.
    await run(on(42));
    expect(await stage()).toBe('at_risk');
    await run(on(101));
    expect(await stage()).toBe('churned');
    // An order is a sign of life: churned by silence, but a buyer again.
    await insertOrder(db, 'life', sh(`${addDays(day0, 101)}T08:00:00`), 9_900);
    await run(on(102));
    expect(await scores(db)).toMatchObject({ life: { stage: 'loyal' } });
    // Nobody follows the customer any more: churned, whatever the orders say.
    await db.query("UPDATE follow_relations SET status = 'deleted' WHERE external_user_id = 'life'");
    await run(on(103));
    expect(await stage()).toBe('churned');
    // Only that one buyer: equal to the means on every axis, so none is "above" them.
    expect((await scores(db)).life.rfm).toBe('一般挽留');
  });

  it('a dry run reports the counts and writes nothing; a real run after it is recorded', async () => {
    const db = app.container.db;
    await seedBuyers(db);
    await db.query("UPDATE customers SET last_interaction_at = ? WHERE external_user_id = 'c-none'", [daysAgo(40).getTime()]);
    const before = await snapshot(db);
    const tagsBefore = await db.query('SELECT COUNT(*) AS n FROM tags');

    const dry = await m.scheduler.runNow('scoring', { at: AT, isDryRun: true });
    expect(dry.status).toBe('dry-run');
    expect(dry.counts).toMatchObject({ withOrders: 8, rfmChanged: 8, stageChanged: 10, dormant: 1, changed: 1, 'rfm:重要价值': 1 });
    expect(dry.lines.some((l) => l.startsWith('RFM'))).toBe(true);
    expect(await snapshot(db)).toBe(before);
    expect(await db.query('SELECT COUNT(*) AS n FROM tags')).toEqual(tagsBefore);
    expect(await m.repos.jobRuns.findByOccasion('scoring', TODAY)).toBeNull();

    const real = await m.scheduler.runNow('scoring', { at: AT });
    expect(real.status).toBe('done');
    expect(real.counts).toMatchObject({ rfmChanged: 8, stageChanged: 10, changed: 1 });
    expect((await scores(db))['c-111'].rfm).toBe('重要价值');
    expect(await m.repos.jobRuns.findByOccasion('scoring', TODAY)).toMatchObject({ status: 'done' });
  });

  it('running it twice changes nothing the second time', async () => {
    const db = app.container.db;
    await seedBuyers(db);
    await db.query("UPDATE customers SET last_interaction_at = ? WHERE external_user_id = 'c-000'", [daysAgo(45).getTime()]);
    const first = await run(AT);
    expect(first).toMatchObject({ rfmChanged: 8, changed: 1 });
    // Behaviour rules seeded from config/tag-rules.json ran too (e.g. 沉睡客户, 忠诚客户, the RFM segments).
    expect(first.tagsAdded).toBeGreaterThan(0);
    const after = await snapshot(db);
    const second = await run(new Date(AT.getTime() + 60_000));
    expect(second).toMatchObject({ changed: 0, rfmChanged: 0, stageChanged: 0, tagsAdded: 0, tagsRemoved: 0, tagsOrphaned: 0 });
    expect(await snapshot(db)).toBe(after);
    expect((await scores(db))['c-000']).toEqual({ rfm: '一般挽留', stage: 'at_risk' });
  });
});
