// 积分与会员: what the loyalty API answers (docs/loyalty.md §API) and its words. No UI here, so unit tests load it.

/** `GET /api/v1/loyalty/tiers`: the programme's configuration (LOYALTY_* variables, read at start). */
export interface LoyaltyTiers {
  basis: 'points' | 'spend';
  spendWindowDays: number;
  pointsPerYuan: number;
  birthdayMultiplier: number;
  expiryYears: number;
  downgradeGraceDays: number;
  tiers: { rank: number; name: string; threshold: number; benefits: string }[];
}

/** One ledger entry as the API presents it (`words` is the reason in zh-CN). */
export interface PointEntryView {
  id: number;
  kind: string;
  reason: string;
  words: string;
  points: number;
  note: string | null;
  actor: string;
  createdAt: string;
  expiresAt: string | null;
}

/** `GET /api/v1/customers/:id/loyalty`. */
export interface LoyaltySummaryView {
  balance: number;
  tier: { rank: number; name: string; threshold: number; benefits: string };
  next: { rank: number; name: string; threshold: number; missing: number; progressPercent: number } | null;
  basis: 'points' | 'spend';
  measured: number;
  expiring: { at: string; points: number } | null;
  recent: PointEntryView[];
}

/** `POST …/loyalty/adjust`. */
export interface LoyaltyWrite {
  entry: PointEntryView;
  replayed: boolean;
  balance: number;
}

export const TIER_BASIS: Record<LoyaltyTiers['basis'], string> = { points: '积分余额', spend: '消费金额' };

/** A tier's threshold in words: 1,000 积分 or 消费满 5,000 元. */
export function thresholdText(basis: LoyaltyTiers['basis'], threshold: number): string {
  const n = threshold.toLocaleString('zh-CN');
  if (threshold === 0) return '无门槛';
  return basis === 'spend' ? `消费满 ${n} 元` : `${n} 积分`;
}

/** The audience term of a tier (docs/loyalty.md §Audiences), quoted so any name parses. */
export const tierAudience = (name: string): string => `tier:"${name.replace(/["\\]/g, '\\$&')}"`;

/** Who made an entry, in words: a member's name, an API token, or the system (nightly job, order import). */
export function actorText(actor: string, nameOf: (userid: string) => string): string {
  if (actor === 'system') return '系统';
  if (actor === 'ADMIN_TOKEN') return '管理员令牌';
  if (actor.startsWith('token:')) return 'API 令牌';
  return nameOf(actor);
}

/** The confirmation's words for giving or deducting points. */
export function adjustMessage(customer: string, points: number, balance: number): string {
  const after = balance + points;
  if (points > 0) return `将为客户「${customer}」赠送 ${points.toLocaleString('zh-CN')} 积分，积分余额 ${balance.toLocaleString('zh-CN')} → ${after.toLocaleString('zh-CN')}。此操作会记入操作日志。`;
  const take = (-points).toLocaleString('zh-CN');
  if (after < 0) return `客户「${customer}」当前只有 ${balance.toLocaleString('zh-CN')} 积分，不足以扣减 ${take} 积分。`;
  return `将从客户「${customer}」的积分中扣减 ${take} 积分，积分余额 ${balance.toLocaleString('zh-CN')} → ${after.toLocaleString('zh-CN')}。此操作会记入操作日志。`;
}
