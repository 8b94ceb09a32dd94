/**
 * `npm run bench -- care`: the care run's planning over a large archive. Generates BENCH_CARE_CUSTOMERS customers
 * (default 1,000,000; birthdays spread uniformly, so about 1/365 fall on the benchmark day, 10 % of them lunar),
 * each followed by one of 20 staff, then times `CarePlanner.planDay` with the default rules writing real ledger
 * rows, sampling peak RSS. Runs on SQLite and MySQL (BENCH_MYSQL_URL, else TEST_MYSQL_URL, else the local MariaDB); BENCH_CARE_ENGINES=sqlite limits it.
 * BENCH_CARE_ENGINES=sqlite|mysql|sqlite,mysql narrows it.
 */
import { createTestDatabase, type TestDatabase } from '../../test/helpers/databases.js';
import { createDataSource, type DbEngine } from '../../src/persistence/data-source.js';
import { Db } from '../../src/persistence/db.js';
import { migrations } from '../../migrations/index.js';
import { seedCareCorp } from './care-corp.js';
import { silentLogger } from '../../src/shared/logger.js';
import { newId } from '../../src/shared/ids.js';
import { zonedTimeToUtc } from '../../src/shared/dates.js';
import { loadCareConfig } from '../../src/domain/care/care-settings.js';
import { CareRuleRepository } from '../../src/persistence/repositories/care-rule.repository.js';
import { CareScanRepository } from '../../src/persistence/repositories/care-scan.repository.js';
import { TagRepository } from '../../src/persistence/repositories/tag.repository.js';
import { DeliveryRepository } from '../../src/persistence/repositories/delivery.repository.js';
import { SendSlotRepository } from '../../src/persistence/repositories/send-slot.repository.js';
import { CarePlanner } from '../../src/domain/care/care-planner.js';
import { DeliveryLedger } from '../../src/domain/delivery/delivery-ledger.js';
import type { CareRule } from '../../src/domain/care/care-rule.types.js';

const TZ = 'Asia/Shanghai';
// Not a holiday, so the run is birthdays, anniversaries, follow-ups and notes, as on most days.
const TODAY = '2026-03-17';
const STAFF = 20;

const BENCH_MYSQL_URL = process.env.BENCH_MYSQL_URL ?? process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

/** A scratch database for one bench run (same helper as the tests; MySQL from BENCH_MYSQL_URL or TEST_MYSQL_URL). */
function createBenchDb(engine: DbEngine): Promise<TestDatabase> {
  return createTestDatabase(engine, { mysqlUrl: BENCH_MYSQL_URL, prefix: 'wecom_ops_care_bench' });
}

async function generate(db: Db, n: number): Promise<void> {
  await seedCareCorp(db, n, { seed: 42, staff: STAFF, batch: 2000, spanDays: 1500, tz: TZ });
}

async function benchEngine(engine: DbEngine, n: number): Promise<Record<string, number | string>> {
  const target = await createBenchDb(engine);
  const ds = createDataSource({ databaseUrl: target.url, migrations });
  await ds.initialize();
  try {
    await ds.runMigrations({ transaction: 'each' });
    const db = new Db(ds);
    const genStart = Date.now();
    await generate(db, n);
    const generateMs = Date.now() - genStart;

    const config = loadCareConfig();
    const now = zonedTimeToUtc(TODAY, '09:00', TZ);
    const rules: CareRule[] = config.rules
      .filter((r) => r.enabled)
      .map((r, i) => ({ ...r, id: `rule-${i}`, seedKey: r.seedKey, attachments: [], createdAt: now, updatedAt: now }) as CareRule);
    const ruleRepo = new CareRuleRepository(db);
    for (const r of rules) await ruleRepo.insert(r, now);
    const planner = new CarePlanner(new CareScanRepository(db), (v) => new TagRepository(db).liveTagsNamed(v), engine, { tz: TZ, pageSize: config.settings.pageSize, senderPolicy: 'latest' }, silentLogger);
    const ledger = new DeliveryLedger(new DeliveryRepository(db), new SendSlotRepository(db), { massQuotaRule: 'days_of_month', perCustomerPerDay: 1 }, () => now, newId());

    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 25);
    const t0 = process.hrtime.bigint();
    const counts = await planner.planDay({ today: TODAY, now, rules, sink: ledger });
    const planMs = Number(process.hrtime.bigint() - t0) / 1e6;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    return {
      engine,
      customers: n,
      generateMs,
      planMs: Math.round(planMs),
      planned: counts.planned,
      skipped: counts.skipped,
      candidates: counts.candidates,
      rssBeforeMb: Math.round(rssBefore / 2 ** 20),
      peakRssMb: Math.round(peak / 2 ** 20),
      targetMs: 10_000,
      targetRssMb: 300,
    };
  } finally {
    await ds.destroy();
    await target.drop();
  }
}

/** Run the care planning benchmark; `customers` defaults to BENCH_CARE_CUSTOMERS or 1,000,000. */
export async function runCareBench(opts: { customers?: number; engines?: DbEngine[] } = {}): Promise<Record<string, number | string>[]> {
  const n = opts.customers ?? Number(process.env.BENCH_CARE_CUSTOMERS ?? 1_000_000);
  const engines =
    opts.engines ??
    ((process.env.BENCH_CARE_ENGINES?.split(',') as DbEngine[] | undefined) ??
      (['sqlite', 'mysql'] as DbEngine[]));
  const out: Record<string, number | string>[] = [];
  for (const engine of engines) out.push(await benchEngine(engine, n));
  return out;
}
