/**
 * When care occasions fall: birthdays (solar or lunar), holidays, and days-since-added anniversaries.
 *
 * Pure calendar rules on 'YYYY-MM-DD' strings; no instants, so no time zone is involved here — callers
 * first turn "now" into the local date with `localDate(now, tz)` (docs/reliability.md §Time zones and calendar dates).
 *
 * Every occurrence carries a `year`: the calendar year it belongs to. For solar rules that is the
 * Gregorian year of its date. For lunar rules it is the lunar year, because a lunar date of lunar year Y
 * can fall in January of Gregorian Y+1 (腊月, late 冬月), so one Gregorian year can hold two occurrences
 * of a lunar date, or none. Occasion keys use this `year`, which gives exactly one key per lunar year.
 */
import { Lunar, LunarMonth, LunarYear } from 'lunar-typescript';
import { daysBetween, daysInMonth, isLeapYear, parseLocalDate, toLocalDate } from '../../shared/dates.js';
import type { Birthday } from './occasion.types.js';

/** One dated occurrence of a yearly rule, with the (solar or lunar) year it belongs to. */
export type Occurrence = { date: string; year: number };

/** How a holiday's date is found each year. */
export type HolidayRule =
  | { calendar: 'solar'; month: number; day: number }
  | { calendar: 'lunar'; month: number; day: number }
  // The library names solar terms in Chinese (冬至, 清明 …); only the 24 standard names are valid.
  | { calendar: 'solar-term'; term: string };

/** A holiday with a stable key used in occasion keys and config; `name` is what templates show. */
export type Holiday = { key: string; name: string; rule: HolidayRule };

/** The default holiday list; deployments may pass their own list to `holidaysOn`. */
export const HOLIDAYS: readonly Holiday[] = Object.freeze([
  { key: 'new-year', name: '元旦', rule: { calendar: 'solar', month: 1, day: 1 } },
  { key: 'spring-festival', name: '春节', rule: { calendar: 'lunar', month: 1, day: 1 } },
  { key: 'lantern', name: '元宵节', rule: { calendar: 'lunar', month: 1, day: 15 } },
  { key: 'valentine', name: '情人节', rule: { calendar: 'solar', month: 2, day: 14 } },
  { key: 'womens-day', name: '妇女节', rule: { calendar: 'solar', month: 3, day: 8 } },
  { key: 'labour-day', name: '劳动节', rule: { calendar: 'solar', month: 5, day: 1 } },
  { key: 'dragon-boat', name: '端午节', rule: { calendar: 'lunar', month: 5, day: 5 } },
  { key: 'qixi', name: '七夕', rule: { calendar: 'lunar', month: 7, day: 7 } },
  { key: 'mid-autumn', name: '中秋节', rule: { calendar: 'lunar', month: 8, day: 15 } },
  { key: 'national-day', name: '国庆节', rule: { calendar: 'solar', month: 10, day: 1 } },
  { key: 'double-ninth', name: '重阳节', rule: { calendar: 'lunar', month: 9, day: 9 } },
  { key: 'winter-solstice', name: '冬至', rule: { calendar: 'solar-term', term: '冬至' } },
  { key: 'christmas', name: '圣诞节', rule: { calendar: 'solar', month: 12, day: 25 } },
] satisfies Holiday[]);

/** What an occasion key identifies; the rule and customer live in their own UNIQUE columns. */
export type OccasionRef =
  | { kind: 'birthday'; year: number }
  | { kind: 'holiday'; holidayKey: string; year: number }
  | { kind: 'anniversary'; days: number }
  | { kind: 'anniversary-years'; years: number };

// The 24 solar terms; used to reject a misspelt term in config instead of never firing.
const SOLAR_TERMS = new Set([
  '小寒', '大寒', '立春', '雨水', '惊蛰', '春分', '清明', '谷雨', '立夏', '小满', '芒种', '夏至',
  '小暑', '大暑', '立秋', '处暑', '白露', '秋分', '寒露', '霜降', '立冬', '小雪', '大雪', '冬至',
]);

// Memoised library results (lunar conversions and solar terms), keyed by their inputs; see lunarToSolar.
const LUNAR_CACHE_MAX = 10_000;
const lunarCache = new Map<string, string>();

function assertWholeNumber(n: number, what: string): void {
  if (!Number.isInteger(n)) throw new RangeError(`${what} must be a whole number: ${n}`);
}

/** True when a birthday's month/day could ever occur (solar 2-29 yes, solar 2-30 no, lunar day ≤ 30). */
export function isValidBirthday(b: Birthday): boolean {
  if (!Number.isInteger(b.month) || !Number.isInteger(b.day) || b.month < 1 || b.month > 12 || b.day < 1) {
    return false;
  }
  if (b.year !== undefined && !Number.isInteger(b.year)) return false;
  if (b.calendar === 'lunar') return b.day <= 30;
  // Judge against a leap year so 29 February counts as a real birthday.
  return b.leapMonth !== true && b.day <= daysInMonth(2000, b.month);
}

/**
 * The solar date of a lunar month/day in lunar year `lunarYear`, with the fallbacks: a leap-month (闰月)
 * date uses the ordinary month when that year has no such leap month, and day 30 becomes the 29th (the
 * month's last day) in a 29-day month.
 */
export function lunarToSolar(lunarYear: number, month: number, day: number, leapMonth = false): string {
  assertWholeNumber(lunarYear, 'lunar year');
  if (!Number.isInteger(month) || !Number.isInteger(day) || month < 1 || month > 12 || day < 1 || day > 30) {
    throw new RangeError(`not a lunar month/day: ${month}/${day}`);
  }
  const cacheKey = `${lunarYear}:${month}:${day}:${leapMonth}`;
  let date = lunarCache.get(cacheKey);
  if (date === undefined) {
    // The library caches only the last lunar year and we alternate between two, so each conversion would
    // cost about 1 ms: too slow for a daily pass over every customer. A handful of years fill the cache.
    if (lunarCache.size >= LUNAR_CACHE_MAX) lunarCache.clear();
    date = convertLunar(lunarYear, month, day, leapMonth);
    lunarCache.set(cacheKey, date);
  }
  return date;
}

function convertLunar(lunarYear: number, month: number, day: number, leapMonth: boolean): string {
  // The library spells a leap month as a negative month number (-6 = 闰六月).
  const m = leapMonth && LunarYear.fromYear(lunarYear).getLeapMonth() === month ? -month : month;
  const lm = LunarMonth.fromYm(lunarYear, m);
  if (!lm) throw new RangeError(`lunar month ${m} missing in lunar year ${lunarYear}`);
  return Lunar.fromYmd(lunarYear, m, Math.min(day, lm.getDayCount())).getSolar().toYmd();
}

// Occurrences of a lunar month/day whose solar date lies in Gregorian `year`: lunar year year-1 can reach
// into January/February of `year`, lunar year `year` can spill into the next January; nothing else can.
function lunarOccurrencesIn(year: number, month: number, day: number, leapMonth: boolean): Occurrence[] {
  const prefix = `${String(year).padStart(4, '0')}-`;
  return [year - 1, year]
    .map((ly) => ({ date: lunarToSolar(ly, month, day, leapMonth), year: ly }))
    .filter((o) => o.date.startsWith(prefix));
}

function solarOccurrence(year: number, month: number, day: number): Occurrence {
  // 29 February is kept on 28 February in common years: still inside February, the month the customer
  // thinks of as theirs (docs/reliability.md §Time zones and calendar dates: the rule is stated).
  const d = month === 2 && day === 29 && !isLeapYear(year) ? 28 : day;
  return { date: toLocalDate(year, month, d), year };
}

/**
 * Every occurrence of a birthday whose solar date lies in Gregorian `year`, earliest first.
 * Solar birthdays always give exactly one; lunar birthdays give one, or in some years two or none.
 */
export function birthdayOccurrencesInYear(b: Birthday, year: number): Occurrence[] {
  assertWholeNumber(year, 'year');
  if (!isValidBirthday(b)) throw new RangeError(`invalid birthday: ${JSON.stringify(b)}`);
  if (b.calendar === 'solar') return [solarOccurrence(year, b.month, b.day)];
  return lunarOccurrencesIn(year, b.month, b.day, b.leapMonth === true);
}

/**
 * The solar 'YYYY-MM-DD' on which the birthday is celebrated in Gregorian `year`, or null if none.
 * For a lunar birthday this is the occurrence whose solar date lies in `year`, preferring lunar year
 * `year`'s when two do; planners should use `birthdayOn`, which never misses the other one.
 */
export function birthdayDateInYear(b: Birthday, year: number): string | null {
  const found = birthdayOccurrencesInYear(b, year);
  return (found.find((o) => o.year === year) ?? found[0])?.date ?? null;
}

/** The birthday occurrence falling exactly on `localDate`, or null; its `year` feeds the occasion key. */
export function birthdayOn(b: Birthday, localDate: string): Occurrence | null {
  const { year } = parseLocalDate(localDate);
  return birthdayOccurrencesInYear(b, year).find((o) => o.date === localDate) ?? null;
}

function solarTermDate(term: string, year: number): string {
  if (!SOLAR_TERMS.has(term)) throw new RangeError(`unknown solar term: ${term}`);
  const cacheKey = `term:${term}:${year}`;
  const cached = lunarCache.get(cacheKey);
  if (cached !== undefined) return cached;
  if (lunarCache.size >= LUNAR_CACHE_MAX) lunarCache.clear();
  const date = findSolarTerm(term, year);
  lunarCache.set(cacheKey, date);
  return date;
}

function findSolarTerm(term: string, year: number): string {
  // A lunar year's JieQi table spans from the previous December to the next March, and the library keys
  // the out-of-year entries in pinyin (DONG_ZHI) rather than Chinese, so pick by the Gregorian year of
  // the date. Mid-year of `year` sits in lunar year `year`, whose table holds every term of `year`.
  const table = Lunar.fromYmd(year, 6, 1).getJieQiTable();
  const prefix = `${String(year).padStart(4, '0')}-`;
  for (const [name, solar] of Object.entries(table)) {
    const date = solar.toYmd();
    if (date.startsWith(prefix) && (name === term || PINYIN_TERMS.get(name) === term)) return date;
  }
  throw new RangeError(`solar term ${term} not found in ${year}`);
}

// The pinyin names the library uses for the terms just outside a lunar year.
const PINYIN_TERMS = new Map([
  ['DA_XUE', '大雪'],
  ['DONG_ZHI', '冬至'],
  ['XIAO_HAN', '小寒'],
  ['DA_HAN', '大寒'],
  ['LI_CHUN', '立春'],
  ['YU_SHUI', '雨水'],
  ['JING_ZHE', '惊蛰'],
]);

function validateHolidayRule(rule: HolidayRule): void {
  if (rule.calendar === 'solar-term') return;
  const ok =
    Number.isInteger(rule.month) && Number.isInteger(rule.day) && rule.month >= 1 && rule.month <= 12 &&
    rule.day >= 1 && rule.day <= (rule.calendar === 'lunar' ? 30 : daysInMonth(2000, rule.month));
  if (!ok) throw new RangeError(`invalid holiday rule: ${JSON.stringify(rule)}`);
}

/**
 * Every occurrence of a holiday whose solar date lies in Gregorian `year`, earliest first.
 * One for every default holiday; a configured lunar holiday late in the lunar year (腊八, 除夕 as lunar
 * 12-30) can give two or none. Solar 2-29 follows the birthday rule (28 February in common years).
 */
export function holidayOccurrencesInYear(h: Holiday, year: number): Occurrence[] {
  assertWholeNumber(year, 'year');
  const { rule } = h;
  validateHolidayRule(rule);
  if (rule.calendar === 'solar') return [solarOccurrence(year, rule.month, rule.day)];
  if (rule.calendar === 'lunar') return lunarOccurrencesIn(year, rule.month, rule.day, false);
  return [{ date: solarTermDate(rule.term, year), year }];
}

// A holiday's dates in a year never change, and computing the lunar and solar-term ones costs milliseconds each:
// the care calendar asks for 30 days at a time. Keyed by the rule itself, so a configured holiday is never confused
// with a default one of the same key.
const occurrenceCache = new Map<string, Occurrence[]>();
function occurrencesCached(h: Holiday, year: number): Occurrence[] {
  const key = `${JSON.stringify(h.rule)}|${year}`;
  let found = occurrenceCache.get(key);
  if (!found) {
    found = holidayOccurrencesInYear(h, year);
    if (occurrenceCache.size > 10_000) occurrenceCache.clear();
    occurrenceCache.set(key, found);
  }
  return found;
}

/**
 * The solar date of a holiday in Gregorian `year` (春节 2026 → '2026-02-17').
 * Null only for a configured lunar holiday with no occurrence that year; see `holidayOccurrencesInYear`.
 */
export function holidayDate(h: Holiday, year: number): string | null {
  const found = holidayOccurrencesInYear(h, year);
  return (found.find((o) => o.year === year) ?? found[0])?.date ?? null;
}

/** The holidays in `list` falling on `localDate`, each with its occurrence (for the occasion key). */
export function holidaysOn(
  localDate: string,
  list: readonly Holiday[] = HOLIDAYS,
): Array<{ holiday: Holiday; occurrence: Occurrence }> {
  const { year } = parseLocalDate(localDate);
  const out: Array<{ holiday: Holiday; occurrence: Occurrence }> = [];
  for (const holiday of list) {
    const occurrence = occurrencesCached(holiday, year).find((o) => o.date === localDate);
    if (occurrence) out.push({ holiday, occurrence });
  }
  return out;
}

/**
 * Which of the (positive) `days` milestones is reached on `todayLocal`, counting calendar days since the
 * contact was added (added on day 0, so "100 days" is added + 100), or null. Counting calendar days in the local
 * zone, not 24-hour periods, keeps the answer stable whatever the send time.
 */
export function anniversaryDue(addedLocalDate: string, todayLocal: string, days: readonly number[]): number | null {
  const elapsed = daysBetween(addedLocalDate, todayLocal);
  if (elapsed <= 0) return null;
  return days.includes(elapsed) ? elapsed : null;
}

/**
 * The number of whole years since `addedLocalDate` if `todayLocal` is its same calendar date
 * (29 February → 28 February in common years), else null. Offered beside day counts because
 * "one year" as 365 days drifts by a day after a 29 February.
 */
export function anniversaryYearsDue(addedLocalDate: string, todayLocal: string): number | null {
  const added = parseLocalDate(addedLocalDate);
  const today = parseLocalDate(todayLocal);
  const years = today.year - added.year;
  if (years <= 0) return null;
  return solarOccurrence(today.year, added.month, added.day).date === todayLocal ? years : null;
}

/**
 * The stable occasion key stored in the UNIQUE (rule, customer, occasion) index:
 * 'birthday:2026', 'holiday:spring-festival:2026', 'anniversary:100', 'anniversary:1y'.
 * The rule and customer ids are their own columns, so they stay out of the key. The year is the
 * occurrence's year (the lunar year for lunar rules), so a customer who corrects a birthday after it was
 * celebrated is not greeted twice in the same year.
 */
export function occasionKey(ref: OccasionRef): string {
  switch (ref.kind) {
    case 'birthday':
      assertWholeNumber(ref.year, 'year');
      return `birthday:${ref.year}`;
    case 'holiday':
      assertWholeNumber(ref.year, 'year');
      // The key is free text from config; a colon inside it would make two keys ambiguous.
      if (!/^[a-z0-9-]+$/.test(ref.holidayKey)) throw new RangeError(`bad holiday key: ${ref.holidayKey}`);
      return `holiday:${ref.holidayKey}:${ref.year}`;
    case 'anniversary':
      assertWholeNumber(ref.days, 'days');
      return `anniversary:${ref.days}`;
    case 'anniversary-years':
      assertWholeNumber(ref.years, 'years');
      return `anniversary:${ref.years}y`;
  }
}
