/**
 * The planning half of the audience benchmark, in its own process so its peak RSS is its own: schedules one
 * broadcast to every customer (`all`) and runs the broadcasts planner once, as the `broadcasts` job does. Prints
 * `RESULT {"planMs":…,"planned":…,"peakRssMb":…,"loopMaxMs":…,"heap":…}`.
 */
import { readFileSync } from 'node:fs';
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

const config = loadConfig();
const c = await buildContainer(config, silentLogger, { registry: new Registry() });
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
  const sink = new DeliveryLedger(m.repos.deliveries, m.repos.sendSlots, { massQuotaRule: m.settings.massQuotaRule, perCustomerPerDay: m.settings.perCustomerPerDay }, () => new Date(), 'bench');
  const counts = await b.planner.planDue({ now, clock: () => new Date(), sink, isDryRun: false });
  const planMs = Math.round(performance.now() - t0);
  loop.disable();
  const loopDelay = { loopP99Ms: Math.round(loop.percentile(99) / 1e6), loopMaxMs: Math.round(loop.max / 1e6) };
  process.stdout.write(`RESULT ${JSON.stringify({ planMs, planned: counts.planned, skipped: counts.skipped, failed: counts.failed, rssBeforeMb: rssBefore, peakRssMb: hwm(), ...loopDelay, heap: heapFlag ?? 'v8 default' })}\n`);
} finally {
  await c.close();
}
