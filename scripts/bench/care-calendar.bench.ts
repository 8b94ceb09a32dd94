/**
 * `npm run bench -- care-calendar`: the care calendar (GET /api/v1/care-rules/calendar) over a generated archive of
 * BENCH_CALENDAR_CUSTOMERS customers (default 20,000: the sandbox's large corp; birthdays spread over the year, 10 %
 * lunar, each followed by one of 20 staff), with the default rules. Times 30 days from 2026-09-20, a window with two
 * holidays the default rules pick (中秋 and 国庆, each reaching every customer), 30 plain days from 2026-04-01 and
 * 国庆 alone, each then one page of the largest day's customers; BENCH_CALENDAR_WINDOWS=holidays,plain,national-day
 * narrows them. BENCH_CALENDAR_RUNS runs each (default 3); the median and range
 * are reported. SQLite and MySQL (BENCH_MYSQL_URL, else TEST_MYSQL_URL, else the local MariaDB);
 * BENCH_CALENDAR_ENGINES=sqlite|mysql narrows it. The calendar is timed as calls into CareCalendarService in this
 * process, not through a running bot's HTTP API: a lower bound on what the page waits for. BENCH_CALENDAR_KEEP=1 keeps
 * the seeded database (a fixed name per engine and size, scripts/bench/bench-db.ts) and reuses it on the next run: a
 * million customers take minutes to seed. `loopMaxMs` is the longest the event loop was held during a window's calls
 * (the median over the runs of each run's longest stretch, from monitorEventLoopDelay): what a callback arriving
 * meanwhile would have waited for (docs/care.md §Counts off the event loop).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createTestDatabase } from '../../test/helpers/databases.js';
import { createDataSource, type DbEngine } from '../../src/persistence/data-source.js';
import { Db } from '../../src/persistence/db.js';
import { migrations } from '../../migrations/index.js';
import { seedCareCorp } from './care-corp.js';
import { keptDatabase, resetKept } from './bench-db.js';
import { silentLogger } from '../../src/shared/logger.js';
import { FixedClock } from '../../src/shared/clock.js';
import { zonedTimeToUtc } from '../../src/shared/dates.js';
import { loadCareConfig } from '../../src/domain/care/care-settings.js';
import { CareRuleRepository } from '../../src/persistence/repositories/care-rule.repository.js';
import { CareScanRepository } from '../../src/persistence/repositories/care-scan.repository.js';
import { TagRepository } from '../../src/persistence/repositories/tag.repository.js';
import { DeliveryRepository } from '../../src/persistence/repositories/delivery.repository.js';
import { SendSlotRepository } from '../../src/persistence/repositories/send-slot.repository.js';
import { CarePlanner } from '../../src/domain/care/care-planner.js';
import { CareCalendarService } from '../../src/domain/care/care-calendar.service.js';
import type { CareRule } from '../../src/domain/care/care-rule.types.js';

const TZ = 'Asia/Shanghai';
const STAFF = 20;
const WINDOWS = [
  { name: 'holidays', from: '2026-09-20', days: 30 },
  { name: 'plain', from: '2026-04-01', days: 30 },
  // 国庆 alone: the holiday rule reaches every customer that day.
  { name: 'national-day', from: '2026-10-01', days: 1 },
];
const BENCH_MYSQL_URL = process.env.BENCH_MYSQL_URL ?? process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

async function generate(db: Db, n: number): Promise<void> {
  await seedCareCorp(db, n, { seed: 7, staff: STAFF, batch: 1000, spanDays: 1700, tz: TZ, optedOutShare: 0.03 });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function benchEngine(engine: DbEngine, n: number, runs: number): Promise<Record<string, number | string>[]> {
  const kept = process.env.BENCH_CALENDAR_KEEP === '1' ? (await keptDatabase(engine, `wecom_ops_calendar_keep_${engine}_${n}`, BENCH_MYSQL_URL)).db : undefined;
  const target = kept ?? (await createTestDatabase(engine, { mysqlUrl: BENCH_MYSQL_URL, prefix: 'wecom_ops_calendar_bench' }));
  let ds = createDataSource({ databaseUrl: target.url, migrations });
  await ds.initialize();
  try {
    await ds.runMigrations({ transaction: 'each' });
    let db = new Db(ds);
    const [{ c }] = await db.query<{ c: number | string }>('SELECT COUNT(*) AS c FROM customers');
    if (kept && Number(c) === n) {
      process.stderr.write(`care-calendar ${engine}: reusing the kept database ${target.url}\n`);
      await db.query('DELETE FROM care_rules');
    } else {
      if (kept && Number(c) > 0) {
        // A kept database that is not fully seeded (a run stopped while seeding) starts again from empty tables.
        await ds.destroy();
        await resetKept(engine, target.url);
        ds = createDataSource({ databaseUrl: target.url, migrations });
        await ds.initialize();
        await ds.runMigrations({ transaction: 'each' });
        db = new Db(ds);
      }
      const t0 = performance.now();
      await generate(db, n);
      process.stderr.write(`care-calendar ${engine}: seeded ${n} customers in ${Math.round((performance.now() - t0) / 1000)} s\n`);
    }
    const config = loadCareConfig();
    const now = zonedTimeToUtc('2026-01-01', '09:00', TZ);
    const ruleRepo = new CareRuleRepository(db);
    const rules = config.rules.map((r, i) => ({ ...r, id: `rule-${i}`, seedKey: r.seedKey, attachments: [], createdAt: now, updatedAt: now }) as CareRule);
    for (const r of rules) await ruleRepo.insert(r, now);
    const settings = config.settings;
    const scan = new CareScanRepository(db);
    const planner = new CarePlanner(scan, (v) => new TagRepository(db).liveTagsNamed(v), engine, { tz: TZ, pageSize: settings.pageSize, senderPolicy: settings.senderPolicy }, silentLogger);
    const calendar = new CareCalendarService(
      ruleRepo,
      planner,
      new DeliveryRepository(db),
      new SendSlotRepository(db),
      { tz: TZ, careTime: settings.careTime, quietHours: { ...settings.quietHours, tz: TZ }, caps: { massQuotaRule: settings.massQuotaRule, perCustomerPerDay: settings.perCustomerPerDay } },
      new FixedClock(now),
      scan,
    );
    const out: Record<string, number | string>[] = [];
    const only = process.env.BENCH_CALENDAR_WINDOWS?.split(',');
    for (const w of WINDOWS.filter((x) => !only || only.includes(x.name))) {
      const times: number[] = [];
      const drill: number[] = [];
      const loop: number[] = [];
      let reach = 0;
      for (let r = 0; r < runs; r++) {
        const held = monitorEventLoopDelay({ resolution: 10 });
        held.enable();
        const t0 = performance.now();
        const { days } = await calendar.days({ from: w.from, days: w.days });
        times.push(performance.now() - t0);
        const lines = days.flatMap((d) => d.rules.map((l) => ({ date: d.date, l })));
        reach = lines.reduce((s, x) => s + x.l.planned + x.l.already, 0);
        const big = lines.sort((a, b) => b.l.planned - a.l.planned)[0];
        const t1 = performance.now();
        await calendar.customers({ date: big.date, ruleId: big.l.ruleId, page: 1, pageSize: 20 });
        drill.push(performance.now() - t1);
        held.disable();
        loop.push(held.max / 1e6);
      }
      out.push({
        engine,
        customers: n,
        window: `${w.name} (${w.from}, ${w.days} day${w.days > 1 ? 's' : ''})`,
        reach,
        calendarMs: Math.round(median(times)),
        calendarMinMs: Math.round(Math.min(...times)),
        calendarMaxMs: Math.round(Math.max(...times)),
        largestDayPageMs: Math.round(median(drill)),
        largestDayPageMaxMs: Math.round(Math.max(...drill)),
        loopMaxMs: Math.round(median(loop)),
        runs,
      });
    }
    return out;
  } finally {
    await ds.destroy();
    await target.drop();
  }
}

/** Run the care calendar benchmark. */
export async function runCareCalendarBench(): Promise<Record<string, number | string>[]> {
  const n = Number(process.env.BENCH_CALENDAR_CUSTOMERS ?? 20_000);
  const runs = Number(process.env.BENCH_CALENDAR_RUNS ?? 3);
  const engines = (process.env.BENCH_CALENDAR_ENGINES?.split(',') as DbEngine[] | undefined) ?? (['sqlite', 'mysql'] as DbEngine[]);
  const out: Record<string, number | string>[] = [];
  for (const engine of engines) out.push(...(await benchEngine(engine, n, runs)));
  return out;
}
