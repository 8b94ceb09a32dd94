import type { GroupBroadcastSender } from '../domain/group-broadcasts/group-broadcast.sender.js';
import type { GroupQuotaService } from '../domain/group-broadcasts/group-quota.service.js';
import { minuteOccasion, type JobDefinition } from './job.types.js';

/**
 * `group-broadcasts`: every few minutes, reconcile group tasks a crash left `submitting`, submit the due ones, read
 * owners' confirmations and groups' results (docs/groups.md §Group broadcasts), then count this period's group mass
 * messages, members' own included, for the quota (docs/wecom-protocol.md §Mass message quota).
 */
export function groupBroadcastsJob(deps: { sender: GroupBroadcastSender; quota: Pick<GroupQuotaService, 'reconcile'>; schedule: string }): JobDefinition {
  return {
    name: 'group-broadcasts',
    description: '客户群群发：提交任务、回收结果、统计群发额度 / group broadcasts: submit, poll results, count quota',
    schedule: deps.schedule,
    occasionKey: minuteOccasion,
    async run(ctx): Promise<Record<string, number>> {
      if (ctx.isDryRun) return {};
      const now = ctx.clock.now();
      const counts = await deps.sender.run(now);
      // The quota count is the preview's and a failure there is its own: the sends above still count as done.
      const quota = await deps.quota.reconcile(now).catch((err: unknown) => {
        ctx.log.warn({ err }, 'group quota reconciliation failed');
        ctx.report(`群发额度统计失败 group quota reconciliation failed\t${err instanceof Error ? err.message : String(err)}`);
        return null;
      });
      return { ...(counts as unknown as Record<string, number>), ...(quota ? { quotaMessages: quota.messages, quotaMemberCreated: quota.memberCreated, quotaReceipts: quota.receipts } : {}) };
    },
  };
}
