import { addDays, daysInMonth, parseLocalDate, weekdayOf } from '../../shared/dates.js';
import type { CapPeriod } from './delivery.types.js';

export type { CapPeriod };

/**
 * The corp's per-customer mass-message rule (docs/wecom-protocol.md §Mass message quota: days-of-month by default, or
 * 7/week, or 1/day).
 */
export type MassQuotaRule = 'days_of_month' | 'seven_per_week' | 'one_per_day';

/** Our own cap: `perDay` customer-facing care/win-back messages per customer per local day. */
export function dailyCapPeriod(localDate: string, perDay: number): CapPeriod {
  return { scope: 'daily', period: localDate, limit: perDay };
}

/**
 * WeCom's per-customer mass-message allowance for the period containing `localDate`
 * (docs/wecom-protocol.md §Mass message quota). Calendar periods: a month allows as many messages as it has days; a
 * week (Monday first, China's convention) allows 7.
 */
export function massQuotaPeriod(rule: MassQuotaRule, localDate: string): CapPeriod {
  const { year, month } = parseLocalDate(localDate);
  switch (rule) {
    case 'one_per_day':
      return { scope: 'wecom_mass', period: localDate, limit: 1 };
    case 'seven_per_week': {
      const monday = addDays(localDate, -((weekdayOf(localDate) + 6) % 7));
      return { scope: 'wecom_mass', period: `w${monday}`, limit: 7 };
    }
    case 'days_of_month':
      return { scope: 'wecom_mass', period: localDate.slice(0, 7), limit: daysInMonth(year, month) };
  }
}

/** The slot numbers to try, lowest free first, given those already taken. */
export function freeSlots(limit: number, taken: readonly number[]): number[] {
  const used = new Set(taken);
  const out: number[] = [];
  for (let n = 1; n <= limit; n++) if (!used.has(n)) out.push(n);
  return out;
}
