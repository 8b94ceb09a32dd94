import { localDate } from '../shared/dates.js';
import type { DeliveryRepository } from '../persistence/repositories/delivery.repository.js';
import type { SendSlotRepository } from '../persistence/repositories/send-slot.repository.js';
import type { WinbackService } from '../domain/campaigns/winback.service.js';
import { DeliveryLedger, DryRunLedger, type CapSettings } from '../domain/delivery/delivery-ledger.js';
import type { DeliveryDispatcher } from '../domain/delivery/delivery-dispatcher.js';
import { dailyOccasion, type JobDefinition } from './job.types.js';

/**
 * `winback`: daily. Re-classifies activity first (so today's dormant customers are enrolled today), then runs the
 * enabled win-back campaigns (exits, enrolments, due steps) into the ledger and dispatches what is due.
 */
export function winbackJob(deps: {
  winback: WinbackService;
  deliveries: DeliveryRepository;
  slots: SendSlotRepository;
  dispatcher: DeliveryDispatcher;
  caps: CapSettings;
  schedule: string;
  tz: string;
}): JobDefinition {
  return {
    name: 'winback',
    description: '沉睡客户唤醒活动 / win-back campaigns',
    schedule: deps.schedule,
    occasionKey: dailyOccasion,
    async run(ctx) {
      const today = localDate(ctx.at, deps.tz);
      const now = ctx.clock.now();
      const scoring = await deps.winback.classify(today, now, ctx.isDryRun);
      const sink = ctx.isDryRun ? new DryRunLedger(deps.deliveries, deps.slots, deps.caps) : new DeliveryLedger(deps.deliveries, deps.slots, deps.caps, () => ctx.clock.now(), ctx.runId);
      const campaigns = await deps.winback.run({ today, now, sink, isDryRun: ctx.isDryRun, report: ctx.report });
      if (ctx.isDryRun) return { dormant: scoring.dormant, ...campaigns };
      const sent = await deps.dispatcher.dispatch(ctx.clock.now());
      return { dormant: scoring.dormant, changed: scoring.changed, ...campaigns, submittedRows: sent.submittedRows, remindersSent: sent.remindersSent };
    },
  };
}
