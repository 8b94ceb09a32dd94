import type { DbEngine } from '../data-source.js';
import type { Granularity } from '../../domain/analytics/analytics.types.js';

/**
 * The period label of a rollup row's `day` as SQL, as periodOf makes it: the day, its Monday (weeks start on Monday),
 * or `YYYY-MM`. A function of the row alone, so a dashboard read sums per period in its statement rather than
 * returning a row per day (docs/analytics.md §Size).
 */
export function periodSql(engine: DbEngine, g: Granularity): string {
  if (g === 'day') return 'day';
  if (g === 'month') return engine === 'mysql' ? "DATE_FORMAT(day, '%Y-%m')" : 'substr(day, 1, 7)';
  return engine === 'mysql' ? 'DATE_SUB(day, INTERVAL WEEKDAY(day) DAY)' : "date(day, '-' || ((CAST(strftime('%w', day) AS INTEGER) + 6) % 7) || ' days')";
}
