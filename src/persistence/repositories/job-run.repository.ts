import type { Db } from '../db.js';
import { isDuplicateKeyError } from '../data-source.js';
import { newId } from '../../shared/ids.js';
import type { ClaimInput, JobRun, JobRunStatus, JobTrigger } from '../../domain/scheduling/job-run.types.js';

interface Row {
  id: string;
  job: string;
  occasion_key: string;
  trigger_kind: JobTrigger;
  status: JobRunStatus;
  instance_id: string;
  attempt: number | string;
  started_at: number | string;
  finished_at: number | string | null;
  counts: string | null;
  error: string | null;
}

function toRun(r: Row): JobRun {
  return {
    id: r.id,
    job: r.job,
    occasionKey: r.occasion_key,
    trigger: r.trigger_kind,
    status: r.status,
    instanceId: r.instance_id,
    attempt: Number(r.attempt),
    startedAt: new Date(Number(r.started_at)),
    finishedAt: r.finished_at === null ? null : new Date(Number(r.finished_at)),
    counts: r.counts ? (JSON.parse(r.counts) as Record<string, number>) : null,
    error: r.error,
  };
}

/**
 * `job_runs`: the durable claim and the record of every run. The UNIQUE (job, occasion_key) key elects exactly one
 * instance per occasion; claim rows are never deleted on completion
 * (docs/reliability.md §Scheduler claims across instances).
 */
export class JobRunRepository {
  constructor(private readonly db: Db) {}

  /** Claim (job, occasion): the new run, or null when another run already holds it. */
  async claim(input: ClaimInput): Promise<JobRun | null> {
    const id = newId(input.now.getTime());
    try {
      await this.db.query(
        `INSERT INTO job_runs (id, job, occasion_key, trigger_kind, status, instance_id, attempt, started_at)
         VALUES (?,?,?,?,'running',?,1,?)`,
        [id, input.job, input.occasionKey, input.trigger, input.instanceId, input.now.getTime()],
      );
      return this.get(id);
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
    if (!input.takeOverStartedBefore) return null;
    // The status predicate makes the takeover a compare-and-set: of two instances only one UPDATE matches.
    const changed = await this.db.exec(
      `UPDATE job_runs SET status = 'running', attempt = attempt + 1, instance_id = ?, trigger_kind = ?, started_at = ?,
         finished_at = NULL, error = NULL, counts = NULL
       WHERE job = ? AND occasion_key = ? AND (status = 'failed' OR (status = 'running' AND started_at < ?))`,
      [input.instanceId, input.trigger, input.now.getTime(), input.job, input.occasionKey, input.takeOverStartedBefore.getTime()],
    );
    return changed === 1 ? this.findByOccasion(input.job, input.occasionKey) : null;
  }

  /** Record the end of a run (fenced by instance, so a taken-over run cannot overwrite its successor). */
  async finish(run: JobRun, status: 'done' | 'failed', counts: Record<string, number> | null, error: string | null, now: Date): Promise<void> {
    await this.db.query(
      `UPDATE job_runs SET status = ?, finished_at = ?, counts = ?, error = ? WHERE id = ? AND instance_id = ? AND attempt = ?`,
      [status, now.getTime(), counts ? JSON.stringify(counts) : null, error?.slice(0, 4000) ?? null, run.id, run.instanceId, run.attempt],
    );
  }

  /** A run by id. */
  async get(id: string): Promise<JobRun | null> {
    const [r] = await this.db.query<Row>('SELECT * FROM job_runs WHERE id = ?', [id]);
    return r ? toRun(r) : null;
  }

  /** The run holding (job, occasion), if any. */
  async findByOccasion(job: string, occasionKey: string): Promise<JobRun | null> {
    const [r] = await this.db.query<Row>('SELECT * FROM job_runs WHERE job = ? AND occasion_key = ?', [job, occasionKey]);
    return r ? toRun(r) : null;
  }

  /** The most recent run of a job. */
  async findLast(job: string): Promise<JobRun | null> {
    const [r] = await this.db.query<Row>('SELECT * FROM job_runs WHERE job = ? ORDER BY started_at DESC LIMIT 1', [job]);
    return r ? toRun(r) : null;
  }

  /** Runs, newest first, optionally of one job. */
  async list(job: string | undefined, limit = 50): Promise<JobRun[]> {
    const rows = job
      ? await this.db.query<Row>('SELECT * FROM job_runs WHERE job = ? ORDER BY started_at DESC LIMIT ?', [job, limit])
      : await this.db.query<Row>('SELECT * FROM job_runs ORDER BY started_at DESC LIMIT ?', [limit]);
    return rows.map(toRun);
  }

  /** Delete finished runs of frequent jobs started before `before`; their slots can no longer fire. */
  async pruneBefore(jobs: string[], before: Date): Promise<number> {
    if (jobs.length === 0) return 0;
    return this.db.exec(
      `DELETE FROM job_runs WHERE job IN (${jobs.map(() => '?').join(',')}) AND status <> 'running' AND started_at < ?`,
      [...jobs, before.getTime()],
    );
  }
}
