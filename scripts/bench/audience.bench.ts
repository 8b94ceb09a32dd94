import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { hashToken } from '../../src/domain/auth/api-token.service.js';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/databases.js';
import { spawnServer, type ChildServer } from '../../test/helpers/child-server.js';
import type { DbEngine } from '../../src/persistence/data-source.js';
import { botEnv } from './bot-env.js';
import { keptDatabase, migrate, resetKept, withDriver } from './bench-db.js';
import { customerId, seedCorp, STAFF, tagName, type CorpFacts } from './audience-corp.js';

const customerIdLength = customerId(0).length;

/**
 * `npm run bench -- audience`: audiences and broadcasts at a million customers (docs/audiences.md §Benchmark).
 * Per engine, a fresh database gets the generated corp of scripts/bench/audience-corp.ts (1,000,000 customers,
 * ~1.35 M follow relations, ~5 M tag links, ~1 M orders; seeding is timed apart). Then, with the bot running in its
 * own process:
 * - counts through `POST /api/v1/audiences/count` with an operator token, BENCH_AUDIENCE_REPS (20) times per
 *   expression, p50/p95; the headline is the 4-term `tag AND tag AND NOT activity AND spent`; also the full preview
 *   (`/preview`: count, per-staff counts, a sample) of the same expression; answers past the API read deadline
 *   (503 after API_STATEMENT_TIMEOUT_MS, 5 s) are counted as timeouts, not timed;
 * - BENCH_AUDIENCE_RUNS (3) rounds of that, figures as the median round with the spread;
 * - once per engine, planning a broadcast to all customers in a separate process (scripts/bench/audience-plan.ts):
 *   wall time and that process's peak RSS, stopped after BENCH_AUDIENCE_PLAN_LIMIT_S (600) if it has not finished.
 * Targets (2 cores, both engines): count p95 < 300 ms; planning < 60 s with RSS < 300 MB.
 *
 * Env: BENCH_AUDIENCE_RUNS=0 skips the counts; BENCH_PLAN_PROFILE=1 prints the planning's statements by shape.
 *      BENCH_ENGINES=sqlite,mysql  BENCH_AUDIENCE_CUSTOMERS=1000000  BENCH_AUDIENCE_REPS=20  BENCH_AUDIENCE_RUNS=3
 *      BENCH_AUDIENCE_PLAN=0 skips planning; BENCH_AUDIENCE_PLAN_RUNS=1 plannings, each on an emptied ledger, reported
 *      as the median with the spread; BENCH_AUDIENCE_KEEP=1 keeps the seeded database (a fixed name per engine and
 *      size, with its DATA_KEY beside it) and reuses it on the next run instead of seeding again.
 *      BENCH_AUDIENCE_PLAN_IN=serve plans inside a serving `all` process instead of a planning process of its own
 *      (planInServe; HANDLER_THREAD passes through), after BENCH_PLAN_SETTLE_S (30) s of its start.
 */

const ADMIN = `bench-admin-${randomBytes(8).toString('hex')}`;
const [A, B] = [tagName(3), tagName(7)];
/** The headline expression: tag A on ~16 % of customers, tag B on ~9 %; 4,661 customers match. */
export const HEADLINE = `tag:"${A.group}/${A.name}" AND tag:${B.name} AND NOT activity:churned AND spent>=100`;
// The last: the two largest tags (about 547,000 customers).
const OTHERS = [`tag:${A.name}`, 'owner:staff3 AND silent>=30d', `tag:${tagName(0).name} OR tag:${tagName(20).name}`, 'activity:dormant AND orders>=2', 'all', `tag:${tagName(0).name} OR tag:${tagName(1).name}`];

const pct = (sorted: number[], p: number) => sorted[Math.max(0, Math.ceil(sorted.length * p) - 1)];
const median = (xs: number[]) => pct([...xs].sort((a, b) => a - b), 0.5);
const spread = (xs: number[]) => `${Math.min(...xs)}–${Math.max(...xs)}`;

/** p50/p95 of the answered requests; a 503 (the API read deadline, API_STATEMENT_TIMEOUT_MS) is counted, not timed. */
async function timed(url: string, token: string, audience: string, reps: number): Promise<{ p50: number; p95: number; count: number; timeouts: number }> {
  const ms: number[] = [];
  let count = NaN;
  let timeouts = 0;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ audience }) });
    const body = (await res.json()) as { count?: number };
    if (res.status === 503) {
      timeouts++;
      continue;
    }
    if (!res.ok) throw new Error(`${url} → ${res.status} ${JSON.stringify(body)}`);
    ms.push(performance.now() - t0);
    count = body.count ?? NaN;
  }
  ms.sort((a, b) => a - b);
  return { p50: ms.length ? Math.round(pct(ms, 0.5)) : NaN, p95: ms.length ? Math.round(pct(ms, 0.95)) : NaN, count, timeouts };
}



/** The facts of a corp seeded by an earlier kept run, with a new operator token; null when it is not fully seeded. */
async function seededCorp(engine: DbEngine, url: string, n: number): Promise<CorpFacts | null> {
  return withDriver(engine, url, async (q) => {
    const count = async (table: string) => Number((await q(`SELECT COUNT(*) AS n FROM ${table}`))[0].n);
    if ((await count('customers')) !== n) return null;
    const operatorToken = `bench-operator-${randomBytes(12).toString('hex')}`;
    await q("DELETE FROM api_tokens WHERE name = 'audience bench'");
    await q('INSERT INTO api_tokens (id, name, role, userid, token_hash, created_at) VALUES (?,?,?,?,?,?)', [`tok-${randomBytes(6).toString('hex')}`, 'audience bench', 'operator', null, hashToken(operatorToken), 0]);
    return { customers: n, relations: await count('follow_relations'), tagLinks: await count('customer_tags'), orders: await count('orders'), tagCustomers: new Map(), seedMs: 0, operatorToken };
  });
}



/** Empty what a planning run wrote (the ledger, its slots, the broadcasts), so the next run plans every customer anew. */
async function clearPlanning(engine: DbEngine, url: string): Promise<void> {
  await withDriver(engine, url, async (q) => {
    // No foreign keys point at these tables; TRUNCATE spares MySQL a million-row DELETE, and SQLite's unqualified
    // DELETE truncates too.
    for (const table of ['send_slots', 'deliveries', 'broadcasts']) await q(engine === 'mysql' ? `TRUNCATE TABLE ${table}` : `DELETE FROM ${table}`);
  });
}

function plan(env: Record<string, string>, limitS: number): Promise<Record<string, number | string>> {
  return new Promise((resolvePromise) => {
    const root = resolve(import.meta.dirname, '../..');
    const child = spawn(process.execPath, ['--import', 'tsx', resolve(root, 'scripts/bench/audience-plan.ts')], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => {
      err += String(d);
      // The statement profile (BENCH_PLAN_PROFILE=1) is for the person running the bench.
      if (process.env.BENCH_PLAN_PROFILE === '1') process.stderr.write(d);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), limitS * 1000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const m = /RESULT (\{.*\})/.exec(out);
      if (m) return resolvePromise(JSON.parse(m[1]));
      resolvePromise({ planError: code === null ? `not finished after ${limitS} s` : `exit ${code}: ${err.slice(-500)}` });
    });
  });
}

/** This process's resident memory now and at its highest (VmHWM), in MB, from /proc. */
function rssOf(pid: number): { rssMb: number; hwmMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mb = (field: string) => Math.round(Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024);
  return { rssMb: mb('VmRSS'), hwmMb: mb('VmHWM') };
}

/**
 * BENCH_AUDIENCE_PLAN_IN=serve: the planning as the product runs it, inside a serving `all` process with its
 * background services (HANDLER_THREAD as the environment says), WeCom played by the sandbox in its own process. A
 * broadcast to `all` is created through the API, due at once, and the process's own `broadcasts` job (every minute)
 * plans it. Reported: the time from the broadcast's `planning` to its next status, the process's RSS just before
 * the broadcast, its highest RSS while planning (sampled every 100 ms), and VmHWM, which also covers the start.
 */
async function planInServe(engine: DbEngine, env: Record<string, string>, limitS: number): Promise<Record<string, number | string>> {
  const sandbox = await spawnServer('scripts/bench/sandbox-server.ts', { LOG_LEVEL: 'silent', BENCH_SANDBOX_STAFF: String(STAFF) });
  let bot: ChildServer | undefined;
  try {
    bot = await spawnServer('scripts/bench/ingress-server.ts', { ...env, WECOM_API_BASE: sandbox.url }, 180_000);
    const pid = bot.proc.pid!;
    // The jobs a start catches up on (a care run missed earlier today) go first, as they would in production.
    await new Promise((r) => setTimeout(r, Number(process.env.BENCH_PLAN_SETTLE_S ?? 30) * 1000));
    const before = rssOf(pid);
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` };
    // Creating counts the audience as an API read (5 s deadline); under the start's catch-up jobs on MySQL that count
    // of a million customers can pass it (503), and an operator would try again, as this does, once, 30 s later.
    const create = () => fetch(`${bot!.url}/api/v1/broadcasts`, { method: 'POST', headers, body: JSON.stringify({ name: '全员通知', audience: 'all', message: { text: '{{name}}您好，春季新品已上架。' } }) });
    let res = await create();
    let createRetries = 0;
    if (res.status === 503) {
      createRetries++;
      await new Promise((r) => setTimeout(r, 30_000));
      res = await create();
    }
    const created = (await res.json()) as { id?: string };
    if (!res.ok || !created.id) throw new Error(`POST /api/v1/broadcasts → ${res.status} ${JSON.stringify(created)}`);
    let peak = before.rssMb;
    let started = 0;
    let status = 'scheduled';
    let apiMaxMs = 0;
    let resets = 0;
    const deadline = Date.now() + limitS * 1000;
    for (let i = 0; Date.now() < deadline; i++) {
      peak = Math.max(peak, rssOf(pid).rssMb);
      if (i % 5 === 0) {
        // The status from the database, so the polling adds no work to the bot; the API's wait is probed apart, on
        // /healthz, which answers from the event loop alone.
        status = String((await withDriver(engine, env.DATABASE_URL, (q) => q('SELECT status FROM broadcasts WHERE id = ?', [created.id])))[0].status);
        const t0 = performance.now();
        // A kept-alive connection the server closes as the request goes out resets; the next poll asks again.
        if (!(await fetch(`${bot.url}/healthz`).then((r) => r.ok, () => false))) resets++;
        apiMaxMs = Math.max(apiMaxMs, performance.now() - t0);
        if (status === 'planning' && !started) started = performance.now();
        if (status !== 'scheduled' && status !== 'planning') break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (status === 'scheduled' || status === 'planning') return { planError: `still ${status} after ${limitS} s` };
    const ledger = await withDriver(engine, env.DATABASE_URL, (q) => q('SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status'));
    const planned = ledger.reduce((a, r) => a + Number(r.n), 0);
    return {
      planIn: 'serve',
      handlerThread: env.HANDLER_THREAD ?? process.env.HANDLER_THREAD ?? 'off',
      // Polled every 500 ms: the figure is up to half a second long.
      planMs: started ? Math.round(performance.now() - started) : NaN,
      statusAfter: status,
      ledgerRows: planned,
      rssBeforeMb: before.rssMb,
      peakRssMb: peak,
      hwmSinceStartMb: rssOf(pid).hwmMb,
      // The slowest answer of /healthz, asked every 500 ms from the broadcast's creation on: how long the API waited.
      apiMaxMs: Math.round(apiMaxMs),
      apiResets: resets,
      createRetries,
    };
  } finally {
    await bot?.kill('SIGTERM').catch(() => undefined);
    await sandbox.kill('SIGTERM').catch(() => undefined);
  }
}

async function benchEngine(engine: DbEngine): Promise<Record<string, unknown>> {
  const n = Number(process.env.BENCH_AUDIENCE_CUSTOMERS ?? 1_000_000);
  const reps = Number(process.env.BENCH_AUDIENCE_REPS ?? 20);
  const runs = Number(process.env.BENCH_AUDIENCE_RUNS ?? 3);
  const mysqlUrl = process.env.BENCH_MYSQL_URL ?? process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
  let db: TestDatabase | undefined;
  let bot: ChildServer | undefined;
  try {
    const kept = process.env.BENCH_AUDIENCE_KEEP === '1' ? await keptDatabase(engine, `wecom_ops_aud_bench_keep_${engine}_${n}_id32`, mysqlUrl) : undefined;
    db = kept?.db ?? (await createTestDatabase(engine, { mysqlUrl, prefix: 'wecom_ops_aud_bench' }));
    await migrate(db.url);
    let corp = kept ? await seededCorp(engine, db.url, n) : null;
    const reused = corp !== null;
    if (corp) process.stderr.write(`audience ${engine}: reusing the kept database ${db.url}\n`);
    else {
      // A kept database that is not fully seeded (a run stopped while seeding) starts again from empty tables.
      if (kept) {
        await resetKept(engine, db.url);
        await migrate(db.url);
      }
      corp = await seedCorp(engine, db.url, n, (s) => process.stderr.write(`audience ${engine}:${s}\n`));
      process.stderr.write(`audience ${engine}: seeded ${corp.customers} customers, ${corp.relations} relations, ${corp.tagLinks} tag links, ${corp.orders} orders in ${Math.round(corp.seedMs / 1000)} s\n`);
    }

    const env = { ...botEnv(db.url, 'http://127.0.0.1:9', ADMIN), ...(kept ? { DATA_KEY: kept.dataKey } : {}) };
    // The API role: it answers the API as an `all` process does, without the background services (there is no WeCom
    // here for them to talk to, and a job over a million customers would share the cores with the measurement).
    // BENCH_AUDIENCE_RUNS=0 only plans (profiling the planner needs no counts).
    if (runs > 0) bot = await spawnServer('scripts/bench/ingress-server.ts', { ...env, SERVE_ROLE: 'ingress' }, 120_000);
    const count = `${bot?.url}/api/v1/audiences/count`;
    const rounds: Record<string, number>[] = [];
    for (let r = 0; r < runs; r++) {
      const row: Record<string, number> = {};
      const h = await timed(count, corp.operatorToken, HEADLINE, reps);
      Object.assign(row, { countP50Ms: h.p50, countP95Ms: h.p95, matched: h.count, countTimeouts: h.timeouts });
      const p = await timed(`${bot?.url}/api/v1/audiences/preview`, corp.operatorToken, HEADLINE, Math.max(5, Math.round(reps / 4)));
      Object.assign(row, { previewP50Ms: p.p50, previewP95Ms: p.p95, previewTimeouts: p.timeouts });
      for (const [i, text] of OTHERS.entries()) {
        const o = await timed(count, corp.operatorToken, text, Math.max(5, Math.round(reps / 4)));
        Object.assign(row, { [`other${i + 1}P50Ms`]: o.p50, [`other${i + 1}P95Ms`]: o.p95, [`other${i + 1}Matched`]: o.count, [`other${i + 1}Timeouts`]: o.timeouts });
      }
      process.stderr.write(`audience ${engine} round ${r + 1}/${runs}: ${JSON.stringify(row)}\n`);
      rounds.push(row);
    }
    await bot?.kill('SIGTERM');
    bot = undefined;
    const out: Record<string, unknown> = {
      engine,
      customers: corp.customers,
      relations: corp.relations,
      tagLinks: corp.tagLinks,
      orders: corp.orders,
      // A kept database seeded by an earlier run says so rather than a seeding time of 0.
      seedSeconds: reused ? 'kept' : Math.round(corp.seedMs / 1000),
      // What MariaDB may keep in memory decides whether a count reads its index pages from disk (docs/audiences.md
      // §Benchmark), so each row says what the server had.
      ...(engine === 'mysql' ? { mysqlBufferPoolMb: await withDriver(engine, db.url, async (q) => Math.round(Number((await q('SELECT @@innodb_buffer_pool_size AS b'))[0].b) / 1048576)) } : {}),
      idChars: customerIdLength,
      expression: HEADLINE,
      others: OTHERS.join(' | '),
      reps,
      runs,
    };
    for (const key of Object.keys(rounds[0] ?? {})) {
      const xs = rounds.map((x) => x[key]);
      out[key] = median(xs);
      if (runs > 1 && new Set(xs).size > 1) out[`${key}Spread`] = spread(xs);
    }
    if (process.env.BENCH_AUDIENCE_PLAN !== '0') {
      const planRuns = Number(process.env.BENCH_AUDIENCE_PLAN_RUNS ?? 1);
      const results: Record<string, number | string>[] = [];
      for (let r = 0; r < planRuns; r++) {
        // Every run plans every customer: what an earlier run (or a kept database) put in the ledger goes first.
        await clearPlanning(engine, db.url);
        const limitS = Number(process.env.BENCH_AUDIENCE_PLAN_LIMIT_S ?? 600);
        const p = process.env.BENCH_AUDIENCE_PLAN_IN === 'serve' ? await planInServe(engine, env, limitS) : await plan(env, limitS);
        process.stderr.write(`audience ${engine} planning ${r + 1}/${planRuns}: ${JSON.stringify(p)}\n`);
        results.push(p);
      }
      if (planRuns === 1) Object.assign(out, results[0]);
      else {
        out.planRuns = planRuns;
        // A run that failed has only planError: the figures are over the runs that finished, the errors all kept.
        for (const key of new Set(results.flatMap((x) => Object.keys(x)))) {
          const xs = results.map((x) => x[key]).filter((x) => x !== undefined);
          if (xs.some((x) => typeof x !== 'number')) out[key] = xs.join(' | ');
          else {
            out[key] = median(xs as number[]);
            if (new Set(xs).size > 1) out[`${key}Spread`] = spread(xs as number[]);
          }
        }
      }
    }
    out.targets = 'count p95 < 300 ms; planning all customers < 60 s, RSS < 300 MB';
    return out;
  } finally {
    await bot?.kill('SIGTERM').catch(() => undefined);
    await db?.drop().catch(() => undefined);
  }
}

export async function runAudienceBench(): Promise<Record<string, unknown>[]> {
  const engines = (process.env.BENCH_ENGINES?.split(',') ?? ['sqlite', 'mysql']) as DbEngine[];
  const rows: Record<string, unknown>[] = [];
  for (const engine of engines) rows.push(await benchEngine(engine));
  return rows;
}
