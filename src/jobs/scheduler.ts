import cron, { type ScheduledTask } from 'node-cron';
import type { Clock } from '../shared/clock.js';
import { FixedClock } from '../shared/clock.js';
import { logContext, type Logger } from '../shared/logger.js';
import { toError } from '../shared/errors.js';
import { localDate, zonedTimeToUtc } from '../shared/dates.js';
import type { JobRunRepository } from '../persistence/repositories/job-run.repository.js';
import type { JobRun } from '../domain/scheduling/job-run.types.js';
import type { JobRegistry } from './job-registry.js';
import type { JobCounts, JobDefinition } from './job.types.js';
import { DbRunCoordinator } from './run-coordinator.js';

/** What `job list` shows for one job. */
export interface JobListing {
  name: string;
  description: string;
  schedule: string;
  nextRun: Date | null;
  lastRun: JobRun | null;
}

/** The outcome of one run attempt. */
export interface JobOutcome {
  job: string;
  occasionKey: string;
  /** `skipped`: another run already holds this occasion (nothing was done). */
  status: 'done' | 'failed' | 'skipped' | 'dry-run';
  run: JobRun | null;
  counts: JobCounts | null;
  error: string | null;
  lines: string[];
}

/** Scheduler dependencies. */
export interface SchedulerDeps {
  registry: JobRegistry;
  runs: JobRunRepository;
  clock: Clock;
  tz: string;
  instanceId: string;
  log: Logger;
}

// A `running` claim older than this is presumed dead (its process crashed) and may be taken over by a catch-up
// or manual run. Every job here finishes in minutes; 1 h leaves a wide margin.
const STALE_RUN_MS = 3_600_000;
// Frequent jobs leave a claim row per minute; rows this old can never be fired again, so they are pruned.
const PRUNE_AFTER_MS = 14 * 86_400_000;
// `job run` prints what was (or would be) sent; a holiday for a million customers is summarised, not listed.
const MAX_REPORT_LINES = 2000;

/**
 * Runs the job table on node-cron v4 (the only node-cron import): every instance schedules every job with
 * `timezone` and `noOverlap`, and a database-backed coordinator (`distributed`) elects one instance per fire.
 * Catch-up after downtime and `job run` claim the same (job, occasion) keys, so each occasion runs once.
 */
export class Scheduler {
  private tasks: ScheduledTask[] = [];
  readonly coordinator: DbRunCoordinator;

  constructor(private readonly deps: SchedulerDeps) {
    this.coordinator = new DbRunCoordinator(
      deps.runs,
      (job, slot) => {
        const def = this.deps.registry.all().find((j) => j.name === job);
        return def ? def.occasionKey(slot, deps.tz) : null;
      },
      deps.instanceId,
      deps.clock,
    );
  }

  /** Schedule every job, then catch up missed daily runs. */
  async start(): Promise<void> {
    const { log, tz } = this.deps;
    const cronLog = {
      info: (m: string) => log.debug({ component: 'node-cron' }, m),
      warn: (m: string) => log.warn({ component: 'node-cron' }, m),
      error: (m: string | Error, err?: Error) => log.error({ component: 'node-cron', err: err ?? m }, 'node-cron error'),
      debug: (m: string | Error) => log.debug({ component: 'node-cron' }, String(m)),
    };
    for (const job of this.deps.registry.all()) {
      const task = cron.schedule(
        job.schedule,
        async (ctx) => {
          const run = this.coordinator.take(DbRunCoordinator.keyOf(job.name, ctx.date));
          if (run) await this.execute(job, run, ctx.date, this.deps.clock, false);
        },
        {
          name: job.name,
          timezone: tz,
          noOverlap: true,
          distributed: true,
          runCoordinator: this.coordinator,
          logger: cronLog,
        },
      );
      this.tasks.push(task);
    }
    log.info({ jobs: this.deps.registry.names(), tz, instance: this.deps.instanceId }, 'scheduler started');
    await this.catchUp();
  }

  /** Stop firing; a run in progress finishes on its own. */
  async stop(): Promise<void> {
    for (const t of this.tasks) await t.destroy();
    this.tasks = [];
  }

  /**
   * One cron fire of `name` at `slot`, exactly as node-cron performs it: claim through the coordinator, run if
   * elected. Returns the outcome, `skipped` when another instance (or an earlier fire) holds the occasion.
   */
  async fire(name: string, slot: Date): Promise<JobOutcome> {
    const job = this.deps.registry.get(name);
    const key = DbRunCoordinator.keyOf(name, slot);
    const occasionKey = job.occasionKey(slot, this.deps.tz);
    if (!(await this.coordinator.shouldRun(key, 0))) return skipped(name, occasionKey);
    try {
      return await this.execute(job, this.coordinator.take(key)!, slot, this.deps.clock, false);
    } finally {
      await this.coordinator.onComplete(key);
    }
  }

  /**
   * After downtime: for each daily job whose time today has passed with no run for today's occasion, run it once
   * now. The claim uses the same key as the 09:00 fire, so several instances starting together run it once.
   */
  async catchUp(): Promise<JobOutcome[]> {
    const { clock, tz } = this.deps;
    const now = clock.now();
    const out: JobOutcome[] = [];
    for (const job of this.deps.registry.all()) {
      if (!job.dailyAt) continue;
      const slot = zonedTimeToUtc(localDate(now, tz), job.dailyAt, tz);
      if (now.getTime() < slot.getTime()) continue;
      const occasionKey = job.occasionKey(slot, tz);
      const run = await this.coordinator.claim(job.name, occasionKey, 'catch-up', new Date(now.getTime() - STALE_RUN_MS));
      if (!run) continue;
      this.deps.log.info({ job: job.name, occasionKey }, 'catching up a missed run');
      out.push(await this.execute(job, run, now, clock, false));
    }
    return out;
  }

  /**
   * Run a daily job again now when today's run failed for a reason `retry` accepts (the care run a not-ready 素材库 item
   * deferred, once the media job made fresh media: docs/content.md §Composers). Only after the job's time today, only
   * a failed run (a done or running one is left alone), claimed like a catch-up, so of several instances one runs it;
   * null when nothing was run.
   */
  async retryFailedToday(name: string, retry: (run: JobRun) => boolean): Promise<JobOutcome | null> {
    const { clock, tz } = this.deps;
    const job = this.deps.registry.all().find((j) => j.name === name);
    if (!job?.dailyAt) return null;
    const now = clock.now();
    const slot = zonedTimeToUtc(localDate(now, tz), job.dailyAt, tz);
    if (now.getTime() < slot.getTime()) return null;
    const occasionKey = job.occasionKey(slot, tz);
    const last = await this.deps.runs.findByOccasion(name, occasionKey);
    if (!last || last.status !== 'failed' || !retry(last)) return null;
    const run = await this.coordinator.claim(name, occasionKey, 'catch-up', new Date(now.getTime() - STALE_RUN_MS));
    if (!run) return null;
    this.deps.log.info({ job: name, occasionKey }, 'retrying a failed run');
    return this.execute(job, run, now, clock, false);
  }

  /**
   * `job run <name> [--at] [--dry-run]`: a real run claims the occasion like a scheduled fire (a second run of the
   * same occasion does nothing; a failed one may be retried); a dry run claims nothing and writes nothing.
   */
  async runNow(name: string, opts: { at?: Date; isDryRun?: boolean } = {}): Promise<JobOutcome> {
    const job = this.deps.registry.get(name);
    const at = opts.at ?? this.deps.clock.now();
    const clock = opts.at ? new FixedClock(opts.at) : this.deps.clock;
    const occasionKey = job.occasionKey(at, this.deps.tz);
    if (opts.isDryRun) return this.execute(job, null, at, clock, true);
    const run = await this.coordinator.claim(name, occasionKey, 'manual', new Date(this.deps.clock.now().getTime() - STALE_RUN_MS));
    if (!run) return skipped(name, occasionKey, await this.deps.runs.findByOccasion(name, occasionKey));
    return this.execute(job, run, at, clock, false);
  }

  /** Every job with its schedule, next and last run. */
  async list(): Promise<JobListing[]> {
    const out: JobListing[] = [];
    for (const job of this.deps.registry.all()) {
      out.push({
        name: job.name,
        description: job.description,
        schedule: job.schedule,
        nextRun: nextRunAfter(job.schedule, this.deps.tz, this.deps.clock.now()),
        lastRun: await this.deps.runs.findLast(job.name),
      });
    }
    return out;
  }

  /** Drop claim rows of frequent jobs that are long past (daily jobs keep theirs). */
  async prune(): Promise<number> {
    const frequent = this.deps.registry.all().filter((j) => !j.dailyAt).map((j) => j.name);
    return this.deps.runs.pruneBefore(frequent, new Date(this.deps.clock.now().getTime() - PRUNE_AFTER_MS));
  }

  private async execute(job: JobDefinition, run: JobRun | null, at: Date, clock: Clock, isDryRun: boolean): Promise<JobOutcome> {
    const occasionKey = run?.occasionKey ?? job.occasionKey(at, this.deps.tz);
    const log = this.deps.log.child({ job: job.name, occasionKey, jobRunId: run?.id, dryRun: isDryRun || undefined });
    const lines: string[] = [];
    const started = Date.now();
    try {
      const counts = await logContext.run({ jobRunId: run?.id }, () =>
        job.run({ at, clock, occasionKey, isDryRun, runId: run?.id ?? null, log, report: (l) => void (lines.length < MAX_REPORT_LINES && lines.push(l)) }),
      );
      if (run) await this.deps.runs.finish(run, 'done', counts, null, clock.now());
      log.info({ counts, ms: Date.now() - started }, 'job finished');
      return { job: job.name, occasionKey, status: isDryRun ? 'dry-run' : 'done', run, counts, error: null, lines };
    } catch (err) {
      const e = toError(err);
      if (run) await this.deps.runs.finish(run, 'failed', null, e.message, clock.now()).catch(() => undefined);
      log.error({ err: e, ms: Date.now() - started }, 'job failed');
      return { job: job.name, occasionKey, status: 'failed', run, counts: null, error: e.message, lines };
    }
  }
}

function skipped(job: string, occasionKey: string, run: JobRun | null = null): JobOutcome {
  return { job, occasionKey, status: 'skipped', run, counts: null, error: null, lines: [] };
}

/** The next time `expr` fires after `from` in `tz` (from the injected clock, not the wall clock). */
export function nextRunAfter(expr: string, tz: string, from: Date): Date | null {
  const task = cron.createTask(expr, () => undefined, { timezone: tz });
  try {
    return firstAfter(task, from);
  } finally {
    void task.destroy();
  }
}

function firstAfter(task: ScheduledTask, from: Date): Date | null {
  // `match` checks a minute; walk minutes from `from` (bounded to about a year of minutes for yearly rules).
  const start = Math.floor(from.getTime() / 60_000) * 60_000 + 60_000;
  for (let t = start, i = 0; i < 527_040; t += 60_000, i++) {
    if (task.match(new Date(t))) return new Date(t);
  }
  return null;
}
