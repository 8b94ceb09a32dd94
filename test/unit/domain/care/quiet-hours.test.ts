import { describe, expect, it } from 'vitest';
import { isQuietTime, nextAllowedTime, type QuietHours } from '../../../../src/domain/care/quiet-hours.js';

const night: QuietHours = { start: '21:00', end: '09:00', tz: 'Asia/Shanghai' };
// Shanghai wall time as an instant: '+08:00' is correct for every date tested here outside 1986–1991.
const sh = (local: string) => new Date(`${local}+08:00`);

describe(isQuietTime.name, () => {
  it('treats 21:00–09:00 as wrapping midnight, start inclusive and end exclusive', () => {
    expect(isQuietTime(sh('2026-05-05T20:59:59'), night)).toBe(false);
    expect(isQuietTime(sh('2026-05-05T21:00:00'), night)).toBe(true);
    expect(isQuietTime(sh('2026-05-05T23:59:59'), night)).toBe(true);
    expect(isQuietTime(sh('2026-05-06T00:00:00'), night)).toBe(true);
    expect(isQuietTime(sh('2026-05-06T08:59:59'), night)).toBe(true);
    expect(isQuietTime(sh('2026-05-06T09:00:00'), night)).toBe(false);
    expect(isQuietTime(sh('2026-05-06T12:00:00'), night)).toBe(false);
  });

  it('judges by the configured zone, not UTC', () => {
    // 13:30Z is 21:30 in Shanghai but still afternoon in UTC.
    const sut = new Date('2026-05-05T13:30:00Z');
    expect(isQuietTime(sut, night)).toBe(true);
    expect(isQuietTime(sut, { ...night, tz: 'UTC' })).toBe(false);
  });

  it('supports a window that does not wrap', () => {
    const lunch: QuietHours = { start: '12:00', end: '14:00', tz: 'Asia/Shanghai' };
    expect(isQuietTime(sh('2026-05-05T11:59:59'), lunch)).toBe(false);
    expect(isQuietTime(sh('2026-05-05T12:00:00'), lunch)).toBe(true);
    expect(isQuietTime(sh('2026-05-05T13:59:59'), lunch)).toBe(true);
    expect(isQuietTime(sh('2026-05-05T14:00:00'), lunch)).toBe(false);
  });

  it('has no quiet time when start equals end', () => {
    expect(isQuietTime(sh('2026-05-05T03:00:00'), { start: '00:00', end: '00:00', tz: 'Asia/Shanghai' })).toBe(false);
  });

  it('uses the 1990 DST wall clock (UTC+9) in Shanghai', () => {
    // 12:00Z on 1990-07-01 was 21:00 local under DST, 20:00 at the standard offset.
    expect(isQuietTime(new Date('1990-07-01T12:00:00Z'), night)).toBe(true);
    expect(isQuietTime(new Date('1990-07-01T11:59:59Z'), night)).toBe(false);
  });

  it('rejects a malformed window', () => {
    expect(() => isQuietTime(new Date(), { start: '9:00', end: '21:00', tz: 'Asia/Shanghai' })).toThrow(RangeError);
    expect(() => isQuietTime(new Date(), { start: '24:00', end: '21:00', tz: 'Asia/Shanghai' })).toThrow(RangeError);
  });
});

describe(nextAllowedTime.name, () => {
  it('returns the instant itself outside quiet hours', () => {
    const sut = sh('2026-05-05T20:59:59');
    expect(nextAllowedTime(sut, night)).toBe(sut);
    expect(nextAllowedTime(sh('2026-05-06T09:00:00'), night).toISOString()).toBe('2026-05-06T01:00:00.000Z');
  });

  it('holds an evening message until 09:00 the next local day', () => {
    expect(nextAllowedTime(sh('2026-05-05T21:00:00'), night).toISOString()).toBe('2026-05-06T01:00:00.000Z');
    expect(nextAllowedTime(sh('2026-05-05T23:59:59'), night).toISOString()).toBe('2026-05-06T01:00:00.000Z');
  });

  it('holds an early-morning message until 09:00 the same local day', () => {
    expect(nextAllowedTime(sh('2026-05-06T00:00:00'), night).toISOString()).toBe('2026-05-06T01:00:00.000Z');
    expect(nextAllowedTime(sh('2026-05-06T08:59:59'), night).toISOString()).toBe('2026-05-06T01:00:00.000Z');
  });

  it('crosses a month and year end', () => {
    expect(nextAllowedTime(sh('2026-12-31T22:00:00'), night).toISOString()).toBe('2027-01-01T01:00:00.000Z');
  });

  it('ends a non-wrapping window the same day', () => {
    const lunch: QuietHours = { start: '12:00', end: '14:00', tz: 'Asia/Shanghai' };
    expect(nextAllowedTime(sh('2026-05-05T12:30:00'), lunch).toISOString()).toBe('2026-05-05T06:00:00.000Z');
  });

  it('ends at 09:00 DST wall time in 1990 Shanghai', () => {
    // 22:00 local (+09) on 1990-07-01 → 09:00 local (+09) on 1990-07-02 = 00:00Z.
    expect(nextAllowedTime(new Date('1990-07-01T13:00:00Z'), night).toISOString()).toBe('1990-07-02T00:00:00.000Z');
  });

  it('gives an allowed instant', () => {
    for (let h = 0; h < 24; h++) {
      const at = new Date(Date.UTC(2026, 4, 5, h, 17));
      expect(isQuietTime(nextAllowedTime(at, night), night)).toBe(false);
    }
  });
});
