import { localDate } from '../shared/dates.js';
import type { WinbackService } from '../domain/campaigns/winback.service.js';
import { dailyOccasion, type JobDefinition } from './job.types.js';

/** `scoring`: nightly activity classification (active / dormant / churned) of every customer. */
export function scoringJob(deps: { winback: WinbackService; schedule: string; tz: string }): JobDefinition {
  return {
    name: 'scoring',
    description: '客户活跃度分级 / classify customer activity',
    schedule: deps.schedule,
    occasionKey: dailyOccasion,
    async run(ctx) {
      return { ...(await deps.winback.classify(localDate(ctx.at, deps.tz), ctx.clock.now(), ctx.isDryRun)) };
    },
  };
}
