import { describe, expect, it } from 'vitest';
import { dailyCapPeriod, freeSlots, massQuotaPeriod } from '../../../../src/domain/delivery/frequency-caps.js';

describe('massQuotaPeriod', () => {
  it('days_of_month: the calendar month allows as many messages as it has days (docs/wecom-protocol.md §Mass message quota)', () => {
    expect(massQuotaPeriod('days_of_month', '2026-02-10')).toEqual({ scope: 'wecom_mass', period: '2026-02', limit: 28 });
    expect(massQuotaPeriod('days_of_month', '2028-02-29')).toEqual({ scope: 'wecom_mass', period: '2028-02', limit: 29 });
    expect(massQuotaPeriod('days_of_month', '2026-07-31').limit).toBe(31);
  });

  it('seven_per_week: weeks start on Monday', () => {
    // 2026-03-15 is a Sunday: its week began Monday 2026-03-09.
    expect(massQuotaPeriod('seven_per_week', '2026-03-15')).toEqual({ scope: 'wecom_mass', period: 'w2026-03-09', limit: 7 });
    expect(massQuotaPeriod('seven_per_week', '2026-03-16').period).toBe('w2026-03-16');
  });

  it('one_per_day: the local date', () => {
    expect(massQuotaPeriod('one_per_day', '2026-03-15')).toEqual({ scope: 'wecom_mass', period: '2026-03-15', limit: 1 });
  });
});

describe('dailyCapPeriod', () => {
  it('counts per local date', () => {
    expect(dailyCapPeriod('2026-03-15', 1)).toEqual({ scope: 'daily', period: '2026-03-15', limit: 1 });
  });
});

describe('freeSlots', () => {
  it('lists free slot numbers lowest first, filling holes left by released slots', () => {
    expect(freeSlots(3, [])).toEqual([1, 2, 3]);
    expect(freeSlots(3, [1, 3])).toEqual([2]);
    expect(freeSlots(2, [1, 2])).toEqual([]);
  });
});
