import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/databases.js';
import { spawnServer, type ChildServer } from '../../test/helpers/child-server.js';
import { json } from '../../test/helpers/json-fetch.js';
import type { DbEngine } from '../../src/persistence/data-source.js';
import { botEnv } from './bot-env.js';
import { runScript } from './child-run.js';

const ADMIN = `bench-admin-${randomBytes(8).toString('hex')}`;
/** The demo corp the sandbox seeds first has this many customers; the large corp adds the rest. */
const DEMO_CUSTOMERS = 200;

const pct = (sorted: number[], p: number) => sorted[Math.max(0, Math.ceil(sorted.length * p) - 1)];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const round1 = (x: number) => Math.round(x * 10) / 10;

/** `wecom-ops <args>` against the bench's database and sandbox, in its own process, as an operator would run it. */
const cli = (args: string[], env: Record<string, string>): Promise<string> => runScript('src/cli.ts', args, env);

/** One timed GET: ms until the whole answer is read; a non-2xx answer fails the bench. */
async function timedGet(url: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url, { headers: { authorization: `Bearer ${ADMIN}` } });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`${res.status} GET ${url}`);
  return performance.now() - t0;
}

/**
 * `npm run bench -- console`: the operator console's server answers at 20,000 customers (issue: 运营控制台, "At 20,000
 * customers"). The sandbox (its own process) seeds the large corp, `wecom-ops sync` (its own process) reads it into an
 * empty archive, orders are imported (one per customer on average) and notes written for the customers whose profiles
 * are opened, and `wecom-ops job run scoring` computes activity; the bot runs in its own process, as `npm start` runs
 * it. Then, timed from this process over HTTP with an admin token, for `BENCH_CONSOLE_REPS` (default 40) repetitions in
 * each of `BENCH_CONSOLE_RUNS` (default 3) runs:
 * - list: the customer list's first page (GET /api/v1/customers?page=1&pageSize=20), what 客户 loads;
 * - filter: the list filtered by a tag and activity (`tag:"<a tag of the first group>" AND activity:active`);
 * - profile: the four requests 客户详情 makes at once (the archive with its timeline, orders, notes, deliveries), until
 *   the last answers; each rep opens another customer.
 * Target: p95 < 300 ms each. Rows give p50/p95 (median of the runs) and the runs' p95 spread.
 */
export async function runConsoleBench(): Promise<Record<string, unknown>[]> {
  const customers = Number(process.env.BENCH_CONSOLE_CUSTOMERS ?? 20_000);
  const reps = Number(process.env.BENCH_CONSOLE_REPS ?? 40);
  const runs = Number(process.env.BENCH_CONSOLE_RUNS ?? 3);
  const engines = (process.env.BENCH_ENGINES?.split(',') ?? ['sqlite', 'mysql']) as DbEngine[];
  const rows: Record<string, unknown>[] = [];
  for (const engine of engines) {
    let sandbox: ChildServer | undefined;
    let bot: ChildServer | undefined;
    let db: TestDatabase | undefined;
    try {
      sandbox = await spawnServer('scripts/bench/sandbox-server.ts', { LOG_LEVEL: 'silent' });
      await json(`${sandbox.url}/_control/seed`, { body: { large: customers - DEMO_CUSTOMERS } });
      db = await createTestDatabase(engine, { mysqlUrl: process.env.BENCH_MYSQL_URL ?? process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test', prefix: 'wecom_ops_bench' });
      const env = botEnv(db.url, sandbox.url, ADMIN);
      const t0 = Date.now();
      await cli(['sync'], { ...env, LOG_LEVEL: 'warn' });
      const syncMs = Date.now() - t0;
      bot = await spawnServer('scripts/bench/ingress-server.ts', env, 60_000);
      const api = (path: string) => `${bot!.url}${path}`;

      // Who the archive holds, in pages of 500.
      const ids: string[] = [];
      for (let page = 1; ; page++) {
        const r = await json<{ items: { externalUserId: string }[]; total: number }>(api(`/api/v1/customers?page=${page}&pageSize=500`), { token: ADMIN });
        ids.push(...r.items.map((c) => c.externalUserId));
        if (r.items.length < 500) break;
      }
      if (ids.length < customers) throw new Error(`the archive holds ${ids.length} customers after the sync, not ${customers}`);
      // Orders: one per customer on average (some none, some several), over the last year.
      const orders = ids.flatMap((id, i) =>
        Array.from({ length: i % 3 }, (_, k) => ({ orderNo: `B${i}-${k}`, externalUserId: id, amount: `${50 + ((i * 37 + k * 11) % 950)}.00`, orderedAt: new Date(Date.now() - ((i * 13 + k * 7) % 365) * 86_400_000).toISOString() })),
      );
      for (let i = 0; i < orders.length; i += 5000) await json(api('/api/v1/orders/import'), { token: ADMIN, body: { orders: orders.slice(i, i + 5000) } });
      // Activity, RFM and stage, as the nightly job computes them.
      await cli(['job', 'run', 'scoring'], { ...env, LOG_LEVEL: 'warn' });

      // The customers whose profiles are opened, spread over the archive, each with three follow-up notes.
      const profiled = Array.from({ length: reps }, (_, i) => ids[Math.floor(((i + 0.5) * ids.length) / reps)]);
      for (const id of profiled) {
        for (let k = 0; k < 3; k++) await json(api(`/api/v1/customers/${id}/notes`), { token: ADMIN, body: { text: `压测跟进记录 ${k + 1}` } });
      }
      // A tag of the first group: the sandbox's seed gives the first group the most customers.
      const groups = await json<{ items: { name: string; tags: { name: string }[] }[] }>(api('/api/v1/tags'), { token: ADMIN });
      const group = groups.items.find((g) => g.tags.length > 0)!;
      const tag = { key: `${group.name}/${group.tags[0].name}` };
      const audience = `tag:"${tag.key}" AND activity:active`;
      const filtered = await json<{ total: number }>(api(`/api/v1/customers?pageSize=20&audience=${encodeURIComponent(audience)}`), { token: ADMIN });

      const scenarios: Record<string, (rep: number) => Promise<number>> = {
        list: () => timedGet(api('/api/v1/customers?page=1&pageSize=20')),
        filter: () => timedGet(api(`/api/v1/customers?page=1&pageSize=20&audience=${encodeURIComponent(audience)}`)),
        profile: async (rep) => {
          const id = profiled[rep % profiled.length];
          const t = performance.now();
          await Promise.all([
            timedGet(api(`/api/v1/customers/${id}`)),
            timedGet(api(`/api/v1/customers/${id}/orders?pageSize=50`)),
            timedGet(api(`/api/v1/customers/${id}/notes?pageSize=100`)),
            timedGet(api(`/api/v1/deliveries?customer=${id}&pageSize=50`)),
          ]);
          return performance.now() - t;
        },
      };
      const perRun: Record<string, { p50: number; p95: number }[]> = {};
      for (let run = 0; run < runs; run++) {
        for (const [name, once] of Object.entries(scenarios)) {
          for (let w = 0; w < 5; w++) await once(w); // JIT, statement caches, pools
          const ms: number[] = [];
          for (let rep = 0; rep < reps; rep++) ms.push(await once(rep));
          ms.sort((a, b) => a - b);
          (perRun[name] ??= []).push({ p50: pct(ms, 0.5), p95: pct(ms, 0.95) });
        }
      }
      for (const [name, rs] of Object.entries(perRun)) {
        const p95s = rs.map((r) => r.p95);
        rows.push({
          engine,
          customers: ids.length,
          scenario: name,
          ...(name === 'filter' ? { audience, matched: filtered.total } : {}),
          reps,
          runs,
          p50Ms: round1(median(rs.map((r) => r.p50))),
          p95Ms: round1(median(p95s)),
          p95SpreadMs: `${round1(Math.min(...p95s))}-${round1(Math.max(...p95s))}`,
          runP95Ms: p95s.map(round1).join('/'),
          syncMs,
          targetP95Ms: 300,
        });
      }
    } finally {
      await bot?.kill('SIGTERM').catch(() => undefined);
      await sandbox?.kill('SIGTERM').catch(() => undefined);
      await db?.drop().catch(() => undefined);
    }
  }
  return rows;
}
