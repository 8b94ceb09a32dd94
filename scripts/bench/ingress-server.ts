/**
 * The server side of the ingress benchmark, in its own process so its RSS is its own.
 * BENCH_MODE=durable: the production boot (verify → decrypt → parse → group-committed inbox insert → 200).
 * BENCH_MODE=ceiling: the same route, but the inbox accepts without storing: the cost of crypto + parsing alone.
 * Prints `READY <url>`; on SIGTERM prints `STATS {"maxRssMb":…}` and exits.
 */
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { Registry } from 'prom-client';
import { loadConfig } from '../../src/config/load.js';
import { startServer } from '../../src/main.js';
import { silentLogger } from '../../src/shared/logger.js';
import { callbackRouter } from '../../src/http/routes/callback.router.js';
import { createMetrics } from '../../src/shared/metrics.js';
import { systemClock } from '../../src/shared/clock.js';
import { eventKind } from '../../src/domain/inbox/inbound-event.js';
import type { InboxService } from '../../src/domain/inbox/inbox.service.js';
import { startCpuProfile } from './cpu-profile.js';
import { limitHeapGrowth } from '../../bin/heap-growth.js';

// The heap growth the bot runs with under `npm start` (bin/wecom-ops.js sets it before loading anything; V8 reads it at
// every full collection, so setting it here governs the run). BENCH_V8_DEFAULT=1 measures V8's own growth instead.
if (process.env.BENCH_V8_DEFAULT !== '1') limitHeapGrowth();

const config = loadConfig();
// BENCH_CPU_PROFILE=<file>: a V8 CPU profile of this process, written on SIGTERM (open it in Chrome DevTools).
const writeProfile = await startCpuProfile(process.env.BENCH_CPU_PROFILE);
// BENCH_SQL_PROFILE=<file>: on SQLite, the time better-sqlite3 spends in each statement (by its SQL text, numbers
// folded), written on SIGTERM as JSON sorted by total time: which statements hold the event loop.
const sqlTimes = new Map<string, { n: number; ms: number; maxMs: number }>();
// And, on SQLite, runs of statements with no turn of the event loop between them: a statement that finds no marker
// pending sets one (setImmediate), which ends the turn's run when the loop reaches it. Only turns that run statements
// schedule one, so the loop still sleeps when idle (an endless setImmediate chain would keep a core busy and disturb
// the run it measures). A run's wall time is time the loop could not answer a callback. Runs over 10 ms are kept by the shapes of
// their statements ('[run] …' rows, with how many and the longest).
let loopTurn = 0;
const run = { turn: -1, startedAt: 0, endedAt: 0, shapes: new Map<string, number>() };
const longRuns = new Map<string, { n: number; ms: number; maxMs: number }>();
const closeRun = () => {
  const ms = run.endedAt - run.startedAt;
  if (ms > 10) {
    const key = `[run] ${[...run.shapes].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([k, n]) => `${n}× ${k.slice(0, 90)}`).join(' | ')}`;
    const e = longRuns.get(key) ?? { n: 0, ms: 0, maxMs: 0 };
    e.n++;
    e.ms += ms;
    e.maxMs = Math.max(e.maxMs, ms);
    longRuns.set(key, e);
  }
  run.shapes.clear();
};
let isTurnMarked = false;
const markTurn = () => {
  if (isTurnMarked) return;
  isTurnMarked = true;
  setImmediate(() => {
    loopTurn++;
    isTurnMarked = false;
  });
};
if (process.env.BENCH_SQL_PROFILE) {
  const Sqlite = (await import('better-sqlite3')).default;
  const proto = Object.getPrototypeOf(new Sqlite(':memory:').prepare('SELECT 1')) as Record<string, (...a: unknown[]) => unknown>;
  for (const m of ['run', 'all', 'get'] as const) {
    const orig = proto[m];
    proto[m] = function (this: { source: string }, ...args: unknown[]) {
      const t = performance.now();
      try {
        return orig.apply(this, args);
      } finally {
        const ms = performance.now() - t;
        const key = this.source.replace(/\(\?(, ?\?)*\)(, ?\(\?(, ?\?)*\))*/g, '(?…)').slice(0, 300);
        const e = sqlTimes.get(key) ?? { n: 0, ms: 0, maxMs: 0 };
        e.n++;
        e.ms += ms;
        e.maxMs = Math.max(e.maxMs, ms);
        sqlTimes.set(key, e);
        markTurn();
        if (run.turn !== loopTurn) {
          if (run.turn >= 0) closeRun();
          run.turn = loopTurn;
          run.startedAt = t;
        }
        run.endedAt = t + ms;
        const shape = key.replace(/\s+/g, ' ');
        run.shapes.set(shape, (run.shapes.get(shape) ?? 0) + 1);
      }
    };
  }
}
// On MySQL the same file counts each statement and the time from sending it to its answer (round trip and queueing,
// not event-loop time): how many statements each event costs.
if (process.env.BENCH_SQL_PROFILE && /^mysql:/.test(process.env.DATABASE_URL ?? '')) {
  const mysql2 = (await import('mysql2')).default as unknown as { Connection: { prototype: object } };
  const base = Object.getPrototypeOf(mysql2.Connection.prototype) as { query: (...a: unknown[]) => unknown };
  const orig = base.query;
  base.query = function (this: unknown, sql: unknown, values: unknown, cb: unknown) {
    const text = typeof sql === 'string' ? sql : ((sql as { sql?: string }).sql ?? '?');
    if (typeof cb !== 'function') return orig.call(this, sql, values, cb);
    const t = performance.now();
    return orig.call(this, sql, values, (...r: unknown[]) => {
      const ms = performance.now() - t;
      const key = text.replace(/\(\?(, ?\?)*\)(, ?\(\?(, ?\?)*\))*/g, '(?…)').replace(/\?(,\s*\?)+/g, '?…').replace(/\s+/g, ' ').slice(0, 300);
      const e = sqlTimes.get(key) ?? { n: 0, ms: 0, maxMs: 0 };
      e.n++;
      e.ms += ms;
      e.maxMs = Math.max(e.maxMs, ms);
      sqlTimes.set(key, e);
      (cb as (...a: unknown[]) => void)(...r);
    });
  };
}
// The same file, on MySQL, also has how long each getConnection waited for a free pooled connection ('[pool wait]',
// split by whether the caller was the inbox's durable insert, which takes its connection itself), and on both engines
// the event loop's delay over the run ('[event-loop delay]', from perf_hooks): where an acknowledgement waits.
const loopDelay = process.env.BENCH_SQL_PROFILE ? (await import('node:perf_hooks')).monitorEventLoopDelay({ resolution: 10 }) : null;
loopDelay?.enable();
// And the garbage collector's pauses by kind ('[gc minor]', '[gc major]', …): a pause stops the event loop, so a
// tail of acknowledgements as long as the longest pause can be the collector's, not the handlers'.
const gcPauses = new Map<string, number[]>();
if (process.env.BENCH_SQL_PROFILE) {
  const { PerformanceObserver, constants } = await import('node:perf_hooks');
  const kinds: Record<number, string> = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = kinds[(e as { detail?: { kind?: number } }).detail?.kind ?? -1] ?? 'other';
      const xs = gcPauses.get(kind) ?? [];
      xs.push(e.duration);
      gcPauses.set(kind, xs);
    }
  }).observe({ entryTypes: ['gc'] });
}
if (process.env.BENCH_SQL_PROFILE && /^mysql:/.test(process.env.DATABASE_URL ?? '')) {
  const mysql2 = (await import('mysql2')).default as unknown as { Pool: { prototype: object } };
  const base = Object.getPrototypeOf(mysql2.Pool.prototype) as { getConnection: (cb: (...a: unknown[]) => void) => unknown };
  const orig = base.getConnection;
  base.getConnection = function (this: unknown, cb: (...a: unknown[]) => void) {
    const t = performance.now();
    const durable = /mysqlQueryWithDeadline/.test(new Error().stack ?? '');
    return orig.call(this, (...r: unknown[]) => {
      const ms = performance.now() - t;
      const key = `[pool wait] ${durable ? 'inbox insert' : 'other'}`;
      const e = sqlTimes.get(key) ?? { n: 0, ms: 0, maxMs: 0 };
      e.n++;
      e.ms += ms;
      e.maxMs = Math.max(e.maxMs, ms);
      sqlTimes.set(key, e);
      cb(...r);
    });
  };
}
const writeSqlProfile = async () => {
  if (!process.env.BENCH_SQL_PROFILE) return;
  const rows: Record<string, unknown>[] = [...sqlTimes].map(([sql, e]) => ({ sql, n: e.n, ms: Math.round(e.ms), meanMs: +(e.ms / e.n).toFixed(3), maxMs: +e.maxMs.toFixed(1) }));
  rows.sort((a, b) => Number(b.ms) - Number(a.ms));
  closeRun();
  const runRows = [...longRuns].map(([sql, e]) => ({ sql, n: e.n, ms: Math.round(e.ms), meanMs: +(e.ms / e.n).toFixed(1), maxMs: +e.maxMs.toFixed(1) }));
  rows.unshift(...runRows.sort((a, b) => b.ms - a.ms));
  for (const [kind, xs] of gcPauses) {
    const sorted = [...xs].sort((a, b) => a - b);
    const total = xs.reduce((a, b) => a + b, 0);
    rows.unshift({ sql: `[gc ${kind}]`, n: xs.length, ms: Math.round(total), meanMs: +(total / xs.length).toFixed(3), p99Ms: +sorted[Math.ceil(sorted.length * 0.99) - 1].toFixed(1), maxMs: +sorted.at(-1)!.toFixed(1), over20Ms: xs.filter((d) => d > 20).length });
  }
  if (loopDelay) rows.unshift({ sql: '[event-loop delay]', meanMs: +(loopDelay.mean / 1e6).toFixed(2), p99Ms: +(loopDelay.percentile(99) / 1e6).toFixed(1), maxMs: +(loopDelay.max / 1e6).toFixed(1) });
  (await import('node:fs')).writeFileSync(process.env.BENCH_SQL_PROFILE, JSON.stringify(rows, null, 1));
};
let stop: () => Promise<void>;
let url: string;
let batchStats: () => Promise<Record<string, number>> = async () => ({});
if (process.env.BENCH_MODE === 'ceiling') {
  const app = new Koa();
  const noStore = { accept: async (fields: Record<string, string | string[]>) => ({ kind: eventKind(fields), isNew: true }) };
  const router = callbackRouter({
    inbox: noStore as unknown as InboxService,
    creds: { token: config.wecom.token!, encodingAesKey: config.wecom.encodingAesKey!, receiveId: config.wecomCorpId },
    replayWindowSeconds: config.wecom.replayWindowSeconds,
    clock: systemClock,
    log: silentLogger,
    metrics: createMetrics(new Registry()),
  });
  app.use(router.routes());
  const server = createServer(app.callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stop = () => new Promise((r) => server.close(() => r()));
} else {
  const running = await startServer(config, silentLogger);
  url = running.url;
  stop = running.stop;
  // Mean group-commit size: how many callbacks shared one durable write.
  batchStats = async () => {
    const m = (await running.container.metrics.inboxBatchSize.get()).values;
    const sum = m.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
    const count = m.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
    return { commits: count, meanBatch: count ? Math.round((sum / count) * 10) / 10 : 0 };
  };
}
process.stdout.write(`READY ${url}\n`);
// BENCH_MEM_TRACE=<file>: process.memoryUsage() every 100 ms (MB), written on SIGTERM as JSON lines: whether a peak
// RSS is the JS heap or memory outside it, and (heapUsed falling at a full collection) how much of the heap was garbage.
const memTrace: string[] = [];
const memTimer = process.env.BENCH_MEM_TRACE
  ? setInterval(() => {
      const m = process.memoryUsage();
      const mb = (n: number) => Math.round(n / 1048576);
      memTrace.push(JSON.stringify({ t: Date.now(), rss: mb(m.rss), heapTotal: mb(m.heapTotal), heapUsed: mb(m.heapUsed), external: mb(m.external), arrayBuffers: mb(m.arrayBuffers) }));
    }, 100)
  : null;
memTimer?.unref();
process.on('SIGTERM', () => {
  if (memTimer) writeFileSync(process.env.BENCH_MEM_TRACE!, memTrace.join('\n') + '\n');
  void writeProfile().then(writeSqlProfile).then(stop).then(async () => {
    const stats = { maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024), ...(await batchStats()) };
    process.stdout.write(`STATS ${JSON.stringify(stats)}\n`);
    process.exit(0);
  });
});
