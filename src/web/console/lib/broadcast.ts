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

/** Members whose tasks wait for them in 群发助手, only while the broadcast is sending (reminded or not). */
export const waiting = (b: { status: string }, p: BroadcastProgress | null | undefined): StaffProgress[] =>
  b.status === 'sending' ? (p?.staff ?? []).filter((s) => s.waitingTasks > 0) : [];

/** A member's waiting tasks a reminder would reach now: those not yet reminded 3 times in 24 h (WeCom counts per task). */
export const remindableTasks = (s: StaffProgress): number => Math.max(0, s.waitingTasks - s.reminders.limitedTasks);

/** Members with a waiting task under WeCom's limit: what 提醒成员群发 reminds. */
export const remindable = (b: { status: string }, p: BroadcastProgress | null | undefined): StaffProgress[] =>
  waiting(b, p).filter((s) => remindableTasks(s) > 0);

/** A member's reminders in the last 24 h, read per task as WeCom limits them ("单个任务 24 小时内最多 2/3 次"). */
export function remindCountText(s: StaffProgress, fmt: (iso: string) => string): string {
  if (s.reminders.maxPerTask > 0) return `单个任务 24 小时内最多 ${s.reminders.maxPerTask}/${REMINDS_PER_DAY} 次`;
  return s.reminders.lastAt ? `上次 ${fmt(s.reminders.lastAt)}` : '';
}

/** Why a member cannot be reminded now (every waiting task at the limit), or '' when they can. */
export function remindBlockedText(s: StaffProgress, fmt: (iso: string) => string): string {
  if (s.waitingTasks === 0 || remindableTasks(s) > 0) return '';
  const when = s.reminders.nextAllowedAt ? `，${fmt(s.reminders.nextAllowedAt)} 后可再提醒` : '';
  const what = s.waitingTasks === 1 ? '该成员待确认的群发任务 24 小时内已' : `该成员待确认的 ${s.waitingTasks} 个群发任务 24 小时内都已`;
  return `${what}提醒 ${REMINDS_PER_DAY} 次（企业微信上限）${when}`;
}

/** The confirmation's words for reminding all waiting members, or one. */
export function remindMessage(members: StaffProgress[]): string {
  const tasks = members.reduce((n, s) => n + remindableTasks(s), 0);
  const limited = members.reduce((n, s) => n + s.reminders.limitedTasks, 0);
  const who = members.length === 1 ? `成员「${members[0].name}」` : ` ${members.length} 位成员`;
  const skip = limited > 0 ? `另有 ${limited} 个任务 24 小时内已提醒 ${REMINDS_PER_DAY} 次，本次跳过。` : '';
  return `将通过企业微信提醒${who}在「群发助手」中确认发送（${tasks} 个待确认的群发任务）。${skip}企业微信限制每个任务 24 小时内最多提醒 ${REMINDS_PER_DAY} 次。`;
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
