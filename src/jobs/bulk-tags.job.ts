import type { BulkTaggingService } from '../domain/customers/bulk-tagging.service.js';
import { minuteOccasion, type JobDefinition } from './job.types.js';

/**
 * `bulk-tags`: resume bulk tag changes (批量打标签) that no process is working on, after a restart or a stopped
 * instance (docs/customers-bulk.md). A job normally runs in the process that took the request; this only picks up
 * the ones whose lease ran out, from the customer where they stopped.
 */
export function bulkTagsJob(deps: { bulkTags: Pick<BulkTaggingService, 'resumeAbandoned'>; schedule: string }): JobDefinition {
  return {
    name: 'bulk-tags',
    description: '批量打标签续跑 / resume unfinished bulk tag changes',
    schedule: deps.schedule,
    occasionKey: minuteOccasion,
    async run(ctx) {
      if (ctx.isDryRun) {
        ctx.report('dry run: unfinished bulk tag changes are resumed only in a real run');
        return { resumed: 0 };
      }
      return deps.bulkTags.resumeAbandoned();
    },
  };
}
