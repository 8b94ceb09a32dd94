/**
 * Fields compared for equality with a free-text value: `tag:VIP`, `owner:zhangsan`, `group:<chat id>` (in that customer
 * group now), `ingroup:<userid>` (in any group that member owns; docs/groups.md §Audiences).
 */
export const TEXT_FIELDS = ['tag', 'owner', 'stage', 'rfm', 'channel', 'tier', 'group', 'ingroup'] as const;
/** A field whose value is any non-empty text. */
export type TextField = (typeof TEXT_FIELDS)[number];

/** Customer activity levels (`activity:churned`). */
export const ACTIVITIES = ['active', 'dormant', 'churned'] as const;
/** How recently a customer interacted; computed elsewhere and stored on the customer. */
export type Activity = (typeof ACTIVITIES)[number];

/** Birthday windows (`birthday:this-month`); `none` means no birthday is known. */
export const BIRTHDAY_WINDOWS = ['today', 'this-week', 'this-month', 'none'] as const;
/** A window relative to "today" in which the customer's birthday falls. */
export type BirthdayWindow = (typeof BIRTHDAY_WINDOWS)[number];

/** NPS bands (`nps:detractor`): the customer's latest NPS score 0–6, 7–8 or 9–10 (docs/surveys.md §Audiences). */
export const NPS_BANDS = ['detractor', 'passive', 'promoter'] as const;
/** An NPS band. */
export type NpsBand = (typeof NPS_BANDS)[number];

/**
 * Feedback ticket states (`ticket:open`): the customer has a ticket not yet resolved (open or contacted), or one still
 * open past its first-contact deadline (docs/feedback.md §Audiences).
 */
export const TICKET_STATES = ['open', 'overdue'] as const;
/** A feedback ticket state an audience asks for. */
export type TicketState = (typeof TICKET_STATES)[number];

/** Churn-risk levels (`risk:high`): the customer's level at the last nightly score (docs/churn.md §Levels). */
export const RISK_LEVELS = ['high', 'medium', 'low'] as const;
/** A churn-risk level an audience asks for. */
export type RiskLevelValue = (typeof RISK_LEVELS)[number];

/** Genders as WeCom reports them (0 unknown, 1 male, 2 female). */
export const GENDERS = ['male', 'female', 'unknown'] as const;
/** A customer's gender. */
export type Gender = (typeof GENDERS)[number];

/** Ordering comparisons used by `added`, `silent`, `orders`, `spent`, `points`, `csat`, `due_in` and `overdue`. */
export const COMPARE_OPS = ['>=', '<=', '>', '<'] as const;
/** An ordering comparison. */
export type CompareOp = (typeof COMPARE_OPS)[number];

/** Fields compared with an ordering operator. */
export const COMPARE_FIELDS = ['added', 'silent', 'orders', 'spent', 'points', 'csat', 'due_in', 'overdue'] as const;
/** A field compared with an ordering operator. */
export type CompareField = (typeof COMPARE_FIELDS)[number];

/** Every field the language knows, in the order error messages list them. */
export const AUDIENCE_FIELDS = [
  'tag',
  'owner',
  'activity',
  'stage',
  'rfm',
  'channel',
  'birthday',
  'gender',
  'added',
  'silent',
  'orders',
  'spent',
  'points',
  'tier',
  'nps',
  'csat',
  'answered',
  'ticket',
  'risk',
  'due_in',
  'overdue',
  'group',
  'ingroup',
  'id',
] as const;
/** Any field of a predicate. */
export type AudienceField = (typeof AUDIENCE_FIELDS)[number];

/**
 * `tag:NAME` matches a tag by name, or by `group/name` when the value has a slash.
 * The other text fields match their value exactly.
 */
export interface TextPredicate {
  type: 'pred';
  field: TextField;
  op: ':';
  value: string;
}

/** `activity:active|dormant|churned`. */
export interface ActivityPredicate {
  type: 'pred';
  field: 'activity';
  op: ':';
  value: Activity;
}

/** `birthday:today|this-week|this-month|none`. */
export interface BirthdayPredicate {
  type: 'pred';
  field: 'birthday';
  op: ':';
  value: BirthdayWindow;
}

/** `gender:male|female|unknown`. */
export interface GenderPredicate {
  type: 'pred';
  field: 'gender';
  op: ':';
  value: Gender;
}

/** `nps:detractor|passive|promoter`: the band of the customer's latest NPS score (none without one). */
export interface NpsPredicate {
  type: 'pred';
  field: 'nps';
  op: ':';
  value: NpsBand;
}

/** `answered:12`: the customer answered survey 12 (any period). */
export interface AnsweredPredicate {
  type: 'pred';
  field: 'answered';
  op: ':';
  value: number;
}

/** `ticket:open|overdue`: the customer has a feedback ticket not yet resolved, or one past its first-contact deadline. */
export interface TicketPredicate {
  type: 'pred';
  field: 'ticket';
  op: ':';
  value: TicketState;
}

/** `risk:high|medium|low`: the customer's churn-risk level at the last nightly score (docs/churn.md §Audiences). */
export interface RiskPredicate {
  type: 'pred';
  field: 'risk';
  op: ':';
  value: RiskLevelValue;
}

/** `added>=2026-01-01`: the date the customer was first added, value `YYYY-MM-DD`. */
export interface AddedPredicate {
  type: 'pred';
  field: 'added';
  op: CompareOp;
  value: string;
}

/** `silent>=30d`: whole days since the last interaction; the value is the number of days. */
export interface SilentPredicate {
  type: 'pred';
  field: 'silent';
  op: CompareOp;
  value: number;
}

/**
 * `due_in<=7d`: whole days until the predicted next order, for customers not yet past it (0 on the day);
 * `overdue>=14d`: whole days past it (1 the day after). A customer without a prediction matches neither
 * (docs/repurchase.md §Audiences).
 */
export interface RepurchasePredicate {
  type: 'pred';
  field: 'due_in' | 'overdue';
  op: CompareOp;
  value: number;
}

/**
 * `orders>=3` (a non-negative integer), `spent>=500` (an amount, up to two decimals) and `points>=1000` (the points
 * balance, a non-negative integer; docs/loyalty.md §Audiences) and `csat<=2` (the customer's latest CSAT score 1–5; none
 * without one, docs/surveys.md §Audiences).
 */
export interface NumberPredicate {
  type: 'pred';
  field: 'orders' | 'spent' | 'points' | 'csat';
  op: CompareOp;
  value: number;
}

/**
 * `id:wmA,wmB`: customers named by their external_userid, one or a comma-separated list (a hand-picked selection,
 * e.g. the customer list's checked rows sent to a broadcast). The value is the list as written; `audienceIds` splits it.
 */
export interface IdPredicate {
  type: 'pred';
  field: 'id';
  op: ':';
  value: string;
}

/** One condition on one field. Narrow on `field` to get the value's type. */
export type AudiencePredicate =
  | IdPredicate
  | TextPredicate
  | ActivityPredicate
  | BirthdayPredicate
  | GenderPredicate
  | NpsPredicate
  | AnsweredPredicate
  | TicketPredicate
  | RiskPredicate
  | AddedPredicate
  | SilentPredicate
  | RepurchasePredicate
  | NumberPredicate;

/** Every customer (`all` or an empty expression). */
export interface AudienceAll {
  type: 'all';
}

/** Negation: `NOT x`. */
export interface AudienceNot {
  type: 'not';
  item: AudienceExpr;
}

/**
 * Conjunction or disjunction. The parser yields at least two items and never nests
 * an `and` directly in an `and` (nor `or` in `or`); an empty `and` means everyone
 * and an empty `or` no one.
 */
export interface AudienceJunction {
  type: 'and' | 'or';
  items: AudienceExpr[];
}

/** A parsed audience expression: plain data, safe to serialise and to compile. */
export type AudienceExpr = AudienceAll | AudienceNot | AudienceJunction | AudiencePredicate;

/** A compiled audience (compileAudience): a parameterized SQL condition over `customers c`; `sql` holds only `?` placeholders for user values. */
export interface AudienceCondition {
  sql: string;
  params: unknown[];
  /**
   * MySQL, for a count only: the same customers as `FROM ${from} WHERE ${where}`, with `params` in that order. The
   * tags the expression requires are intersected from their links first and only their customers are looked up
   * (docs/audiences.md §Counting from the tags first). Absent when the plain condition is the better statement.
   */
  count?: { from: string; where: string; params: unknown[] };
  /**
   * MySQL, when the top-level AND requires two or more tags: the same customers as `FROM ${from} WHERE ${where}`, for
   * any statement over `c` (a page of rows, a join with the relations), the tags intersected first as in `count`.
   */
  narrowed?: { from: string; where: string; params: unknown[] };
}
