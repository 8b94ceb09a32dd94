/**
 * The scoring half of the churn-nightly benchmark, in its own process so its peak RSS is its own: two passes of the
 * nightly churn-risk job (docs/churn.md §The nightly job) a night apart, as `container.churn.scoreAll` runs them.
 * Prints `RESULT {"firstMs":…,"nextMs":…,"peakRssMb":…,…}`.
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { loadConfig } from '../../src/config/load.js';
import { buildContainer } from '../../src/container.js';
import { silentLogger } from '../../src/shared/logger.js';
import { limitHeapGrowth } from '../../bin/heap-growth.js';

// The heap growth the bot runs with (bin/wecom-ops.js).
const heapFlag = limitHeapGrowth();
const hwm = () => Math.round(Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024);

const night = Number(process.env.BENCH_CHURN_NIGHT);
const c = await buildContainer(loadConfig(), silentLogger, { registry: new Registry() });
try {
  const out: Record<string, unknown> = { rssBeforeMb: hwm(), heap: heapFlag ?? 'v8 default' };
  for (const [name, at] of [['first', night], ['next', night + 86_400_000]] as const) {
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const t0 = performance.now();
    const counts = await c.churn.scoreAll({ now: new Date(at), isDryRun: false });
    out[`${name}Ms`] = Math.round(performance.now() - t0);
    loop.disable();
    Object.assign(out, { [`${name}Scored`]: counts.scored, [`${name}AtRisk`]: counts.atRisk, [`${name}Warned`]: counts.warned, [`${name}LoopMaxMs`]: Math.round(loop.max / 1e6), [`${name}PeakRssMb`]: hwm() });
    process.stderr.write(`churn-nightly: ${name} pass ${JSON.stringify(out)}\n`);
  }
  out.peakRssMb = hwm();
  process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
} finally {
  await c.close();
}
