// 群SOP in the console: the API's shapes and the words the tab shows for them (docs/groups.md §Group SOP).

import type { SopAction, SopOperation, SopOutcome, SopSchedule, SopStep as DomainStep, SopTarget } from '../../../domain/group-sop/group-sop.types';

export type { SopAction, SopOperation, SopOutcome, SopSchedule, SopTarget };

/** A step as the editor holds it: a new one has no id yet. */
export type SopStep = Omit<DomainStep, 'id'> & { id?: string };

export interface SopQuota {
  rule: string;
  posts: number;
  limit: number;
  level: 'ok' | 'exhausts' | 'exceeds';
  warning: string | null;
}

export interface SopPlan {
  id: string;
  name: string;
  isPaused: boolean;
  target: SopTarget;
  schedule: SopSchedule;
  steps: SopStep[];
  windowMinutes: number;
  groupCount: number;
  quota: SopQuota;
  /** What this period's remaining posts leave of the groups' quota, by the bot's count of what they received. */
  groupsQuota: { sends: number; exhausted: number; over: number; warning: string | null } | null;
  createdAt: string;
  updatedAt: string;
}

export interface SopReportLine {
  stepId: string;
  stepTitle: string;
  action: SopAction;
  chatId: string;
  chatName: string;
  owner: string | null;
  fireAt: string;
  outcome: SopOutcome;
  doneAt: string | null;
  reason: string | null;
}

export interface SopReport {
  from: string;
  to: string;
  steps: { stepId: string; title: string; action: SopAction; done: number; late: number; missed: number; pending: number }[];
  items: SopReportLine[];
  total: number;
}

export const SOP_ACTION: Record<SopAction, string> = { post: '群发到群', remind: '提醒群主' };
export const SOP_OPERATION: Record<SopOperation, string> = { notice: '发布群公告', at_all: '@所有人', other: '其他群主操作' };
export const SOP_OUTCOME: Record<SopOutcome, string> = { done: '已完成', late: '超时完成', missed: '未完成', pending: '进行中' };
export const SOP_OUTCOME_TYPE: Record<SopOutcome, 'success' | 'warning' | 'danger' | 'info'> = { done: 'success', late: 'warning', missed: 'danger', pending: 'info' };
const WEEKDAY = ['', '一', '二', '三', '四', '五', '六', '日'];

/** 每天 20:00 / 工作日 / 周一、周三 / 建群后第 1、3、7 天. */
export function scheduleText(p: Pick<SopPlan, 'schedule' | 'steps'>): string {
  const times = [...new Set(p.steps.map((s) => s.time))].sort().join('、');
  if (p.schedule.kind === 'relative') return `建群后第 ${[...new Set(p.steps.map((s) => s.day ?? 0))].sort((a, b) => a - b).join('、')} 天`;
  const d = p.schedule.weekdays;
  const days = d.length === 7 ? '每天' : d.join() === '1,2,3,4,5' ? '工作日' : d.join() === '6,7' ? '周末' : d.map((x) => `周${WEEKDAY[x]}`).join('、');
  return `${days} ${times}`;
}

/** 群主 zhangsan 等 · 群名含「门店」 · ≥ 10 人 · 指定 3 个群; 全部群 when nothing narrows. */
export function targetText(t: SopTarget, staffName: (userid: string) => string, labelName: (id: string) => string): string {
  const parts: string[] = [];
  if (t.owners?.length) parts.push(`群主 ${t.owners.slice(0, 3).map(staffName).join('、')}${t.owners.length > 3 ? ` 等 ${t.owners.length} 位` : ''}`);
  if (t.labelIds?.length) parts.push(`标签 ${t.labelIds.map(labelName).join('、')}`);
  if (t.namePattern) parts.push(`群名含「${t.namePattern}」`);
  if (t.minMembers !== undefined && t.maxMembers !== undefined) parts.push(`${t.minMembers}–${t.maxMembers} 人`);
  else if (t.minMembers !== undefined) parts.push(`≥ ${t.minMembers} 人`);
  else if (t.maxMembers !== undefined) parts.push(`≤ ${t.maxMembers} 人`);
  if (t.chatIds?.length) parts.push(`指定 ${t.chatIds.length} 个群`);
  return parts.length > 0 ? parts.join(' · ') : '全部客户群';
}
