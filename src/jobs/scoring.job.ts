import { localDate } from '../shared/dates.js';
import type { WinbackService } from '../domain/campaigns/winback.service.js';
import type { ScoringService } from '../domain/scoring/scoring.service.js';
import type { RepurchaseService } from '../domain/repurchase/repurchase.service.js';
import type { BehaviourTaggingService } from '../domain/tags/behaviour-tagging.service.js';
import { dailyOccasion, type JobCounts, type JobDefinition } from './job.types.js';

/**
 * `scoring`: nightly. In order, because each step reads what the one before wrote: activity (active / dormant /
 * churned), then RFM segment and lifecycle stage, then the predicted next orders (shrunk toward each RFM segment's
 * typical interval, docs/repurchase.md §When it is computed), then behaviour tag rules (whose audiences may name any of them).
 * A dry run writes nothing and reports what would change.
 */
export function scoringJob(deps: {
  winback: WinbackService;
  scoring: ScoringService;
  repurchase?: Pick<RepurchaseService, 'refreshAll'>;
  /** Null when the archive (tag library) is not wired: scoring still runs, behaviour tags do not. */
  behaviourTags: BehaviourTaggingService | null;
  schedule: string;
  tz: string;
}): JobDefinition {
  return {
    name: 'scoring',
    description: '客户分级与行为标签 / activity, RFM, lifecycle stage and behaviour tags',
    schedule: deps.schedule,
    occasionKey: dailyOccasion,
    async run(ctx) {
      const today = localDate(ctx.at, deps.tz);
      const now = ctx.clock.now();
      const activity = await deps.winback.classify(today, now, ctx.isDryRun);
      const scores = await deps.scoring.score({ today, now, isDryRun: ctx.isDryRun });
      const counts: JobCounts = { ...activity, withOrders: scores.withOrders, rfmChanged: scores.rfmChanged, stageChanged: scores.stageChanged };
      // Keys spelled like the audience that selects them, so a run's counts read as `rfm:重要价值: 12`.
      for (const [segment, n] of Object.entries(scores.bySegment)) counts[`rfm:${segment}`] = n;
      for (const [stage, n] of Object.entries(scores.byStage)) counts[`stage:${stage}`] = n;
      ctx.report(`活跃度 activity\tactive ${activity.active}\tdormant ${activity.dormant}\tchurned ${activity.churned}\tchanged ${activity.changed}`);
      ctx.report(`RFM\t${Object.entries(scores.bySegment).map(([s, n]) => `${s} ${n}`).join('\t')}\tchanged ${scores.rfmChanged}`);
      ctx.report(`阶段 stage\t${Object.entries(scores.byStage).map(([s, n]) => `${s} ${n}`).join('\t')}\tchanged ${scores.stageChanged}`);
      if (deps.repurchase) {
        const r = await deps.repurchase.refreshAll({ isDryRun: ctx.isDryRun });
        Object.assign(counts, { repurchasePredicted: r.predicted, repurchaseRemoved: r.removed });
        ctx.report(`复购预测 repurchase\tpredicted ${r.predicted}\tremoved ${r.removed}\ttypical ${r.typicalDays ?? '-'} d\tsegments ${r.segments}`);
      }
      if (deps.behaviourTags) Object.assign(counts, await deps.behaviourTags.apply({ today, now, isDryRun: ctx.isDryRun, report: ctx.report }));
      return counts;
    },
  };
}
