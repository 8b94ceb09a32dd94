import { LunarMonth, Solar } from 'lunar-typescript';
import type { DbEngine } from '../../persistence/data-source.js';
import { scanWhere, type CareScanRepository } from '../../persistence/repositories/care-scan.repository.js';
import type { ScannedCustomer, Sender, SqlCondition } from './care-scan.types.js';
import { addDays, daysBetween, isLeapYear, localDate, parseLocalDate, zonedTimeToUtc } from '../../shared/dates.js';
import type { Logger } from '../../shared/logger.js';
import { byteLength, renderTemplate, WECOM_APP_TEXT_MAX_BYTES, WECOM_TEXT_MAX_BYTES, type TemplateVars } from '../../shared/template.js';
import { compileAudienceWithTags } from '../audiences/audience.compiler.js';
import type { AudienceTagLookup } from '../audiences/audience.tags.js';
import { parseAudience } from '../audiences/index.js';
import type { PlanOutcome, PlanSink } from '../delivery/delivery-ledger.js';
import type { NewDelivery } from '../delivery/delivery.types.js';
import { anniversaryDue, anniversaryYearsDue, birthdayOn, HOLIDAYS, holidaysOn, isValidBirthday, occasionKey } from './occasions.js';
import type { CareRule } from './care-rule.types.js';
import type { DeliveryChannel } from '../delivery/delivery.types.js';
import type { MessageAttachment } from '../../wecom/client/types.js';
import { AppError } from '../../shared/errors.js';

/** Counts of one planning pass. */
export interface PlanCounts {
  rules: number;
  candidates: number;
  planned: number;
  skipped: number;
  duplicate: number;
  /** Rules not planned this pass because a 素材库 item's media was not ready (nothing sent, nothing uploaded). */
  deferredContent: number;
}

/** 素材库 as the planner reads it: cached media only, never an upload (docs/content.md §Media lifecycle). */
export interface CareContentPort {
  /** The items as one message sent at `at`; their `{{variables}}` left as written. Refuses with `content_not_ready`. */
  resolve: (ids: string[], at: Date) => Promise<{ text: string; attachments: MessageAttachment[] }>;
  /** Count `n` uses of each item: one per customer a rule newly planned from them (docs/content.md §Use counts). */
  countUse: (ids: string[], n: number) => Promise<void>;
}

/** One page of a rule's ledger rows for a day (CarePlanner.pagesOf). */
export interface PlannedPage {
  rule: CareRule;
  rows: { delivery: NewDelivery; customer: ScannedCustomer; sender: Sender | null }[];
  /** Customers the rule matched who opted out: never planned; listed only when asked for (the care calendar). */
  optedOut: ScannedCustomer[];
  /** Why the rule planned nothing this pass: its 素材库 items are not ready (planning only; a forecast never defers). */
  deferred?: string;
}

/** A holiday rule's reach on one day, as CarePlanner.holidayReach gives it. */
export interface HolidayReach {
  /** What the rule's scan matches (its compiled audience), opted-out customers included. */
  conditions: SqlCondition[];
  /** The ledger occasion of the day's holiday. */
  occasion: string;
  channel: DeliveryChannel;
  /** Whether the day can be counted in SQL: false when the template alone, with the longest sender name, may be too long. */
  countable: boolean;
  /** Customers whose name has more bytes than this may get a message over WeCom's limit (null: the name is not used). */
  nameBytesOver: number | null;
}

/** The enabled care rules (not win-back) in the order a day is planned: highest priority first, then by id. */
export function careRulesInPlanOrder(rules: CareRule[]): CareRule[] {
  return rules.filter((r) => r.enabled && r.occasion.type !== 'winback').sort((a, b) => b.priority - a.priority || a.id.localeCompare(b.id));
}

/** Every variable a care template may use: `name` and `staff`, and the occasion's own (Candidate.vars). */
export const CARE_TEMPLATE_VARIABLES = ['name', 'staff', 'days', 'holiday', 'note', 'years', 'date'] as const;

/** Planner settings. */
export interface PlannerSettings {
  tz: string;
  pageSize: number;
  senderPolicy: 'latest' | 'earliest';
}

/** One message a rule wants to send, before the ledger decides. */
interface Candidate {
  customer: ScannedCustomer;
  occasion: string;
  vars: TemplateVars;
  /** The staff member to remind instead of the customer's owner (notes). */
  senderOverride?: string | null;
}

// Anniversaries in whole years are looked for up to this many years back.
const MAX_ANNIVERSARY_YEARS = 50;

/**
 * Plans today's care messages into the ledger. Rules run in priority order (highest first) and each streams its
 * candidates from the database in keyset pages: an SQL prefilter (birthday month/day, added-at day windows, the
 * compiled audience) narrows the scan, and the exact occasion rules (occasions.ts) decide. Nothing holds more
 * than one page of customers in memory.
 */
export class CarePlanner {
  constructor(
    private readonly scan: CareScanRepository,
    /** The live tags an audience's `tag:` values mean (TagRepository.liveTagsNamed), read once per rule and run. */
    private readonly tags: AudienceTagLookup,
    private readonly engine: DbEngine,
    private readonly settings: PlannerSettings,
    private readonly log: Logger,
    private readonly content?: CareContentPort,
  ) {}

  /** Customers per page of a rule's scan (the care calendar finds a holiday rule's page from it). */
  get pageSize(): number {
    return this.settings.pageSize;
  }

  /**
   * Plan every enabled care rule (not win-back) for local date `today`. A rule whose 素材库 items are not ready is
   * left unplanned and named in `deferredReasons`; the others are planned as usual.
   */
  async planDay(input: { today: string; now: Date; rules: CareRule[]; sink: PlanSink; report?: (line: string) => void; countUse?: boolean }): Promise<PlanCounts & { deferredReasons: string[] }> {
    const counts: PlanCounts = { rules: 0, candidates: 0, planned: 0, skipped: 0, duplicate: 0, deferredContent: 0 };
    const deferredReasons: string[] = [];
    const rules = careRulesInPlanOrder(input.rules);
    counts.rules = rules.length;
    const plannedByRule = new Map<string, number>();
    for await (const page of this.pagesOf(rules, input.today)) {
      if (page.deferred) {
        counts.deferredContent += 1;
        deferredReasons.push(`规则「${page.rule.name}」今日未计划：${page.deferred}`);
        input.report?.(`延后 deferred\t${page.rule.name}\t${page.deferred}`);
        continue;
      }
      const deliveries = page.rows.map((r) => r.delivery);
      const outcomes = await input.sink.planMany(deliveries);
      counts.candidates += deliveries.length;
      outcomes.forEach((o, i) => {
        tally(counts, o);
        if (o.result === 'planned') plannedByRule.set(page.rule.id, (plannedByRule.get(page.rule.id) ?? 0) + 1);
        input.report?.(describe(page.rule, deliveries[i], o));
      });
    }
    // A use per customer newly planned (docs/content.md §Use counts): a re-run's duplicates count nothing.
    if (input.countUse && this.content) {
      for (const rule of rules) {
        const n = plannedByRule.get(rule.id) ?? 0;
        if (rule.contentIds.length > 0 && n > 0) await this.content.countUse(rule.contentIds, n);
      }
    }
    return { ...counts, deferredReasons };
  }

  /**
   * The ledger rows of `rules` (in careRulesInPlanOrder) for local date `today`, page by page, as planDay hands them
   * to its sink: planDay plans them, the care calendar hands them to a ForecastLedger, so both make the same
   * decisions. With `withOptedOut`, the customers a customer-facing rule matched but who opted out come along in
   * `optedOut` (planDay leaves them out in SQL and never sees them).
   */
  async *pagesOf(rules: CareRule[], today: string, opts: { withOptedOut?: boolean; forecast?: boolean; where?: SqlCondition } = {}): AsyncGenerator<PlannedPage> {
    for (const rule of rules) {
      const message = await this.messageOf(rule, today, opts.forecast === true);
      if ('deferred' in message) {
        yield { rule, rows: [], optedOut: [], deferred: message.deferred };
        continue;
      }
      const isCustomerFacing = effectiveChannel(rule) !== 'staff_reminder';
      for await (const page of this.candidates(rule, today, opts.withOptedOut === true, opts.where)) {
        const optedOut = page.filter((c) => isCustomerFacing && c.customer.isOptedOut).map((c) => c.customer);
        const kept = optedOut.length ? page.filter((c) => !(isCustomerFacing && c.customer.isOptedOut)) : page;
        if (kept.length === 0) {
          yield { rule, rows: [], optedOut };
          continue;
        }
        const senders = await this.scan.sendersOf(kept.map((c) => c.customer.externalUserId), this.settings.senderPolicy);
        const overrides = [...new Set(kept.map((c) => c.senderOverride).filter((u): u is string => !!u))];
        const names = await this.scan.staffNames(overrides);
        const rows = kept.map((cand) => {
          const sender: Sender | null = cand.senderOverride
            ? { userid: cand.senderOverride, name: names.get(cand.senderOverride) ?? cand.senderOverride }
            : (senders.get(cand.customer.externalUserId) ?? null);
          return { delivery: this.toDelivery(rule, message, cand, sender, today), customer: cand.customer, sender };
        });
        yield { rule, rows, optedOut };
      }
    }
  }

  /**
   * What a holiday rule reaches on `today`, for counting it in SQL instead of planning each customer (the care
   * calendar, docs/care.md §The care calendar): the conditions its scan applies (the audience; opted-out customers
   * not left out), its one occurrence's key, and the longest customer name every message provably fits with.
   * Null when the rule is not a holiday rule or has not exactly one of its holidays on the day; not `countable` when
   * its message may pass WeCom's length limit whatever the customer's name.
   */
  async holidayReach(rule: CareRule, today: string): Promise<HolidayReach | null> {
    const occ = rule.occasion;
    if (occ.type !== 'holiday') return null;
    const hits = holidaysOn(today, HOLIDAYS.filter((h) => occ.holidays.includes(h.key)));
    if (hits.length !== 1) return null;
    const { holiday, occurrence } = hits[0];
    const message = await this.messageOf(rule, today, true);
    if ('deferred' in message) return null;
    const channel = effectiveChannel(rule);
    const max = channel === 'staff_reminder' ? WECOM_APP_TEXT_MAX_BYTES : WECOM_TEXT_MAX_BYTES;
    // The text's bytes grow by each {{name}} and {{staff}} as many times as the template uses them.
    const bytes = (name: string, staff: string) => byteLength(renderTemplate(message.template, { name, staff, holiday: holiday.name }));
    const base = bytes('', '');
    const perName = bytes('x', '') - base;
    const perStaff = bytes('', 'x') - base;
    const room = max - base - perStaff * (perStaff > 0 ? await this.scan.longestSenderNameBytes() : 0);
    const conditions: SqlCondition[] = [];
    if (rule.audience) conditions.push(await compileAudienceWithTags(parseAudience(rule.audience), this.tags, { engine: this.engine, today, timezone: this.settings.tz }));
    return {
      conditions,
      occasion: occasionKey({ kind: 'holiday', holidayKey: holiday.key, year: occurrence.year }),
      channel,
      countable: room >= 0,
      nameBytesOver: perName > 0 ? Math.max(0, Math.floor(room / perName)) : null,
    };
  }

  /**
   * The rule's template and attachments, followed by its 素材库 items' text (after a blank line) and attachments,
   * resolved now for today's send time from cached media (docs/content.md §Composers). Items that are not ready
   * defer the rule when planning; a forecast shows the rule's own message instead, as the media job may well have
   * made fresh media by that day.
   */
  private async messageOf(rule: CareRule, today: string, forecast: boolean): Promise<{ template: string; attachments: MessageAttachment[] } | { deferred: string }> {
    if (rule.contentIds.length === 0) return { template: rule.template, attachments: rule.attachments };
    try {
      if (!this.content) throw new Error('care rule has contentIds but no content library is wired');
      const extra = await this.content.resolve(rule.contentIds, zonedInstant(today, rule.sendTime, this.settings.tz));
      return { template: extra.text ? `${rule.template}\n\n${extra.text}` : rule.template, attachments: [...rule.attachments, ...extra.attachments] };
    } catch (err) {
      if (forecast) return { template: rule.template, attachments: rule.attachments };
      if (err instanceof AppError && err.code === 'content_not_ready') {
        this.log.warn({ ruleId: rule.id, reason: err.message }, 'care rule deferred: content not ready');
        return { deferred: err.message };
      }
      throw err;
    }
  }

  /** Build the ledger row for a candidate. */
  private toDelivery(rule: CareRule, message: { template: string; attachments: MessageAttachment[] }, cand: Candidate, sender: Sender | null, today: string): NewDelivery {
    const { tz } = this.settings;
    return {
      source: `care:${rule.id}`,
      kind: 'care',
      ruleId: rule.id,
      externalUserId: cand.customer.externalUserId,
      occasion: cand.occasion,
      channel: effectiveChannel(rule),
      priority: rule.priority,
      senderUserid: sender?.userid ?? null,
      text: renderTemplate(message.template, { name: cand.customer.name, staff: sender?.name ?? '', ...cand.vars }),
      attachments: message.attachments,
      localDate: today,
      notBefore: zonedInstant(today, rule.sendTime, tz),
      // Policy (docs/reliability.md §Catch-up and expiry): a care message is for its day; if it cannot go out that day
      // it expires.
      expiresAt: zonedInstant(addDays(today, 1), '00:00', tz),
      holdoutPercent: rule.holdoutPercent,
    };
  }

  /** Pages of candidates for a rule on `today`. */
  private async *candidates(rule: CareRule, today: string, withOptedOut = false, where?: SqlCondition): AsyncGenerator<Candidate[]> {
    const { tz, pageSize } = this.settings;
    // `where` narrows a forecast to some customers (the care calendar); the notes' scan is by note, and keeps them all.
    const base: SqlCondition[] = where ? [where] : [];
    // Tag names resolved to ids once per rule and run (docs/audiences.md §Tag names become ids).
    if (rule.audience) base.push(await compileAudienceWithTags(parseAudience(rule.audience), this.tags, { engine: this.engine, today, timezone: tz }));
    // Consent: customers who opted out are never planned for customer-facing messages (re-checked at send time).
    if (effectiveChannel(rule) !== 'staff_reminder' && !withOptedOut) base.push(scanWhere.notOptedOut());
    const occ = rule.occasion;
    switch (occ.type) {
      case 'birthday': {
        // The birthdays falling `daysBefore` days from today (today's own when 0). The key is the birthday's year,
        // so a rule whose offset is changed never sends a second message for the same birthday.
        const ahead = occ.daysBefore ?? 0;
        const day = addDays(today, ahead);
        for await (const page of this.scan.stream([...base, birthdayPrefilter(day)], pageSize)) {
          const out: Candidate[] = [];
          for (const customer of page) {
            if (!customer.birthday || !isValidBirthday(customer.birthday)) continue;
            const hit = birthdayOn(customer.birthday, day);
            if (hit) out.push({ customer, occasion: occasionKey({ kind: 'birthday', year: hit.year }), vars: { days: ahead } });
          }
          if (out.length) yield out;
        }
        return;
      }
      case 'holiday': {
        const wanted = HOLIDAYS.filter((h) => occ.holidays.includes(h.key));
        for (const { holiday, occurrence } of holidaysOn(today, wanted)) {
          const key = occasionKey({ kind: 'holiday', holidayKey: holiday.key, year: occurrence.year });
          for await (const page of this.scan.stream(base, pageSize)) {
            yield page.map((customer) => ({ customer, occasion: key, vars: { holiday: holiday.name } }));
          }
        }
        return;
      }
      case 'anniversary': {
        // One scan for every milestone: the customers added on any of the milestone days, classified in JS.
        const addedDays = occ.days.map((days) => addDays(today, -days));
        if (occ.years) {
          const { year, month, day } = parseLocalDate(today);
          for (let y = 1; y <= MAX_ANNIVERSARY_YEARS; y++) {
            addedDays.push(`${String(year - y).padStart(4, '0')}-${today.slice(5)}`);
            // 29 February contacts celebrate on 28 February in common years (the occasions.ts rule).
            if (month === 2 && day === 28 && !isLeapYear(year) && isLeapYear(year - y)) addedDays.push(`${String(year - y).padStart(4, '0')}-02-29`);
          }
        }
        if (addedDays.length === 0) return;
        const windows = addedDays.map((d) => ({ date: d, fromMs: zonedInstant(d, '00:00', tz).getTime(), toMs: zonedInstant(addDays(d, 1), '00:00', tz).getTime() }));
        const anyDay = scanWhere.addedInAny(windows);
        for await (const page of this.scan.stream([...base, anyDay], pageSize)) {
          const out: Candidate[] = [];
          for (const customer of page) {
            if (!customer.firstAddedAt) continue;
            // The scan matched the customer in one of the local days' windows, so that window's date is the day they
            // were added: no time-zone formatting per customer (Intl, the largest share of a plain calendar day's
            // JavaScript at a million customers, docs/care.md §The care calendar).
            const at = customer.firstAddedAt.getTime();
            const added = windows.find((w) => at >= w.fromMs && at < w.toMs)?.date ?? localDate(customer.firstAddedAt, tz);
            const days = anniversaryDue(added, today, occ.days);
            if (days !== null) out.push({ customer, occasion: occasionKey({ kind: 'anniversary', days }), vars: { days } });
            const years = occ.years ? anniversaryYearsDue(added, today) : null;
            if (years !== null) out.push({ customer, occasion: occasionKey({ kind: 'anniversary-years', years }), vars: { days: daysBetween(added, today), years } });
          }
          if (out.length) yield out;
        }
        return;
      }
      case 'followup': {
        const added = addDays(today, -occ.afterDays);
        // "No interaction since being added": nothing recorded after the add itself.
        const silent = scanWhere.silentSinceAdded();
        for await (const page of this.scan.stream([...base, this.addedOn(added), silent], pageSize)) {
          yield page.map((customer) => ({ customer, occasion: `followup:${occ.afterDays}d`, vars: { days: occ.afterDays } }));
        }
        return;
      }
      case 'note_due': {
        let after = '';
        for (;;) {
          const notes = await this.scan.notesDue(today, after, pageSize);
          if (notes.length === 0) return;
          after = notes[notes.length - 1].id;
          const customers = await this.scan.byIds([...new Set(notes.map((n) => n.externalUserId))]);
          const out: Candidate[] = [];
          for (const note of notes) {
            const customer = customers.get(note.externalUserId);
            // Keyed by the due date too: a note moved to a later day is a new reminder, the same day never twice.
            if (customer) out.push({ customer, occasion: `note:${note.id}:${today}`, vars: { note: note.text }, senderOverride: note.userid });
          }
          if (out.length) yield out;
          if (notes.length < pageSize) return;
        }
      }
      case 'repurchase': {
        // 复购提醒 (docs/repurchase.md §The care occasion): customers whose predicted next order falls within
        // `daysBefore` days from today, keyed by the cycle (the last order's date), so each predicted cycle is reminded
        // once — on the day it comes within reach, normally exactly `daysBefore` days ahead — whatever the nightly
        // recomputation does to the date afterwards. A new order starts a new cycle.
        const until = addDays(today, occ.daysBefore);
        for await (const page of this.scan.stream([...base, scanWhere.repurchaseDueBetween(today, until)], pageSize)) {
          const due = await this.scan.repurchaseOf(page.map((c) => c.externalUserId));
          const out: Candidate[] = [];
          for (const customer of page) {
            const p = due.get(customer.externalUserId);
            if (!p || p.dueOn < today || p.dueOn > until) continue;
            out.push({ customer, occasion: `repurchase:${p.lastOrderOn}`, vars: { days: daysBetween(today, p.dueOn), date: p.dueOn } });
          }
          if (out.length) yield out;
        }
        return;
      }
      case 'winback':
        return;
    }
  }

  /** Customers first added on local date `date`. */
  private addedOn(date: string): SqlCondition {
    const { tz } = this.settings;
    return scanWhere.addedBetween(zonedInstant(date, '00:00', tz).getTime(), zonedInstant(addDays(date, 1), '00:00', tz).getTime());
  }
}

// zonedTimeToUtc reads the zone through Intl four times (about 0.2 ms), and every candidate of a rule on a day has
// the same two instants: a holiday reaching a million customers spent minutes of CPU on them alone.
const instants = new Map<string, number>();
function zonedInstant(date: string, time: string, tz: string): Date {
  const key = `${tz}|${date}|${time}`;
  let ms = instants.get(key);
  if (ms === undefined) {
    ms = zonedTimeToUtc(date, time, tz).getTime();
    if (instants.size >= 4096) instants.clear();
    instants.set(key, ms);
  }
  return new Date(ms);
}

/**
 * A superset of today's birthdays, in SQL: solar (month, day) with 29 February on 28 February in common years,
 * and lunar birthdays in today's lunar month number (leap or not) on today's lunar day, plus day 30 on the last day
 * of a 29-day month. `birthdayOn` then decides exactly (leap-month fallbacks included).
 */
export function birthdayPrefilter(today: string): SqlCondition {
  const { year, month, day } = parseLocalDate(today);
  const solarDays = month === 2 && day === 28 && !isLeapYear(year) ? [28, 29] : [day];
  const lunar = Solar.fromYmd(year, month, day).getLunar();
  const lunarMonth = Math.abs(lunar.getMonth());
  const lunarDays = [lunar.getDay()];
  const dayCount = LunarMonth.fromYm(lunar.getYear(), lunar.getMonth())?.getDayCount() ?? 30;
  if (lunar.getDay() === dayCount && dayCount === 29) lunarDays.push(30);
  return scanWhere.birthdayOn({ month, days: solarDays }, { month: lunarMonth, days: lunarDays });
}

function tally(counts: PlanCounts, o: PlanOutcome): void {
  if (o.result === 'planned') counts.planned += 1;
  else if (o.result === 'skipped') counts.skipped += 1;
  else counts.duplicate += 1;
}

function describe(rule: CareRule, d: NewDelivery, o: PlanOutcome): string {
  const what = o.result === 'planned' ? '计划 planned' : o.result === 'skipped' ? `跳过 skipped (${o.reason})` : '已存在 duplicate';
  return `${what}\t${rule.name}\t${d.occasion}\t${d.externalUserId}\tvia ${d.channel}${d.senderUserid ? `/${d.senderUserid}` : ''}\t${d.text}`;
}

/** Follow-ups and due notes remind staff; they never message the customer, whatever channel was asked for. */
export function effectiveChannel(rule: Pick<CareRule, 'occasion' | 'channel'>): DeliveryChannel {
  return rule.occasion.type === 'followup' || rule.occasion.type === 'note_due' ? 'staff_reminder' : rule.channel;
}
