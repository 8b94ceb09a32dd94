import type { LoyaltyService } from '../domain/loyalty/loyalty.service.js';
import { dailyOccasion, type JobDefinition } from './job.types.js';

/**
 * `loyalty`: nightly (docs/loyalty.md §The nightly job). First the points due to expire (oldest first, against what was
 * used), then every account's tier: upgrades queue their congratulation in the delivery ledger, downgrades wait out the
 * grace period. A dry run writes nothing.
 */
export function loyaltyJob(deps: { loyalty: Pick<LoyaltyService, 'expireAll' | 'evaluateAll'>; schedule: string }): JobDefinition {
  return {
    name: 'loyalty',
    description: '积分过期与会员等级评估 / points expiry and tier evaluation',
    schedule: deps.schedule,
    occasionKey: dailyOccasion,
    async run(ctx) {
      if (ctx.isDryRun) {
        ctx.report('试运行不写入：积分过期与等级评估只在正式运行时进行 / dry run: expiry and tiers are evaluated only in a real run');
        return {};
      }
      const expired = await deps.loyalty.expireAll(ctx.clock.now());
      const tiers = await deps.loyalty.evaluateAll();
      ctx.report(`积分过期 expired\t${expired.customers} 位客户\t${expired.points} 积分`);
      ctx.report(`会员等级 tiers\t评估 ${tiers.evaluated}\t升级 ${tiers.upgraded}\t降级 ${tiers.downgraded}`);
      return { expiredCustomers: expired.customers, expiredPoints: expired.points, ...tiers };
    },
  };
}
