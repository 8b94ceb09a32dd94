import { localDate } from '../../shared/dates.js';
import { massQuotaPeriod, type MassQuotaRule } from '../delivery/frequency-caps.js';
import type { SopPlan } from './group-sop.types.js';
import { dueFires } from './sop-schedule.js';

/** How much of a group's mass-message quota a plan's posts take (docs/groups.md §Quota). */
export interface SopQuotaUse {
  rule: MassQuotaRule;
  /** The most posts the plan makes to one group in one quota period. */
  posts: number;
  /** That period's allowance. */
  limit: number;
  /** `exhausts`: the plan alone uses the whole allowance; `exceeds`: some of its posts would be refused. */
  level: 'ok' | 'exhausts' | 'exceeds';
  /** zh-CN, for the plan editor; null when there is nothing to warn about. */
  warning: string | null;
}

const PERIOD_NAME: Record<MassQuotaRule, string> = { days_of_month: '每月', seven_per_week: '每周', one_per_day: '每天' };

/**
 * The plan's busiest quota period for one group, found by laying its post steps over a year from `now` (a relative
 * plan for a group created now). WeCom counts members' own group sends against the same quota and no API reads it, so
 * a plan that alone reaches the allowance leaves nothing for anyone else (docs/wecom-protocol.md §Mass message quota).
 */
export function sopQuotaUse(plan: Pick<SopPlan, 'schedule' | 'steps'>, rule: MassQuotaRule, now: Date, tz: string): SopQuotaUse {
  const posts = { ...plan, steps: plan.steps.filter((s) => s.action === 'post') };
  const group = { chatId: '-', name: '', owner: null, createdAt: now };
  const buckets = new Map<string, { n: number; limit: number }>();
  for (const f of dueFires(posts, [group], new Date(now.getTime() - 1), new Date(now.getTime() + 366 * 86_400_000), tz)) {
    const p = massQuotaPeriod(rule, localDate(f.fireAt, tz));
    const b = buckets.get(p.period) ?? { n: 0, limit: p.limit };
    b.n += 1;
    buckets.set(p.period, b);
  }
  let worst = { n: 0, limit: massQuotaPeriod(rule, localDate(now, tz)).limit };
  for (const b of buckets.values()) if (b.n / b.limit > worst.n / worst.limit) worst = b;
  const level = worst.n > worst.limit ? 'exceeds' : worst.n === worst.limit ? 'exhausts' : 'ok';
  const head = `${PERIOD_NAME[rule]}群发额度 ${worst.limit} 条，此计划${PERIOD_NAME[rule]}向每个群发送 ${worst.n} 条`;
  const warning =
    level === 'exceeds'
      ? `${head}，超出额度：多出的消息企业微信不会送达。`
      : level === 'exhausts'
        ? `${head}，将用完每个群的全部额度：群主和其他群发在此期间都无法再发送。`
        : null;
  return { rule, posts: worst.n, limit: worst.limit, level, warning };
}
