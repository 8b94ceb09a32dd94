import type { DeliveryRepository } from '../persistence/repositories/delivery.repository.js';
import type { SendSlotRepository } from '../persistence/repositories/send-slot.repository.js';
import { DeliveryLedger, type CapSettings } from '../domain/delivery/delivery-ledger.js';
import type { DeliveryDispatcher } from '../domain/delivery/delivery-dispatcher.js';
import type { SurveySender } from '../domain/surveys/survey-sender.js';
import type { Survey } from '../domain/surveys/survey.types.js';
import { dailyOccasion, type JobDefinition } from './job.types.js';

/** What the surveys job runs on. */
export interface SurveysJobDeps {
  /** The active surveys a trigger sends. */
  surveys: () => Promise<Survey[]>;
  sender: Pick<SurveySender, 'runTrigger'>;
  deliveries: DeliveryRepository;
  slots: SendSlotRepository;
  dispatcher: DeliveryDispatcher;
  caps: CapSettings;
  schedule: string;
}

/**
 * `surveys`: once a day, after the care run (docs/surveys.md §Triggers): each active survey whose trigger is the first
 * order, the add or a period plans its invitations into the ledger, then what is due is dispatched. The care job
 * plans first, so a birthday greeting keeps the customer's day (docs/surveys.md §Priority). A dry run writes nothing.
 */
export function surveysJob(deps: SurveysJobDeps): JobDefinition {
  return {
    name: 'surveys',
    description: '满意度调查邀请 / survey invitations (first order, added, periodic)',
    schedule: deps.schedule,
    occasionKey: dailyOccasion,
    async run(ctx) {
      const surveys = (await deps.surveys()).filter((s) => s.status === 'active' && ['first_order', 'added', 'periodic'].includes(s.trigger));
      if (ctx.isDryRun) {
        ctx.report(`试运行不写入：${surveys.length} 份问卷将按触发条件计划邀请 / dry run: ${surveys.length} surveys would plan invitations`);
        return { surveys: surveys.length };
      }
      const sink = new DeliveryLedger(deps.deliveries, deps.slots, deps.caps, () => ctx.clock.now(), ctx.runId);
      const totals = { surveys: surveys.length, planned: 0, skipped: 0, duplicate: 0, alreadyThisPeriod: 0 };
      for (const s of surveys) {
        const c = await deps.sender.runTrigger(s, sink);
        ctx.report(`问卷「${s.name}」\t计划 ${c.planned}\t跳过 ${c.skipped}\t本期已发 ${c.alreadyThisPeriod}`);
        totals.planned += c.planned;
        totals.skipped += c.skipped;
        totals.duplicate += c.duplicate;
        totals.alreadyThisPeriod += c.alreadyThisPeriod;
      }
      const sent = totals.planned > 0 ? await deps.dispatcher.dispatch(ctx.clock.now()) : null;
      return { ...totals, ...(sent ?? {}) };
    },
  };
}
