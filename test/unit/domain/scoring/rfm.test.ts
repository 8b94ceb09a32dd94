import { describe, expect, it } from 'vitest';
import { rfmSegment, RFM_SEGMENTS, type RfmBaseline } from '../../../../src/domain/scoring/rfm.js';

const DAY = 86_400_000;
const now = Date.parse('2026-06-01T00:00:00Z');
// Four buyers: 9 orders, ¥1,620 in all, latest orders 5, 10, 60 and 100 days ago (mean 43.75 days ago).
const sut = (orders: number, spentCents: number, daysAgo: number, b: RfmBaseline = baseline) => rfmSegment({ orders, spentCents, lastOrderAt: now - daysAgo * DAY }, b);
const baseline: RfmBaseline = { customers: 4, orders: 9, spentCents: 162_000, meanLastOrderAt: now - 43.75 * DAY };

describe('rfmSegment', () => {
  it('maps the eight high/low combinations onto the standard segments', () => {
    const got = [
      sut(3, 50_000, 5),
      sut(2, 50_000, 5),
      sut(3, 50_000, 60),
      sut(2, 50_000, 60),
      sut(3, 40_000, 5),
      sut(2, 40_000, 5),
      sut(3, 40_000, 60),
      sut(2, 40_000, 60),
    ];
    expect(got).toEqual([...RFM_SEGMENTS]);
  });

  it('calls an axis high only when strictly better than the mean', () => {
    // Frequency 2.25 on average: 2 is low, 3 high; spend ¥405 on average: exactly ¥405 is low.
    expect(sut(3, 40_501, 43)).toBe('重要价值');
    expect(sut(3, 40_500, 43)).toBe('一般价值');
    expect(sut(3, 40_501, 43.75)).toBe('重要保持');
  });

  it('compares frequency exactly, without floating-point rounding', () => {
    const b: RfmBaseline = { customers: 3, orders: 3, spentCents: 3, meanLastOrderAt: now };
    // Mean frequency 1: one order is not above it.
    expect(sut(1, 0, 1, b)).toBe('一般挽留');
    expect(sut(2, 0, 1, b)).toBe('一般保持');
  });

  it('gives no segment without orders in the window or without a baseline', () => {
    expect(sut(0, 0, 5)).toBeNull();
    expect(sut(1, 100, 5, { customers: 0, orders: 0, spentCents: 0, meanLastOrderAt: 0 })).toBeNull();
  });

  it('puts a lone buyer in 一般挽留 (equal to the mean on every axis is not above it)', () => {
    expect(sut(1, 100, 5, { customers: 1, orders: 1, spentCents: 100, meanLastOrderAt: now - 5 * DAY })).toBe('一般挽留');
  });
});
