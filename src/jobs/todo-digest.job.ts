import { dailyOccasion, type JobDefinition } from './job.types.js';

/**
 * `todo-digest`: each morning (`settings.schedules["todo-digest"]` in config/care-rules.json, default 09:30 in APP_TIMEZONE) every member
 * with items gets "今天有 N 项待办" as an app message within their per-member budget (docs/todo.md §Morning digest).
 * The scheduler runs the day's occasion once across instances, and each member's digest is claimed under a unique
 * (member, date) row, so a re-run or a second instance never sends it twice.
 */
export function todoDigestJob(deps: { todo: { sendDigests: () => Promise<Record<string, number>> }; schedule: string }): JobDefinition {
  return {
    name: 'todo-digest',
    description: '今日待办晨报 / the morning "今天有 N 项待办" message to each member',
    schedule: deps.schedule,
    occasionKey: dailyOccasion,
    async run(ctx) {
      if (ctx.isDryRun) {
        ctx.report('试运行不发送：晨报只在正式运行时发送 / dry run: digests are sent only in a real run');
        return {};
      }
      const out = await deps.todo.sendDigests();
      ctx.report(`今日待办晨报 todo digest\t成员 ${out.members}\t已发送 ${out.sent}\t超出频率待汇总 ${out.deferred}\t失败 ${out.failed}\t已发过 ${out.already}`);
      return out;
    },
  };
}
