// 预计下次购买 in words (docs/repurchase.md §Where it shows).
import type { Repurchase } from './types';

/** 2026-12-20，还有 14 天 / 2026-12-20，就是今天 / 2026-11-30，已逾期 5 天. */
export function repurchaseText(r: Repurchase): string {
  if (r.daysUntil > 0) return `${r.dueOn}，还有 ${r.daysUntil} 天`;
  if (r.daysUntil === 0) return `${r.dueOn}，就是今天`;
  return `${r.dueOn}，已逾期 ${-r.daysUntil} 天`;
}

/** How the date was predicted, for a tooltip. */
export function repurchaseBasis(r: Repurchase): string {
  const own = `按 ${r.orderDays} 个下单日的间隔（中位 ${r.ownDays} 天）`;
  const prior = r.typicalDays === null ? '' : `，向${r.segment ? `「${r.segment}」分层` : '全部客户'}的常见间隔 ${r.typicalDays} 天靠拢`;
  return `${own}${prior}，预计每 ${r.intervalDays} 天购买一次；上次购买 ${r.lastOrderOn}`;
}
