import { describe, expect, it } from 'vitest';
import {
  HOLIDAYS,
  anniversaryDue,
  anniversaryYearsDue,
  birthdayDateInYear,
  birthdayOccurrencesInYear,
  birthdayOn,
  holidayDate,
  holidayOccurrencesInYear,
  holidaysOn,
  isValidBirthday,
  lunarToSolar,
  occasionKey,
  type Holiday,
} from '../../../../src/domain/care/occasions.js';
import type { Birthday } from '../../../../src/domain/care/occasion.types.js';

const holiday = (key: string): Holiday => {
  const h = HOLIDAYS.find((x) => x.key === key);
  if (!h) throw new Error(`no default holiday ${key}`);
  return h;
};

describe(birthdayDateInYear.name, () => {
  it('returns a solar birthday on the same month and day', () => {
    const sut: Birthday = { calendar: 'solar', month: 7, day: 1, year: 1990 };
    expect(birthdayDateInYear(sut, 2026)).toBe('2026-07-01');
  });

  it('keeps 29 February on 28 February in common years and on 29 February in leap years', () => {
    const sut: Birthday = { calendar: 'solar', month: 2, day: 29 };
    expect(birthdayDateInYear(sut, 2027)).toBe('2027-02-28');
    expect(birthdayDateInYear(sut, 2028)).toBe('2028-02-29');
    expect(birthdayDateInYear(sut, 2100)).toBe('2100-02-28');
  });

  it('converts lunar 正月初一 in 2027 to 2027-02-06', () => {
    expect(birthdayDateInYear({ calendar: 'lunar', month: 1, day: 1 }, 2027)).toBe('2027-02-06');
  });

  it('converts lunar 八月十五 in 2026 to 2026-09-25', () => {
    expect(birthdayDateInYear({ calendar: 'lunar', month: 8, day: 15 }, 2026)).toBe('2026-09-25');
  });

  it('puts a 闰六月 birthday in the leap month in 2025, which has one', () => {
    const sut: Birthday = { calendar: 'lunar', month: 6, day: 15, leapMonth: true };
    expect(birthdayDateInYear(sut, 2025)).toBe('2025-08-08');
    // The ordinary 六月十五 that year is a month earlier.
    expect(birthdayDateInYear({ calendar: 'lunar', month: 6, day: 15 }, 2025)).toBe('2025-07-09');
  });

  it('puts a 闰六月 birthday in the ordinary 六月 in a year without 闰六月', () => {
    const sut: Birthday = { calendar: 'lunar', month: 6, day: 15, leapMonth: true };
    expect(birthdayDateInYear(sut, 2026)).toBe('2026-07-28');
  });

  it('moves lunar day 30 to the 29th in a 29-day month', () => {
    // Lunar 2026 二月 has 29 days; 二月廿九 is 2026-04-16 and 三月初一 the next day.
    expect(birthdayDateInYear({ calendar: 'lunar', month: 2, day: 30 }, 2026)).toBe('2026-04-16');
    // Lunar 2026 正月 has 30 days, so the 30th stays.
    expect(birthdayDateInYear({ calendar: 'lunar', month: 1, day: 30 }, 2026)).toBe('2026-03-18');
    // 闰六月 2025 has 29 days too.
    expect(birthdayDateInYear({ calendar: 'lunar', month: 6, day: 30, leapMonth: true }, 2025)).toBe('2025-08-22');
  });

  it('finds a 冬月 birthday of the previous lunar year that falls in January', () => {
    // Lunar 2014 十一月十一 is 2015-01-01; lunar 2015's is 2015-12-21: both in 2015, none in 2014.
    const sut: Birthday = { calendar: 'lunar', month: 11, day: 11 };
    expect(birthdayDateInYear(sut, 2015)).toBe('2015-12-21');
    expect(birthdayDateInYear(sut, 2014)).toBeNull();
  });

  it('rejects an impossible birthday', () => {
    expect(() => birthdayDateInYear({ calendar: 'solar', month: 2, day: 30 }, 2026)).toThrow(RangeError);
    expect(() => birthdayDateInYear({ calendar: 'lunar', month: 13, day: 1 }, 2026)).toThrow(RangeError);
  });
});

describe(birthdayOccurrencesInYear.name, () => {
  it('lists both lunar occurrences in a Gregorian year that holds two, with their lunar years', () => {
    expect(birthdayOccurrencesInYear({ calendar: 'lunar', month: 11, day: 11 }, 2015)).toEqual([
      { date: '2015-01-01', year: 2014 },
      { date: '2015-12-21', year: 2015 },
    ]);
  });

  it('gives exactly one occurrence per lunar year over a century', () => {
    const sut: Birthday = { calendar: 'lunar', month: 12, day: 30 };
    const years = Array.from({ length: 100 }, (_, i) => 2000 + i)
      .flatMap((y) => birthdayOccurrencesInYear(sut, y))
      .map((o) => o.year);
    // Gregorian 2000–2099 cover lunar years 1999's tail to 2098's; each appears once.
    expect(new Set(years).size).toBe(years.length);
    expect(years).toEqual(Array.from({ length: 100 }, (_, i) => 1999 + i));
  });
});

describe(birthdayOn.name, () => {
  it('matches the celebration date only', () => {
    const sut: Birthday = { calendar: 'lunar', month: 8, day: 15 };
    expect(birthdayOn(sut, '2026-09-25')).toEqual({ date: '2026-09-25', year: 2026 });
    expect(birthdayOn(sut, '2026-09-24')).toBeNull();
  });

  it('catches the January occurrence that birthdayDateInYear does not prefer', () => {
    expect(birthdayOn({ calendar: 'lunar', month: 11, day: 11 }, '2015-01-01')).toEqual({ date: '2015-01-01', year: 2014 });
  });

  it('celebrates 29 February on 28 February in common years', () => {
    const sut: Birthday = { calendar: 'solar', month: 2, day: 29 };
    expect(birthdayOn(sut, '2027-02-28')).toEqual({ date: '2027-02-28', year: 2027 });
    expect(birthdayOn(sut, '2028-02-28')).toBeNull();
    expect(birthdayOn(sut, '2028-02-29')).toEqual({ date: '2028-02-29', year: 2028 });
  });

  it('handles a birthday from the 1986–1991 Shanghai DST era as a calendar date', () => {
    const sut: Birthday = { calendar: 'solar', month: 7, day: 1, year: 1990 };
    expect(birthdayOn(sut, '1990-07-01')).toEqual({ date: '1990-07-01', year: 1990 });
    expect(birthdayOn(sut, '2026-07-01')).not.toBeNull();
  });
});

describe(isValidBirthday.name, () => {
  it('accepts 29 February and lunar day 30, rejects the impossible', () => {
    expect(isValidBirthday({ calendar: 'solar', month: 2, day: 29 })).toBe(true);
    expect(isValidBirthday({ calendar: 'lunar', month: 12, day: 30 })).toBe(true);
    expect(isValidBirthday({ calendar: 'solar', month: 4, day: 31 })).toBe(false);
    expect(isValidBirthday({ calendar: 'solar', month: 4, day: 1, leapMonth: true })).toBe(false);
    expect(isValidBirthday({ calendar: 'lunar', month: 1, day: 31 })).toBe(false);
    expect(isValidBirthday({ calendar: 'lunar', month: 0, day: 1 })).toBe(false);
    expect(isValidBirthday({ calendar: 'lunar', month: 1.5, day: 1 })).toBe(false);
  });
});

describe(lunarToSolar.name, () => {
  it('converts within one lunar year, spilling into the next Gregorian year for 腊月', () => {
    expect(lunarToSolar(2026, 1, 1)).toBe('2026-02-17');
    expect(lunarToSolar(2025, 12, 30)).toBe('2026-02-16');
  });
});

describe(holidayDate.name, () => {
  it('finds 春节 2026 on 2026-02-17', () => {
    expect(holidayDate(holiday('spring-festival'), 2026)).toBe('2026-02-17');
  });

  it('finds 中秋 2026 on 2026-09-25', () => {
    expect(holidayDate(holiday('mid-autumn'), 2026)).toBe('2026-09-25');
  });

  it('finds 冬至 2026 on 2026-12-22 from the solar term, and 2025 on 2025-12-21', () => {
    expect(holidayDate(holiday('winter-solstice'), 2026)).toBe('2026-12-22');
    expect(holidayDate(holiday('winter-solstice'), 2025)).toBe('2025-12-21');
  });

  it('finds each of the 24 solar terms once in a Gregorian year, in order', () => {
    const terms = ['小寒', '大寒', '立春', '雨水', '惊蛰', '春分', '清明', '谷雨', '立夏', '小满', '芒种', '夏至',
      '小暑', '大暑', '立秋', '处暑', '白露', '秋分', '寒露', '霜降', '立冬', '小雪', '大雪', '冬至'];
    const dates = terms.map((term) => holidayDate({ key: 'term', name: term, rule: { calendar: 'solar-term', term } }, 2026));
    expect(dates[0]).toBe('2026-01-05');
    expect(dates[4]).toBe('2026-03-05');
    expect(dates[22]).toBe('2026-12-07');
    expect([...dates].sort()).toEqual(dates);
    expect(dates.every((d) => d?.startsWith('2026-'))).toBe(true);
  });

  it('dates the other default holidays in 2026', () => {
    const dates = Object.fromEntries(HOLIDAYS.map((h) => [h.key, holidayDate(h, 2026)]));
    expect(dates).toEqual({
      'new-year': '2026-01-01',
      'spring-festival': '2026-02-17',
      lantern: '2026-03-03',
      valentine: '2026-02-14',
      'womens-day': '2026-03-08',
      'labour-day': '2026-05-01',
      'dragon-boat': '2026-06-19',
      qixi: '2026-08-19',
      'mid-autumn': '2026-09-25',
      'national-day': '2026-10-01',
      'double-ninth': '2026-10-18',
      'winter-solstice': '2026-12-22',
      christmas: '2026-12-25',
    });
  });

  it('gives every default holiday exactly one date in each year 1990–2100', () => {
    for (let y = 1990; y <= 2100; y++) {
      for (const h of HOLIDAYS) expect(holidayOccurrencesInYear(h, y)).toHaveLength(1);
    }
  });

  it('dates a configured 除夕 (lunar 12-30) in the Gregorian year it falls in', () => {
    const chuxi: Holiday = { key: 'new-years-eve', name: '除夕', rule: { calendar: 'lunar', month: 12, day: 30 } };
    // Lunar 2025 腊月 has 29 days, so 除夕 is 廿九, the eve of 春节 2026.
    expect(holidayDate(chuxi, 2026)).toBe('2026-02-16');
    expect(holidayOccurrencesInYear(chuxi, 2026)).toEqual([{ date: '2026-02-16', year: 2025 }]);
  });

  it('rejects a misspelt solar term instead of never firing', () => {
    expect(() => holidayDate({ key: 'x', name: 'x', rule: { calendar: 'solar-term', term: '冬节' } }, 2026)).toThrow(
      RangeError,
    );
  });
});

describe(holidaysOn.name, () => {
  it('lists the holidays on a date with their occurrence', () => {
    const sut = holidaysOn('2026-02-17');
    expect(sut.map((x) => x.holiday.key)).toEqual(['spring-festival']);
    expect(sut[0].occurrence).toEqual({ date: '2026-02-17', year: 2026 });
  });

  it('finds two holidays on one date when they coincide', () => {
    // 2020: 中秋 fell on 国庆, 1 October.
    expect(holidaysOn('2020-10-01').map((x) => x.holiday.key).sort()).toEqual(['mid-autumn', 'national-day']);
  });

  it('returns nothing on an ordinary day and honours a custom list', () => {
    expect(holidaysOn('2026-02-18')).toEqual([]);
    const list: Holiday[] = [{ key: 'shop-day', name: '店庆', rule: { calendar: 'solar', month: 2, day: 18 } }];
    expect(holidaysOn('2026-02-18', list).map((x) => x.holiday.name)).toEqual(['店庆']);
  });
});

describe(anniversaryDue.name, () => {
  it('fires 100 days after the contact was added', () => {
    expect(anniversaryDue('2026-01-01', '2026-04-11', [100, 365])).toBe(100);
    expect(anniversaryDue('2026-01-01', '2026-04-10', [100, 365])).toBeNull();
    expect(anniversaryDue('2026-01-01', '2027-01-01', [100, 365])).toBe(365);
  });

  it('counts calendar days across 29 February and the 1990 DST change', () => {
    expect(anniversaryDue('2028-02-01', '2028-05-11', [100])).toBe(100);
    expect(anniversaryDue('1990-04-01', '1990-07-10', [100])).toBe(100);
  });

  it('never fires on or before the day added', () => {
    expect(anniversaryDue('2026-01-01', '2026-01-01', [0, 100])).toBeNull();
    expect(anniversaryDue('2026-04-11', '2026-01-01', [100])).toBeNull();
  });
});

describe(anniversaryYearsDue.name, () => {
  it('fires on the same calendar date each year', () => {
    expect(anniversaryYearsDue('2025-03-15', '2026-03-15')).toBe(1);
    expect(anniversaryYearsDue('2025-03-15', '2026-03-14')).toBeNull();
    expect(anniversaryYearsDue('2025-03-15', '2025-03-15')).toBeNull();
  });

  it('moves a 29 February start to 28 February in common years', () => {
    expect(anniversaryYearsDue('2024-02-29', '2025-02-28')).toBe(1);
    expect(anniversaryYearsDue('2024-02-29', '2028-02-28')).toBeNull();
    expect(anniversaryYearsDue('2024-02-29', '2028-02-29')).toBe(4);
  });
});

describe(occasionKey.name, () => {
  it('builds stable keys', () => {
    expect(occasionKey({ kind: 'birthday', year: 2026 })).toBe('birthday:2026');
    expect(occasionKey({ kind: 'holiday', holidayKey: 'spring-festival', year: 2026 })).toBe('holiday:spring-festival:2026');
    expect(occasionKey({ kind: 'anniversary', days: 100 })).toBe('anniversary:100');
    expect(occasionKey({ kind: 'anniversary-years', years: 1 })).toBe('anniversary:1y');
  });

  it('keys a lunar birthday by its lunar year, so a Gregorian year with two occurrences gets two keys', () => {
    const keys = birthdayOccurrencesInYear({ calendar: 'lunar', month: 11, day: 11 }, 2015).map((o) =>
      occasionKey({ kind: 'birthday', year: o.year }),
    );
    expect(keys).toEqual(['birthday:2014', 'birthday:2015']);
  });

  it('rejects a holiday key that could collide', () => {
    expect(() => occasionKey({ kind: 'holiday', holidayKey: 'a:b', year: 2026 })).toThrow(RangeError);
  });
});
