import { describe, expect, it } from 'vitest';
import {
  daysUntilDue,
  GLOBAL_SEGMENT,
  median,
  orderIntervals,
  predictRepurchase,
  PRIOR_WEIGHT,
  shrunkInterval,
  typicalFor,
  typicalIntervals,
} from '../../../../src/domain/repurchase/repurchase-predictor.js';

describe('repurchase predictor', () => {
  it('takes the intervals between distinct order days, oldest first, whatever the input order', () => {
    expect(orderIntervals(['2026-03-01', '2026-01-01', '2026-01-31'])).toEqual([30, 29]);
    // Two orders on one day are one purchase: no zero-day interval.
    expect(orderIntervals(['2026-01-01', '2026-01-01', '2026-01-11'])).toEqual([10]);
    expect(orderIntervals(['2026-01-01'])).toEqual([]);
    expect(orderIntervals([])).toEqual([]);
  });

  it('medians odd and even lists and refuses an empty one', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([1, 2, 3, 10])).toBe(2.5);
    expect(() => median([])).toThrow(RangeError);
  });

  it('shrinks one interval toward the typical interval, two parts to one', () => {
    // (1·10 + 0.5·40) / 1.5 = 20
    expect(PRIOR_WEIGHT).toBe(0.5);
    expect(shrunkInterval([10], 40)).toBe(20);
    // Another weight: (1·10 + 2·40) / 3 = 30
    expect(shrunkInterval([10], 40, 2)).toBe(30);
  });

  it('lets the customer’s own rhythm win as intervals accumulate', () => {
    const few = shrunkInterval([10, 10], 40);
    const many = shrunkInterval(Array(20).fill(10), 40);
    expect(few).toBe(16);
    expect(many).toBeCloseTo((20 * 10 + 0.5 * 40) / 20.5, 10);
    expect(Math.abs(many - 10)).toBeLessThan(Math.abs(few - 10));
  });

  it('uses the median of its own intervals, so one long gap does not move it', () => {
    // Own median 30 (not the mean 48), shrunk toward 30: 30.
    expect(shrunkInterval([30, 30, 30, 30, 30, 30, 30, 30, 30, 210], 30)).toBe(30);
  });

  it('falls back to the customer’s own median without a typical interval', () => {
    expect(shrunkInterval([12, 14], null)).toBe(13);
    expect(shrunkInterval([12, 14], 0)).toBe(13);
  });

  it('predicts nothing with fewer than two distinct order days', () => {
    expect(predictRepurchase([], 30)).toBeNull();
    expect(predictRepurchase(['2026-05-01'], 30)).toBeNull();
    expect(predictRepurchase(['2026-05-01', '2026-05-01'], 30)).toBeNull();
  });

  it('dates the next order from the latest one, in whole days, at least one', () => {
    // intervals 30, 20 → median 25; (2·25 + 0.5·45) / 2.5 = 29
    const p = predictRepurchase(['2026-10-01', '2026-11-20', '2026-10-31'], 45)!;
    expect(p).toEqual({ lastOrderOn: '2026-11-20', orderDays: 3, ownDays: 25, typicalDays: 45, intervalDays: 29, dueOn: '2026-12-19' });
    // Across a month and a year end.
    expect(predictRepurchase(['2026-12-01', '2026-12-31'], null)!.dueOn).toBe('2027-01-30');
    // Consecutive days and a typical interval of one day: never zero.
    expect(predictRepurchase(['2026-01-01', '2026-01-02'], 0.2)!.intervalDays).toBe(1);
  });

  it('learns typical intervals per segment with one vote per customer, and a global one', () => {
    const votes = new Map<string, number[]>([
      ['重要价值', [10, 12, 14, 16, 18]],
      ['一般挽留', [90, 100]],
      [GLOBAL_SEGMENT, [30]],
    ]);
    const t = typicalIntervals(votes);
    expect(t.get('重要价值')).toBe(14);
    // Too few customers for its own: absent, so its customers use the global one.
    expect(t.has('一般挽留')).toBe(false);
    // All eight votes: 10 12 14 16 | 18 30 90 100.
    expect(t.get(GLOBAL_SEGMENT)).toBe(17);
    expect(typicalFor(t, '重要价值')).toBe(14);
    expect(typicalFor(t, '一般挽留')).toBe(17);
    expect(typicalFor(t, null)).toBe(17);
    expect(typicalFor(new Map(), '重要价值')).toBeNull();
    expect(typicalIntervals(new Map()).size).toBe(0);
  });

  it('counts days until the due date, negative once overdue', () => {
    expect(daysUntilDue('2026-12-20', '2026-12-06')).toBe(14);
    expect(daysUntilDue('2026-12-06', '2026-12-06')).toBe(0);
    expect(daysUntilDue('2026-12-01', '2026-12-06')).toBe(-5);
  });
});
