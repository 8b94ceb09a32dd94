// 提醒成员群发 from the broadcast detail page: ask, remind (all waiting members or one), and say what happened.
import { ElMessage } from 'element-plus';
import { post } from './api';
import { remindMessage, type RemindOutcome, type StaffProgress } from './broadcast';
import { confirmAction, toastError } from './ui';

/**
 * Ask, then POST …/remind. Resolves to the outcome, or null when the operator backed out or the server refused (said
 * in a toast). The server's `message` (zh-CN) is shown as it is: a warning when some tasks were not reminded.
 */
export async function remindMembers(broadcastId: string, members: StaffProgress[], userid?: string): Promise<RemindOutcome | null> {
  if (!(await confirmAction(remindMessage(members), '提醒成员群发', '确定提醒'))) return null;
  try {
    const r = await post<RemindOutcome>(`/api/v1/broadcasts/${broadcastId}/remind`, userid ? { userid } : {});
    const partial = r.limitedTasks + r.failedTasks > 0;
    ElMessage({ type: partial ? 'warning' : 'success', showClose: true, duration: partial ? 8000 : 4000, message: r.message });
    return r;
  } catch (e) {
    toastError(e);
    return null;
  }
}
