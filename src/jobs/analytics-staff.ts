import type { StaffStatsService } from '../domain/analytics/staff-stats.service.js';
import type { JobContext, JobCounts } from './job.types.js';

/**
 * The staff part of the nightly `analytics` job (docs/analytics.md §Staff performance): roll the bot's own per-member
 * figures over the same days as the growth roll, then pull WeCom's 联系客户统计 once per member. WeCom's figures are
 * pulled up to yesterday by the real clock whatever `--at` says: WeCom keeps only 180 days, and the pull starts from
 * each member's last pulled day, so a backfill run pulls what the nightly one would. A member WeCom refused is named in
 * the report and kept for the next night; the job itself does not fail for it.
 */
export async function runStaffStats(ctx: JobContext, staff: StaffStatsService, window: { firstDay: string; lastDay: string }, realNow: Date): Promise<JobCounts> {
  if (ctx.isDryRun) {
    ctx.report(`员工数据 would roll\t${window.firstDay} … ${window.lastDay}`);
    for (const p of await staff.plan(realNow)) ctx.report(`将拉取企业微信员工统计 would pull\t${p.userid}\t${p.from} … ${p.to}\t${p.calls} call(s)`);
    return {};
  }
  const rolled = await staff.rollWindow(window.lastDay, realNow);
  ctx.report(`员工数据 rolled\t${window.firstDay} … ${window.lastDay}\t${rolled.rows} rows`);
  const pulled = await staff.pull(realNow);
  ctx.report(`企业微信员工统计 pulled\t${pulled.members} members\t${pulled.calls} calls\t${pulled.days} days`);
  for (const f of pulled.failures) ctx.report(`企业微信员工统计失败 pull failed\t${f.userid}\t${f.error}\t下次从上次成功的日期继续 / retried from its last day next night`);
  // Every week and month the days above fell in, summed again per member, so a long range reads whole periods.
  const from = pulled.firstDay !== null && pulled.firstDay < window.firstDay ? pulled.firstDay : window.firstDay;
  const periodRows = await staff.rollPeriods(from, realNow);
  ctx.report(`员工数据按周月汇总 periods\t${from} …\t${periodRows} rows`);
  return { staffRows: rolled.rows, staffPullMembers: pulled.members, staffPullCalls: pulled.calls, staffPullDays: pulled.days, staffPullFailed: pulled.failed };
}
