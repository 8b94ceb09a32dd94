/**
 * The per-customer mass-message quota (docs/wecom-protocol.md §Mass message quota): enterprise- and member-created mass
 * messages share one allowance per customer. The admin picks the rule; the API cannot read it, so it is a sandbox
 * option.
 */
export type MassQuotaRule = 'days_of_month' | 'seven_per_week' | 'one_per_day';

/** WeCom counts calendar periods in China time (UTC+8, no DST). */
const CHINA_OFFSET_MS = 8 * 3600 * 1000;
const DAY_MS = 24 * 3600 * 1000;

/** The start (epoch ms) of the quota period containing `atMs`, and how many receipts it allows. */
export function quotaPeriod(rule: MassQuotaRule, atMs: number): { startMs: number; limit: number } {
  const local = new Date(atMs + CHINA_OFFSET_MS);
  const y = local.getUTCFullYear();
  const m = local.getUTCMonth();
  const dayStartLocal = Date.UTC(y, m, local.getUTCDate());
  switch (rule) {
    case 'one_per_day':
      return { startMs: dayStartLocal - CHINA_OFFSET_MS, limit: 1 };
    case 'seven_per_week': {
      const mondayOffset = (local.getUTCDay() + 6) % 7; // weeks start on Monday in China
      return { startMs: dayStartLocal - mondayOffset * DAY_MS - CHINA_OFFSET_MS, limit: 7 };
    }
    case 'days_of_month': {
      const daysInMonth = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
      return { startMs: Date.UTC(y, m, 1) - CHINA_OFFSET_MS, limit: daysInMonth };
    }
  }
}

/** Whether a customer who already received mass messages at `receiptsMs` may receive one more at `atMs`. */
export function hasMassQuota(rule: MassQuotaRule, receiptsMs: readonly number[], atMs: number): boolean {
  const { startMs, limit } = quotaPeriod(rule, atMs);
  const used = receiptsMs.filter((t) => t >= startMs && t <= atMs).length;
  return used < limit;
}
