import type { TransferResultsService } from '../domain/transfers/transfer-results.service.js';
import type { GroupTransferService } from '../domain/transfers/group-transfer.service.js';
import { minuteOccasion, type JobDefinition } from './job.types.js';

/**
 * `transfers`: poll transfer_result / resigned/transfer_result for every open customer transfer
 * (docs/wecom-protocol.md §Customer transfers) and record done / refused / over the taker's limit. A takeover completes
 * 24 h after the request, so every 30 minutes is plenty; callbacks usually settle a transfer first, and the job catches
 * any that were missed. Group transfers (docs/groups.md §Group transfers) are settled in the same run: calls without an
 * answer are checked by reading the group's owner back, and transient failures are called again when due.
 */
export function transfersJob(deps: { results: TransferResultsService; groups?: Pick<GroupTransferService, 'settle'>; schedule: string }): JobDefinition {
  return {
    name: 'transfers',
    description: '客户继承结果 / poll customer transfer results',
    schedule: deps.schedule,
    occasionKey: minuteOccasion,
    async run(ctx) {
      if (ctx.isDryRun) {
        // Polling writes what WeCom reports; a dry run has nothing to preview without asking WeCom.
        ctx.report('dry run: transfer results are read from WeCom and recorded only in a real run');
        return { pairs: 0 };
      }
      const counts = { ...(await deps.results.poll(ctx.clock.now())) };
      if (!deps.groups) return counts;
      const g = await deps.groups.settle(ctx.clock.now());
      if (g.reconciled + g.retried > 0) ctx.report(`客户群继承 groups\t${g.reconciled} checked\t${g.retried} retried\t${g.done} done\t${g.failed} failed`);
      return { ...counts, groupsChecked: g.reconciled, groupsRetried: g.retried, groupsDone: g.done, groupsFailed: g.failed };
    },
  };
}
