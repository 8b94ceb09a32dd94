import { addDays, localDate, zonedTimeToUtc } from '../../shared/dates.js';
import { renderTemplate } from '../../shared/template.js';
import type { PlanSink } from '../delivery/delivery-ledger.js';
import { SkipReason } from '../delivery/delivery.types.js';
import type { Clock } from '../../shared/clock.js';
import type { TierChange } from './loyalty.service.js';
import type { Tier } from './loyalty.types.js';

/** Where a tier message stands among the ledger's messages to one customer on one day (docs/loyalty.md §Tiers). */
export const TIER_MESSAGE_PRIORITY = 120;

/** What the congratulation needs to know of the customers it goes to. */
export interface TierMessageLookups {
  names(ids: string[]): Promise<Map<string, string>>;
  senders(ids: string[]): Promise<Map<string, { userid: string; name: string }>>;
  optedOut(ids: string[]): Promise<Set<string>>;
}

/**
 * Plans an upgrade's congratulation into the delivery ledger, as care messages are planned: a mass-send task the owner
 * confirms (it uses the customer's monthly quota), under the daily cap, held by quiet hours at dispatch, recorded as
 * skipped for a customer who opted out. The ledger key is `loyalty:tier` + the customer + `tier:<version>:<rank>`, so
 * each tier change is messaged at most once however often it is evaluated.
 */
export class TierMessages {
  constructor(
    private readonly sink: PlanSink,
    private readonly lookups: TierMessageLookups,
    private readonly tiers: readonly Tier[],
    private readonly template: string,
    private readonly clock: Clock,
    private readonly tz: string,
  ) {}

  async plan(changes: TierChange[]): Promise<void> {
    const ups = changes.filter((c) => c.to > c.from);
    if (ups.length === 0) return;
    const ids = ups.map((c) => c.externalUserId);
    const [names, senders, optedOut] = await Promise.all([this.lookups.names(ids), this.lookups.senders(ids), this.lookups.optedOut(ids)]);
    const now = this.clock.now();
    const today = localDate(now, this.tz);
    await this.sink.planMany(
      ups.map((c) => {
        const tier = this.tiers[c.to];
        const sender = senders.get(c.externalUserId) ?? null;
        return {
          source: 'loyalty:tier',
          kind: 'loyalty' as const,
          ruleId: null,
          externalUserId: c.externalUserId,
          occasion: `tier:${c.version}:${c.to}`,
          channel: 'mass_task' as const,
          priority: TIER_MESSAGE_PRIORITY,
          senderUserid: sender?.userid ?? null,
          text: renderTemplate(this.template, { name: names.get(c.externalUserId) ?? '', tier: tier.name, benefits: tier.benefits, staff: sender?.name ?? '' }),
          attachments: [],
          localDate: today,
          notBefore: now,
          // A congratulation may wait out quiet hours and a full day, not longer.
          expiresAt: zonedTimeToUtc(addDays(today, 3), '00:00', this.tz),
          skipReason: optedOut.has(c.externalUserId) ? `${SkipReason.OptedOut}: 客户已退订 / customer opted out` : null,
        };
      }),
    );
  }
}
