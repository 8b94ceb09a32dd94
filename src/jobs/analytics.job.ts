import type { Clock } from '../shared/clock.js';
import { addDays, localDate, localParts } from '../shared/dates.js';
import { OUTCOME_WINDOW_DAYS, type AnalyticsRollupService } from '../domain/analytics/analytics-rollup.service.js';
import type { ReachRollupService } from '../domain/analytics/reach-rollup.service.js';
import type { RetentionRollupService } from '../domain/analytics/retention-rollup.service.js';
import { runRetention } from './analytics-retention.js';
import type { StaffStatsService } from '../domain/analytics/staff-stats.service.js';
import { runStaffStats } from './analytics-staff.js';
import type { GroupStatsService } from '../domain/analytics/group-stats.service.js';
import { runGroupStats } from './analytics-groups.js';
import type { JobCounts, JobDefinition } from './job.types.js';

/**
 * `analytics`: nightly, just after midnight. Re-rolls the day that just ended and the 30 before it from the ledger
 * (so late events and late orders of the past month are counted, and the 7- and 30-day outcomes of those days' adds
 * mature), then takes the day's snapshots: customers in an active relation, and the activity / RFM / stage mix with its
 * changes since the night before (docs/analytics.md §How the rollups stay right). The `scoring` job runs later in the
 * night, so the mix of a day is what scoring left that morning. `job run analytics --at <time>` rolls the 31 days
 * before that time's local date: a backfill, idempotent. Snapshots are states, taken only on the night after the day
 * they stand for, never for a past day.
 */
export function analyticsJob(deps: {
  rollup: AnalyticsRollupService;
  schedule: string;
  tz: string;
  clock: Clock;
  staff?: StaffStatsService;
  /** 群聊数据统计 (docs/groups.md §Group statistics). */
  groups?: GroupStatsService;
  reach?: ReachRollupService;
  retention?: RetentionRollupService;
  /** Run the retention part beside the others (MySQL), not after them. */
  sideBySide?: boolean;
}): JobDefinition {
  return {
    name: 'analytics',
    description: '数据分析汇总 / roll up growth and channel figures; nightly customer and mix snapshots',
    schedule: deps.schedule,
    // To the second, so a backfill can be run again for the same day (late events) while every instance's cron fire
    // of one night still maps to one occasion.
    occasionKey: (at, tz) => {
      const p = localParts(at, tz);
      return `${localDate(at, tz)}T${[p.hour, p.minute, p.second].map((v) => String(v).padStart(2, '0')).join(':')}`;
    },
    async run(ctx) {
      // The real time, not the run's: `--at` fixes the run's clock, and a snapshot must be of the state now.
      const realNow = deps.clock.now();
      // Never today or later: today's changes are still coming, and only a rolled day has summary rows for the
      // handlers to keep (docs/analytics.md §Size).
      const atDay = localDate(ctx.at, deps.tz);
      const today = localDate(realNow, deps.tz);
      const lastDay = addDays(atDay < today ? atDay : today, -1);
      const firstDay = addDays(lastDay, -OUTCOME_WINDOW_DAYS);
      const isNightAfter = localDate(realNow, deps.tz) === addDays(lastDay, 1);
      if (ctx.isDryRun) {
        ctx.report(`将重算 would roll\t${firstDay} … ${lastDay}`);
        ctx.report(`客户总数与结构快照 snapshots\t${isNightAfter ? lastDay : '不拍摄（非当晚）/ not taken for a past day'}`);
        if (deps.staff) await runStaffStats(ctx, deps.staff, { firstDay, lastDay }, realNow);
        if (deps.groups) await runGroupStats(ctx, deps.groups, realNow);
        if (deps.retention) await runRetention(ctx, deps.retention, lastDay, realNow, isNightAfter);
        return {};
      }
      // Two lanes: the growth, reach and snapshot parts, and retention with the churn base. They write rows of their own,
      // so on MySQL they run side by side on two connections (the server does the work, on its cores); on SQLite one after
      // the other, since every statement runs on the one connection (docs/analytics.md §Size).
      const main = async (): Promise<JobCounts> => {
        // Staff figures first (docs/analytics.md §Staff performance): their own rows, so the growth roll and snapshots
        // below are as before; a WeCom failure there is reported, not thrown.
        const staffCounts = deps.staff ? await runStaffStats(ctx, deps.staff, { firstDay, lastDay }, realNow) : {};
        // Group figures (docs/groups.md §Group statistics): their own table, and like the staff part a WeCom failure is
        // reported, not thrown.
        const groupCounts = deps.groups ? await runGroupStats(ctx, deps.groups, realNow) : {};
        const counts: JobCounts = { ...(await deps.rollup.rollWindow(lastDay, realNow)), ...staffCounts, ...groupCounts };
        ctx.report(`已重算 rolled\t${firstDay} … ${lastDay}\t${counts.changes} changes\t${counts.growthRows} rows\t${counts.tagRows} tag rows`);
        // Care and campaign results (docs/analytics.md §Care and campaign results): the same 31 days, from the delivery
        // ledger, the orders and the KF messages. Events, so a backfill recomputes them too; the night skips the days a
        // roll could not change, a backfill (`--at` a past day) rolls every day.
        if (deps.reach) {
          const reach = await deps.reach.rollDays(firstDay, lastDay, realNow, { skipSettled: isNightAfter });
          Object.assign(counts, { reachMessages: reach.messages, reachRows: reach.rows, reachDaysSkipped: reach.skipped });
          ctx.report(`触达效果 reach\t${firstDay} … ${lastDay}\t${reach.messages} messages\t${reach.rows} rows\t${reach.skipped} settled days kept`);
        }
        if (!isNightAfter) {
          ctx.report(`客户总数快照 snapshot\t不拍摄：${lastDay} 已过去，状态无法重算 / not taken for a past day`);
          return { ...counts, snapshot: 0 };
        }
        const snap = await deps.rollup.takeSnapshot(lastDay, realNow);
        ctx.report(`客户总数快照 snapshot\t${lastDay}\t${snap.customers} customers\t${snap.staff} staff`);
        const mix = await deps.rollup.takeMixSnapshot(lastDay, realNow);
        ctx.report(`客户结构快照 mix\t${lastDay}\t${mix.customers} customers\t${mix.transitions} changes`);
        return { ...counts, snapshot: 1, customers: snap.customers, mixCustomers: mix.customers, transitions: mix.transitions };
      };
      // Retention cohorts and churn (docs/analytics.md §Retention cohorts, §Churn analysis): their own rows; the churn
      // base is a snapshot, taken on the night after only.
      const retention = async (): Promise<JobCounts> => (deps.retention ? runRetention(ctx, deps.retention, lastDay, realNow, isNightAfter) : {});
      if (deps.sideBySide) {
        const [a, b] = await Promise.all([main(), retention()]);
        return { ...a, ...b };
      }
      const a = await main();
      return { ...a, ...(await retention()) };
    },
  };
}
