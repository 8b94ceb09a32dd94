// Retention cohorts (留存) and churn analysis (流失分析): what they store and answer
// (docs/analytics.md §Retention cohorts, §Churn analysis).
import type { Frame } from './analytics.types.js';

/** Weeks after the add a cohort is followed for. */
export const COHORT_WEEKS = 12;

/** A row of `analytics_cohort_days`: an add day's adds (of one member and channel, or a summary) and how many stayed. */
export interface CohortDayRow {
  day: string;
  /** '' for all members (summary). */
  userid: string;
  /** '' for no channel, '*' for all channels (summary). */
  channelId: string;
  adds: number;
  /** retained[k-1]: of the adds, relations active at the end of day + 7k; 0 for weeks not known yet. */
  retained: number[];
  /** Week k is known when day + 7k <= marksThrough. */
  marksThrough: string;
}

/** What the bot knows of a customer at one instant (a loss, or the nightly base snapshot). */
export interface LossFacts {
  lastInteractionAt: number | null;
  firstAddedAt: number | null;
  lastOrderAt: number | null;
  /** Delivery-ledger messages with status sent in the 30 days before: all kinds, and broadcasts alone. */
  botMessages: number;
  broadcasts: number;
  /** Messages the customer wrote through WeChat customer service in the 30 days before. */
  kfMessages: number;
}

/** One loss as recorded when it happened (a row of `analytics_loss_profiles`). */
export interface LossProfile {
  at: number;
  day: string;
  kind: 'lost_by_customer' | 'lost_by_staff';
  userid: string;
  /** '' for no channel. */
  channelId: string;
  /** Whole days since the last interaction (or, without one, the first add); null when neither is known. */
  sinceInteractionDays: number | null;
  /** Whole days since the last order; null without one. */
  sinceOrderDays: number | null;
  botMessages: number;
  broadcasts: number;
  kfMessages: number;
}

/** A row of `analytics_daily_churn` (losses) or `analytics_daily_churn_base` (relations at the night's snapshot). */
export interface ChurnBucketRow {
  dimension: string;
  bucket: string;
  userid: string;
  channelId: string;
  lostByCustomer: number;
  lostByStaff: number;
  relations: number;
}

/** The dimensions a loss and an active relation are bucketed by; `all` has one bucket, `all`, for the totals. */
export type ChurnDimension = 'all' | 'botMessages' | 'broadcasts' | 'kfMessages' | 'sinceOrder' | 'sinceInteraction';
export const BUCKETED_DIMENSIONS: readonly Exclude<ChurnDimension, 'all'>[] = ['botMessages', 'broadcasts', 'kfMessages', 'sinceOrder', 'sinceInteraction'];

/** Buckets of each dimension, in display order. */
export const CHURN_BUCKETS: Record<ChurnDimension, readonly string[]> = {
  all: ['all'],
  botMessages: ['0', '1', '2', '3+'],
  broadcasts: ['0', '1', '2', '3+'],
  kfMessages: ['0', '1', '2', '3+'],
  sinceOrder: ['none', '0-30', '31-90', '91-180', '181+'],
  sinceInteraction: ['0-7', '8-30', '31-90', '91+', 'none'],
};

/** zh-CN names of the dimensions and buckets, for the API's labels and the CSV. */
export const CHURN_DIMENSION_LABELS: Record<ChurnDimension | 'owner' | 'channel', string> = {
  all: '全部',
  botMessages: '流失前30天机器人消息数',
  broadcasts: '流失前30天群发消息数',
  kfMessages: '流失前30天客户的微信客服消息数',
  sinceOrder: '距上次下单天数',
  sinceInteraction: '距上次互动天数',
  owner: '所属员工',
  channel: '渠道',
};

export function churnBucketLabel(dimension: ChurnDimension, bucket: string): string {
  if (dimension === 'all') return '全部';
  if (dimension === 'sinceOrder' && bucket === 'none') return '从未下单';
  if (dimension === 'sinceInteraction' && bucket === 'none') return '未知';
  if (bucket.endsWith('+')) return dimension.startsWith('since') ? `${bucket.slice(0, -1)}天及以上` : `${bucket.slice(0, -1)}条及以上`;
  if (bucket.includes('-')) return `${bucket.replace('-', '–')}天`;
  return `${bucket}条`;
}

const DAY_MS = 86_400_000;
/** The window before a loss (or the snapshot) in which messages are counted. */
export const CHURN_WINDOW_DAYS = 30;

const countBucket = (v: number): string => (v >= 3 ? '3+' : String(v));

/** Whole days from `then` to `at` (0 when `then` is later: a message handled before a late loss's own time). */
const daysSince = (then: number | null, at: number): number | null => (then === null ? null : Math.max(0, Math.floor((at - then) / DAY_MS)));

/** The profile of a loss, or of an active relation at the snapshot, from what the bot knew at `at`. */
export function profileOf(f: LossFacts, at: number): Pick<LossProfile, 'sinceInteractionDays' | 'sinceOrderDays' | 'botMessages' | 'broadcasts' | 'kfMessages'> {
  return {
    // Activity counts silence from the last interaction, or from the first add without one (docs/analytics.md §Churn analysis).
    sinceInteractionDays: daysSince(f.lastInteractionAt ?? f.firstAddedAt, at),
    sinceOrderDays: daysSince(f.lastOrderAt, at),
    botMessages: f.botMessages,
    broadcasts: f.broadcasts,
    kfMessages: f.kfMessages,
  };
}

/**
 * The day buckets: [most days, bucket] in order, then the bucket past the last. One table for bucketsOf and for the
 * statement that buckets the nightly base on MySQL (AnalyticsRetentionRepository.churnBaseSlice).
 */
export const DAY_BUCKETS: Record<'sinceOrder' | 'sinceInteraction', { upTo: readonly [number, string][]; over: string }> = {
  sinceOrder: { upTo: [[30, '0-30'], [90, '31-90'], [180, '91-180']], over: '181+' },
  sinceInteraction: { upTo: [[7, '0-7'], [30, '8-30'], [90, '31-90']], over: '91+' },
};

/**
 * What the nightly base is bucketed by when a statement does it (MySQL, AnalyticsRetentionRepository.churnBaseSlice):
 * the instant, the start of the message window, each day dimension's buckets as "counted from later than this instant"
 * in order (at most N whole days is later than at − (N + 1) days; an instant after `at` is 0 days, as daysSince has it),
 * and the buckets of the other dimensions.
 */
export interface ChurnBaseSpec {
  at: number;
  since: number;
  days: Record<'sinceOrder' | 'sinceInteraction', { laterThan: [number, string][]; over: string }>;
  buckets: Record<Exclude<ChurnDimension, 'all'>, readonly string[]>;
}

/** The ChurnBaseSpec of an instant, from the same tables bucketsOf uses. */
export function churnBaseSpec(at: number): ChurnBaseSpec {
  const days = (dim: 'sinceOrder' | 'sinceInteraction') => ({ laterThan: DAY_BUCKETS[dim].upTo.map(([max, b]): [number, string] => [at - (max + 1) * DAY_MS, b]), over: DAY_BUCKETS[dim].over });
  const { all: _all, ...buckets } = CHURN_BUCKETS;
  return { at, since: at - CHURN_WINDOW_DAYS * DAY_MS, days: { sinceOrder: days('sinceOrder'), sinceInteraction: days('sinceInteraction') }, buckets };
}

const dayBucket = (dim: 'sinceOrder' | 'sinceInteraction', days: number | null): string => (days === null ? 'none' : (DAY_BUCKETS[dim].upTo.find(([max]) => days <= max)?.[1] ?? DAY_BUCKETS[dim].over));

/** The bucket of each dimension a profile falls in, `all` first. */
export function bucketsOf(p: Pick<LossProfile, 'sinceInteractionDays' | 'sinceOrderDays' | 'botMessages' | 'broadcasts' | 'kfMessages'>): [ChurnDimension, string][] {
  return [
    ['all', 'all'],
    ['botMessages', countBucket(p.botMessages)],
    ['broadcasts', countBucket(p.broadcasts)],
    ['kfMessages', countBucket(p.kfMessages)],
    ['sinceOrder', dayBucket('sinceOrder', p.sinceOrderDays)],
    ['sinceInteraction', dayBucket('sinceInteraction', p.sinceInteractionDays)],
  ];
}

// What the API answers for 留存 and 流失分析.

/** One weekly mark of a cohort: null while any add day of the cohort has not reached it. */
export interface CohortCell {
  week: number;
  retained: number | null;
  share: number | null;
}

export interface CohortLine {
  /** The cohort: the add days of one period (a week by default), clipped to the range. */
  cohort: string;
  periodStart: string;
  periodEnd: string;
  adds: number;
  /** False while a day of the cohort has not been rolled yet (today): its adds are not all counted. */
  complete: boolean;
  cells: CohortCell[];
}

export interface CohortsAnswer extends Frame {
  kind: 'event';
  channel: string | null;
  weeks: number;
  cohorts: CohortLine[];
  /** Per week, over the cohorts that have reached it: their retained relations over their adds. */
  average: CohortCell[];
}

/** One bucket of a churn dimension over the range. */
export interface ChurnBucket {
  bucket: string;
  label: string;
  losses: number;
  lostByCustomer: number;
  lostByStaff: number;
  /** Active relations in this bucket at the base snapshot (`baseAsOf`). */
  relations: number;
  /** losses / relations; null without relations. */
  rate: number | null;
  /** rate / the whole's rate: 2.1 reads "left at 2.1× the rate". */
  ratio: number | null;
}

export interface ChurnDimensionAnswer {
  dimension: ChurnDimension | 'owner' | 'channel';
  label: string;
  buckets: ChurnBucket[];
}

export interface ChurnLine {
  period: string;
  periodStart: string;
  periodEnd: string;
  losses: number;
  lostByCustomer: number;
  lostByStaff: number;
}

export interface ChurnAnswer extends Frame {
  /** Rates divide losses (events, recorded at each loss) by a nightly base (a snapshot): the answer is a snapshot's. */
  kind: 'snapshot';
  kinds: { losses: 'event'; relations: 'snapshot' };
  channel: string | null;
  /** The night whose snapshot of active relations is the base: the night before `from`, else the first in the range. */
  baseAsOf: string | null;
  total: Omit<ChurnBucket, 'bucket' | 'label' | 'ratio'>;
  dimensions: ChurnDimensionAnswer[];
  lines: ChurnLine[];
}
