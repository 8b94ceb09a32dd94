import type { Clock } from '../shared/clock.js';
import type { Logger } from '../shared/logger.js';
import { localDate, localParts } from '../shared/dates.js';

/** What a job run receives. */
export interface JobContext {
  /** The logical time of the run: the cron slot, the `--at` time, or now for a catch-up. */
  at: Date;
  /** The run's clock: the injected one, or one fixed at `--at` for a manual run. */
  clock: Clock;
  /** The occasion this run holds (e.g. the local date for daily jobs). */
  occasionKey: string;
  /** Print what would happen, write and send nothing. */
  isDryRun: boolean;
  /** The job_runs id; null for dry runs, which are not recorded. */
  runId: string | null;
  log: Logger;
  /** Human-readable lines for `job run` (what was or would be sent). */
  report(line: string): void;
}

/** Counts a job reports; stored as the run's `counts` JSON. */
export type JobCounts = Record<string, number>;

/** A scheduled job: data, so the job list is a table (CONTRACT: job names). */
export interface JobDefinition {
  name: string;
  /** One line for `job list`. */
  description: string;
  /** node-cron expression, evaluated in APP_TIMEZONE. */
  schedule: string;
  /** 'HH:mm' of a once-a-day job: after downtime across it, the day's run is caught up on start. */
  dailyAt?: string;
  /** The occasion a fire at `at` stands for; two fires with the same key are one run. */
  occasionKey(at: Date, tz: string): string;
  run(ctx: JobContext): Promise<JobCounts>;
}

/** Occasion key of a once-a-day job: the local date. */
export function dailyOccasion(at: Date, tz: string): string {
  return localDate(at, tz);
}

/** Occasion key of a job firing several times a day: the local minute. */
export function minuteOccasion(at: Date, tz: string): string {
  const p = localParts(at, tz);
  return `${localDate(at, tz)}T${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`;
}

/** The cron expression for a daily 'HH:mm'. */
export function dailyCron(hhmm: string): string {
  const [h, m] = hhmm.split(':').map(Number);
  return `${m} ${h} * * *`;
}
