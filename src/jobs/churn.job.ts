import type { ChurnRiskService } from '../domain/churn/churn-risk.service.js';
import { dailyOccasion, type JobDefinition } from './job.types.js';

/**
 * `churn`: nightly churn-risk scores (docs/churn.md §The nightly job), after `scoring`, as of the run's moment, and a
 * warning task for the owner of each customer who crossed into 高风险 (§Warnings). A dry run counts and writes nothing.
 */
export function churnJob(deps: { churn: Pick<ChurnRiskService, 'scoreAll' | 'threshold'>; schedule: string }): JobDefinition {
  return {
    name: 'churn',
    description: '流失风险评分 / churn-risk scores',
    schedule: deps.schedule,
    occasionKey: dailyOccasion,
    async run(ctx) {
      const counts = await deps.churn.scoreAll({ now: ctx.clock.now(), isDryRun: ctx.isDryRun });
      ctx.report(`流失风险 churn risk\t评分 ${counts.scored} 位客户\t高风险（≥ ${deps.churn.threshold} 分）${counts.atRisk}\t中风险 ${counts.byLevel.medium}\t低风险 ${counts.byLevel.low}\t新预警 ${counts.warned}`);
      return { scored: counts.scored, atRisk: counts.atRisk, warned: counts.warned, medium: counts.byLevel.medium, low: counts.byLevel.low };
    },
  };
}
