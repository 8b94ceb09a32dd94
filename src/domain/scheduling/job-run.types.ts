// Runs of the scheduled jobs (`job_runs`): one claimed row per job and slot, so one instance runs it.

/** How a run was started. */
export type JobTrigger = 'schedule' | 'catch-up' | 'manual';

/** Where a run is. */
export type JobRunStatus = 'running' | 'done' | 'failed';

/** One recorded run of a job for one occasion. */
export interface JobRun {
  id: string;
  job: string;
  occasionKey: string;
  trigger: JobTrigger;
  status: JobRunStatus;
  instanceId: string;
  attempt: number;
  startedAt: Date;
  finishedAt: Date | null;
  counts: Record<string, number> | null;
  error: string | null;
}

/** What a claim needs. */
export interface ClaimInput {
  job: string;
  occasionKey: string;
  trigger: JobTrigger;
  instanceId: string;
  now: Date;
  /**
   * Take over an existing claim for the same occasion when it failed, or is still `running` but started before
   * this instant (its process died). Scheduled fires never take over: a fire runs once, on one instance.
   */
  takeOverStartedBefore?: Date;
}
