import type { DeliveryRepository } from '../persistence/repositories/delivery.repository.js';
import type { SendSlotRepository } from '../persistence/repositories/send-slot.repository.js';
import type { BroadcastPlanner } from '../domain/broadcasts/broadcast-planner.js';
import { DeliveryLedger, DryRunLedger, type CapSettings } from '../domain/delivery/delivery-ledger.js';
import type { DeliveryDispatcher } from '../domain/delivery/delivery-dispatcher.js';
import { MAX_RECIPIENTS_PER_TASK } from '../domain/delivery/delivery-dispatcher.js';
import { minuteOccasion, type JobContext, type JobCounts, type JobDefinition } from './job.types.js';

/** What the `broadcasts` run needs. */
export interface BroadcastsJobDeps {
  planner: BroadcastPlanner;
  deliveries: DeliveryRepository;
  slots: SendSlotRepository;
  dispatcher: DeliveryDispatcher;
  caps: CapSettings;
}

/**
 * `broadcasts`, every minute: plan due broadcasts into the ledger and send them. Rows already in the ledger that
 * this run does not send (quiet hours, a crash) are `delivery-results`' work.
 */
export function broadcastsJob(deps: BroadcastsJobDeps & { schedule: string }): JobDefinition {
  return {
    name: 'broadcasts',
    description: '定时群发 / scheduled broadcasts',
    schedule: deps.schedule,
    occasionKey: minuteOccasion,
    run: broadcastsRun(deps),
  };
}

/**
 * The `broadcasts` job's run: plan due broadcasts into the
 * ledger (claimed once across instances, BroadcastPlanner), dispatch what is due through the shared dispatcher when
 * it planned something, and mark broadcasts whose rows are all final as done. A dry run prints each row it would plan and the add_msg_template
 * tasks that would follow, and writes nothing.
 */
export function broadcastsRun(deps: BroadcastsJobDeps): (ctx: JobContext) => Promise<JobCounts> {
  return async (ctx) => {
    const now = ctx.clock.now();
    const clock = () => ctx.clock.now();
    if (ctx.isDryRun) {
      const sink = new DryRunLedger(deps.deliveries, deps.slots, deps.caps);
      const plan = await deps.planner.planDue({ now, clock, sink, isDryRun: true, report: ctx.report });
      // The dispatcher's batching: one task per sender and identical content, ≤ 10,000 customers
      // (docs/wecom-protocol.md §Mass messages).
      const tasks = new Map<string, { sender: string; n: number }>();
      for (const d of sink.planned) {
        const key = `${d.senderUserid}\u0000${d.text}\u0000${JSON.stringify(d.attachments)}`;
        const t = tasks.get(key) ?? { sender: d.senderUserid ?? '-', n: 0 };
        t.n += 1;
        tasks.set(key, t);
      }
      let taskCount = 0;
      for (const t of tasks.values()) {
        const chunks = Math.ceil(t.n / MAX_RECIPIENTS_PER_TASK);
        taskCount += chunks;
        ctx.report(`将提交群发任务 / would submit\t${t.sender}\t${t.n} 位客户 customers\t${chunks} 个任务 task(s)`);
      }
      const preview = await deps.dispatcher.preview(now);
      if (preview.quiet) ctx.report('免打扰时段：不会提交，计划的消息将等待 / quiet hours: nothing would be submitted now');
      return { ...plan, tasks: taskCount };
    }
    const sink = new DeliveryLedger(deps.deliveries, deps.slots, deps.caps, clock, ctx.runId);
    const plan = await deps.planner.planDue({ now, clock, sink, isDryRun: false, report: ctx.report });
    // Only after planning something: rows held by quiet hours, crashes and results are `delivery-results`' work, and
    // this job fires every minute.
    const sent = plan.claimed > 0 ? await deps.dispatcher.dispatch(ctx.clock.now()) : null;
    const finished = await deps.planner.finishDelivered(ctx.clock.now());
    return {
      ...plan,
      submittedTasks: sent?.submittedTasks ?? 0,
      submittedRows: sent?.submittedRows ?? 0,
      deferredQuiet: sent?.deferredQuiet ?? 0,
      reconciled: sent?.reconciled ?? 0,
      finished,
    };
  };
}
