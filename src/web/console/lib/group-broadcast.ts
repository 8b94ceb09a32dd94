// 客户群群发 in the console: the API's shapes and their zh-CN words (docs/groups.md §Group broadcasts).
import type { GroupOwnerProgress } from '../../../domain/group-broadcasts/group-broadcast.types';

/** A group ledger status in words. */
export const GROUP_ROW_STATUS: Record<string, string> = {
  planned: '待提交',
  submitting: '提交中',
  submitted: '待群主发送',
  sent: '已送达',
  failed: '发送失败',
  over_quota: '超出群发额度',
  expired: '群主未发送，已过期',
  cancelled: '已取消',
};

/** A group broadcast status in words. */
export const GROUP_BROADCAST_STATUS: Record<string, string> = { sending: '发送中', done: '已完成', cancelled: '已取消' };

/** The corp's mass-message rule in words (docs/wecom-protocol.md §Mass message quota). */
export const QUOTA_RULE: Record<string, string> = { days_of_month: '每月可收当月天数条', seven_per_week: '每周可收 7 条', one_per_day: '每天可收 1 条' };

export interface GroupFilterForm {
  owners: string[];
  namePattern: string;
  minMembers: number | null;
  maxMembers: number | null;
}

/** The filter as the API takes it: empty fields left out. */
export function filterBody(f: GroupFilterForm): Record<string, unknown> {
  return {
    ...(f.owners.length ? { owners: f.owners } : {}),
    ...(f.namePattern.trim() ? { namePattern: f.namePattern.trim() } : {}),
    ...(f.minMembers !== null ? { minMembers: f.minMembers } : {}),
    ...(f.maxMembers !== null ? { maxMembers: f.maxMembers } : {}),
  };
}

/** The preview and each owner's progress as the API answers them (the domain's types, said once). */
export type { GroupBroadcastPreview as GroupPreview, GroupOwnerProgress, GroupQuota as GroupQuotaRow } from '../../../domain/group-broadcasts/group-broadcast.types';
export interface GroupBroadcastRow {
  id: string;
  name: string;
  status: string;
  message: { text: string; contentIds?: string[] };
  groups: number;
  members: number;
  owners: number;
  sendAt: string;
  createdAt: string;
  rows: Record<string, number>;
  ownerProgress?: GroupOwnerProgress[];
}

/** An owner's confirmation state in one phrase. */
export function ownerState(o: GroupOwnerProgress): { text: string; type: 'success' | 'warning' | 'info' | 'danger' } {
  if (o.failedTasks > 0 && o.confirmedTasks === 0 && o.waitingTasks === 0) return { text: '企业微信拒绝了任务', type: 'danger' };
  if (o.waitingTasks > 0) return { text: '待群主在群发助手确认', type: 'warning' };
  if (o.pendingTasks > 0) return { text: '待提交到企业微信', type: 'info' };
  if (o.confirmedTasks > 0) return { text: '群主已发送', type: 'success' };
  // Withdrawn or never submitted because the broadcast was cancelled (docs/groups.md §Cancelling a group broadcast).
  if ((o.rows.cancelled ?? 0) > 0) return { text: '已取消', type: 'info' };
  return { text: '已结束', type: 'info' };
}
