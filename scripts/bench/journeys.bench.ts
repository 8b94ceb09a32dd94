import { createTestDatabase, type TestDatabase } from '../../test/helpers/databases.js';
import { spawnServer, type ChildServer } from '../../test/helpers/child-server.js';
import { json } from '../../test/helpers/json-fetch.js';
import type { DbEngine } from '../../src/persistence/data-source.js';
import { withDriver } from './bench-db.js';
import { botEnv } from './bot-env.js';
import { runScript } from './child-run.js';

const ADMIN = 'bench-admin-token-0123456789';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const result = (out: string) => JSON.parse(/RESULT (.*)/.exec(out)![1]) as { ms: number };

/** The bot's `journeys` runs that started at or after `since`, with their counts. */
async function journeyRuns(engine: DbEngine, url: string, since: number): Promise<{ started: number; finished: number | null; status: string; counts: Record<string, number> }[]> {
  const rows = await withDriver(engine, url, (q) => q("SELECT started_at, finished_at, status, counts FROM job_runs WHERE job = 'journeys' AND started_at >= ? ORDER BY started_at", [since]));
  return rows.map((r) => ({
    started: Number(r.started_at),
    finished: r.finished_at === null ? null : Number(r.finished_at),
    status: String(r.status),
    counts: (typeof r.counts === 'string' ? JSON.parse(r.counts) : (r.counts ?? {})) as Record<string, number>,
  }));
}

/**
 * `npm run bench -- journeys` (docs/benchmarks.md §Journeys): 1,000,000 journey memberships (50,000 customers in 20
 * journeys of three message steps), 50,000 of them due. The product as it runs: the bot (`startServer`, workers and
 * scheduler on) in its own process, the sandbox playing WeCom in another with 50 members and the customers, the
 * generator (`journey-seed.ts`, bulk SQL) in a third. The journeys are created over the API; each run the generator
 * puts the first journey's 50,000 members back at step 0, due now, and a fresh bot's own every-minute `journeys` job
 * advances them: decides each step, records it, plans its ledger row and submits the mass tasks (one per member and
 * text, 50). Figures: the job's time (started → finished, from job_runs) and the bot's peak RSS. Rows per engine
 * give the median of BENCH_JOURNEY_RUNS runs (default 3) and their spread. BENCH_TZ (default Pacific/Honolulu) is the
 * bot's APP_TIMEZONE: a zone where the bench's hour is outside quiet hours, so the dispatch is part of the figure.
 * BENCH_JOURNEY_IDLE=1: the same database with nothing due, for the bot's peak RSS without the tick's work.
 */
export async function runJourneysBench(): Promise<Record<string, unknown>[]> {
  const customers = Number(process.env.BENCH_JOURNEY_CUSTOMERS ?? 50_000);
  const journeys = Number(process.env.BENCH_JOURNEYS ?? 20);
  const runs = Number(process.env.BENCH_JOURNEY_RUNS ?? 3);
  const tz = process.env.BENCH_TZ ?? 'Pacific/Honolulu';
  const engines = (process.env.BENCH_ENGINES?.split(',') ?? ['sqlite', 'mysql']) as DbEngine[];
  const rows: Record<string, unknown>[] = [];
  for (const engine of engines) {
    let db: TestDatabase | undefined;
    let sandbox: ChildServer | undefined;
    let bot: ChildServer | undefined;
    // One DATA_KEY for every bot of this engine: they share the database.
    const dataKey = botEnv('', '', ADMIN).DATA_KEY;
    const startPair = async () => {
      sandbox = await spawnServer('scripts/bench/sandbox-server.ts', { LOG_LEVEL: 'silent', BENCH_SANDBOX_STAFF: '50', BENCH_SANDBOX_JOURNEY_CUSTOMERS: String(customers) }, 60_000);
      bot = await spawnServer('scripts/bench/ingress-server.ts', { ...botEnv(db!.url, sandbox.url, ADMIN), DATA_KEY: dataKey, APP_TIMEZONE: tz }, 60_000);
    };
    /** Stop the bot (its peak RSS, in MB) and the sandbox. */
    const stopPair = async (): Promise<number> => {
      let rss = 0;
      if (bot) {
        const stats = new Promise<number>((done) => {
          let buf = '';
          bot!.proc.stdout!.on('data', (d) => {
            buf += String(d);
            const m = /STATS (\{.*\})/.exec(buf);
            if (m) done((JSON.parse(m[1]) as { maxRssMb: number }).maxRssMb);
          });
          setTimeout(() => done(0), 20_000);
        });
        await bot.kill('SIGTERM');
        rss = await stats;
      }
      await sandbox?.kill('SIGTERM').catch(() => undefined);
      bot = sandbox = undefined;
      return rss;
    };
    try {
      db = await createTestDatabase(engine, { mysqlUrl: process.env.BENCH_MYSQL_URL ?? process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test', prefix: 'wecom_ops_bench' });
      // A first bot migrates the database; the journeys are created over its API, as an operator would.
      await startPair();
      const ids: string[] = [];
      for (let j = 0; j < journeys; j++) {
        const created = await json<{ id: string }>(`${bot!.url}/api/v1/journeys`, {
          token: ADMIN,
          body: {
            name: `压测旅程${j + 1}`,
            definition: {
              trigger: { kind: 'manual' },
              steps: [
                { kind: 'message', title: '欢迎', delay: { kind: 'after', minutes: 0 }, text: `欢迎加入（旅程${j + 1}）` },
                { kind: 'message', title: '指南', delay: { kind: 'at', days: 1, time: '10:00' }, text: `使用指南（旅程${j + 1}）` },
                { kind: 'message', title: '回访', delay: { kind: 'at', days: 3, time: '10:00' }, text: `三天回访（旅程${j + 1}）` },
              ],
            },
          },
        });
        await json(`${bot!.url}/api/v1/journeys/${created.id}/status`, { token: ADMIN, body: { status: 'active' } });
        ids.push(created.id);
      }
      await stopPair();
      const seedMs = result(await runScript('scripts/bench/journey-seed.ts', ['seed', engine, String(customers), ...ids], { DATABASE_URL: db.url })).ms;
      const [{ n: memberships }] = await withDriver(engine, db.url, (q) => q('SELECT COUNT(*) AS n FROM journey_memberships'));

      const per: { tickMs: number; dueFirstTick: number; ticks: number; allMs: number; planned: number; rssMb: number; tasks: number; recipients: number }[] = [];
      for (let r = 0; r < runs; r++) {
        await runScript('scripts/bench/journey-seed.ts', ['reset', engine, ids[0]], { DATABASE_URL: db.url });
        await startPair();
        const since = Date.now();
        // The bot's own scheduler runs `journeys` at the next minute; a tick stops taking pages after 45 s and the next
        // minute goes on, so the runs are summed until every due member was taken.
        let mine: Awaited<ReturnType<typeof journeyRuns>> = [];
        for (const deadline = Date.now() + 300_000; process.env.BENCH_JOURNEY_IDLE !== '1' && Date.now() < deadline; ) {
          await new Promise((ok) => setTimeout(ok, 1000));
          mine = (await journeyRuns(engine, db.url, since)).filter((x) => x.finished !== null);
          const withDue = mine.filter((x) => (x.counts.due ?? 0) > 0);
          if (withDue.reduce((n, x) => n + (x.counts.due ?? 0), 0) >= customers) break;
        }
        if (process.env.BENCH_JOURNEY_IDLE === '1') {
          // Nothing due (the generator's idle reset): the bot's peak RSS through two ticks with nothing to advance.
          while ((await journeyRuns(engine, db.url, since)).filter((x) => x.finished !== null).length < 2) await new Promise((ok) => setTimeout(ok, 1000));
          const rssMb = await stopPair();
          per.push({ tickMs: 0, dueFirstTick: 0, ticks: 0, allMs: 0, planned: 0, rssMb, tasks: 0, recipients: 0 });
          process.stderr.write(`[journeys] ${engine} idle run ${r + 1}: peak RSS ${rssMb} MB\n`);
          continue;
        }
        const withDue = mine.filter((x) => (x.counts.due ?? 0) > 0);
        if (withDue.length === 0) throw new Error(`no journeys run took the due members: ${JSON.stringify(mine)}`);
        if (withDue.some((x) => x.status !== 'done')) throw new Error(`a journeys run failed: ${JSON.stringify(withDue)}`);
        const calls = await json<{ items: { params: { external_userid?: string[] } }[] }>(`${sandbox!.url}/_control/calls?api=externalcontact/add_msg_template`);
        const [{ n: runsRecorded }] = await withDriver(engine, db.url, (q) => q('SELECT COUNT(*) AS n FROM journey_step_runs WHERE journey_id = ?', [ids[0]]));
        const [{ n: rowsPlanned }] = await withDriver(engine, db.url, (q) => q('SELECT COUNT(*) AS n FROM deliveries WHERE source = ?', [`journey:${ids[0]}`]));
        if (Number(runsRecorded) !== customers || Number(rowsPlanned) !== customers) throw new Error(`expected ${customers} step runs and ledger rows, found ${runsRecorded} and ${rowsPlanned}`);
        const rssMb = await stopPair();
        per.push({
          tickMs: withDue[0].finished! - withDue[0].started,
          dueFirstTick: withDue[0].counts.due,
          ticks: withDue.length,
          allMs: withDue.at(-1)!.finished! - withDue[0].started,
          planned: withDue.reduce((n, x) => n + (x.counts.planned ?? 0), 0),
          rssMb,
          tasks: calls.items.length,
          recipients: calls.items.reduce((n, c) => n + (c.params.external_userid?.length ?? 0), 0),
        });
        process.stderr.write(`[journeys] ${engine} run ${r + 1}: ${JSON.stringify(per.at(-1))}\n`);
      }
      const ticks = per.map((p) => p.tickMs);
      const alls = per.map((p) => p.allMs);
      const rss = per.map((p) => p.rssMb);
      rows.push({
        engine,
        memberships: Number(memberships),
        due: process.env.BENCH_JOURNEY_IDLE === '1' ? 0 : customers,
        runs,
        tz,
        seedMs,
        tickMs: median(ticks),
        tickSpreadMs: `${Math.min(...ticks)}-${Math.max(...ticks)}`,
        dueInFirstTick: per.map((p) => p.dueFirstTick).join('/'),
        ticksNeeded: per.map((p) => p.ticks).join('/'),
        allAdvancedMs: median(alls),
        allAdvancedSpreadMs: `${Math.min(...alls)}-${Math.max(...alls)}`,
        planned: per.map((p) => p.planned).join('/'),
        massTasks: per.map((p) => p.tasks).join('/'),
        recipients: per.map((p) => p.recipients).join('/'),
        peakRssMb: median(rss),
        peakRssSpreadMb: `${Math.min(...rss)}-${Math.max(...rss)}`,
        targetMs: 30_000,
        targetRssMb: 300,
      });
    } finally {
      await stopPair().catch(() => undefined);
      await db?.drop().catch(() => undefined);
    }
  }
  return rows;
}
