import type { JobDefinition } from './job.types.js';
import { NotFoundError } from '../shared/errors.js';

/** The job table (src/jobs/index.ts builds its contents), by name, in the order given. */
export class JobRegistry {
  private readonly jobs = new Map<string, JobDefinition>();

  constructor(jobs: JobDefinition[] = []) {
    for (const job of jobs) this.register(job);
  }

  /** Add a job; a name can be taken once. */
  register(job: JobDefinition): void {
    if (this.jobs.has(job.name)) throw new Error(`job ${job.name} is defined twice`);
    this.jobs.set(job.name, job);
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
