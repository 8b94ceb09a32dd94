import type { JobContext, JobCounts, JobDefinition } from './job.types.js';
import { NotFoundError } from '../shared/errors.js';

/**
 * The job table. Features register or replace jobs (the `sync` run is a hook the archive feature fills); the
 * scheduler reads the table when it starts, so registration order does not matter.
 */
export class JobRegistry {
  private readonly jobs = new Map<string, JobDefinition>();

  /** Add or replace a job. */
  register(job: JobDefinition): void {
    this.jobs.set(job.name, job);
  }

  /** Replace only the run function of a registered job (keeps its schedule and occasion rule). */
  hook(name: string, run: (ctx: JobContext) => Promise<JobCounts>): void {
    this.jobs.set(name, { ...this.get(name), run });
  }

  /** A job by name, or NotFoundError. */
  get(name: string): JobDefinition {
    const job = this.jobs.get(name);
    if (!job) throw new NotFoundError(`没有这个任务 / unknown job: ${name}（可用 / known: ${this.names().join(', ')}）`);
    return job;
  }

  /** Every job, in registration order. */
  all(): JobDefinition[] {
    return [...this.jobs.values()];
  }

  /** Job names. */
  names(): string[] {
    return [...this.jobs.keys()];
  }
}
