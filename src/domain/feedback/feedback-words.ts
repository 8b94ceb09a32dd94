// What the sidebar, the console and the timeline say for a ticket's codes (docs/feedback.md).
import type { TicketEventKind, TicketSource, TicketStatus } from './feedback.types.js';

/** 来源 in words. */
export const SOURCE_WORDS: Record<TicketSource, string> = { survey: '满意度评分', kf: '微信客服投诉', staff: '员工记录' };
/** 状态 in words. */
export const STATUS_WORDS: Record<TicketStatus, string> = { open: '待联系', contacted: '已联系', resolved: '已解决' };
/** Each event in words. */
export const EVENT_WORDS: Record<TicketEventKind, string> = {
  opened: '创建工单',
  reopened: '再次差评，重新打开',
  again: '客户再次反馈',
  contacted: '已联系客户',
  resolved: '已解决',
  escalated: '超时未联系，已升级提醒管理员',
};

/** A survey score in words: `NPS 3 分` / `满意度 2 分`. */
export function scoreWords(kind: 'nps' | 'csat' | null, score: number | null): string {
  if (kind === null || score === null) return '';
  return kind === 'nps' ? `NPS ${score} 分` : `满意度 ${score} 分`;
}

/** A detractor: NPS 0–6, or CSAT 1–2 (docs/feedback.md §Opening a ticket). */
export function isDetractor(kind: 'nps' | 'csat', score: number): boolean {
  return kind === 'nps' ? score >= 0 && score <= 6 : score >= 1 && score <= 2;
}

/** A text cut to `max` characters with an ellipsis. */
export function clip(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}
