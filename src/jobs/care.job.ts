import { localDate } from '../shared/dates.js';
import type { CareRuleRepository } from '../persistence/repositories/care-rule.repository.js';
import type { DeliveryRepository } from '../persistence/repositories/delivery.repository.js';
import type { SendSlotRepository } from '../persistence/repositories/send-slot.repository.js';
import type { CarePlanner } from '../domain/care/care-planner.js';
import { DeliveryLedger, DryRunLedger, type CapSettings } from '../domain/delivery/delivery-ledger.js';
import type { DeliveryDispatcher } from '../domain/delivery/delivery-dispatcher.js';
import { dailyCron, dailyOccasion, type JobDefinition } from './job.types.js';

/** Ends the error of a care run that deferred rules for 素材库 media: the content-media job retries exactly those runs. */
export const CARE_DEFERRED_NOTE = 'content-media 任务每小时更新素材后会自动重新运行 care 任务，补发未计划的规则';

/** Whether a failed care run failed because rules were deferred for 素材库 media (and only that). */
export function isCareDeferral(error: string | null): boolean {
  return error !== null && error.endsWith(CARE_DEFERRED_NOTE);
}

/** Dependencies of the care job. */
export interface CareJobDeps {
  rules: CareRuleRepository;
  deliveries: DeliveryRepository;
  slots: SendSlotRepository;
  planner: CarePlanner;
  dispatcher: DeliveryDispatcher;
  caps: CapSettings;
  careTime: string;
  tz: string;
}

/**
 * `care`: once a day (settings.careTime, 09:00 by default) plan today's birthdays, holidays, anniversaries,
 * follow-ups and due notes into the ledger, then dispatch what is due. Its occasion is the local date, so the
 * 09:00 fire, a catch-up after downtime and `job run care` are one run per day.
 */
export function careJob(deps: CareJobDeps): JobDefinition {
  return {
    name: 'care',
    description: '生日、节日、纪念日、跟进提醒 / birthdays, holidays, anniversaries, follow-ups',
    schedule: dailyCron(deps.careTime),
    dailyAt: deps.careTime,
    occasionKey: dailyOccasion,
    async run(ctx) {
      const today = localDate(ctx.at, deps.tz);
      const rules = await deps.rules.list({ enabledOnly: true });
      const sink = ctx.isDryRun
        ? new DryRunLedger(deps.deliveries, deps.slots, deps.caps)
        : new DeliveryLedger(deps.deliveries, deps.slots, deps.caps, () => ctx.clock.now(), ctx.runId);
      const { deferredReasons, ...plan } = await deps.planner.planDay({ today, now: ctx.clock.now(), rules, sink, report: ctx.report, countUse: !ctx.isDryRun });
      if (ctx.isDryRun) {
        const preview = await deps.dispatcher.preview(ctx.clock.now());
        ctx.report(preview.quiet ? '免打扰时段：不会提交，计划的消息将等待 / quiet hours: nothing would be submitted now' : `将提交 / would submit ${plan.planned} new + ${preview.due.length} already due`);
        return { ...plan };
      }
      const sent = await deps.dispatcher.dispatch(ctx.clock.now());
      // Rules deferred for 素材库 media fail the run after the others went out: the run shows as failed with the
      // reasons, and the content-media job runs it again after each refresh until it is done (or job run care, or the
      // catch-up at start); a second run plans only what is missing, as the ledger's unique key keeps what was
      // planned from going twice (docs/content.md §Composers).
      if (deferredReasons.length > 0) throw new Error(`${deferredReasons.join('；')}。${CARE_DEFERRED_NOTE}`);
      return { ...plan, ...sent };
    },
  };
}
