import { describe, expect, it } from 'vitest';
import { hasMassQuota, quotaPeriod } from '../../../../src/wecom/sandbox/quota.js';

const at = (iso: string) => new Date(iso).getTime();

describe('quotaPeriod', () => {
  it('uses the China calendar month and its day count for days_of_month', () => {
    // 2026-02-28T17:00Z is already 1 March 01:00 in China.
    const p = quotaPeriod('days_of_month', at('2026-02-28T17:00:00Z'));
    expect(p.limit).toBe(31);
    expect(new Date(p.startMs).toISOString()).toBe('2026-02-28T16:00:00.000Z');
    expect(quotaPeriod('days_of_month', at('2026-02-10T00:00:00Z')).limit).toBe(28);
  });

  it('starts weeks on Monday in China time for seven_per_week', () => {
    // Wednesday 2026-03-11 China time → Monday 2026-03-09 00:00 +08:00.
    const p = quotaPeriod('seven_per_week', at('2026-03-11T05:00:00Z'));
    expect(p).toEqual({ startMs: at('2026-03-08T16:00:00Z'), limit: 7 });
  });

  it('uses the China day for one_per_day', () => {
    expect(quotaPeriod('one_per_day', at('2026-03-10T20:00:00Z'))).toEqual({ startMs: at('2026-03-10T16:00:00Z'), limit: 1 });
  });
});

describe('hasMassQuota', () => {
  it('refuses a second message on the same China day under one_per_day but allows the next day', () => {
    const first = at('2026-03-10T01:00:00Z');
    expect(hasMassQuota('one_per_day', [first], at('2026-03-10T10:00:00Z'))).toBe(false);
    expect(hasMassQuota('one_per_day', [first], at('2026-03-10T16:00:00Z'))).toBe(true);
  });

  it('counts only receipts inside the current period for seven_per_week', () => {
    const lastWeek = Array.from({ length: 7 }, (_, i) => at('2026-03-02T02:00:00Z') + i * 3600_000);
    expect(hasMassQuota('seven_per_week', lastWeek, at('2026-03-10T02:00:00Z'))).toBe(true);
    const thisWeek = Array.from({ length: 7 }, (_, i) => at('2026-03-09T02:00:00Z') + i * 3600_000);
    expect(hasMassQuota('seven_per_week', thisWeek, at('2026-03-10T02:00:00Z'))).toBe(false);
  });
});
