import { addDays, localDate, zonedTimeToUtc } from '../../shared/dates.js';
import { massQuotaPeriod, type MassQuotaRule } from '../delivery/frequency-caps.js';
import type { GroupQuota, QuotaForecast } from './group-broadcast.types.js';

/** WeCom counts quota periods on China's calendar, whatever the bot's time zone (docs/wecom-protocol.md §Mass message quota). */
export const WECOM_TZ = 'Asia/Shanghai';

/** A quota period: its id, how many mass messages a group may receive in it, and its bounds [start, end). */
export interface QuotaWindow {
  period: string;
  limit: number;
  start: Date;
  end: Date;
}

/**
 * The quota period containing `at` under the corp's rule: a calendar month (as many as it has days, the default), a
 * week from Monday (7), or a day (1). docs/wecom-protocol.md §Mass message quota
 */
export function quotaWindow(rule: MassQuotaRule, at: Date): QuotaWindow {
  const day = localDate(at, WECOM_TZ);
  const { period, limit } = massQuotaPeriod(rule, day);
  let first: string;
  let next: string;
  if (rule === 'one_per_day') {
    first = day;
    next = addDays(day, 1);
  } else if (rule === 'seven_per_week') {
    first = period.slice(1);
    next = addDays(first, 7);
  } else {
    first = `${period}-01`;
    next = addDays(first, limit);
  }
  return { period, limit, start: zonedTimeToUtc(first, '00:00', WECOM_TZ), end: zonedTimeToUtc(next, '00:00', WECOM_TZ) };
}

const RULE_LABEL: Record<MassQuotaRule, string> = {
  days_of_month: '每月可收当月天数条',
  seven_per_week: '每周可收 7 条',
  one_per_day: '每天可收 1 条',
};

/**
 * How `sends` more mass messages would leave each group: a group whose last slot they take is exhausted, one they
 * take past its limit is over (WeCom then reports it `status` 3 and it receives nothing). Pure: `groups` carry what
 * each has used and has pending in the window.
 */
export function forecastQuota(rule: MassQuotaRule, w: QuotaWindow, groups: Omit<GroupQuota, 'remaining'>[], sends: number): QuotaForecast {
  const withRoom = groups.map((g) => ({ ...g, remaining: g.limit - g.used - g.pending }));
  const exhausted = withRoom.filter((g) => g.remaining - sends === 0).length;
  const over = withRoom.filter((g) => g.remaining - sends < 0).length;
  const concerned = withRoom
    .filter((g) => g.remaining - sends <= 0)
    .sort((a, b) => a.remaining - b.remaining || a.name.localeCompare(b.name))
    .slice(0, 50);
  const parts: string[] = [];
  if (over > 0) parts.push(`${over} 个群本期群发额度不足，超出的群收不到这条消息`);
  if (exhausted > 0) parts.push(`${exhausted} 个群发送后将用完本期额度，本期内成员自己也无法再向这些群群发`);
  const warning =
    parts.length === 0
      ? null
      : `${parts.join('；')}（企业微信规则：${RULE_LABEL[rule]}，${w.period} 期上限 ${w.limit} 条，成员自己发的群发也计入）。`;
  return { rule, period: w.period, limit: w.limit, exhausted, over, groups: concerned, warning };
}
