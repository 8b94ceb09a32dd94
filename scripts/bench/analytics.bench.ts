import { randomBytes, randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/databases.js';
import { spawnServer, type ChildServer } from '../../test/helpers/child-server.js';
import type { DbEngine } from '../../src/persistence/data-source.js';
import { hashToken } from '../../src/domain/auth/api-token.service.js';
import { addDays, localDate } from '../../src/shared/dates.js';
import { botEnv } from './bot-env.js';
import { keptDatabase, migrate, resetKept, withDriver } from './bench-db.js';
import { DAYS, TZ, generateAnalyticsCorp, staffCount } from './analytics-corp.js';
import { OUTCOME_WINDOW_DAYS } from '../../src/domain/analytics/analytics-rollup.service.js';
import { COHORT_ROLL_DAYS } from '../../src/domain/analytics/retention-rollup.service.js';

/**
 * `npm run bench -- analytics`: the analytics layer as it runs (docs/analytics.md §Size). Per engine, a database gets
 * the corp of scripts/bench/analytics-corp.ts (BENCH_ANALYTICS_CUSTOMERS customers, default 1,000,000: 5 M tag links,
 * 10 M timeline entries, 2 M ledger rows, two years of rollups up to yesterday, generated in bulk; timed). Then the
 * WeCom sandbox runs in a process of its own (with the corp's members, for the nightly pull of WeCom's staff figures)
 * and the bot in another (scripts/bench/analytics-server.ts: the production boot, role `all`, inbox workers, scheduler
 * and dispatch on), and this process is the HTTP client with an operator token:
 * - each dashboard question (growth with its splits, customer totals, channels, mix, transitions, and cohorts, churn,
 *   staff and reach where the bot has them) over the typical ranges, BENCH_ANALYTICS_REQUESTS (20) requests after 3
 *   warm-ups, p50/p95 as the client sees them;
 * - BENCH_ANALYTICS_RUNS (3) rounds of that; then as many nights: the `analytics` job run now inside the bot
 *   (SIGUSR2, Scheduler.runNow as `job run analytics` does), its wall time and the bot's longest event-loop wait,
 *   each after the rollups are put back as the night before would have left them (asTheNightBefore).
 * Figures are the median round with the spread over rounds. Targets (2 cores, both engines): every question p95 <
 * 200 ms; a night < 2 min; generation < 20 min on MariaDB.
 *
 * Env: BENCH_ANALYTICS_ENGINES=sqlite,mysql  BENCH_ANALYTICS_CUSTOMERS=1000000  BENCH_ANALYTICS_REQUESTS=20
 *      BENCH_ANALYTICS_RUNS=3  BENCH_ANALYTICS_NIGHTS=<runs>  BENCH_MYSQL_URL (else TEST_MYSQL_URL, else the local
 *      MariaDB)  BENCH_ANALYTICS_KEEP=1 keeps the generated database (a fixed name per engine and size) and reuses it on
 *      the next run instead of generating again; BENCH_ANALYTICS_SAME_DAY=1 runs the nights on the rows as they are.
 *      The machine is shared: run it under `flock /tmp/bench.lock`.
 */

const ADMIN = `bench-admin-${randomBytes(8).toString('hex')}`;
const pct = (sorted: number[], p: number) => sorted[Math.max(0, Math.ceil(sorted.length * p) - 1)];
const median = (xs: number[]) => pct([...xs].sort((a, b) => a - b), 0.5);
const spread = (xs: number[]) => `${Math.min(...xs)}–${Math.max(...xs)}`;
const round1 = (x: number) => Math.round(x * 10) / 10;

/** The dashboard's questions over the ranges an operator asks: a month by day, a year by week or month, two years. */
function questions(end: string): [string, string][] {
  const m = addDays(end, -29);
  const q = addDays(end, -89);
  const y = addDays(end, -364);
  const y2 = addDays(end, -(DAYS - 1));
  return [
    ['growth 30d/day', `growth?from=${m}&to=${end}&granularity=day`],
    ['growth 1y/week by channel', `growth?from=${y}&to=${end}&granularity=week&by=channel`],
    ['growth 1y/month by staff', `growth?from=${y}&to=${end}&granularity=month&by=staff`],
    ['growth 90d/day by tag', `growth?from=${q}&to=${end}&granularity=day&by=tag&tagGroup=grp0`],
    ['growth 2y/month', `growth?from=${y2}&to=${end}&granularity=month`],
    ['growth 1y/week one member', `growth?from=${y}&to=${end}&granularity=week&userid=staff1`],
    ['customer-totals 30d/day', `customer-totals?from=${m}&to=${end}&granularity=day`],
    ['customer-totals 1y/month by staff', `customer-totals?from=${y}&to=${end}&granularity=month&by=staff`],
    ['channels 30d', `channels?from=${m}&to=${end}&granularity=day`],
    ['channels 1y/month ranking', `channels?from=${y}&to=${end}&granularity=month&sort=retention30d`],
    ['mix 30d/day activity', `mix?from=${m}&to=${end}&granularity=day&dimension=activity`],
    ['mix 1y/week stage', `mix?from=${y}&to=${end}&granularity=week&dimension=stage`],
    ['transitions 1y/month stage', `transitions?from=${y}&to=${end}&granularity=month&dimension=stage`],
    ['cohorts 1y/week', `cohorts?from=${y}&to=${end}&granularity=week`],
    ['cohorts 30d/day', `cohorts?from=${m}&to=${end}&granularity=day`],
    ['churn 30d/day', `churn?from=${m}&to=${end}&granularity=day`],
    ['churn 1y/month', `churn?from=${y}&to=${end}&granularity=month`],
    ['staff 30d members', `staff?from=${m}&to=${end}&granularity=day&table=members`],
    ['staff 1y/month', `staff?from=${y}&to=${end}&granularity=month`],
    ['reach 30d sources', `reach?from=${m}&to=${end}&granularity=day&table=sources`],
    ['reach 1y/month', `reach?from=${y}&to=${end}&granularity=month&table=periods`],
  ];
}

async function get(url: string, token: string): Promise<number> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return res.status;
}

/** p50/p95 of `reps` requests after 3 warm-ups; null when the bot has no such route (404). */
async function timed(url: string, token: string, reps: number): Promise<{ p50: number; p95: number } | null> {
  for (let i = 0; i < 3; i++) {
    const status = await get(url, token);
    if (status === 404) return null;
    if (status !== 200) throw new Error(`${url} → ${status}`);
  }
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const status = await get(url, token);
    ms.push(performance.now() - t0);
    if (status !== 200) throw new Error(`${url} → ${status}`);
  }
  ms.sort((a, b) => a - b);
  return { p50: round1(pct(ms, 0.5)), p95: round1(pct(ms, 0.95)) };
}





/** A kept corp of this size, fully generated (its two years of days rolled)? Then a fresh operator token for it. */
async function keptCorp(engine: DbEngine, url: string, n: number): Promise<{ token: string; end: string } | null> {
  return withDriver(engine, url, async (q) => {
    if (Number((await q('SELECT COUNT(*) AS n FROM customers'))[0].n) !== n) return null;
    const [d] = await q('SELECT COUNT(*) AS n, MAX(day) AS last FROM analytics_days');
    if (Number(d.n) < DAYS) return null;
    const token = `bench-operator-${randomBytes(12).toString('hex')}`;
    await q("DELETE FROM api_tokens WHERE name = 'analytics bench'");
    await q('INSERT INTO api_tokens (id, name, role, userid, token_hash, created_at) VALUES (?,?,?,?,?,?)', [`tok-${randomBytes(6).toString('hex')}`, 'analytics bench', 'operator', null, hashToken(token), 0]);
    return { token, end: String(d.last) };
  });
}

/**
 * The morning's care run, as a bot running since before 09:00 would have made it: without it the bot's catch-up would
 * plan the day's care for the whole corp at boot, in the middle of the measurement.
 */
async function careRanToday(engine: DbEngine, url: string): Promise<void> {
  await withDriver(engine, url, async (q) => {
    const today = localDate(new Date(), TZ);
    if ((await q("SELECT 1 AS x FROM job_runs WHERE job = 'care' AND occasion_key = ?", [today])).length > 0) return;
    await q("INSERT INTO job_runs (id, job, occasion_key, trigger_kind, status, instance_id, attempt, started_at, finished_at) VALUES (?, 'care', ?, 'schedule', 'succeeded', 'bench', 1, ?, ?)", [randomUUID(), today, Date.now(), Date.now()]);
  });
}

/**
 * The rollups as the night before would have left them (docs/analytics.md §Rolling in place). The bench runs its nights
 * on one local day, so without this each night after the first would find the rows the one before wrote for the same
 * day: every cohort row's `marks_through` and growth row's `outcomes_through` already the night's, and the night's churn
 * base already taken. A real night comes a day later, when those change on every row of the window and the base is
 * new. So before each night the rows of the window are stamped as rolled through the day before and the night's base
 * is removed; the counts are left as they are (a real night moves one weekly mark of a seventh of the add days, and
 * a row's update costs the same for one column or two). BENCH_ANALYTICS_SAME_DAY=1 leaves the rows as the last night
 * left them.
 */
async function asTheNightBefore(engine: DbEngine, url: string): Promise<void> {
  if (process.env.BENCH_ANALYTICS_SAME_DAY === '1') return;
  const lastDay = addDays(localDate(new Date(), TZ), -1);
  const before = addDays(lastDay, -1);
  await withDriver(engine, url, async (q) => {
    await q('UPDATE analytics_cohort_days SET marks_through = ? WHERE day >= ? AND day <= ?', [before, addDays(lastDay, -COHORT_ROLL_DAYS), before]);
    await q('UPDATE analytics_daily_growth SET outcomes_through = ? WHERE day >= ? AND day <= ?', [before, addDays(lastDay, -OUTCOME_WINDOW_DAYS), before]);
    await q('DELETE FROM analytics_daily_churn_base WHERE day = ?', [lastDay]);
    await q('UPDATE analytics_retention_days SET churn_base_at = NULL WHERE day = ?', [lastDay]);
  });
}

/** Send SIGUSR2 and wait for the bot's `NIGHT {…}` line. */
async function night(bot: ChildServer): Promise<{ seconds: number; loopMaxMs: number; loopP99Ms: number; status: string; error: string | null; counts: Record<string, unknown> | null; lines: string[] }> {
  const before = (bot.stdout().match(/NIGHT /g) ?? []).length;
  bot.proc.kill('SIGUSR2');
  for (;;) {
    await new Promise((r) => setTimeout(r, 200));
    const lines = bot.stdout().split('\n').filter((l) => l.startsWith('NIGHT '));
    if (lines.length > before) return JSON.parse(lines[before].slice('NIGHT '.length));
    if (bot.proc.exitCode !== null) throw new Error(`the bot exited during the night's job: ${bot.stderr.join('').slice(-2000)}`);
  }
}

async function benchEngine(engine: DbEngine): Promise<Record<string, unknown>> {
  const n = Number(process.env.BENCH_ANALYTICS_CUSTOMERS ?? 1_000_000);
  const reps = Number(process.env.BENCH_ANALYTICS_REQUESTS ?? 20);
  const runs = Number(process.env.BENCH_ANALYTICS_RUNS ?? 3);
  const nights = Number(process.env.BENCH_ANALYTICS_NIGHTS ?? runs);
  const mysqlUrl = process.env.BENCH_MYSQL_URL ?? process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
  const log = (s: string) => process.stderr.write(`analytics ${engine}:${s}\n`);
  let db: TestDatabase | undefined;
  let bot: ChildServer | undefined;
  let sandbox: ChildServer | undefined;
  try {
    const kept = process.env.BENCH_ANALYTICS_KEEP === '1' ? await keptDatabase(engine, `wecom_ops_analytics_bench_keep_${engine}_${n}`, mysqlUrl) : undefined;
    db = kept?.db ?? (await createTestDatabase(engine, { mysqlUrl, prefix: 'wecom_ops_analytics_bench' }));
    await migrate(db.url);
    const out: Record<string, unknown> = { engine, customers: n };
    let corp = kept ? await keptCorp(engine, db.url, n) : null;
    if (corp) {
      log(` reusing the kept database ${db.url} (generated through ${corp.end})`);
      out.generation = 'kept';
      out.end = corp.end;
    } else {
      if (kept) {
        await resetKept(engine, db.url);
        await migrate(db.url);
      }
      const end = addDays(localDate(new Date(), TZ), -1);
      log(` generating ${n} customers, two years through ${end}`);
      const f = await generateAnalyticsCorp(engine, db.url, n, end, log);
      log(` generated in ${f.seconds} s: ${JSON.stringify({ ...f, operatorToken: undefined })}`);
      Object.assign(out, { end, generationSeconds: f.seconds, generationPhases: f.phases, staff: f.staff, relations: f.relations, tagLinks: f.tagLinks, timeline: f.timeline, deliveries: f.deliveries, orders: f.orders, ledger: f.ledger, rollupRows: f.rollupRows, missingTables: f.missingTables });
      corp = { token: f.operatorToken, end };
    }
    await careRanToday(engine, db.url);

    sandbox = await spawnServer('scripts/bench/sandbox-server.ts', { LOG_LEVEL: 'silent', BENCH_SANDBOX_STAFF: String(staffCount(n)) });
    const env = { ...botEnv(db.url, sandbox.url, ADMIN), ...(kept ? { DATA_KEY: kept.dataKey } : {}) };
    bot = await spawnServer('scripts/bench/analytics-server.ts', env, 180_000);
    const base = `${bot.url}/api/v1/analytics/`;
    const qs = questions(corp.end);
    const rounds: Record<string, { p50: number; p95: number } | null>[] = [];
    for (let r = 0; r < runs; r++) {
      const row: Record<string, { p50: number; p95: number } | null> = {};
      for (const [name, path] of qs) row[name] = await timed(base + path, corp.token, reps);
      log(` round ${r + 1}/${runs}: ${JSON.stringify(row)}`);
      rounds.push(row);
    }
    const absent: string[] = [];
    let worst = 0;
    for (const [name] of qs) {
      const xs = rounds.map((x) => x[name]).filter((x): x is { p50: number; p95: number } => x !== null);
      if (xs.length === 0) {
        absent.push(name);
        continue;
      }
      const p50 = xs.map((x) => x.p50);
      const p95 = xs.map((x) => x.p95);
      out[`${name} p50 ms`] = median(p50);
      out[`${name} p95 ms`] = median(p95);
      if (runs > 1) out[`${name} p95 spread`] = spread(p95);
      worst = Math.max(worst, ...p95);
    }
    out.worstP95MsAnyRound = worst;
    out.over200ms = qs.filter(([name]) => Number(out[`${name} p95 ms`]) >= 200).map(([name]) => name);
    if (absent.length) out.absentRoutes = absent;
    const nightRuns: Awaited<ReturnType<typeof night>>[] = [];
    for (let i = 0; i < nights; i++) {
      await asTheNightBefore(engine, db.url);
      const x = await night(bot);
      log(` night ${i + 1}/${nights}: ${JSON.stringify(x)}`);
      nightRuns.push(x);
    }
    if (nights > 0) {
      out.nightSeconds = median(nightRuns.map((x) => x.seconds));
      out.nightSecondsSpread = spread(nightRuns.map((x) => x.seconds));
      out.nightLoopMaxMs = median(nightRuns.map((x) => x.loopMaxMs));
      out.nightLoopMaxMsSpread = spread(nightRuns.map((x) => x.loopMaxMs));
      out.nightStatus = [...new Set(nightRuns.map((x) => x.status))].join(',');
      out.nightCounts = nightRuns.at(-1)!.counts;
      // Each part of the last night with its wall time and the loop's longest wait in it.
      out.nightParts = nightRuns.at(-1)!.lines;
      const errors = nightRuns.map((x) => x.error).filter(Boolean);
      if (errors.length) out.nightErrors = errors;
    }
    Object.assign(out, { runs, reps, nights, targets: 'each question p95 < 200 ms; a night < 120 s; generation < 20 min on MariaDB' });
    return out;
  } finally {
    await bot?.kill('SIGTERM').catch(() => undefined);
    await sandbox?.kill('SIGTERM').catch(() => undefined);
    if (db && process.env.BENCH_ANALYTICS_KEEP !== '1') await db.drop();
  }
}

/** Entry point for scripts/bench/index.ts: one row per engine. */
export async function runAnalyticsBench(): Promise<Record<string, unknown>[]> {
  const engines = (process.env.BENCH_ANALYTICS_ENGINES ?? 'sqlite,mysql').split(',').filter(Boolean) as DbEngine[];
  const rows: Record<string, unknown>[] = [];
  for (const engine of engines) rows.push(await benchEngine(engine));
  return rows;
}
