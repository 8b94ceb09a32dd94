/**
 * Calendar-date arithmetic in an explicit IANA time zone.
 *
 * Everything here goes through Intl with a named zone and through UTC-only Date methods, so the
 * answers never depend on the process TZ (docs/reliability.md §Time zones and calendar dates: run the suite under
 * TZ=UTC and TZ=Asia/Shanghai). Calendar dates travel as 'YYYY-MM-DD' strings, never as Date instants, because
 * an instant can land on a different day in another zone, and Asia/Shanghai had DST from 1986 to 1991
 * (1990-07-01 was UTC+9).
 */

/** The zone the bot works in unless configured otherwise. */
export const DEFAULT_TZ = 'Asia/Shanghai';

/** A zone's wall-clock reading of an instant; weekday is 0 = Sunday … 6 = Saturday, as Date.getDay. */
export interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
}

const MS_PER_DAY = 86_400_000;
const LOCAL_DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const LOCAL_TIME_RE = /^(\d{2}):(\d{2})$/;

// Building a DateTimeFormat costs far more than formatting with one, and the scheduler asks for
// thousands of customers per tick; zones are few, so the cache stays small.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    // h23, not hour12:false: some ICU versions render midnight as "24" with hour12:false.
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

function formatYmd(year: number, month: number, day: number): string {
  return `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(day)}`;
}

/** Reads an instant's wall-clock date and time in `tz`. */
export function localParts(instant: Date, tz: string = DEFAULT_TZ): LocalParts {
  if (Number.isNaN(instant.getTime())) throw new RangeError('invalid instant');
  const out: Record<string, number> = {};
  for (const p of formatterFor(tz).formatToParts(instant)) {
    if (p.type !== 'literal') out[p.type] = Number(p.value);
  }
  const { year, month, day, hour, minute, second } = out;
  return { year, month, day, hour, minute, second, weekday: weekdayOf(formatYmd(year, month, day)) };
}

/** The 'YYYY-MM-DD' calendar date an instant falls on in `tz`. */
export function localDate(instant: Date, tz: string = DEFAULT_TZ): string {
  const p = localParts(instant, tz);
  return formatYmd(p.year, p.month, p.day);
}

/** Splits 'YYYY-MM-DD' into numbers, rejecting anything that is not a real calendar date. */
export function parseLocalDate(date: string): { year: number; month: number; day: number } {
  const m = LOCAL_DATE_RE.exec(date);
  if (!m) throw new RangeError(`not a YYYY-MM-DD date: ${date}`);
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    throw new RangeError(`not a calendar date: ${date}`);
  }
  return { year, month, day };
}

/** True when `date` is a well-formed, existing 'YYYY-MM-DD' calendar date. */
export function isLocalDate(date: string): boolean {
  try {
    parseLocalDate(date);
    return true;
  } catch {
    return false;
  }
}

/** Builds 'YYYY-MM-DD' from numbers, validating the result. */
export function toLocalDate(year: number, month: number, day: number): string {
  const s = formatYmd(year, month, day);
  parseLocalDate(s);
  return s;
}

// Day number since 1970-01-01 of a calendar date; UTC has no offsets, so this is pure calendar maths.
function epochDay(date: string): number {
  const { year, month, day } = parseLocalDate(date);
  const d = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0–99 onto 1900–1999.
  d.setUTCFullYear(year, month - 1, day);
  return Math.round(d.getTime() / MS_PER_DAY);
}

function fromEpochDay(n: number): string {
  const d = new Date(n * MS_PER_DAY);
  return formatYmd(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate());
}

/** The calendar date `n` days after `date` (negative `n` goes back). */
export function addDays(date: string, n: number): string {
  if (!Number.isInteger(n)) throw new RangeError(`not a whole number of days: ${n}`);
  return fromEpochDay(epochDay(date) + n);
}

/** Whole calendar days from `a` to `b`: positive when `b` is later, 0 on the same date. */
export function daysBetween(a: string, b: string): number {
  return epochDay(b) - epochDay(a);
}

/** Day of week of a calendar date, 0 = Sunday … 6 = Saturday. */
export function weekdayOf(date: string): number {
  // 1970-01-01 was a Thursday (4); the double modulo keeps dates before 1970 non-negative.
  return (((epochDay(date) + 4) % 7) + 7) % 7;
}

/** Gregorian leap-year rule. */
export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Number of days in a Gregorian month (month is 1–12). */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

// Offset of `tz` from UTC at `instant`, in ms (positive east of Greenwich), read back through Intl.
function offsetMs(instant: number, tz: string): number {
  const p = localParts(new Date(instant), tz);
  const d = new Date(0);
  d.setUTCFullYear(p.year, p.month - 1, p.day);
  d.setUTCHours(p.hour, p.minute, p.second, 0);
  // Intl drops milliseconds, so compare against the instant truncated to the second.
  return d.getTime() - Math.floor(instant / 1000) * 1000;
}

/**
 * The UTC instant at which the wall clock in `tz` reads `date` `time` ('HH:mm').
 * A time skipped by a DST jump resolves to the instant just after the jump (02:30 → 03:30); a time that
 * occurs twice resolves to the earlier one. This matches Temporal's 'compatible' disambiguation.
 */
export function zonedTimeToUtc(date: string, time: string, tz: string = DEFAULT_TZ): Date {
  const { year, month, day } = parseLocalDate(date);
  const t = LOCAL_TIME_RE.exec(time);
  if (!t || Number(t[1]) > 23 || Number(t[2]) > 59) throw new RangeError(`not an HH:mm time: ${time}`);
  const wallDate = new Date(0);
  wallDate.setUTCFullYear(year, month - 1, day);
  wallDate.setUTCHours(Number(t[1]), Number(t[2]), 0, 0);
  const wall = wallDate.getTime();

  // Real offsets lie within ±14 h, so the answer lies within that of `wall`; the offsets at both ends of
  // that span cover the usual case of at most one transition nearby.
  const before = offsetMs(wall - 14 * 3_600_000, tz);
  const after = offsetMs(wall + 14 * 3_600_000, tz);
  const fits = [before, after]
    .map((o) => wall - o)
    .filter((candidate) => offsetMs(candidate, tz) === wall - candidate)
    .sort((x, y) => x - y);
  if (fits.length > 0) return new Date(fits[0]);
  // In a gap no offset fits; reading the wall time with the pre-jump offset lands just past the gap.
  return new Date(wall - before);
}
