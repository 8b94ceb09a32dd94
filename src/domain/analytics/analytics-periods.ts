import { addDays, weekdayOf } from '../../shared/dates.js';
import type { Granularity } from './analytics.types.js';

/** A bucket of local days: its label and the days of the asked range it covers. */
export interface Period {
  /** `YYYY-MM-DD` for a day, the Monday for a week, `YYYY-MM` for a month. */
  period: string;
  start: string;
  end: string;
}

/** The bucket label a local day falls in. Weeks start on Monday, as calendars in China do. */
export function periodOf(day: string, g: Granularity): string {
  if (g === 'day') return day;
  if (g === 'month') return day.slice(0, 7);
  return addDays(day, -((weekdayOf(day) + 6) % 7));
}

/** Every bucket of [from, to], in order, each clipped to the range. */
export function periodsOf(from: string, to: string, g: Granularity): Period[] {
  const out: Period[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) {
    const p = periodOf(d, g);
    const last = out[out.length - 1];
    if (last && last.period === p) last.end = d;
    else out.push({ period: p, start: d, end: d });
  }
  return out;
}
