import type { DbEngine } from '../../persistence/data-source.js';
import { addDays, zonedTimeToUtc } from '../../shared/dates.js';
import { birthdayDateInYear, isValidBirthday } from '../care/occasions.js';
import type { Birthday } from '../care/occasion.types.js';
import { resolveAudienceTags, type AudienceTagIds, type AudienceTagLookup } from './audience.tags.js';
import type { AudienceCondition, AudienceExpr, AudiencePredicate, CompareOp } from './audience.types.js';
import { audienceIds, toDayNumber } from './audience.values.js';

/** A parameterized SQL condition over `customers c`, with a count shape on MySQL when one is better. */
export type CompiledAudience = AudienceCondition;

/** What compilation needs: the engine (for exact comparisons), "today" and the zone it is in. */
export interface AudienceCompileContext {
  engine: DbEngine;
  /** 'YYYY-MM-DD' in `timezone`. */
  today: string;
  timezone: string;
  /**
   * The live tags each `tag:` value means (resolveAudienceTags), read just before compiling: the statement then
   * names tag ids, which the engine can size from its index (docs/audiences.md §Tag names become ids). A value
   * missing here is matched by name inside the statement, as without it.
   */
  tagIds?: AudienceTagIds;
  /**
   * The instant (epoch ms) `ticket:overdue` compares first-contact deadlines with; the wall clock when absent. Callers
   * with a clock pass its time, so a count and the run it previews agree.
   */
  now?: number;
}

// Silent-day counts beyond this (≈ 550 years) behave like infinity for any stored date.
const MAX_DAYS = 200_000;

/**
 * Compile an audience AST (from parseAudience) into a WHERE fragment with bound params, with exactly the
 * semantics of `matchAudience` (the reference). Every fragment evaluates to true or false, never NULL, so NOT
 * behaves as in the matcher. User-supplied values only ever travel as params.
 *
 * The shape is chosen so a million customers count in well under a second
 * (docs/audiences.md §How a count stays fast): a tag or owner term is a semi-join (`c.external_user_id IN (…)`) the
 * engine can drive the whole statement from, through an index that ends in the customer id, instead of a probe per
 * customer.
 */
export function compileAudience(expr: AudienceExpr, ctx: AudienceCompileContext): CompiledAudience {
  const shape = countShape(expr, ctx);
  if (!shape) return compileWhere(expr, ctx);
  // The intersection of required tags is small and narrows any statement; the union of an OR's tags and the
  // covering-index hint suit a count only (a page sorted by another column is better read in that column's order).
  return { ...compileWhere(expr, ctx), count: shape.count, ...(shape.intersects ? { narrowed: shape.count } : {}) };
}

/**
 * Resolve the expression's `tag:` values to the ids of the live tags they mean (one read through `lookup`), then
 * compile with those ids: what a background run (a broadcast, care rules, win-back, behaviour tags) does once per run,
 * so its pages match tag ids rather than names (docs/audiences.md §Tag names become ids). A tag renamed before the run
 * is found under its new name, and a deleted one matches no one, as with names; the ids are those of the run's start.
 */
export async function compileAudienceWithTags(expr: AudienceExpr, lookup: AudienceTagLookup, ctx: Omit<AudienceCompileContext, 'tagIds'>): Promise<CompiledAudience> {
  return compileAudience(expr, { ...ctx, tagIds: await resolveAudienceTags(lookup, expr) });
}

function compileWhere(expr: AudienceExpr, ctx: AudienceCompileContext): CompiledAudience {
  const params: unknown[] = [];
  return { sql: compile(expr, ctx, params), params };
}

/** The covering index a MySQL count looks its candidates up in (migration 0023: id, activity, order count and total). */
const COUNT_INDEX = 'ix_customers_audience_orders';

/**
 * A derived table's binary customer key (customer_tags.customer_key, migration 0065) as the customer id it is, in the
 * schema's collation: explicit, so the comparison is made in the customer column's collation and its index is used.
 * A varbinary compared with the column as it is would be compared as bytes, and no index would serve.
 */
const KEY_AS_ID = 'CONVERT(d.id USING utf8mb4) COLLATE utf8mb4_unicode_ci';

/**
 * The count shape for MySQL (docs/audiences.md §Counting from the tags first, §An OR of tags). Three cases, by what the top-level AND
 * holds:
 * - **Two or more required tags** (resolved to ids). MariaDB, given the plain fragment, drives the statement from one
 *   tag, looks up each of its customers' rows, and only then checks the second tag: 94,478 row lookups for the 15,628
 *   customers both tags leave. Here a derived table intersects the tags from ix_customer_tags_keys alone (the
 *   binary keys of migration 0065, docs/audiences.md §Binary keys for the intersection), STRAIGHT_JOIN keeps it
 *   first, and the remaining terms run for its customers only.
 * - **An OR of tags only, and no required tag.** The plain statement probes every customer's links (the `OR` of two
 *   large tags passed the 5 s deadline). Here each of the OR's tag ids contributes the customers it has and none of the
 *   ids before it has, one range of ix_customer_tags_keys each, grouped by customer in index order, so the parts are disjoint and their
 *   `UNION ALL` holds each customer once without a deduplicating temporary table.
 * - **One required tag**: the plain statement, whose semi-join already streams the tag's customers.
 * In every case, when the other terms read no customer column but those of COUNT_INDEX, the customers are looked up
 * in that covering index, whose pages stay in the buffer pool, instead of the table rows, which do not: for one tag
 * of 158,885 customers that halved the count (0.78 s → 0.36 s).
 */
function countShape(expr: AudienceExpr, ctx: AudienceCompileContext): { count: NonNullable<CompiledAudience['count']>; intersects: boolean } | undefined {
  if (ctx.engine !== 'mysql' || !ctx.tagIds) return undefined;
  const tagIds = ctx.tagIds;
  const items = expr.type === 'and' ? expr.items : [expr];
  const idsOf = (i: AudienceExpr): readonly string[] | undefined =>
    i.type === 'pred' && i.field === 'tag' && (tagIds.get(i.value)?.length ?? 0) > 0 ? tagIds.get(i.value) : undefined;
  const drivers = items.filter((i) => idsOf(i) !== undefined);
  const marks = (ids: readonly string[]) => ids.map(() => '?').join(', ');
  const params: unknown[] = [];
  let derived: string;
  let used: AudienceExpr[];
  if (drivers.length >= 2) {
    const [first, ...others] = drivers.map((d) => {
      const ids = idsOf(d)!;
      params.push(...ids);
      return marks(ids);
    });
    const also = others.map((m, k) => ` AND t0.customer_key IN (SELECT t${k + 1}.customer_key FROM customer_tags t${k + 1} WHERE t${k + 1}.tag_key IN (${m}))`);
    derived = `SELECT DISTINCT t0.customer_key AS id FROM customer_tags t0 WHERE t0.tag_key IN (${first})${also.join('')}`;
    used = drivers;
  } else {
    const union = drivers.length === 0 ? items.find((i) => isOrOfResolvedTags(i, tagIds)) : undefined;
    if (!union) {
      // One required tag, or tags only inside other shapes: the plain statement, on the covering index when it can be.
      if (!items.some((i) => i.type === 'pred' && (i.field === 'tag' || i.field === 'owner')) || !items.every(readsOnlyCovered)) return undefined;
      const where = compileWhere(expr, ctx);
      return { count: { from: `customers c FORCE INDEX FOR JOIN (${COUNT_INDEX})`, where: where.sql, params: where.params }, intersects: false };
    }
    const ids = [...new Set((union as { items: AudiencePredicate[] }).items.flatMap((t) => tagIds.get(t.value as string) ?? []))].sort();
    const parts = ids.map((id, k) => {
      params.push(id, ...ids.slice(0, k));
      const before = k === 0 ? '' : ` AND NOT EXISTS (SELECT 1 FROM customer_tags u WHERE u.tag_key IN (${marks(ids.slice(0, k))}) AND u.customer_key = t.customer_key)`;
      return `SELECT t.customer_key AS id FROM customer_tags t WHERE t.tag_key = ?${before} GROUP BY t.customer_key`;
    });
    derived = parts.join(' UNION ALL ');
    used = [union];
  }
  const rest = items.filter((i) => !used.includes(i));
  const where = compileWhere({ type: 'and', items: rest }, ctx);
  const hint = rest.every(readsOnlyCovered) ? ` FORCE INDEX FOR JOIN (${COUNT_INDEX})` : '';
  return {
    count: { from: `(${derived}) d STRAIGHT_JOIN customers c${hint} ON c.external_user_id = ${KEY_AS_ID}`, where: where.sql, params: [...params, ...where.params] },
    intersects: drivers.length >= 2,
  };
}

/** An `OR` of two or more tag ids and nothing else: `tag:A OR tag:B`, every value resolved to at least one live tag. */
function isOrOfResolvedTags(expr: AudienceExpr, tagIds: AudienceTagIds): boolean {
  if (expr.type !== 'or' || expr.items.length === 0) return false;
  if (!expr.items.every((i) => i.type === 'pred' && i.field === 'tag' && (tagIds.get(i.value)?.length ?? 0) > 0)) return false;
  return new Set(expr.items.flatMap((i) => tagIds.get((i as AudiencePredicate).value as string)!)).size >= 2;
}

/** Whether the compiled expression reads no column of `customers c` other than those of COUNT_INDEX. */
function readsOnlyCovered(expr: AudienceExpr): boolean {
  switch (expr.type) {
    case 'all':
      return true;
    case 'not':
      return readsOnlyCovered(expr.item);
    case 'and':
    case 'or':
      return expr.items.every(readsOnlyCovered);
    case 'pred':
      return ['id', 'tag', 'owner', 'orders', 'spent', 'activity', 'ticket', 'risk', 'group', 'ingroup'].includes(expr.field);
  }
}

function compile(expr: AudienceExpr, ctx: AudienceCompileContext, params: unknown[]): string {
  switch (expr.type) {
    case 'all':
      return '1=1';
    case 'not':
      return `NOT (${compile(expr.item, ctx, params)})`;
    case 'and':
      return expr.items.length === 0 ? '1=1' : `(${expr.items.map((i) => compile(i, ctx, params)).join(' AND ')})`;
    case 'or': {
      if (expr.items.length === 0) return '1=0';
      // `tag:X OR tag:Y` with resolved ids is one semi-join over both tags' links: an engine cannot drive a
      // statement from an OR of two semi-joins, and probing both for every customer is what timed out on MySQL.
      const tags = ctx.tagIds ? expr.items.filter((i) => i.type === 'pred' && i.field === 'tag' && ctx.tagIds!.has(i.value)) : [];
      if (tags.length < 2) return `(${expr.items.map((i) => compile(i, ctx, params)).join(' OR ')})`;
      const ids = [...new Set(tags.flatMap((t) => ctx.tagIds!.get((t as AudiencePredicate).value as string)!))].sort();
      const parts = [tagIdsIn(ids, params), ...expr.items.filter((i) => !tags.includes(i)).map((i) => compile(i, ctx, params))];
      return `(${parts.join(' OR ')})`;
    }
    case 'pred':
      return predicate(expr, ctx, params);
  }
}

/**
 * Exact, case- and trailing-space-sensitive equality like JavaScript's ===. MySQL's utf8mb4_unicode_ci folds
 * case and pads spaces, so both sides are compared as binary strings there; SQLite's `=` is already binary.
 */
function eq(ctx: AudienceCompileContext, column: string): string {
  return ctx.engine === 'mysql' ? `CAST(${column} AS BINARY) = CAST(? AS BINARY)` : `${column} = ?`;
}

/** Start of a local calendar day as epoch ms. */
function dayStart(date: string, tz: string): number {
  return zonedTimeToUtc(date, '00:00', tz).getTime();
}

const ADDED_AT = 'COALESCE(c.first_added_at, c.created_at)';

function predicate(p: AudiencePredicate, ctx: AudienceCompileContext, params: unknown[]): string {
  switch (p.field) {
    case 'id': {
      // The primary key: an index lookup per id. MySQL's `IN` uses the key with the collation (case-folding), then
      // the binary comparison keeps the matcher's exact equality.
      const ids = audienceIds(p.value);
      const marks = ids.map(() => '?').join(', ');
      params.push(...ids);
      if (ctx.engine !== 'mysql') return `c.external_user_id IN (${marks})`;
      params.push(...ids);
      return `(c.external_user_id IN (${marks}) AND CAST(c.external_user_id AS BINARY) IN (${ids.map(() => 'CAST(? AS BINARY)').join(', ')}))`;
    }
    case 'tag': {
      const ids = ctx.tagIds?.get(p.value);
      // The same semi-join over the tag's links, with the tags already resolved (same rule, audience.tags.ts).
      if (ids) return tagIdsIn(ids, params);
      // Match by name, or by "group/name" (either part may itself contain a slash). The value is compared once with
      // the joined "group/name" rather than split at every slash: splitting made the SQL and its parameters grow
      // with the square of the value's length (docs/security.md §Audience queries). Same semantics as the matcher's
      // `${tag.group}/${tag.name}` === value.
      params.push(p.value, p.value);
      const path = ctx.engine === 'mysql' ? "CONCAT(g.name, '/', t.name)" : "(g.name || '/' || t.name)";
      // A semi-join over the tag's links (any relation's link counts, as in the matcher's facts): the few matching
      // tags, then their customers through ix_customer_tags_tag_customer (tag_id, external_user_id).
      return `c.external_user_id IN (SELECT ct.external_user_id FROM customer_tags ct WHERE ct.tag_id IN (SELECT t.id FROM tags t LEFT JOIN tag_groups g ON g.id = t.group_id
        WHERE t.deleted_at IS NULL AND (${eq(ctx, 't.name')} OR (g.name IS NOT NULL AND ${eq(ctx, path)}))))`;
    }
    case 'owner':
      // MySQL: the collation's `=` first, which can use the index on userid, then the exact comparison.
      if (ctx.engine === 'mysql') params.push(p.value);
      params.push(p.value);
      return `c.external_user_id IN (SELECT fr.external_user_id FROM follow_relations fr WHERE ${ctx.engine === 'mysql' ? 'fr.userid = ? AND ' : ''}${eq(ctx, 'fr.userid')} AND fr.status = 'active')`;
    case 'group':
      // docs/groups.md §Audiences: the customer's open spell in the group, one range of uq_group_memberships_current
      // (chat_id, current_mark, member_id); on MySQL the collation's `=` first, for the index, then the exact comparison.
      if (ctx.engine === 'mysql') params.push(p.value);
      params.push(p.value);
      return `c.external_user_id IN (SELECT gm.member_id FROM group_memberships gm WHERE ${ctx.engine === 'mysql' ? 'gm.chat_id = ? AND ' : ''}${eq(ctx, 'gm.chat_id')} AND gm.current_mark = 1 AND gm.type = 2)`;
    case 'ingroup':
      // In any group (not dismissed) the member owns: ix_group_chats_owner (owner, dismissed_at), then each group's
      // open spells.
      if (ctx.engine === 'mysql') params.push(p.value);
      params.push(p.value);
      return `c.external_user_id IN (SELECT gm.member_id FROM group_chats gc JOIN group_memberships gm ON gm.chat_id = gc.chat_id AND gm.current_mark = 1 AND gm.type = 2
        WHERE ${ctx.engine === 'mysql' ? 'gc.owner = ? AND ' : ''}${eq(ctx, 'gc.owner')} AND gc.dismissed_at IS NULL)`;
    case 'stage':
    case 'rfm':
      params.push(p.value);
      return `(c.${p.field} IS NOT NULL AND ${eq(ctx, `c.${p.field}`)})`;
    case 'channel':
      params.push(p.value);
      return `EXISTS (SELECT 1 FROM channels ch WHERE ch.id = c.channel_id AND ${eq(ctx, 'ch.name')})`;
    case 'activity':
      params.push(p.value);
      return `(c.activity IS NOT NULL AND ${eq(ctx, 'c.activity')})`;
    case 'gender':
      if (p.value === 'unknown') return '(c.gender IS NULL OR c.gender NOT IN (1, 2))';
      params.push(p.value === 'male' ? 1 : 2);
      return '(c.gender IS NOT NULL AND c.gender = ?)';
    case 'added': {
      // addedAt is a local date; compare instants against local-midnight bounds instead of formatting dates in SQL.
      const next = dayStart(addDays(p.value, 1), ctx.timezone);
      const start = dayStart(p.value, ctx.timezone);
      return instantCompare(ADDED_AT, p.op, start, next, params);
    }
    case 'silent': {
      // days = today − localDate(last interaction, else added): days ≥ N ⇔ that date ≤ today − N.
      const n = Math.min(Math.max(p.value, -MAX_DAYS), MAX_DAYS);
      const pivot = addDays(ctx.today, -n);
      const since = `COALESCE(c.last_interaction_at, ${ADDED_AT})`;
      // "days op N" is "date op' pivot" with the order reversed.
      const flipped: Record<CompareOp, CompareOp> = { '>=': '<=', '<=': '>=', '>': '<', '<': '>' };
      return instantCompare(since, flipped[p.op], dayStart(pivot, ctx.timezone), dayStart(addDays(pivot, 1), ctx.timezone), params);
    }
    // The customer's order count and total as stored with the customer, recounted by every order writer
    // (docs/audiences.md §Order totals on the customer): a column comparison, so no statement reads orders, and 330
    // `spent>=1` terms cost 330 comparisons per candidate, not 330 aggregates (docs/security.md §Audience queries).
    case 'orders':
      params.push(p.value);
      return `(c.order_count ${p.op} ?)`;
    case 'spent':
      // Whole cents on both sides: exact, and equal to the matcher's yuan comparison for ≤ 2 decimals.
      params.push(Math.round(p.value * 100));
      return `(c.order_total_cents ${p.op} ?)`;
    case 'birthday':
      return birthday(p.value, ctx, params);
    case 'points': {
      // A customer without an account has 0 points (docs/loyalty.md §Audiences): when 0 satisfies the comparison, the
      // customers are those whose account does not fail it; otherwise those whose account passes it. Either way one
      // semi-join through ix_loyalty_accounts_balance.
      params.push(p.value);
      const zeroPasses = { '>=': 0 >= p.value, '>': 0 > p.value, '<=': 0 <= p.value, '<': 0 < p.value }[p.op];
      const negated: Record<CompareOp, CompareOp> = { '>=': '<', '>': '<=', '<=': '>', '<': '>=' };
      return zeroPasses
        ? `c.external_user_id NOT IN (SELECT la.external_user_id FROM loyalty_accounts la WHERE la.balance ${negated[p.op]} ?)`
        : `c.external_user_id IN (SELECT la.external_user_id FROM loyalty_accounts la WHERE la.balance ${p.op} ?)`;
    }
    case 'nps': {
      // The band of the latest NPS score (docs/surveys.md §Audiences): one semi-join through ix_survey_scores_nps.
      const [lo, hi] = { detractor: [0, 6], passive: [7, 8], promoter: [9, 10] }[p.value];
      params.push(lo, hi);
      return 'c.external_user_id IN (SELECT scs.external_user_id FROM survey_customer_scores scs WHERE scs.nps_score >= ? AND scs.nps_score <= ?)';
    }
    case 'csat':
      // A customer without a CSAT score has none to compare: never in, whatever the operator.
      params.push(p.value);
      return `c.external_user_id IN (SELECT scs.external_user_id FROM survey_customer_scores scs WHERE scs.csat_score ${p.op} ?)`;
    case 'answered':
      params.push(p.value);
      return 'c.external_user_id IN (SELECT sa.external_user_id FROM survey_answers sa WHERE sa.survey_id = ?)';
    case 'risk':
      // docs/churn.md §Audiences: the level at the last nightly score, one range of ix_churn_risk_level; the subquery
      // yields no NULL, so NOT stays exact (a customer never scored is in none of the levels).
      params.push(p.value);
      return 'c.external_user_id IN (SELECT cr.external_user_id FROM churn_risk cr WHERE cr.level = ?)';
    case 'ticket':
      // docs/feedback.md §Audiences. A ticket not yet resolved holds its customer in active_key (null once resolved):
      // one range of the unique index ux_feedback_tickets_active. An overdue one is open with its deadline passed: one
      // range of ix_feedback_tickets_status_due (status, due_at). Neither subquery yields a NULL, so NOT stays exact.
      if (p.value === 'open') return 'c.external_user_id IN (SELECT ft.active_key FROM feedback_tickets ft WHERE ft.active_key IS NOT NULL)';
      params.push(ctx.now ?? Date.now());
      return "c.external_user_id IN (SELECT ft.external_user_id FROM feedback_tickets ft WHERE ft.status = 'open' AND ft.due_at <= ?)";
    case 'due_in':
    case 'overdue': {
      // docs/repurchase.md §Audiences. Days until (or past) the predicted date become a range of dates, one range of
      // ix_repurchase_due (due_on, external_user_id); dates as 'YYYY-MM-DD' order as strings on both engines.
      const n = Math.min(Math.max(p.value, 0), MAX_DAYS);
      const conds: string[] = [];
      if (p.field === 'due_in') {
        // due_in = due − today, only from today on: due_in op N ⇔ due op today + N.
        conds.push('rp.due_on >= ?', `rp.due_on ${p.op} ?`);
        params.push(ctx.today, addDays(ctx.today, n));
      } else {
        // overdue = today − due, only once past: overdue op N ⇔ due op' today − N, the order reversed.
        const flipped: Record<CompareOp, CompareOp> = { '>=': '<=', '<=': '>=', '>': '<', '<': '>' };
        conds.push('rp.due_on < ?', `rp.due_on ${flipped[p.op]} ?`);
        params.push(ctx.today, addDays(ctx.today, -n));
      }
      return `c.external_user_id IN (SELECT rp.external_user_id FROM repurchase_predictions rp WHERE ${conds.join(' AND ')})`;
    }
    case 'tier':
      // By the name in loyalty_tiers (the configured tiers, stored at start); a customer without an account is in the
      // lowest tier (rank 0).
      params.push(p.value, p.value);
      return `(c.external_user_id IN (SELECT la.external_user_id FROM loyalty_accounts la JOIN loyalty_tiers lt ON lt.tier_rank = la.tier_rank WHERE ${eq(ctx, 'lt.name')})
        OR (EXISTS (SELECT 1 FROM loyalty_tiers lt0 WHERE lt0.tier_rank = 0 AND ${eq(ctx, 'lt0.name')})
          AND c.external_user_id NOT IN (SELECT la0.external_user_id FROM loyalty_accounts la0 WHERE la0.tier_rank <> 0)))`;
  }
}

/** Customers with a link to any of the tags `ids` (none: no one). */
function tagIdsIn(ids: readonly string[], params: unknown[]): string {
  if (ids.length === 0) return '1=0';
  params.push(...ids);
  return `c.external_user_id IN (SELECT ct.external_user_id FROM customer_tags ct WHERE ct.tag_id IN (${ids.map(() => '?').join(', ')}))`;
}

/** `localDate(col) op D`, given D's local-midnight `start` and the next day's `next`. */
function instantCompare(col: string, op: CompareOp, start: number, next: number, params: unknown[]): string {
  switch (op) {
    case '>=':
      params.push(start);
      return `(${col} >= ?)`;
    case '>':
      params.push(next);
      return `(${col} >= ?)`;
    case '<=':
      params.push(next);
      return `(${col} < ?)`;
    case '<':
      params.push(start);
      return `(${col} < ?)`;
  }
}

// A birthday as one integer: lunar ×100000, leap month ×10000, month ×100, day.
const BIRTHDAY_KEY =
  "(CASE WHEN c.birthday_calendar = 'lunar' THEN 100000 + (CASE WHEN c.birthday_leap = 1 THEN 10000 ELSE 0 END) ELSE 0 END + c.birthday_month * 100 + c.birthday_day)";
const HAS_BIRTHDAY = 'c.birthday_calendar IS NOT NULL AND c.birthday_month IS NOT NULL AND c.birthday_day IS NOT NULL';

const keyCache = new Map<number, Map<number, string | null>>();

/**
 * This year's date of every possible birthday, keyed like BIRTHDAY_KEY. Lunar dates cannot be computed in SQL, so
 * the window is turned into the finite set of (calendar, month, day, leap) keys whose occurrence falls in it — the
 * same birthdayDateInYear the matcher's facts use.
 */
function birthdayDates(year: number): Map<number, string | null> {
  const cached = keyCache.get(year);
  if (cached) return cached;
  const out = new Map<number, string | null>();
  for (const calendar of ['solar', 'lunar'] as const) {
    for (const leapMonth of calendar === 'lunar' ? [false, true] : [false]) {
      for (let month = 1; month <= 12; month++) {
        for (let day = 1; day <= 31; day++) {
          const b: Birthday = { calendar, month, day, leapMonth };
          if (!isValidBirthday(b)) continue;
          out.set(birthdayKey(b), birthdayDateInYear(b, year));
        }
      }
    }
  }
  if (keyCache.size > 8) keyCache.clear();
  keyCache.set(year, out);
  return out;
}

/** The BIRTHDAY_KEY of a birthday, computed in JS. */
export function birthdayKey(b: Birthday): number {
  return (b.calendar === 'lunar' ? 100000 + (b.leapMonth ? 10000 : 0) : 0) + b.month * 100 + b.day;
}

function birthday(window: string, ctx: AudienceCompileContext, params: unknown[]): string {
  const dates = birthdayDates(Number(ctx.today.slice(0, 4)));
  const today = toDayNumber(ctx.today);
  const monday = today - ((((today + 3) % 7) + 7) % 7);
  const inWindow = (d: string): boolean => {
    switch (window) {
      case 'today':
        return d === ctx.today;
      case 'this-month':
        return d.slice(0, 7) === ctx.today.slice(0, 7);
      default: {
        const n = toDayNumber(d);
        return n >= monday && n <= monday + 6;
      }
    }
  };
  const keys: number[] = [];
  for (const [key, date] of dates) if (window === 'none' ? date === null : date !== null && inWindow(date)) keys.push(key);
  const inKeys = keys.length > 0 ? `${BIRTHDAY_KEY} IN (${keys.map(() => '?').join(', ')})` : '1=0';
  params.push(...keys);
  if (window === 'none') return `(NOT (${HAS_BIRTHDAY}) OR (${HAS_BIRTHDAY} AND ${inKeys}))`;
  return `(${HAS_BIRTHDAY} AND ${inKeys})`;
}
