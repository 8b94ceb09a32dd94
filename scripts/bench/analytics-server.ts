/**
 * The bot of the analytics benchmark, in its own process: the production boot (startServer, the role SERVE_ROLE says,
 * `all` by default: the API, the inbox workers, the scheduler and dispatch). On SIGUSR2 it runs the nightly `analytics`
 * job now, as `wecom-ops job run analytics` would (Scheduler.runNow: the claim, the run, its record), but inside this
 * running bot, and prints `NIGHT {"seconds":…,"loopMaxMs":…,…}`: the run's wall time and the longest the event loop
 * waited meanwhile (a callback arriving then would have waited that long to be acknowledged); each line the job reports
 * gets the wall time and longest wait of the part it ends, and when it ended (seconds since the night began: on MySQL
 * the job's two lanes run side by side, so a part's own time is since the last line of either lane, and a lane's parts
 * are told apart by their ends). Prints `READY <url>`.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadConfig } from '../../src/config/load.js';
import { startServer } from '../../src/main.js';
import { silentLogger } from '../../src/shared/logger.js';

const running = await startServer(loadConfig(), silentLogger);
process.stdout.write(`READY ${running.url}\n`);
// Each line the job reports ends one of its parts: the line gets the part's wall time and the loop's longest wait in it.
const loop = monitorEventLoopDelay({ resolution: 10 });
const job = running.container.scheduling.jobs.get('analytics');
const run = job.run.bind(job);
job.run = (ctx) => {
  const start = performance.now();
  let mark = start;
  loop.reset();
  const report = (line: string) => {
    ctx.report(`${line}\t[${((performance.now() - mark) / 1000).toFixed(2)} s, ends at ${((performance.now() - start) / 1000).toFixed(1)} s, loop max ${(loop.max / 1e6).toFixed(0)} ms]`);
    mark = performance.now();
    loop.reset();
  };
  return run({ ...ctx, report });
};
let busy = false;
process.on('SIGUSR2', () => {
  if (busy) return;
  busy = true;
  void (async () => {
    const whole = monitorEventLoopDelay({ resolution: 10 });
    whole.enable();
    loop.enable();
    const t0 = performance.now();
    const outcome = await running.container.scheduling.scheduler.runNow('analytics', { at: new Date() });
    const seconds = (performance.now() - t0) / 1000;
    whole.disable();
    loop.disable();
    const night = { seconds: Math.round(seconds * 100) / 100, loopMaxMs: Math.round(whole.max / 1e5) / 10, loopP99Ms: Math.round(whole.percentile(99) / 1e5) / 10, status: outcome.status, error: outcome.error ?? null, counts: outcome.counts ?? null, lines: outcome.lines };
    process.stdout.write(`NIGHT ${JSON.stringify(night)}\n`);
    busy = false;
  })();
});
process.on('SIGTERM', () => {
  void running.stop().then(() => process.exit(0));
});
