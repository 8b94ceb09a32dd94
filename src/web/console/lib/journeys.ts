// 客户旅程 pages' shapes (GET/POST /api/v1/journeys…) and words, and the editor's form ↔ definition conversion
// (docs/journeys.md). No UI here. The definition's types are the server's own (type-only: nothing of it is bundled).
import type { JourneyDefinition, JourneyGroupStats, JourneyStep, JourneyTrigger, StepDelay } from '../../../domain/journeys/journey.types';
import { ACTIVITY, STAGE } from './labels';

export type { JourneyDefinition, JourneyStep, JourneyTrigger, StepDelay };

/** A journey as GET /api/v1/journeys(/:id) answers (the list carries the current version's definition too). */
export interface Journey {
  id: string;
  name: string;
  status: 'draft' | 'active' | 'paused' | 'archived';
  statusWords: string;
  currentVersion: number;
  reentry: 'never' | 'after_days';
  reentryDays: number | null;
  reentryWords: string;
  holdoutPercent: number;
  transferPolicy: 'follow' | 'stop';
  transferWords: string;
  conversionDays: number;
  priority: number;
  activatedAt: string | null;
  createdAt: string;
  updatedAt: string;
  definition?: JourneyDefinition;
  triggerWords?: string;
  steps?: { index: number; kind: JourneyStep['kind']; kindWords: string; title: string; delayWords: string }[];
  /** The list's counts of treated members (the holdout left out), as the journey's stats count them. */
  counts?: { entered: number; active: number; converted: number };
  versions?: { version: number; createdBy: string | null; createdAt: string }[];
  newVersion?: number | null;
}

export interface JourneyStatsAnswer {
  journeyId: string;
  conversionDays: number;
  holdoutPercent: number;
  treated: JourneyGroupStats;
  holdout: JourneyGroupStats;
  lift: number | null;
  exitReasonList: { reason: string; words: string; n: number }[];
  steps: { stepIndex: number; kind: string; kindWords: string; title: string; reached: number; done: number; waiting: number; skipped: number; failed: number; exitedList: { reason: string; words: string; n: number }[] }[];
}

export interface Membership {
  id: number;
  version: number;
  externalUserId: string;
  ownerUserid: string | null;
  status: 'active' | 'completed' | 'exited';
  statusWords: string;
  exitReason: string | null;
  exitWords: string | null;
  enteredBy: string;
  enteredAt: string;
  currentStep: number;
  nextDueAt: string | null;
  isHoldout: boolean;
  entryNumber: number;
  endedAt: string | null;
}

export const STATUS_TAG: Record<Journey['status'], 'info' | 'success' | 'warning' | 'danger'> = { draft: 'info', active: 'success', paused: 'warning', archived: 'danger' };

/** Which status moves the list offers from each status (the server allows the same). */
export const MOVES: Record<Journey['status'], { to: Journey['status']; words: string }[]> = {
  draft: [
    { to: 'active', words: '启用' },
    { to: 'archived', words: '归档' },
  ],
  active: [
    { to: 'paused', words: '暂停' },
    { to: 'archived', words: '归档' },
  ],
  paused: [
    { to: 'active', words: '启用' },
    { to: 'archived', words: '归档' },
  ],
  archived: [],
};

export const TRIGGER_KINDS: { kind: JourneyTrigger['kind']; words: string }[] = [
  { kind: 'channel', words: '通过渠道添加好友' },
  { kind: 'tag_added', words: '被打上标签' },
  { kind: 'stage', words: '生命周期阶段/活跃度变为' },
  { kind: 'first_order', words: '首次下单' },
  { kind: 'survey', words: '满意度调查评分' },
  { kind: 'birthday', words: '生日前 N 天' },
  { kind: 'audience', words: '进入人群' },
  { kind: 'manual', words: '仅手动加入' },
];

export const STEP_KINDS: { kind: JourneyStep['kind']; words: string }[] = [
  { kind: 'message', words: '自动消息' },
  { kind: 'task', words: '员工任务' },
  { kind: 'tag', words: '打标签/移除标签' },
  { kind: 'wait', words: '等待条件' },
];

/** A trigger in words, with the names of what it points at (channels and tags by id). */
export function triggerText(t: JourneyTrigger | undefined, names: { channels: Map<string, string>; tags: Map<string, string> }): string {
  if (!t) return '—';
  const list = (ids: string[], m: Map<string, string>) => ids.map((id) => m.get(id) ?? '（已删除）').join('、');
  switch (t.kind) {
    case 'channel':
      return `通过渠道「${list(t.channelIds, names.channels)}」添加好友`;
    case 'tag_added':
      return `被打上标签「${list(t.tagIds, names.tags)}」`;
    case 'stage':
      return t.field === 'stage' ? `生命周期阶段变为「${STAGE[t.value] ?? t.value}」` : `活跃度变为「${ACTIVITY[t.value] ?? t.value}」`;
    case 'first_order':
      return '首次下单';
    case 'survey':
      return `满意度调查评分 ${t.minScore}–${t.maxScore} 分`;
    case 'birthday':
      return t.daysBefore === 0 ? '生日当天' : `生日前 ${t.daysBefore} 天`;
    case 'audience':
      return `进入人群：${t.audience}`;
    case 'manual':
      return '仅手动加入';
  }
}

/** How the editor holds a step's delay. */
export interface DelayForm {
  mode: 'now' | 'after' | 'at';
  amount: number;
  unit: 'minute' | 'hour' | 'day';
  days: number;
  time: string;
}

const UNIT_MINUTES = { minute: 1, hour: 60, day: 1440 } as const;

export function delayToForm(d: StepDelay): DelayForm {
  if (d.kind === 'at') return { mode: 'at', amount: 1, unit: 'day', days: d.days, time: d.time };
  if (d.minutes === 0) return { mode: 'now', amount: 1, unit: 'day', days: 1, time: '10:00' };
  const unit = d.minutes % 1440 === 0 ? 'day' : d.minutes % 60 === 0 ? 'hour' : 'minute';
  return { mode: 'after', amount: d.minutes / UNIT_MINUTES[unit], unit, days: 1, time: '10:00' };
}

export function formToDelay(f: DelayForm): StepDelay {
  if (f.mode === 'now') return { kind: 'after', minutes: 0 };
  if (f.mode === 'at') return { kind: 'at', days: f.days, time: f.time };
  return { kind: 'after', minutes: Math.round(f.amount * UNIT_MINUTES[f.unit]) };
}

/** A step as the editor holds it: every field any kind has, sent only for its kind. */
export interface StepForm {
  key: number;
  kind: JourneyStep['kind'];
  title: string;
  delay: DelayForm;
  text: string;
  attachments: AttachmentForm[];
  /** 素材库 items sent after the text and attachments. */
  contentIds: string[];
  dueHours: number;
  add: string[];
  remove: string[];
  until: 'ordered' | 'has_tag' | 'stage';
  untilTagId: string;
  untilField: 'stage' | 'activity';
  untilValue: string;
  timeoutHours: number;
  onTimeout: 'continue' | 'exit';
}

export interface AttachmentForm {
  kind: 'image' | 'link';
  title: string;
  url: string;
  picUrl: string;
}

let keys = 0;
export function newStep(kind: JourneyStep['kind'] = 'message'): StepForm {
  return {
    key: ++keys,
    kind,
    title: '',
    delay: { mode: 'now', amount: 1, unit: 'day', days: 1, time: '10:00' },
    text: '',
    attachments: [],
    contentIds: [],
    dueHours: 24,
    add: [],
    remove: [],
    until: 'ordered',
    untilTagId: '',
    untilField: 'stage',
    untilValue: '',
    timeoutHours: 72,
    onTimeout: 'continue',
  };
}

export function stepToForm(s: JourneyStep): StepForm {
  const f = newStep(s.kind);
  f.title = s.title;
  f.delay = delayToForm(s.delay);
  if (s.kind === 'message' || s.kind === 'task') {
    f.text = s.text;
    f.contentIds = [...(s.contentIds ?? [])];
    f.attachments = (s.attachments ?? []).flatMap((a): AttachmentForm[] => {
      const x = a as { kind: string; title?: string; url?: string; picUrl?: string };
      return x.kind === 'image' || x.kind === 'link' ? [{ kind: x.kind, title: x.title ?? '', url: x.url ?? '', picUrl: x.picUrl ?? '' }] : [];
    });
  }
  if (s.kind === 'task') f.dueHours = s.dueHours;
  if (s.kind === 'tag') {
    f.add = [...s.add];
    f.remove = [...s.remove];
  }
  if (s.kind === 'wait') {
    f.until = s.until.kind;
    if (s.until.kind === 'has_tag') f.untilTagId = s.until.tagId;
    if (s.until.kind === 'stage') {
      f.untilField = s.until.field;
      f.untilValue = s.until.value;
    }
    f.timeoutHours = s.timeoutHours;
    f.onTimeout = s.onTimeout;
  }
  return f;
}

function attachmentsOf(f: StepForm) {
  return f.attachments.map((a) => (a.kind === 'image' ? { kind: 'image' as const, picUrl: a.picUrl.trim() } : { kind: 'link' as const, title: a.title.trim(), url: a.url.trim(), ...(a.picUrl.trim() ? { picUrl: a.picUrl.trim() } : {}) }));
}

export function formToStep(f: StepForm): JourneyStep {
  const base = { title: f.title, delay: formToDelay(f.delay) };
  switch (f.kind) {
    case 'message':
      return { kind: 'message', ...base, text: f.text, attachments: attachmentsOf(f), contentIds: f.contentIds };
    case 'task':
      return { kind: 'task', ...base, text: f.text, attachments: attachmentsOf(f), contentIds: f.contentIds, dueHours: f.dueHours };
    case 'tag':
      return { kind: 'tag', ...base, add: f.add, remove: f.remove };
    case 'wait':
      return {
        kind: 'wait',
        ...base,
        until: f.until === 'has_tag' ? { kind: 'has_tag', tagId: f.untilTagId } : f.until === 'stage' ? { kind: 'stage', field: f.untilField, value: f.untilValue } : { kind: 'ordered' },
        timeoutHours: f.timeoutHours,
        onTimeout: f.onTimeout,
      };
  }
}

/** A delay in words, as the server's delayWords says it (shown under each step while editing). */
export function delayText(d: StepDelay): string {
  if (d.kind === 'at') return d.days === 0 ? `当天 ${d.time}` : d.days === 1 ? `次日 ${d.time}` : `${d.days} 天后 ${d.time}`;
  const m = d.minutes;
  if (m === 0) return '立即';
  if (m % 1440 === 0) return `${m / 1440} 天后`;
  if (m % 60 === 0) return `${m / 60} 小时后`;
  return `${m} 分钟后`;
}

export const percent = (rate: number) => `${(Math.round(rate * 1000) / 10).toFixed(1)}%`;
