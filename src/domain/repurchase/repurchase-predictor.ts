/**
 * Repurchase prediction (需求预测): when a customer is likely to order next, from the intervals between their own
 * orders, shrunk toward their segment's typical interval while they have few (docs/repurchase.md §The rule).
 *
 * Pure functions on local calendar dates ('YYYY-MM-DD'): callers turn order instants into local dates first.
 */
import { addDays, daysBetween } from '../../shared/dates.js';

/**
 * How strongly the segment's typical interval pulls: it counts as this many of the customer's own intervals. Chosen on
 * the backtest's development seed, never the held-out one (docs/repurchase.md §Choosing the weight).
 */
export const PRIOR_WEIGHT = 0.5;
/** A segment needs at least this many customers with an interval before its own typical interval is used. */
export const MIN_SEGMENT_CUSTOMERS = 5;
/** The segment key of customers without a segment, and of the corp-wide typical interval. */
export const GLOBAL_SEGMENT = '';

/** One customer's prediction. */
export interface RepurchasePrediction {
  /** The latest order's local date: the predicted cycle is the one that order started. */
  lastOrderOn: string;
  /** Distinct order days (at least 2). */
  orderDays: number;
  /** The median of the customer's own intervals, in days. */
  ownDays: number;
  /** The segment's typical interval it was shrunk toward, in days; null when none was known (own intervals only). */
  typicalDays: number | null;
  /** The predicted interval in days (whole days, at least 1). */
  intervalDays: number;
  /** lastOrderOn + intervalDays. */
  dueOn: string;
}

/** The median of a non-empty list (the mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of nothing');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * The whole days between consecutive distinct order days, oldest first. Several orders on one day are one purchase
 * (a basket split in two, a correction): counting them would put a zero-day interval into the median.
 */
export function orderIntervals(orderDates: readonly string[]): number[] {
  const days = [...new Set(orderDates)].sort();
  const out: number[] = [];
  for (let i = 1; i < days.length; i++) out.push(daysBetween(days[i - 1], days[i]));
  return out;
}

/**
 * The predicted interval: the median of the customer's n own intervals and the segment's typical interval, weighted
 * n to `priorWeight` — (n·own + w·typical) / (n + w). With the weight 0.5, one interval counts two parts to the
 * segment's one; four intervals eight parts to one. Without a typical interval, the customer's own median.
 */
export function shrunkInterval(intervals: readonly number[], typicalDays: number | null, priorWeight = PRIOR_WEIGHT): number {
  if (intervals.length === 0) throw new RangeError('no interval to predict from');
  const own = median(intervals);
  if (typicalDays === null || !(typicalDays > 0)) return own;
  const n = intervals.length;
  return (n * own + priorWeight * typicalDays) / (n + priorWeight);
}

/** The prediction for a customer's order dates, or null with fewer than two distinct order days. */
export function predictRepurchase(orderDates: readonly string[], typicalDays: number | null, priorWeight = PRIOR_WEIGHT): RepurchasePrediction | null {
  const intervals = orderIntervals(orderDates);
  if (intervals.length === 0) return null;
  const lastOrderOn = [...orderDates].sort()[orderDates.length - 1];
  const intervalDays = Math.max(1, Math.round(shrunkInterval(intervals, typicalDays, priorWeight)));
  return { lastOrderOn, orderDays: intervals.length + 1, ownDays: median(intervals), typicalDays, intervalDays, dueOn: addDays(lastOrderOn, intervalDays) };
}

/**
 * Typical intervals per segment from each customer's own median interval (one vote per customer, so a frequent buyer
 * does not outweigh the others): the median of a segment's votes when it has at least `minCustomers`, and under
 * GLOBAL_SEGMENT the median of all votes. A segment with fewer votes is absent and its customers use the global one.
 */
export function typicalIntervals(votes: ReadonlyMap<string, readonly number[]>, minCustomers = MIN_SEGMENT_CUSTOMERS): Map<string, number> {
  const out = new Map<string, number>();
  const all: number[] = [];
  for (const [segment, v] of votes) {
    all.push(...v);
    if (segment !== GLOBAL_SEGMENT && v.length >= minCustomers) out.set(segment, median(v));
  }
  if (all.length > 0) out.set(GLOBAL_SEGMENT, median(all));
  return out;
}

/** The typical interval for a customer of `segment` (null or unknown: the global one; none at all: null). */
export function typicalFor(typicals: ReadonlyMap<string, number>, segment: string | null): number | null {
  return (segment !== null ? typicals.get(segment) : undefined) ?? typicals.get(GLOBAL_SEGMENT) ?? null;
}

/** Days from `today` to the due date: positive ahead, 0 on the day, negative once overdue. */
export function daysUntilDue(dueOn: string, today: string): number {
  return daysBetween(today, dueOn);
}
