// The broadcast pages' shapes (GET/POST /api/v1/broadcasts…) and their words: what a cancel will do, why a broadcast
// or a row stopped. No UI here (lib/broadcast-cancel.ts asks and cancels), so unit tests load it as it is.
import type { Broadcast } from './types';
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

export interface StaffProgress {
  userid: string;
  name: string;
  tasks: number;
  confirmedTasks: number;
  waitingTasks: number;
  withdrawnTasks: number;
  refusedTasks: number;
  rows: Record<string, number>;
}

export interface BroadcastFunnel {
  planned: number;
  submitted: number;
  confirmed: number;
  sent: number;
  skipped: number;
  skippedByReason: Record<string, number>;
  overQuota: number;
  failed: number;
  expired: number;
  pending: number;
}

/** GET /api/v1/broadcasts/:id/progress. */
export interface BroadcastProgress {
  staff: StaffProgress[];
  funnel: BroadcastFunnel;
  withdrawableTasks: number;
  onlyUserid: string | null;
}

/** POST /api/v1/broadcasts/preview. */
export interface BroadcastPreview {
  customer: { externalUserId: string; name: string };
  sender: { userid: string; name: string } | null;
  text: string;
  attachments: Attachment[];
  isOptedOut: boolean;
}

/** What POST …/cancel did (its `cancellation`). */
export interface CancelOutcome {
  skippedRows: number;
  cancelledTasks: number;
  confirmedTasks: number;
  inFlightRows: number;
  sharedTasks: number;
  failedTasks: number;
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
