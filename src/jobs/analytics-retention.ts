import type { RetentionRollupService } from '../domain/analytics/retention-rollup.service.js';
import { COHORT_ROLL_DAYS } from '../domain/analytics/retention-rollup.service.js';
import { addDays } from '../shared/dates.js';
import type { JobContext, JobCounts } from './job.types.js';

/**
 * The `analytics` job's part for retention cohorts and churn analysis
 * (docs/analytics.md §Retention cohorts, §Churn analysis): re-roll the cohorts of the add days whose weekly marks fall in the window and the churn rows of the 31
 * days (events, so a backfill recomputes them), then, on the night after `lastDay` only, the base snapshot of active
 * relations per churn bucket (a state).
 */
export async function runRetention(ctx: JobContext, rollup: RetentionRollupService, lastDay: string, now: Date, isNightAfter: boolean): Promise<JobCounts> {
  if (ctx.isDryRun) {
    ctx.report(`留存与流失 would roll\t${addDays(lastDay, -COHORT_ROLL_DAYS)} … ${lastDay}`);
    return {};
  }
  const r = await rollup.rollWindow(lastDay, now);
  ctx.report(`留存与流失 retention\t${addDays(lastDay, -COHORT_ROLL_DAYS)} … ${lastDay}\t${r.adds} adds\t${r.losses} losses`);
  if (!isNightAfter) return { cohortAdds: r.adds, losses: r.losses };
  const base = await rollup.takeChurnBase(lastDay, now);
  ctx.report(`流失基数快照 churn base\t${lastDay}\t${base.relations} relations`);
  return { cohortAdds: r.adds, losses: r.losses, churnBase: base.relations };
}
