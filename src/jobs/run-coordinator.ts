import type { Clock } from '../shared/clock.js';
import type { JobRunRepository } from '../persistence/repositories/job-run.repository.js';
import type { JobRun, JobTrigger } from '../domain/scheduling/job-run.types.js';

/** node-cron v4's RunCoordinator shape (declared here so scheduler.ts stays the only node-cron import). */
export interface CronRunCoordinator {
  shouldRun(key: string, ttlMs: number): Promise<boolean>;
  onComplete?(key: string): Promise<void>;
}

/**
 * Elects one instance per cron fire through `job_runs`. node-cron calls `shouldRun("<job>:<slot ISO>")` on every
 * instance; each maps the slot to the job's occasion key and tries to INSERT the claim row. The UNIQUE key lets
 * exactly one INSERT succeed, whatever the instances' clock skew, and because the row is kept after the run
 * (onComplete does not delete it) a late or skewed instance cannot win the same slot again
 * (docs/reliability.md §Scheduler claims across instances).
 */
export class DbRunCoordinator implements CronRunCoordinator {
  private readonly won = new Map<string, JobRun>();

  constructor(
    private readonly runs: JobRunRepository,
    /** Maps a cron key to (job, occasion); null for keys of unknown jobs, which are then not run. */
    private readonly resolve: (job: string, slot: Date) => string | null,
    private readonly instanceId: string,
    private readonly clock: Clock,
  ) {}

  /** The cron key node-cron builds for a task named `job` firing at `slot`. */
  static keyOf(job: string, slot: Date): string {
    return `${job}:${slot.toISOString()}`;
  }

  /** Try to claim the fire; true if this instance won it. A database error throws, which node-cron treats as "skip". */
  async shouldRun(key: string, _ttlMs?: number): Promise<boolean> {
    const sep = key.indexOf(':');
    const job = key.slice(0, sep);
    const slot = new Date(key.slice(sep + 1));
    const occasionKey = this.resolve(job, slot);
    if (occasionKey === null || Number.isNaN(slot.getTime())) return false;
    const run = await this.claim(job, occasionKey, 'schedule');
    if (run) this.won.set(key, run);
    return run !== null;
  }

  /** The claim won for a cron key; the task function takes it to record the run. */
  take(key: string): JobRun | undefined {
    const run = this.won.get(key);
    this.won.delete(key);
    return run;
  }

  /** Nothing to release: the claim row is the durable record that this occasion ran. */
  async onComplete(key: string): Promise<void> {
    this.won.delete(key);
  }

  /** Claim (job, occasion) directly: catch-up and manual runs use the same key space as cron fires. */
  claim(job: string, occasionKey: string, trigger: JobTrigger, takeOverStartedBefore?: Date): Promise<JobRun | null> {
    return this.runs.claim({ job, occasionKey, trigger, instanceId: this.instanceId, now: this.clock.now(), takeOverStartedBefore });
  }
}
