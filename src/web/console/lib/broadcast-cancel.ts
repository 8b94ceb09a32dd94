// Cancelling a broadcast, the same way from the list and the detail page: read what it would withdraw, ask, cancel,
// and say what happened.
import { ElMessage } from 'element-plus';
import { get, post } from './api';
import { cancelMessage, type BroadcastDetail, type BroadcastProgress, type CancelOutcome } from './broadcast';
import { confirmAction, toastError, toastOk } from './ui';

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

