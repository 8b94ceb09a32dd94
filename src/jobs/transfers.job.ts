import type { TransferResultsService } from '../domain/transfers/transfer-results.service.js';
import { minuteOccasion, type JobDefinition } from './job.types.js';

/**
 * `transfers`: poll transfer_result / resigned/transfer_result for every open customer transfer
 * (docs/wecom-protocol.md §Customer transfers) and record done / refused / over the taker's limit. A takeover completes
 * 24 h after the request, so every 30 minutes is plenty; callbacks usually settle a transfer first, and the job catches
 * any that were missed.
 */
export function transfersJob(deps: { results: TransferResultsService; schedule: string }): JobDefinition {
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
      return { ...(await deps.results.poll(ctx.clock.now())) };
    },
  };
}
