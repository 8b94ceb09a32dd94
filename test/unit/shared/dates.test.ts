import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TZ,
  addDays,
  daysBetween,
  daysInMonth,
  isLeapYear,
  isLocalDate,
  localDate,
  localParts,
  parseLocalDate,
  weekdayOf,
  zonedTimeToUtc,
} from '../../../src/shared/dates.js';

describe(localDate.name, () => {
  it('reads the Shanghai date of an instant that is still the previous day in UTC', () => {
    const sut = new Date('2026-03-01T16:30:00Z');
    expect(localDate(sut, 'Asia/Shanghai')).toBe('2026-03-02');
    expect(localDate(sut, 'UTC')).toBe('2026-03-01');
  });

  it('defaults to Asia/Shanghai', () => {
    expect(DEFAULT_TZ).toBe('Asia/Shanghai');
    expect(localDate(new Date('2026-12-31T16:00:00Z'))).toBe('2027-01-01');
  });

  it('keeps 1990-07-01 on 1990-07-01 during the 1986–1991 Shanghai DST (UTC+9)', () => {
    // Local midnight 1990-07-01 was 15:00Z the day before; a fixed +8 offset would say 1990-06-30.
    expect(localDate(new Date('1990-06-30T15:00:00Z'), 'Asia/Shanghai')).toBe('1990-07-01');
    expect(localDate(new Date('1990-06-30T15:59:59Z'), 'Asia/Shanghai')).toBe('1990-07-01');
    expect(localDate(new Date('1990-06-30T14:59:59Z'), 'Asia/Shanghai')).toBe('1990-06-30');
  });
});

describe(localParts.name, () => {
  it('gives the wall clock with a Sunday-based weekday', () => {
    expect(localParts(new Date('2026-02-16T16:05:09Z'), 'Asia/Shanghai')).toEqual({
      year: 2026,
      month: 2,
      day: 17,
      hour: 0,
      minute: 5,
      second: 9,
      weekday: 2,
    });
  });

  it('reports midnight as hour 0, never 24', () => {
    expect(localParts(new Date('2026-01-01T16:00:00Z'), 'Asia/Shanghai').hour).toBe(0);
  });

  it('rejects an invalid Date', () => {
    expect(() => localParts(new Date('nope'), 'UTC')).toThrow(RangeError);
  });
});

describe(zonedTimeToUtc.name, () => {
  it('converts Shanghai wall time at +08:00 today', () => {
    expect(zonedTimeToUtc('2026-09-25', '09:00', 'Asia/Shanghai').toISOString()).toBe('2026-09-25T01:00:00.000Z');
    expect(zonedTimeToUtc('2026-01-01', '00:00', 'Asia/Shanghai').toISOString()).toBe('2025-12-31T16:00:00.000Z');
  });

  it('uses +09:00 inside the 1990 Shanghai DST period', () => {
    expect(zonedTimeToUtc('1990-07-01', '00:00', 'Asia/Shanghai').toISOString()).toBe('1990-06-30T15:00:00.000Z');
    expect(zonedTimeToUtc('1986-08-01', '09:00', 'Asia/Shanghai').toISOString()).toBe('1986-08-01T00:00:00.000Z');
    expect(zonedTimeToUtc('1992-07-01', '00:00', 'Asia/Shanghai').toISOString()).toBe('1992-06-30T16:00:00.000Z');
  });

  it('moves a time skipped by the spring-forward jump to just after it', () => {
    // 1990-04-15 02:00 +08 jumped to 03:00 +09, so 02:30 never happened; 03:30 +09 is 18:30Z.
    expect(zonedTimeToUtc('1990-04-15', '02:30', 'Asia/Shanghai').toISOString()).toBe('1990-04-14T18:30:00.000Z');
  });

  it('takes the earlier of a time repeated by the fall-back jump', () => {
    // 1990-09-16 02:00 +09 fell back to 01:00 +08, so 01:30 happened at 16:30Z and again at 17:30Z.
    expect(zonedTimeToUtc('1990-09-16', '01:30', 'Asia/Shanghai').toISOString()).toBe('1990-09-15T16:30:00.000Z');
  });

  it('round-trips with localDate across a whole year in both directions of UTC', () => {
    for (let d = '2026-01-01'; d < '2027-01-01'; d = addDays(d, 1)) {
      expect(localDate(zonedTimeToUtc(d, '00:00', 'Asia/Shanghai'), 'Asia/Shanghai')).toBe(d);
      expect(localDate(zonedTimeToUtc(d, '23:59', 'America/New_York'), 'America/New_York')).toBe(d);
    }
  });

  it('rejects malformed input', () => {
    expect(() => zonedTimeToUtc('2026-02-30', '09:00', 'UTC')).toThrow(RangeError);
    expect(() => zonedTimeToUtc('2026-02-01', '24:00', 'UTC')).toThrow(RangeError);
    expect(() => zonedTimeToUtc('2026-02-01', '9:00', 'UTC')).toThrow(RangeError);
  });
});

describe(addDays.name, () => {
  it('crosses month, year and 29 February boundaries', () => {
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(addDays('2027-02-28', 1)).toBe('2027-03-01');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(addDays('2026-01-01', 100)).toBe('2026-04-11');
  });

  it('is unaffected by the 1990 DST change', () => {
    expect(addDays('1990-04-14', 1)).toBe('1990-04-15');
    expect(addDays('1990-04-15', 1)).toBe('1990-04-16');
    expect(addDays('1990-09-16', 1)).toBe('1990-09-17');
  });

  it('rejects fractional days', () => {
    expect(() => addDays('2026-01-01', 0.5)).toThrow(RangeError);
  });
});

describe(daysBetween.name, () => {
  it('counts calendar days, later minus earlier', () => {
    expect(daysBetween('2026-01-01', '2026-01-01')).toBe(0);
    expect(daysBetween('2026-01-01', '2027-01-01')).toBe(365);
    expect(daysBetween('2028-01-01', '2029-01-01')).toBe(366);
    expect(daysBetween('2026-03-10', '2026-03-01')).toBe(-9);
    expect(daysBetween('1990-04-01', '1990-10-01')).toBe(183);
  });
});

describe(isLeapYear.name, () => {
  it('applies the century rules', () => {
    expect([2024, 2027, 2028, 1900, 2000, 2100].map(isLeapYear)).toEqual([true, false, true, false, true, false]);
  });
});

describe(daysInMonth.name, () => {
  it('knows February in leap and common years', () => {
    expect(daysInMonth(2028, 2)).toBe(29);
    expect(daysInMonth(2027, 2)).toBe(28);
    expect(daysInMonth(2027, 4)).toBe(30);
    expect(daysInMonth(2027, 12)).toBe(31);
  });
});

describe(parseLocalDate.name, () => {
  it('accepts real dates and rejects impossible ones', () => {
    expect(parseLocalDate('2028-02-29')).toEqual({ year: 2028, month: 2, day: 29 });
    expect(isLocalDate('2027-02-29')).toBe(false);
    expect(isLocalDate('2027-13-01')).toBe(false);
    expect(isLocalDate('2027-1-01')).toBe(false);
    expect(isLocalDate('2027-01-01T00:00')).toBe(false);
  });
});

describe(weekdayOf.name, () => {
  it('matches known weekdays, before and after 1970', () => {
    expect(weekdayOf('1970-01-01')).toBe(4);
    expect(weekdayOf('2026-02-17')).toBe(2);
    expect(weekdayOf('1969-12-28')).toBe(0);
  });
});
