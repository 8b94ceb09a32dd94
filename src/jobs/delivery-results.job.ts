import type { DeliveryDispatcher } from '../domain/delivery/delivery-dispatcher.js';
import type { DeliveryResultsService } from '../domain/delivery/delivery-results.service.js';
import type { Clock } from '../shared/clock.js';
import type { ReachRollupService } from '../domain/analytics/reach-rollup.service.js';
import { minuteOccasion, type JobDefinition } from './job.types.js';

/**
 * `delivery-results`: every few minutes, submit ledger rows that became due (a later send time, the end of quiet
 * hours, a reconciled crash), then poll submitted mass tasks for their results
 * (docs/wecom-protocol.md §Mass message results). Then, where the ledger has changed, today's reach funnel is counted
 * again (docs/analytics.md §Care and campaign results).
 */
export function deliveryResultsJob(deps: { dispatcher: DeliveryDispatcher; results: DeliveryResultsService; schedule: string; reach?: Pick<ReachRollupService, 'rollLive'>; clock?: Clock }): JobDefinition {
  return {
    name: 'delivery-results',
    description: '提交到期消息并回收群发结果 / submit due messages, poll mass-task results',
    schedule: deps.schedule,
    occasionKey: minuteOccasion,
    async run(ctx): Promise<Record<string, number>> {
      const now = ctx.clock.now();
      if (ctx.isDryRun) {
        const preview = await deps.dispatcher.preview(now);
        for (const d of preview.due) ctx.report(`待提交 due\t${d.source}\t${d.occasion}\t${d.externalUserId}\tvia ${d.channel}/${d.senderUserid ?? '-'}\t${d.text}`);
        if (preview.quiet) ctx.report('免打扰时段：不会提交 / quiet hours: nothing would be submitted now');
        return { due: preview.due.length, quiet: preview.quiet ? 1 : 0 };
      }
      const sent = await deps.dispatcher.dispatch(now);
      const results = await deps.results.poll(now);
      // The real clock's today, whatever time a run stands for. A failure here is the figures' alone: reported, and the
      // deliveries' run still succeeds (the next run, or the night, counts the day).
      const live = deps.reach
        ? await deps.reach.rollLive((deps.clock ?? ctx.clock).now()).catch((err: unknown) => {
            ctx.log.warn({ err }, 'reach live pass failed');
            ctx.report(`触达效果实时统计失败 reach live pass failed\t${err instanceof Error ? err.message : String(err)}`);
            return null;
          })
        : null;
      return { ...(sent as unknown as Record<string, number>), ...prefix('results_', results), ...(live ? { reachLiveMessages: live.messages, reachLiveRows: live.rows } : {}) };
    },
  };
}

function prefix(p: string, o: object): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [`${p}${k}`, v as number]));
}
