/**
 * The planning half of the audience benchmark, in its own process so its peak RSS is its own: schedules one
 * broadcast to every customer (`all`) and runs the broadcasts planner once, as the `broadcasts` job does. Prints
 * `RESULT {"planMs":…,"planned":…,"peakRssMb":…,"loopMaxMs":…,"heap":…}`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { loadConfig } from '../../src/config/load.js';
import { buildContainer } from '../../src/container.js';
import { silentLogger } from '../../src/shared/logger.js';
import { newId } from '../../src/shared/ids.js';
import { DeliveryLedger } from '../../src/domain/delivery/delivery-ledger.js';
import { limitHeapGrowth } from '../../bin/heap-growth.js';

// The heap growth the bot runs with (bin/wecom-ops.js); BENCH_PLAN_V8_DEFAULT=1 measures V8's own instead.
const heapFlag = process.env.BENCH_PLAN_V8_DEFAULT === '1' ? null : limitHeapGrowth();

const hwm = () => Math.round(Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024);

// BENCH_PLAN_PROFILE=1: every statement timed by its shape (its first words, numbers and lists folded), and the CPU
// the planner and the database server used, printed to stderr (docs/audiences.md §Planning a broadcast).
const profile = process.env.BENCH_PLAN_PROFILE === '1' ? await statementProfile() : null;

// BENCH_PLAN_MEM=1: the process's memory at each stage and every second while planning, printed to stderr
// (docs/audiences.md §Memory while planning).
const memLog = process.env.BENCH_PLAN_MEM === '1' ? memoryLog() : null;
memLog?.('modules loaded');
const config = loadConfig();
const c = await buildContainer(config, silentLogger, { registry: new Registry() });
memLog?.('container built');
try {
  const m = c.scheduling;
  const b = m.broadcasts;
  const now = new Date();
  await b.repo.insert(
    { id: newId(now.getTime()), name: '全员通知', audience: process.env.BENCH_PLAN_AUDIENCE ?? 'all', text: '{{name}}您好，春季新品已上架。', attachments: [], senderPolicy: 'owner', sendAt: now, audienceCount: 0, tasksEstimate: 0, isPersonalized: true, createdBy: null },
    now,
  );
  const rssBefore = hwm();
  // How long the event loop went without a turn while planning: a callback arriving then would wait that long
  // (docs/inbox.md §Long jobs share the loop).
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const t0 = performance.now();
  const sampler = memLog ? setInterval(() => memLog(`planning ${Math.round((performance.now() - t0) / 1000)} s`), 1000) : null;
  const sink = new DeliveryLedger(m.repos.deliveries, m.repos.sendSlots, { massQuotaRule: m.settings.massQuotaRule, perCustomerPerDay: m.settings.perCustomerPerDay }, () => new Date(), 'bench');
  const counts = await b.planner.planDue({ now, clock: () => new Date(), sink, isDryRun: false });
  const planMs = Math.round(performance.now() - t0);
  if (sampler) clearInterval(sampler);
  memLog?.('planned');
  loop.disable();
  const loopDelay = { loopP99Ms: Math.round(loop.percentile(99) / 1e6), loopMaxMs: Math.round(loop.max / 1e6) };
  if (profile) process.stderr.write(profile());
  process.stdout.write(`RESULT ${JSON.stringify({ planMs, planned: counts.planned, skipped: counts.skipped, failed: counts.failed, rssBeforeMb: rssBefore, peakRssMb: hwm(), ...loopDelay, heap: heapFlag ?? 'v8 default' })}\n`);
} finally {
  await c.close();
}

/** Prints RSS (with its anonymous and file-backed parts), the threads, and V8's heap and external memory, in MB. */
function memoryLog(): (label: string) => void {
  const mb = (x: number) => Math.round(x / 1048576);
  return (label) => {
    const s = readFileSync('/proc/self/status', 'utf8');
    const kb = (k: string) => Math.round(Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) / 1024);
    const m = process.memoryUsage();
    const f = { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile'), threads: Number(/Threads:\s+(\d+)/.exec(s)?.[1]), heapUsed: mb(m.heapUsed), heapTotal: mb(m.heapTotal), external: mb(m.external), arrayBuffers: mb(m.arrayBuffers) };
    process.stderr.write(`MEM ${label} ${JSON.stringify(f)}\n`);
  };
}

/** Wraps TypeORM's query runners; answers the function that formats what they ran, with the CPU both sides used. */
async function statementProfile(): Promise<() => string> {
  const shapes = new Map<string, { n: number; ms: number }>();
  const { MysqlQueryRunner } = await import('typeorm/driver/mysql/MysqlQueryRunner.js');
  const { BetterSqlite3QueryRunner } = await import('typeorm/driver/better-sqlite3/BetterSqlite3QueryRunner.js');
  for (const Runner of [MysqlQueryRunner, BetterSqlite3QueryRunner] as { prototype: { query: (...a: unknown[]) => Promise<unknown> } }[]) {
    const inner = Runner.prototype.query;
    Runner.prototype.query = async function (this: unknown, ...args: unknown[]) {
      const shape = String(args[0]).replace(/\s+/g, ' ').replace(/\((\?,?\s*)+\)(,\s*\((\?,?\s*)+\))*/g, '(…)').slice(0, 90);
      const t0 = performance.now();
      try {
        return await inner.apply(this, args);
      } finally {
        const e = shapes.get(shape) ?? { n: 0, ms: 0 };
        e.n += 1;
        e.ms += performance.now() - t0;
        shapes.set(shape, e);
      }
    };
  }
  const serverTicks = () => {
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        if (!/^(mariadbd|mysqld)$/.test(readFileSync(`/proc/${pid}/comm`, 'utf8').trim())) continue;
        const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
        return Number(f[11]) + Number(f[12]);
      } catch {
        continue;
      }
    }
    return NaN;
  };
  const ticks0 = serverTicks();
  const cpu0 = process.cpuUsage();
  return () => {
    const cpu = process.cpuUsage(cpu0);
    const lines = [...shapes].sort((a, b) => b[1].ms - a[1].ms).map(([s, e]) => `${(e.ms / 1000).toFixed(1).padStart(7)} s ${String(e.n).padStart(6)}×  ${s}`);
    return `PROFILE planner CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s, database server CPU ${((serverTicks() - ticks0) / 100).toFixed(1)} s\n${lines.join('\n')}\n`;
  };
}
