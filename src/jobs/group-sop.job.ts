import type { GroupSopRunner } from '../domain/group-sop/group-sop-runner.js';
import { minuteOccasion, type JobDefinition } from './job.types.js';

/**
 * `group-sop`, every minute: claim the group SOP fires that came due, act on them, record the ones whose window
 * passed unrun, and follow posts to their owners' confirmation (docs/groups.md §Group SOP). The minute's claim elects
 * one instance; each fire's own claim row makes overlapping runs (a catch-up, `job run`) act on it once.
 */
export function groupSopJob(deps: { runner: Pick<GroupSopRunner, 'runDue'>; schedule: string }): JobDefinition {
  return {
    name: 'group-sop',
    description: '群SOP / group SOP plans',
    schedule: deps.schedule,
    occasionKey: minuteOccasion,
    async run(ctx) {
      return { ...(await deps.runner.runDue(ctx.clock.now(), { isDryRun: ctx.isDryRun, report: ctx.report })) };
    },
  };
}
