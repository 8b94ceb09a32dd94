import { describe, expect, it } from 'vitest';
import { birthdayPrefilter } from '../../../../src/domain/care/care-planner.js';

describe('birthdayPrefilter', () => {
  it('selects solar month/day and the lunar month/day of today (春节 2026-02-17 is lunar 1/1)', () => {
    expect(birthdayPrefilter('2026-02-17').params).toEqual([2, 17, 1, 1]);
  });

  it('includes 29 February on 28 February of a common year', () => {
    expect(birthdayPrefilter('2027-02-28').params.slice(0, 3)).toEqual([2, 28, 29]);
    expect(birthdayPrefilter('2028-02-28').params.slice(0, 2)).toEqual([2, 28]);
  });

  it('on the last day of a 29-day lunar month also selects lunar day 30 (2025-08-22 is 闰六月廿九)', () => {
    expect(birthdayPrefilter('2025-08-22').params).toEqual([8, 22, 6, 29, 30]);
  });

  it('中秋 2026 (2026-09-25) is lunar 8/15', () => {
    expect(birthdayPrefilter('2026-09-25').params).toEqual([9, 25, 8, 15]);
  });
});
