import { Solar } from 'lunar-typescript';
import type { CareRuleRepository } from '../../persistence/repositories/care-rule.repository.js';
import type { DeliveryRepository } from '../../persistence/repositories/delivery.repository.js';
import type { SendSlotRepository } from '../../persistence/repositories/send-slot.repository.js';
import type { Clock } from '../../shared/clock.js';
import { addDays, localDate, parseLocalDate, zonedTimeToUtc } from '../../shared/dates.js';
import { ForecastLedger, type CapSettings, type PlanOutcome } from '../delivery/delivery-ledger.js';
import { dailyCapPeriod, massQuotaPeriod } from '../delivery/frequency-caps.js';
import { isHeldOut } from '../delivery/holdout.js';
import { SkipReason } from '../delivery/delivery.types.js';
import { scanWhere, type CareScanRepository } from '../../persistence/repositories/care-scan.repository.js';
import type { NewDelivery } from '../delivery/delivery.types.js';
import { careRulesInPlanOrder, type CarePlanner, type HolidayReach, type PlannedPage } from './care-planner.js';
import type { CareRule } from './care-rule.types.js';
import type { ScannedCustomer, Sender } from './care-scan.types.js';
import { HOLIDAYS, holidaysOn } from './occasions.js';
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
 * the next one. A holiday rule, which reaches its whole audience, is counted in SQL instead, with the customers SQL
 * cannot decide planned one by one (docs/care.md §The care calendar).
 */
export class CareCalendarService {
  constructor(
    private readonly rules: Pick<CareRuleRepository, 'list'>,
    private readonly planner: Pick<CarePlanner, 'pagesOf' | 'holidayReach' | 'pageSize'>,
    private readonly deliveries: Pick<DeliveryRepository, 'idsOfKeys' | 'customersWithOccasionOn'>,
    private readonly slots: Pick<SendSlotRepository, 'slotsTaken' | 'holdersOf'>,
    private readonly settings: CalendarSettings,
    private readonly clock: Clock,
    private readonly scan: Pick<CareScanRepository, 'reachCounts' | 'longNamed' | 'idAt' | 'ids' | 'countOf'>,
    /** False: every rule forecast customer by customer, as before holidays were counted (the tests' reference). */
    private readonly countInSql = true,
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
    // The same audience is counted once per request: two holidays of a window usually share it.
    const reachMemo = new Map<string, Promise<ReachCounts>>();
    for (let i = 0; i < input.days; i++) {
      const date = addDays(input.from, i);
      const day = this.day(date, reachMemo);
      const lines: CalendarRuleDay[] = [];
      for (const rule of planned) {
        const shown = !input.ruleId || rule.id === input.ruleId;
        // A rule above the asked one matters only for the slots it takes: a holiday rule's are taken customer by
        // customer as the asked rule reaches them.
        if (!shown && day.defer(rule)) continue;
        const line = this.emptyDay(rule, date);
        await day.run(rule, {
          count: true,
          onPage: (page, outcomes) => {
            line.optedOut += page.optedOut.length;
            outcomes.forEach((o) => count(line, o));
          },
          onCount: (c) => {
            line.planned += c.planned;
            line.optedOut += c.optedOut;
            for (const [k, n] of Object.entries(c.skipped)) line.skipped[k] = (line.skipped[k] ?? 0) + n;
          },
        });
        if (shown && line.planned + line.already + line.optedOut + sum(line.skipped) > 0) lines.push(line);
      }
      out.push({ date, lunar: lunarText(date), holidays: holidaysOn(date).map((h) => h.holiday.name), rules: lines });
    }
    return { rules: planned.filter((r) => !input.ruleId || r.id === input.ruleId), days: out };
  }

  /**
   * The customers of one rule on one day, in the planner's order, a page at a time. The rules above it are forecast
   * first (a holiday rule's only for the customers listed); a holiday rule's page is found with a keyset query and
   * only the planner's page of customers that holds it is forecast, so a day that reaches a million customers
   * answers as fast as one that reaches a thousand (docs/care.md §The care calendar).
   */
  async customers(input: { date: string; ruleId: string; page: number; pageSize: number }): Promise<{ items: CalendarCustomer[]; total: number; rule: CareRule | null }> {
    const rules = careRulesInPlanOrder(await this.rules.list({ enabledOnly: true }));
    const rule = rules.find((r) => r.id === input.ruleId) ?? null;
    if (!rule) return { items: [], total: 0, rule: null };
    const first = (input.page - 1) * input.pageSize;
    const items: CalendarCustomer[] = [];
    const day = this.day(input.date);
    for (const above of upTo(rules, rule.id).slice(0, -1)) if (!day.defer(above)) await day.run(above, {});
    const listed = (page: PlannedPage, outcomes: PlanOutcome[]): CalendarCustomer[] => [
      ...page.rows.map((r, i) => fromRow(r.customer, r.sender, r.delivery, outcomes[i])),
      ...page.optedOut.map((c): CalendarCustomer => ({ externalUserId: c.externalUserId, name: c.name, sender: null, occasion: null, text: null, outcome: 'opted_out', reason: 'opted_out' })),
    ];

    const reach = this.countInSql ? await this.planner.holidayReach(rule, input.date) : null;
    if (reach) {
      // Every planner page of a holiday rule is `pageSize` customers of its audience (opted-out ones included), its
      // rows first and its opted-out customers after: the asked page lies in the planner's page number
      // floor(first / pageSize), which starts at the customer at that position in key order.
      const total = await this.scan.countOf(reach.conditions);
      const block = Math.floor(first / this.planner.pageSize);
      const startId = await this.scan.idAt(reach.conditions, block * this.planner.pageSize);
      if (startId === null) return { items, total, rule };
      let skip = first - block * this.planner.pageSize;
      for await (const page of this.planner.pagesOf([rule], input.date, { withOptedOut: true, forecast: true, where: scanWhere.fromId(startId) })) {
        const list = listed(page, await day.decide(page));
        items.push(...list.slice(skip, skip + input.pageSize - items.length));
        skip = Math.max(0, skip - list.length);
        if (items.length >= input.pageSize) break;
      }
      return { items, total, rule };
    }

    let total = 0;
    await day.run(rule, {
      onPage: (page, outcomes) => {
        for (const c of listed(page, outcomes)) {
          if (total >= first && items.length < input.pageSize) items.push(c);
          total += 1;
        }
      },
    });
    return { items, total, rule };
  }

  private day(date: string, reachMemo = new Map<string, Promise<ReachCounts>>()): ForecastDay {
    return new ForecastDay(date, this.planner, new ForecastLedger(this.deliveries, this.slots, this.settings.caps), {
      reachMemo,
      deliveries: this.deliveries,
      slots: this.slots,
      scan: this.scan,
      caps: this.settings.caps,
      pageSize: this.planner.pageSize,
      countInSql: this.countInSql,
    });
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

type ReachCounts = Awaited<ReturnType<CareScanRepository['reachCounts']>>;

/** What a holiday rule counted in SQL comes to (no `already`: those customers are planned one by one). */
interface CountedLine {
  planned: number;
  optedOut: number;
  skipped: Record<string, number>;
}

// Customers per statement when a set of them is decided one by one (an IN list; SQLite allows 32,766 parameters).
const ID_CHUNK = 1000;

/**
 * One day of a forecast: the day's ForecastLedger, and the holiday rules whose decisions are made lazily. The
 * ledger's decisions for one customer depend only on that customer's keys and slots, so a holiday rule counted in
 * SQL (or one above the asked rule) decides a customer when a later rule reaches them, before that rule does: the
 * later rule then finds the customer's slot taken exactly as after planning every customer in order.
 */
class ForecastDay {
  /** Customers the day's rules have reached so far, one by one (a forecast slot of theirs may be taken). */
  private readonly touched = new Set<string>();
  /** Rules decided customer by customer as later rules reach them, in plan order, with whom they decided. */
  private readonly deferred: { rule: CareRule; decided: Set<string> }[] = [];

  constructor(
    private readonly date: string,
    private readonly planner: Pick<CarePlanner, 'pagesOf' | 'holidayReach'>,
    private readonly sink: ForecastLedger,
    private readonly deps: {
      deliveries: Pick<DeliveryRepository, 'customersWithOccasionOn'>;
      slots: Pick<SendSlotRepository, 'holdersOf'>;
      scan: Pick<CareScanRepository, 'reachCounts' | 'longNamed' | 'ids'>;
      caps: CapSettings;
      pageSize: number;
      countInSql: boolean;
      reachMemo: Map<string, Promise<ReachCounts>>;
    },
  ) {}

  /** Decide a holiday rule lazily (true), when it has a holiday on the day; other rules are run as usual. */
  defer(rule: CareRule): boolean {
    if (!this.deps.countInSql || !holidayRuleFalls(rule, this.date)) return false;
    this.deferred.push({ rule, decided: new Set() });
    return true;
  }

  /**
   * Forecast one rule: counted in SQL when `count` is asked, it is a holiday rule with one holiday on the day and no
   * rule above it is decided lazily (onCount, plus onPage for the customers decided one by one); else page by page.
   */
  async run(rule: CareRule, on: { count?: boolean; onPage?: (page: PlannedPage, outcomes: PlanOutcome[]) => void; onCount?: (c: CountedLine) => void }): Promise<void> {
    if (on.count && this.deps.countInSql && this.deferred.length === 0) {
      const reach = await this.planner.holidayReach(rule, this.date);
      if (reach?.countable) {
        on.onCount?.(await this.count(rule, reach, on.onPage));
        return;
      }
    }
    for await (const page of this.planner.pagesOf([rule], this.date, { withOptedOut: true, forecast: true })) {
      const outcomes = await this.decide(page);
      on.onPage?.(page, outcomes);
    }
  }

  /** The ledger's decisions for a page, after the lazily decided rules above it have decided its customers. */
  async decide(page: PlannedPage): Promise<PlanOutcome[]> {
    const ids = page.rows.map((r) => r.customer.externalUserId);
    await this.settle(ids);
    for (const id of ids) this.touched.add(id);
    for (const c of page.optedOut) this.touched.add(c.externalUserId);
    return this.sink.planMany(page.rows.map((r) => r.delivery));
  }

  /** Let each lazily decided rule decide the customers among `ids` it has not decided yet, in plan order. */
  private async settle(ids: string[]): Promise<void> {
    for (const d of this.deferred) {
      const todo = [...new Set(ids.filter((id) => !d.decided.has(id)))];
      if (todo.length === 0) continue;
      for (const id of todo) d.decided.add(id);
      const wanted = new Set(todo);
      for (let i = 0; i < todo.length; i += ID_CHUNK) {
        for await (const page of this.planner.pagesOf([d.rule], this.date, { forecast: true, where: scanWhere.idsIn(todo.slice(i, i + ID_CHUNK)) })) {
          // Exact ids only: MySQL's IN compares under the column's collation, and a customer whose id differs only
          // in case is another customer, decided when a rule reaches them.
          await this.sink.planMany(page.rows.filter((r) => wanted.has(r.customer.externalUserId)).map((r) => r.delivery));
        }
      }
    }
  }

  /**
   * A holiday rule counted in SQL. SQL cannot tell the customers with a row of the occasion in the ledger, those
   * whose day or WeCom quota may be full (they hold the period's last slot), those an earlier rule of the day reached
   * and those whose name may make the message too long: they are planned one by one, as the planner would. Every
   * other customer of the audience opted out, has no sender, is held out, or is planned; the count says how many of
   * each. The rule then decides the others lazily, for the rules below it.
   */
  private async count(rule: CareRule, reach: HolidayReach, onPage?: (page: PlannedPage, outcomes: PlanOutcome[]) => void): Promise<CountedLine> {
    const { caps } = this.deps;
    const facing = reach.channel !== 'staff_reminder';
    const needsSender = reach.channel !== 'kf';
    const daily = dailyCapPeriod(this.date, caps.perCustomerPerDay);
    const exceptions = new Set(this.touched);
    const add = (ids: Iterable<string>) => {
      for (const id of ids) exceptions.add(id);
    };
    add(await this.deps.deliveries.customersWithOccasionOn(`care:${rule.id}`, reach.occasion, this.date));
    if (facing) {
      if (daily.limit >= 1) add(await this.deps.slots.holdersOf(daily.scope, daily.period, daily.limit));
      if (reach.channel === 'mass_task') {
        const quota = massQuotaPeriod(caps.massQuotaRule, this.date);
        add(await this.deps.slots.holdersOf(quota.scope, quota.period, quota.limit));
      }
    }
    const opts = { customerFacing: facing, nameBytesOver: reach.nameBytesOver };
    const memoKey = JSON.stringify([reach.conditions, opts]);
    let counting = this.deps.reachMemo.get(memoKey);
    if (!counting) this.deps.reachMemo.set(memoKey, (counting = this.deps.scan.reachCounts(reach.conditions, opts)));
    const all = await counting;
    if (all.longNames > 0 && reach.nameBytesOver !== null) add(await this.deps.scan.longNamed(reach.conditions, reach.nameBytesOver));

    let { total, optedOut, noSender } = all;
    const ids = [...exceptions];
    for (let i = 0; i < ids.length; i += ID_CHUNK) {
      const where = scanWhere.idsIn(ids.slice(i, i + ID_CHUNK));
      const part = await this.deps.scan.reachCounts([...reach.conditions, where], { customerFacing: facing, nameBytesOver: null });
      total -= part.total;
      optedOut -= part.optedOut;
      noSender -= part.noSender;
      for await (const page of this.planner.pagesOf([rule], this.date, { withOptedOut: true, forecast: true, where })) {
        const outcomes = await this.sink.planMany(page.rows.map((r) => r.delivery));
        onPage?.(page, outcomes);
        // MySQL's IN may bring a customer whose id differs only in case: counted out above and decided here too.
        for (const r of page.rows) exceptions.add(r.customer.externalUserId);
      }
    }

    // The rest hold no key of the occasion and no full period, and no earlier rule of the day reached them.
    let heldOut = 0;
    if (rule.holdoutPercent > 0) {
      const live = [...reach.conditions, ...(facing ? [scanWhere.notOptedOut()] : []), ...(needsSender ? [scanWhere.hasSender()] : [])];
      for await (const page of this.deps.scan.ids(live, this.deps.pageSize)) {
        for (const c of page) if (!exceptions.has(c.externalUserId) && isHeldOut('care', rule.id, c.externalUserId, rule.holdoutPercent)) heldOut += 1;
      }
    }
    const out: CountedLine = { planned: 0, optedOut, skipped: {} };
    const skip = (code: string, n: number) => {
      if (n > 0) out.skipped[code] = (out.skipped[code] ?? 0) + n;
    };
    const noSenders = needsSender ? noSender : 0;
    skip(SkipReason.NoSender, noSenders);
    skip(SkipReason.Holdout, heldOut);
    const rest = total - optedOut - noSenders - heldOut;
    // A cap of no message a day refuses every customer-facing message.
    if (facing && daily.limit < 1) skip(SkipReason.DailyCap, rest);
    else out.planned = rest;
    this.deferred.push({ rule, decided: exceptions });
    return out;
  }
}

/** Whether a holiday rule has one of its holidays on `date`. */
function holidayRuleFalls(rule: CareRule, date: string): boolean {
  const occ = rule.occasion;
  return occ.type === 'holiday' && holidaysOn(date, HOLIDAYS.filter((h) => occ.holidays.includes(h.key))).length > 0;
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
