import type { PointEntry } from './loyalty.types.js';

/** What each reason is called on the customer's page and in the sidebar (never the code itself). */
const REASON_WORDS: Record<string, string> = {
  order: '订单消费',
  order_birthday: '生日月订单（多倍积分）',
  survey: '完成满意度调查',
  birthday: '生日礼遇',
  redemption: '积分兑换',
  expiry: '积分过期',
};

const KIND_WORDS: Record<string, string> = { earn: '获得积分', adjust: '积分调整', redeem: '积分兑换', expire: '积分过期' };

/** An entry in words: `客服赠送积分`, `订单消费`, `积分兑换`. */
export function entryWords(e: Pick<PointEntry, 'kind' | 'reason' | 'points'>): string {
  if (e.reason === 'manual') return e.points >= 0 ? '客服赠送积分' : '积分调整扣减';
  return REASON_WORDS[e.reason] ?? KIND_WORDS[e.kind] ?? (e.points >= 0 ? '获得积分' : '使用积分');
}
