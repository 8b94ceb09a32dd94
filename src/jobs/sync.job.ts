import type { FullSyncService } from '../domain/customers/full-sync.service.js';
import { dailyOccasion, type JobCounts, type JobDefinition } from './job.types.js';

/**
 * `sync`, nightly: the full reconcile from WeCom (staff → customers → follow relations → tag library → customer groups). Resumable, so
 * a night that crashed resumes on the next run.
 */
export function syncJob(deps: { fullSync: Pick<FullSyncService, 'run'>; schedule: string }): JobDefinition {
  return {
    name: 'sync',
    description: '从企业微信全量同步 / full reconcile from WeCom',
    schedule: deps.schedule,
    occasionKey: dailyOccasion,
    run: async (ctx): Promise<JobCounts> => {
      if (ctx.isDryRun) {
        ctx.report('would run a full sync: staff → customers → follow relations → tag library → customer groups');
        return { dryRun: 1 };
      }
      const r = await deps.fullSync.run();
      ctx.report(`synced ${r.customers} customers, ${r.pairs} relations, ${r.vanished} vanished, ${r.chats.listed} groups (${r.chats.joined} joins, ${r.chats.left} leaves)`);
      return { customers: r.customers, pairs: r.pairs, vanished: r.vanished, groups: r.chats.listed, groupJoins: r.chats.joined, groupLeaves: r.chats.left, ms: r.ms };
    },
  };
}
