/**
 * `npm run bench -- repurchase-backtest`: the repurchase predictor against the naive baseline on generated order
 * histories (docs/repurchase.md §Backtest). The histories come from repurchase-generator.ts, whose parameters were fixed
 * before the predictor ran on them; the figures are those of the held-out seed, never used while writing the predictor.
 *
 * The predictor runs as in production: each customer's RFM segment from their orders in the scoring window before the
 * cutoff (rfm.ts, the corp's own baseline), the segments' typical intervals from every customer with two order days,
 * then each customer's shrunk interval. The baseline predicts every customer's next order the corp-wide median of all
 * intervals after their last order. Both are scored on the customers with at least two order days before the cutoff
 * and an order after it: the mean absolute error in days between the predicted date and that order.
 */
import { addDays, daysBetween } from '../../src/shared/dates.js';
import { GLOBAL_SEGMENT, median, orderIntervals, predictRepurchase, typicalFor, typicalIntervals } from '../../src/domain/repurchase/repurchase-predictor.js';
import { rfmSegment, type RfmBaseline } from '../../src/domain/scoring/rfm.js';
import { GENERATOR, generateHistories, type GeneratedCustomer } from './repurchase-generator.js';

/** The seed the figures are reported on; no run on it informed the predictor. */
export const HELD_OUT_SEED = 20261206;
/** The seed looked at while writing the predictor. */
export const DEVELOPMENT_SEED = 1;
// The scoring window (config/care-rules.json settings.scoring.windowDays).
const WINDOW_DAYS = 365;

/** The figures of one seed. */
export interface BacktestFigures {
  seed: number;
  role: 'held-out' | 'development';
  customers: number;
  /** Customers scored: two order days before the cutoff and an order after it. */
  scored: number;
  predictorMaeDays: number;
  baselineMaeDays: number;
  /** The baseline's interval: the median of every interval before the cutoff. */
  baselineIntervalDays: number;
  predictorMedianAbsDays: number;
  baselineMedianAbsDays: number;
  /** The predictor's MAE by the number of order days known (2, 3–5, 6+). */
  predictorMaeByHistory: Record<string, number>;
  baselineMaeByHistory: Record<string, number>;
  /** For comparison, not used to choose anything: the customer's own median interval unshrunk, and shrunk toward the global typical interval instead of the segment's. */
  ownOnlyMaeDays: number;
  globalPriorMaeDays: number;
}

/** The backtest on one seed. */
export function backtest(seed: number, role: BacktestFigures['role'], customers: readonly GeneratedCustomer[] = generateHistories(seed)): BacktestFigures {
  const cutoff = GENERATOR.cutoff;
  const windowFrom = addDays(cutoff, -WINDOW_DAYS);
  const at = (d: string) => Date.parse(`${d}T12:00:00Z`);
  // RFM over the window, as the scoring job would compute it the night before the cutoff.
  const inWindow = customers.map((c) => c.history.filter((o) => o.on >= windowFrom));
  const active = inWindow.filter((h) => h.length > 0);
  const baseline: RfmBaseline = {
    customers: active.length,
    orders: active.reduce((n, h) => n + h.length, 0),
    spentCents: active.reduce((n, h) => n + h.reduce((s, o) => s + o.cents, 0), 0),
    meanLastOrderAt: active.reduce((n, h) => n + at(h[h.length - 1].on), 0) / Math.max(1, active.length),
  };
  const segments = inWindow.map((h) =>
    h.length > 0 ? rfmSegment({ orders: h.length, spentCents: h.reduce((s, o) => s + o.cents, 0), lastOrderAt: at(h[h.length - 1].on) }, baseline) : null,
  );
  const votes = new Map<string, number[]>();
  const pooled: number[] = [];
  customers.forEach((c, i) => {
    const intervals = orderIntervals(c.history.map((o) => o.on));
    if (intervals.length === 0) return;
    pooled.push(...intervals);
    const key = segments[i] ?? GLOBAL_SEGMENT;
    votes.set(key, [...(votes.get(key) ?? []), median(intervals)]);
  });
  const typicals = typicalIntervals(votes);
  const baselineInterval = Math.round(median(pooled));
  const errs: { p: number; b: number; own: number; global: number; days: number }[] = [];
  customers.forEach((c, i) => {
    if (c.next === null) return;
    const p = predictRepurchase(
      c.history.map((o) => o.on),
      typicalFor(typicals, segments[i]),
    );
    if (!p) return;
    const dates = c.history.map((o) => o.on);
    const own = predictRepurchase(dates, null)!;
    const global = predictRepurchase(dates, typicalFor(typicals, null))!;
    errs.push({
      p: Math.abs(daysBetween(p.dueOn, c.next)),
      b: Math.abs(daysBetween(addDays(p.lastOrderOn, baselineInterval), c.next)),
      own: Math.abs(daysBetween(own.dueOn, c.next)),
      global: Math.abs(daysBetween(global.dueOn, c.next)),
      days: p.orderDays,
    });
  });
  const mae = (xs: number[]) => Math.round((xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)) * 10) / 10;
  const band = (d: number) => (d <= 2 ? '2' : d <= 5 ? '3-5' : '6+');
  const by = (pick: (e: { p: number; b: number }) => number) =>
    Object.fromEntries(['2', '3-5', '6+'].map((k) => [k, mae(errs.filter((e) => band(e.days) === k).map(pick))]));
  return {
    seed,
    role,
    customers: customers.length,
    scored: errs.length,
    predictorMaeDays: mae(errs.map((e) => e.p)),
    baselineMaeDays: mae(errs.map((e) => e.b)),
    baselineIntervalDays: baselineInterval,
    predictorMedianAbsDays: median(errs.map((e) => e.p)),
    baselineMedianAbsDays: median(errs.map((e) => e.b)),
    predictorMaeByHistory: by((e) => e.p),
    baselineMaeByHistory: by((e) => e.b),
    ownOnlyMaeDays: mae(errs.map((e) => e.own)),
    globalPriorMaeDays: mae(errs.map((e) => e.global)),
  };
}

/** Both seeds, the held-out one first (the figure that counts). */
export function runRepurchaseBacktest(): Promise<BacktestFigures[]> {
  return Promise.resolve([backtest(HELD_OUT_SEED, 'held-out'), backtest(DEVELOPMENT_SEED, 'development')]);
}
