import type { FeedbackService } from '../domain/feedback/feedback.service.js';
import { minuteOccasion, type JobDefinition } from './job.types.js';

/**
 * `feedback`: every minute, the owner notices of feedback tickets still to send (a failed send, a crash after the
 * opening), then tickets past their first-contact SLA escalated to the admins (docs/feedback.md §SLA and escalation).
 * The scheduler runs each minute once across instances, and each ticket's notice and escalation is a conditional claim,
 * so nothing is sent twice even when two runs overlap.
 */
export function feedbackJob(deps: { feedback: Pick<FeedbackService, 'runPending'>; schedule: string }): JobDefinition {
  return {
    name: 'feedback',
    description: '客户反馈工单：补发负责人提醒，超时升级 / feedback ticket notices and SLA escalation',
    schedule: deps.schedule,
    occasionKey: minuteOccasion,
    async run(ctx) {
      if (ctx.isDryRun) {
        ctx.report('试运行不发送：提醒与升级只在正式运行时进行 / dry run: notices and escalations are sent only in a real run');
        return {};
      }
      const out = await deps.feedback.runPending();
      ctx.report(`反馈工单 feedback\t补发提醒 ${out.notified}\t超时升级 ${out.escalated}`);
      return out;
    },
  };
}
