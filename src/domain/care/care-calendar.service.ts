import { Solar } from 'lunar-typescript';
import type { CareRuleRepository } from '../../persistence/repositories/care-rule.repository.js';
import type { DeliveryRepository } from '../../persistence/repositories/delivery.repository.js';
import type { SendSlotRepository } from '../../persistence/repositories/send-slot.repository.js';
import type { Clock } from '../../shared/clock.js';
import { addDays, localDate, parseLocalDate, zonedTimeToUtc } from '../../shared/dates.js';
import { ForecastLedger, type CapSettings, type PlanOutcome } from '../delivery/delivery-ledger.js';
import type { NewDelivery } from '../delivery/delivery.types.js';
import { careRulesInPlanOrder, type CarePlanner, type PlannedPage } from './care-planner.js';
import type { CareRule } from './care-rule.types.js';
import type { ScannedCustomer, Sender } from './care-scan.types.js';
import { holidaysOn } from './occasions.js';
import { nextAllowedTime, type QuietHours } from './quiet-hours.js';

/** What one rule will do on one day. */
export interface CalendarRuleDay {
  ruleId: string;
  /** New messages the day's run would plan (they reach the customer, or the staff member for reminders). */
  planned: number;
  /** Already in the ledger for this occasion (the day's run happened): nothing new. */
  already: number;
  /** Recorded as skipped, by reason code (`daily_cap`, `wecom_quota`, `no_sender`, `text_too_long`). */
  skipped: Record<string, number>;
  /** Matched, but opted out of messages: never planned. */
  optedOut: number;
  /** When the day's messages can go out: the send time (not before the care run), moved past quiet hours. */
  sendsAt: string | null;
  /** The send time falls in quiet hours, so the messages wait until they end. */
  isHeldByQuietHours: boolean;
  /** Quiet hours last past the day's end, when care messages expire: planned, never sent. */
  isExpiringUnsent: boolean;
}

/** One day of the calendar. */
export interface CalendarDay {
  date: string;
  /** The lunar date in Chinese, e.g. 十月廿八. */
  lunar: string;
  /** The holidays that fall on the day (of every holiday the rules can pick). */
  holidays: string[];
  rules: CalendarRuleDay[];
}

/** One customer of one rule on one day (the calendar's drill-down). */
export interface CalendarCustomer {
  externalUserId: string;
  name: string;
  sender: Sender | null;
  occasion: string | null;
  text: string | null;
  outcome: 'planned' | 'already' | 'skipped' | 'opted_out';
  reason: string | null;
}

/** Settings the calendar applies, shown beside it (they come from config/care-rules.json). */
export interface CalendarSettings {
  tz: string;
  /** Local time of the daily care run. */
  careTime: string;
  quietHours: QuietHours;
  caps: CapSettings;
}

/** Days the calendar answers at most per request. */
export const CALENDAR_MAX_DAYS = 62;

/**
 * The "next 30 days" of care: per day, what each enabled care rule would plan if the day's run happened now. Each
 * day is the planner's own pass (CarePlanner.pagesOf, the rows planDay plans) fed to a ForecastLedger, which makes
 * the ledger's own decisions (decidePage: duplicates, the daily cap in priority order, WeCom's mass quota, sender
 * and length checks) without writing. Each day starts from the ledger as it stands, as if the run for that day were
 * the next one (docs/care.md §The care calendar).
 */
export class CareCalendarService {
  constructor(
    private readonly rules: Pick<CareRuleRepository, 'list'>,
    private readonly planner: Pick<CarePlanner, 'pagesOf'>,
    private readonly deliveries: Pick<DeliveryRepository, 'idsOfKeys'>,
    private readonly slots: Pick<SendSlotRepository, 'slotsTaken'>,
    private readonly settings: CalendarSettings,
    private readonly clock: Clock,
  ) {}

  /** Today's local date in the app's zone: the calendar's default start. */
  today(): string {
    return localDate(this.clock.now(), this.settings.tz);
  }

  /** The settings the calendar applies. */
  describeSettings(): CalendarSettings {
    return this.settings;
  }

  /** `days` days from `from`; with `ruleId`, only that rule's line (the rules above it still take their slots first). */
  async days(input: { from: string; days: number; ruleId?: string }): Promise<{ rules: CareRule[]; days: CalendarDay[] }> {
    const rules = careRulesInPlanOrder(await this.rules.list({ enabledOnly: true }));
    const planned = input.ruleId ? upTo(rules, input.ruleId) : rules;
    const out: CalendarDay[] = [];
    for (let i = 0; i < input.days; i++) {
      const date = addDays(input.from, i);
      const byRule = new Map<string, CalendarRuleDay>();
      await this.forecast(date, planned, (page, outcomes) => {
        if (input.ruleId && page.rule.id !== input.ruleId) return;
        let day = byRule.get(page.rule.id);
        if (!day) byRule.set(page.rule.id, (day = this.emptyDay(page.rule, date)));
        day.optedOut += page.optedOut.length;
        outcomes.forEach((o) => count(day, o));
      });
      const lines = [...byRule.values()].filter((d) => d.planned + d.already + d.optedOut + sum(d.skipped) > 0);
      out.push({ date, lunar: lunarText(date), holidays: holidaysOn(date).map((h) => h.holiday.name), rules: lines });
    }
    return { rules: planned.filter((r) => !input.ruleId || r.id === input.ruleId), days: out };
  }

  /**
   * The customers of one rule on one day, in the planner's order, a page at a time; the day is forecast in full
   * (the rules above it first), holding only the asked page in memory.
   */
  async customers(input: { date: string; ruleId: string; page: number; pageSize: number }): Promise<{ items: CalendarCustomer[]; total: number; rule: CareRule | null }> {
    const rules = careRulesInPlanOrder(await this.rules.list({ enabledOnly: true }));
    const rule = rules.find((r) => r.id === input.ruleId) ?? null;
    if (!rule) return { items: [], total: 0, rule: null };
    const first = (input.page - 1) * input.pageSize;
    const items: CalendarCustomer[] = [];
    let total = 0;
    const take = (c: () => CalendarCustomer) => {
      if (total >= first && items.length < input.pageSize) items.push(c());
      total += 1;
    };
    await this.forecast(input.date, upTo(rules, rule.id), (page, outcomes) => {
      if (page.rule.id !== rule.id) return;
      page.rows.forEach((r, i) => take(() => fromRow(r.customer, r.sender, r.delivery, outcomes[i])));
      page.optedOut.forEach((c) => take(() => ({ externalUserId: c.externalUserId, name: c.name, sender: null, occasion: null, text: null, outcome: 'opted_out', reason: 'opted_out' })));
    });
    return { items, total, rule };
  }

  /** One day's forecast: the planner's pages through a ForecastLedger, each page with its outcomes. */
  private async forecast(date: string, rules: CareRule[], onPage: (page: PlannedPage, outcomes: PlanOutcome[]) => void): Promise<void> {
    const sink = new ForecastLedger(this.deliveries, this.slots, this.settings.caps);
    for await (const page of this.planner.pagesOf(rules, date, { withOptedOut: true, forecast: true })) {
      const outcomes = await sink.planMany(page.rows.map((r) => r.delivery));
      onPage(page, outcomes);
    }
  }

  private emptyDay(rule: CareRule, date: string): CalendarRuleDay {
    const { tz, careTime, quietHours } = this.settings;
    // The rows exist from the care run on: a send time before it means "at the run".
    const run = zonedTimeToUtc(date, careTime, tz);
    const due = zonedTimeToUtc(date, rule.sendTime, tz);
    const notBefore = due > run ? due : run;
    const sendsAt = nextAllowedTime(notBefore, quietHours);
    // Care rows expire at the end of their day (CarePlanner.toDelivery).
    const expiresAt = zonedTimeToUtc(addDays(date, 1), '00:00', tz);
    return {
      ruleId: rule.id,
      planned: 0,
      already: 0,
      skipped: {},
      optedOut: 0,
      sendsAt: sendsAt.toISOString(),
      isHeldByQuietHours: sendsAt.getTime() > notBefore.getTime(),
      isExpiringUnsent: sendsAt.getTime() >= expiresAt.getTime(),
    };
  }
}

/** The rules planned before `ruleId` and it: the later ones cannot change what it gets. */
function upTo(rules: CareRule[], ruleId: string): CareRule[] {
  const i = rules.findIndex((r) => r.id === ruleId);
  return i < 0 ? [] : rules.slice(0, i + 1);
}

function count(day: CalendarRuleDay, o: PlanOutcome): void {
  if (o.result === 'planned') day.planned += 1;
  else if (o.result === 'duplicate') day.already += 1;
  else {
    const code = reasonCode(o.reason);
    day.skipped[code] = (day.skipped[code] ?? 0) + 1;
  }
}

function fromRow(customer: ScannedCustomer, sender: Sender | null, d: NewDelivery, o: PlanOutcome): CalendarCustomer {
  const base = { externalUserId: customer.externalUserId, name: customer.name, sender, occasion: d.occasion, text: d.text };
  if (o.result === 'planned') return { ...base, outcome: 'planned', reason: null };
  if (o.result === 'duplicate') return { ...base, outcome: 'already', reason: null };
  return { ...base, outcome: 'skipped', reason: o.reason };
}

/** A ledger reason's stable code: `daily_cap: …` → `daily_cap`. */
function reasonCode(reason: string): string {
  return /^[a-z_]+/.exec(reason)?.[0] ?? 'other';
}

function sum(r: Record<string, number>): number {
  return Object.values(r).reduce((a, b) => a + b, 0);
}

/** The lunar date of a solar local date in Chinese: 十月廿八, 闰四月初一. */
export function lunarText(date: string): string {
  const { year, month, day } = parseLocalDate(date);
  const l = Solar.fromYmd(year, month, day).getLunar();
  return `${l.getMonthInChinese()}月${l.getDayInChinese()}`;
}
