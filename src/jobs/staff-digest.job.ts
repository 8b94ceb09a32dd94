import type { StaffMessenger } from '../domain/notify/staff-messenger.js';
import { minuteOccasion, type JobDefinition } from './job.types.js';

/**
 * `staff-digest`: send each member the alerts that waited because WeCom caps app messages per member (≤ 30 a
 * minute, docs/wecom-protocol.md §API rate limits), one digest message per member as their budget allows. Every minute,
 * so an alert waits about a minute, not an hour.
 */
export function staffDigestJob(deps: { messenger: Pick<StaffMessenger, 'flushDigests'>; schedule: string }): JobDefinition {
  return {
    name: 'staff-digest',
    description: '提醒汇总 / send staff the alerts that waited for their message cap',
    schedule: deps.schedule,
    occasionKey: minuteOccasion,
    async run(ctx) {
      if (ctx.isDryRun) {
        ctx.report('dry run: digests are composed and sent only in a real run');
        return { digests: 0 };
      }
      return { ...(await deps.messenger.flushDigests()) };
    },
  };
}
