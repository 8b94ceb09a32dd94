import type { Activity, AudienceExpr, AudiencePredicate, CompareOp, Gender } from './audience.types.js';
import { audienceIds, isIsoDate, toDayNumber } from './audience.values.js';
import { tagMeans } from './audience.tags.js';

/** What the matcher needs to know about one customer. Dates are calendar dates in APP_TIMEZONE. */
export interface CustomerFacts {
  /** The customer's external_userid, for `id:` terms; a customer without one matches no `id:` term. */
  externalUserId?: string;
  /** Corp tags on the customer; WeCom puts every corp tag in a group. */
  tags: readonly { name: string; group: string }[];
  /** userids of the staff who follow the customer. */
  owners: readonly string[];
  activity: Activity;
  /** Lifecycle stage name, if one is assigned. */
  stage?: string | null;
  /** RFM segment name, if scored. */
  rfm?: string | null;
  /** Name of the channel (联系我 code) the customer was added through. */
  channel?: string | null;
  /** This year's occurrence of the birthday (lunar birthdays already converted); null when unknown. */
  birthdayThisYear?: string | null;
  gender: Gender;
  /** The date the customer was first added. */
  addedAt: string;
  /** The date of the last interaction; null when there has been none. */
  lastInteractionDate: string | null;
  orderCount: number;
  /** Total spent, in yuan. */
  totalSpent: number;
  /** The points balance (0 without an account, docs/loyalty.md §Audiences). */
  points?: number;
  /** The tier's name (the lowest tier's without an account). */
  tier?: string | null;
  /** The latest NPS score (0–10) and CSAT score (1–5) of any survey; null or absent without one (docs/surveys.md §Audiences). */
  nps?: number | null;
  csat?: number | null;
  /** The ids of the surveys the customer answered. */
  answeredSurveys?: readonly number[];
  /**
   * The customer's feedback ticket not yet resolved, if any (docs/feedback.md §Audiences): whether it is still open
   * past its first-contact deadline at the moment of evaluation. Absent or null: no active ticket.
   */
  activeTicket?: { isOverdue: boolean } | null;
  /** The churn-risk level at the last nightly score (docs/churn.md §Audiences); absent or null: never scored. */
  churnLevel?: 'high' | 'medium' | 'low' | null;
  /** The predicted next order's date (docs/repurchase.md §Audiences); null or absent without a prediction. */
  repurchaseDueOn?: string | null;
  /** The customer groups the customer is in now, with their owners (docs/groups.md §Audiences). */
  groups?: readonly { chatId: string; owner: string | null }[];
}

/** The evaluation context: "today" in APP_TIMEZONE, injected so tests and dry runs can move it. */
export interface AudienceMatchContext {
  today: string;
}

/**
 * Whether a customer belongs to an audience. This is the reference semantics the SQL
 * compiler must agree with; it also serves previews of small sets.
 */
export function matchAudience(expr: AudienceExpr, facts: CustomerFacts, ctx: AudienceMatchContext): boolean {
  if (!isIsoDate(ctx.today)) throw new TypeError(`ctx.today must be YYYY-MM-DD, got ${JSON.stringify(ctx.today)}`);
  return evaluate(expr, facts, ctx);
}

function evaluate(expr: AudienceExpr, facts: CustomerFacts, ctx: AudienceMatchContext): boolean {
  switch (expr.type) {
    case 'all':
      return true;
    case 'not':
      return !evaluate(expr.item, facts, ctx);
    case 'and':
      return expr.items.every((item) => evaluate(item, facts, ctx));
    case 'or':
      return expr.items.some((item) => evaluate(item, facts, ctx));
    case 'pred':
      return matchPredicate(expr, facts, ctx);
  }
}

function matchPredicate(pred: AudiencePredicate, facts: CustomerFacts, ctx: AudienceMatchContext): boolean {
  switch (pred.field) {
    case 'id':
      // Exact, like every other comparison here: an id differing in case is another customer.
      return facts.externalUserId !== undefined && audienceIds(pred.value).includes(facts.externalUserId);
    case 'tag':
      // A tag whose own name contains "/" still matches by name; "group/name" pins the group. The one rule the SQL
      // follows too (audience.tags.ts): a tag without a group ('') has no "group/name" form.
      return facts.tags.some((tag) => tagMeans(pred.value, { name: tag.name, group: tag.group || null }));
    case 'owner':
      return facts.owners.includes(pred.value);
    case 'group':
      return (facts.groups ?? []).some((g) => g.chatId === pred.value);
    case 'ingroup':
      return (facts.groups ?? []).some((g) => g.owner === pred.value);
    case 'stage':
    case 'rfm':
    case 'channel':
    case 'tier':
      return facts[pred.field] === pred.value;
    case 'activity':
      return facts.activity === pred.value;
    case 'gender':
      return facts.gender === pred.value;
    case 'birthday':
      return matchBirthday(pred.value, facts.birthdayThisYear ?? null, ctx.today);
    case 'added':
      // ISO dates order the same as strings.
      return compare(facts.addedAt, pred.op, pred.value);
    case 'silent': {
      // Never contacted counts as silent since the day they were added, not since forever,
      // so a customer added yesterday is not "silent 30 days".
      const since = facts.lastInteractionDate ?? facts.addedAt;
      return compare(toDayNumber(ctx.today) - toDayNumber(since), pred.op, pred.value);
    }
    case 'orders':
      return compare(facts.orderCount, pred.op, pred.value);
    case 'spent':
      return compare(facts.totalSpent, pred.op, pred.value);
    case 'points':
      return compare(facts.points ?? 0, pred.op, pred.value);
    case 'nps': {
      const n = facts.nps;
      if (n === null || n === undefined) return false;
      return pred.value === (n <= 6 ? 'detractor' : n <= 8 ? 'passive' : 'promoter');
    }
    case 'csat':
      return facts.csat !== null && facts.csat !== undefined && compare(facts.csat, pred.op, pred.value);
    case 'answered':
      return (facts.answeredSurveys ?? []).includes(pred.value);
    case 'due_in':
    case 'overdue': {
      const due = facts.repurchaseDueOn;
      if (due === null || due === undefined) return false;
      const ahead = toDayNumber(due) - toDayNumber(ctx.today);
      if (pred.field === 'due_in') return ahead >= 0 && compare(ahead, pred.op, pred.value);
      return ahead < 0 && compare(-ahead, pred.op, pred.value);
    }
    case 'risk':
      return facts.churnLevel !== null && facts.churnLevel !== undefined && facts.churnLevel === pred.value;
    case 'ticket': {
      const t = facts.activeTicket;
      return t !== null && t !== undefined && (pred.value === 'open' || t.isOverdue);
    }
  }
}

function matchBirthday(window: string, birthday: string | null, today: string): boolean {
  if (window === 'none') return birthday === null;
  if (birthday === null) return false;
  switch (window) {
    case 'today':
      return birthday === today;
    case 'this-month':
      return birthday.slice(0, 7) === today.slice(0, 7);
    default: {
      // this-week: Monday to Sunday around today, the Chinese calendar week. Only this year's
      // occurrence is known, so in a week spanning New Year a birthday on the far side is missed.
      const day = toDayNumber(today);
      const monday = day - ((((day + 3) % 7) + 7) % 7);
      const target = toDayNumber(birthday);
      return target >= monday && target <= monday + 6;
    }
  }
}

function compare<T extends number | string>(actual: T, op: CompareOp, expected: T): boolean {
  switch (op) {
    case '>=':
      return actual >= expected;
    case '<=':
      return actual <= expected;
    case '>':
      return actual > expected;
    case '<':
      return actual < expected;
  }
}
