// The broadcast pages' shapes (GET/POST /api/v1/broadcasts…) and their words: what a cancel will do, why a broadcast
// or a row stopped. No UI here (lib/broadcast-cancel.ts asks and cancels), so unit tests load it as it is.
import type { Broadcast } from './types';
import type { BroadcastProgress, StaffProgress } from '../../../domain/broadcasts/broadcast.types';
import { BROADCAST_REASON, SKIP_REASON } from './labels';

/** An attachment as the API takes it (the gateway's shape; docs/wecom-protocol.md §Mass messages). */
export type Attachment =
  | { kind: 'image'; picUrl?: string; mediaId?: string }
  | { kind: 'link'; title: string; url: string; desc?: string; picUrl?: string }
  | { kind: 'miniprogram'; title: string; appId: string; page: string; picMediaId: string }
  | { kind: 'video'; mediaId: string }
  | { kind: 'file'; mediaId: string };

/** A broadcast as GET /api/v1/broadcasts/:id answers. */
export type BroadcastDetail = Omit<Broadcast, 'message'> & {
  message: { text: string; attachments: Attachment[] };
  updatedAt: string;
  plannedAt: string | null;
  finishedAt: string | null;
  cancelledAt: string | null;
};

// The progress, cancel and remind answers are the server's own types (type-only: nothing of the server is bundled).
export type { BroadcastFunnel, BroadcastProgress, CancelOutcome, RemindOutcome, StaffProgress } from '../../../domain/broadcasts/broadcast.types';

/** POST /api/v1/broadcasts/preview. */
export interface BroadcastPreview {
  customer: { externalUserId: string; name: string };
  sender: { userid: string; name: string } | null;
  text: string;
  attachments: Attachment[];
  isOptedOut: boolean;
}

/** WeCom's limit on reminders: 3 per task per 24 h (docs/wecom-protocol.md §Reminding members of a mass message). */
export const REMINDS_PER_DAY = 3;

/** Members whose tasks wait for them in 群发助手 (what 提醒成员群发 reminds), only while the broadcast is sending. */
export const remindable = (b: { status: string }, p: BroadcastProgress | null | undefined): StaffProgress[] =>
  b.status === 'sending' ? (p?.staff ?? []).filter((s) => s.waitingTasks > 0) : [];

/** The confirmation's words for reminding all waiting members, or one. */
export function remindMessage(members: StaffProgress[]): string {
  const tasks = members.reduce((n, s) => n + s.waitingTasks, 0);
  const who = members.length === 1 ? `成员「${members[0].name}」` : ` ${members.length} 位成员`;
  return `将通过企业微信提醒${who}在「群发助手」中确认发送（${tasks} 个待确认的群发任务）。企业微信限制每个任务 24 小时内最多提醒 ${REMINDS_PER_DAY} 次。`;
}

/** A broadcast may be cancelled while scheduled or sending, and cancelled again to retry tasks not yet withdrawn. */
export const canCancel = (b: { status: string }, progress?: BroadcastProgress | null): boolean =>
  b.status === 'scheduled' || b.status === 'sending' || (b.status === 'cancelled' && (progress?.withdrawableTasks ?? 0) > 0);

/** The confirmation's words: what the cancel will do, with the numbers read from the ledger just now. */
export function cancelMessage(b: { name: string; status: string; audienceCount: number }, p: BroadcastProgress): string {
  if (b.status === 'scheduled') return `将取消群发「${b.name}」，不会向 ${b.audienceCount} 位客户发送。`;
  const tasks = p.withdrawableTasks;
  if (b.status === 'cancelled') return `将再次撤回 ${tasks} 个员工尚未确认的群发任务（企业微信 cancel_groupmsg_send）。`;
  const parts = [`将撤回 ${tasks} 个未确认的群发任务`];
  if (p.funnel.pending > 0) parts.push(`${p.funnel.pending} 位客户的消息不再提交`);
  const confirmed = p.staff.reduce((n, s) => n + s.confirmedTasks, 0);
  const tail = confirmed > 0 ? `员工已确认发送的 ${confirmed} 个任务已送出，不受影响。` : '已确认发送的任务不受影响。';
  return `${parts.join('，')}。${tail}`;
}

/**
 * A broadcast's or a skipped row's reason in words: the label of its code (`missed_window: …`), else the Chinese half
 * of the server's `中文 / English` text, never the raw code.
 */
export function reasonText(reason: string | null | undefined): string {
  if (!reason) return '';
  const i = reason.indexOf(':');
  const code = (i < 0 ? reason : reason.slice(0, i)).trim();
  if (BROADCAST_REASON[code]) return BROADCAST_REASON[code];
  if (SKIP_REASON[code]) return SKIP_REASON[code];
  const text = i < 0 ? '' : reason.slice(i + 1).split(' / ')[0].trim();
  return text && !/^[\x20-\x7e]+$/.test(text) ? text : '其他原因';
}
