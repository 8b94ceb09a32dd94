import type { Journey, JourneyMembership, JourneyStats, JourneyStep, JourneyVersion, StepRun } from '../../domain/journeys/journey.types.js';
import { EXIT_WORDS } from '../../domain/journeys/journey.service.js';
import { delayWords } from '../../domain/journeys/journey-schedule.js';

const STATUS_WORDS: Record<Journey['status'], string> = { draft: '草稿', active: '进行中', paused: '已暂停', archived: '已归档' };
const STEP_WORDS: Record<JourneyStep['kind'], string> = { message: '自动消息', task: '员工任务', tag: '标签变更', wait: '等待条件' };
const MEMBER_WORDS: Record<JourneyMembership['status'], string> = { active: '进行中', completed: '已完成', exited: '已退出' };
const RUN_WORDS: Record<StepRun['status'], string> = { claimed: '执行中', waiting: '等待结果', done: '已完成', skipped: '已跳过', failed: '失败' };
const TRIGGER_WORDS: Record<string, string> = {
  channel: '通过渠道添加',
  tag_added: '打上标签',
  stage: '阶段或活跃度变为',
  first_order: '首次下单',
  survey: '满意度调查评分',
  birthday: '生日前 N 天',
  audience: '进入人群',
  manual: '手动加入',
};

export function presentJourney(j: Journey, v?: JourneyVersion) {
  return {
    id: j.id,
    name: j.name,
    status: j.status,
    statusWords: STATUS_WORDS[j.status],
    currentVersion: j.currentVersion,
    reentry: j.reentry,
    reentryDays: j.reentryDays,
    reentryWords: j.reentry === 'never' ? '不再进入' : `结束 ${j.reentryDays} 天后可再次进入`,
    holdoutPercent: j.holdoutPercent,
    transferPolicy: j.transferPolicy,
    transferWords: j.transferPolicy === 'follow' ? '客户转接后跟随新负责人继续' : '客户转接后停止',
    conversionDays: j.conversionDays,
    priority: j.priority,
    activatedAt: j.activatedAt?.toISOString() ?? null,
    createdBy: j.createdBy,
    createdAt: j.createdAt.toISOString(),
    updatedAt: j.updatedAt.toISOString(),
    ...(v
      ? {
          definition: v.definition,
          triggerWords: TRIGGER_WORDS[v.definition.trigger.kind],
          steps: v.definition.steps.map((s, i) => ({ index: i, kind: s.kind, kindWords: STEP_WORDS[s.kind], title: s.title, delayWords: delayWords(s.delay) })),
        }
      : {}),
  };
}

export function presentMembership(m: JourneyMembership) {
  return {
    id: m.id,
    journeyId: m.journeyId,
    version: m.version,
    externalUserId: m.externalUserId,
    ownerUserid: m.ownerUserid,
    status: m.status,
    statusWords: MEMBER_WORDS[m.status],
    exitReason: m.exitReason,
    exitWords: m.exitReason ? EXIT_WORDS[m.exitReason] : null,
    enteredBy: m.enteredBy,
    enteredAt: m.enteredAt.toISOString(),
    currentStep: m.currentStep,
    nextDueAt: m.nextDueAt?.toISOString() ?? null,
    isHoldout: m.isHoldout,
    entryNumber: m.entryNumber,
    endedAt: m.endedAt?.toISOString() ?? null,
  };
}

export function presentRun(r: StepRun) {
  return {
    stepIndex: r.stepIndex,
    kind: r.kind,
    kindWords: STEP_WORDS[r.kind],
    status: r.status,
    statusWords: RUN_WORDS[r.status],
    attempts: r.attempts,
    deliveryId: r.deliveryId,
    taskId: r.taskId,
    result: r.result,
    actedAt: r.actedAt?.toISOString() ?? null,
    doneAt: r.doneAt?.toISOString() ?? null,
  };
}

export function presentJourneyStats(s: JourneyStats) {
  const words = (by: Record<string, number>) => Object.entries(by).map(([reason, n]) => ({ reason, words: EXIT_WORDS[reason as keyof typeof EXIT_WORDS] ?? reason, n }));
  return {
    ...s,
    exitReasonList: words(s.exitReasons),
    steps: s.steps.map((st) => ({ ...st, kindWords: STEP_WORDS[st.kind], exitedList: words(st.exited) })),
  };
}
