import type { GroupStatsService } from '../domain/analytics/group-stats.service.js';
import type { JobContext, JobCounts } from './job.types.js';

/**
 * The group part of the nightly `analytics` job (docs/groups.md §Group statistics): pull WeCom's 群聊数据统计 since the
 * last day stored, by the real clock whatever `--at` says (WeCom keeps 180 days; the pull resumes from its last day).
 * A failure is named in the report and resumed the next night; the job does not fail for it.
 */
export async function runGroupStats(ctx: JobContext, groups: GroupStatsService, realNow: Date): Promise<JobCounts> {
  if (ctx.isDryRun) {
    const p = await groups.plan(realNow);
    ctx.report(p ? `将拉取企业微信群统计 would pull\t${p.from} … ${p.to}\t${p.owners} owners\t${p.calls} call(s)` : '企业微信群统计 nothing to pull');
    return {};
  }
  const pulled = await groups.pull(realNow);
  if (pulled.from) ctx.report(`企业微信群统计 pulled\t${pulled.from} … ${pulled.to}\t${pulled.owners} owners\t${pulled.calls} calls\t${pulled.days} days`);
  if (pulled.error) ctx.report(`企业微信群统计失败 pull failed\t${pulled.error}\t下次从上次成功的日期继续 / resumed from the last stored day next night`);
  return { groupPullCalls: pulled.calls, groupPullDays: pulled.days, groupPullFailed: pulled.error ? 1 : 0 };
}
