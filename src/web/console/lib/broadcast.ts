// The broadcast pages' shapes (GET/POST /api/v1/broadcasts…) and the cancel every page asks the same way.
import { get, post } from './api';
import type { Broadcast } from './types';
import { confirmAction, toastError, toastOk } from './ui';
import { ElMessage } from 'element-plus';
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
interface CancelOutcome {
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
 * Ask, then cancel. Resolves to the cancelled broadcast, or null when the operator backed out or the server refused
 * (said in a toast). The counts come from the ledger right before asking, so the confirmation names the tasks the
 * cancel will try to withdraw; the answer says how many it did.
 */
export async function cancelBroadcast(b: { id: string; name: string; status: string; audienceCount: number }): Promise<(BroadcastDetail & { cancellation: CancelOutcome }) | null> {
  let p: BroadcastProgress;
  try {
    p = await get<BroadcastProgress>(`/api/v1/broadcasts/${b.id}/progress`);
  } catch (e) {
    toastError(e);
    return null;
  }
  if (!(await confirmAction(cancelMessage(b, p), b.status === 'cancelled' ? '重试撤回' : '取消群发', b.status === 'cancelled' ? '确定撤回' : '确定取消'))) return null;
  try {
    const r = await post<BroadcastDetail & { cancellation: CancelOutcome }>(`/api/v1/broadcasts/${b.id}/cancel`);
    const c = r.cancellation;
    const notes = [
      c.cancelledTasks > 0 ? `已撤回 ${c.cancelledTasks} 个群发任务` : '',
      c.skippedRows > 0 ? `${c.skippedRows} 位客户的消息不再发送` : '',
      c.confirmedTasks > 0 ? `${c.confirmedTasks} 个任务员工已确认发送，无法撤回` : '',
    ].filter(Boolean);
    toastOk(notes.length ? `群发已取消：${notes.join('；')}` : '群发已取消');
    // Not withdrawn this time (WeCom refused or the call was in flight): cancelling again retries them.
    const left = c.failedTasks + c.sharedTasks + (c.inFlightRows > 0 ? 1 : 0);
    if (left > 0) ElMessage({ type: 'warning', showClose: true, duration: 8000, message: `${c.failedTasks + c.sharedTasks} 个任务未能撤回${c.inFlightRows > 0 ? `，${c.inFlightRows} 条消息正在提交` : ''}，请稍后再次点击「重试撤回」。` });
    return r;
  } catch (e) {
    toastError(e);
    return null;
  }
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
