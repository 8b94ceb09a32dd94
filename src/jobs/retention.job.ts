import type { RetentionService } from '../domain/privacy/retention.service.js';
import type { RetentionSettings } from '../domain/privacy/retention-settings.js';
import { dailyOccasion, type JobDefinition } from './job.types.js';

/**
 * `retention`: daily purge of personal data past its retention period (PIPL art. 19, docs/reliability.md §PIPL duties).
 * One run per local day across instances through the `job_runs` claim like every daily job; a dry run counts and
 * changes nothing.
 */
export function retentionJob(deps: { retention: RetentionService; settings: RetentionSettings; schedule: string }): JobDefinition {
  return {
    name: 'retention',
    description: '个人信息保留期清理 / purge personal data past its retention period',
    schedule: deps.schedule,
    occasionKey: dailyOccasion,
    async run(ctx) {
      const counts = await deps.retention.purge(ctx.clock.now(), ctx.isDryRun);
      const s = deps.settings;
      const days = (d: number) => (d > 0 ? `${d}d` : 'keep');
      ctx.report(`回调内容 inbox payloads (done/ignored > ${days(s.inboxPayloadDays)})\t${counts.inboxPayloadsCleared}`);
      ctx.report(`失败回调 failed events (> ${days(s.inboxFailedDays)})\t${counts.inboxFailedDeleted}`);
      ctx.report(`客服消息文本 KF text (> ${days(s.kfTextDays)})\t${counts.kfTextRedacted}`);
      ctx.report(`消息文本 delivery text (> ${days(s.deliveryTextDays)})\t${counts.deliveryTextCleared}`);
      ctx.report(`离开客户的时间线 departed timelines (> ${days(s.departedTimelineDays)})\t${counts.departedCustomers} customers, ${counts.departedTimelineDeleted} entries`);
      // The audit log's period is AUDIT_RETENTION_DAYS (configuration), not a care-rules setting; -1 means it is kept.
      ctx.report(`操作日志 audit log (AUDIT_RETENTION_DAYS)\t${counts.auditLogDeleted < 0 ? 'keep' : counts.auditLogDeleted}`);
      return { ...counts };
    },
  };
}
