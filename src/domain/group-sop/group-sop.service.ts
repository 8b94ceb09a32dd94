import type { GroupSopRepository } from '../../persistence/repositories/group-sop.repository.js';
import type { Clock } from '../../shared/clock.js';
import { NotFoundError, invalidField } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { addDays, localDate, zonedTimeToUtc } from '../../shared/dates.js';
import type { OpaqueLinks } from '../../shared/opaque-link.js';
import type { MassQuotaRule } from '../delivery/frequency-caps.js';
import type { SopPlanInput, SopPlanPatch } from './group-sop.schema.js';
import type { SopAction, SopFire, SopGroup, SopOperation, SopOutcome, SopPlan, SopStep } from './group-sop.types.js';
import { dueFires, fireTimes, outcomeOf } from './sop-schedule.js';
import { sopQuotaUse, type SopQuotaUse } from './sop-quota.js';

/** What the plan's remaining posts this period would leave of its groups' quota (the group broadcasts' forecast). */
export interface SopGroupsQuota {
  /** Posts the plan still makes to each group in the current period. */
  sends: number;
  exhausted: number;
  over: number;
  warning: string | null;
}

/** A plan with what the editor shows next to it. */
export interface SopPlanView extends SopPlan {
  quota: SopQuotaUse;
  /** Null when the plan posts nothing more this period (or posts by group age, which differs per group). */
  groupsQuota: SopGroupsQuota | null;
  /** How many groups the target names now. */
  groupCount: number;
}

/** One line of a plan's report: a step, a group, a fire time and how it went. */
export interface SopReportLine {
  stepId: string;
  stepTitle: string;
  action: SopAction;
  chatId: string;
  chatName: string;
  owner: string | null;
  fireAt: Date;
  outcome: SopOutcome;
  doneAt: Date | null;
  reason: string | null;
}

/** A plan's report over a range of local days, per step and group, with the totals per step. */
export interface SopReport {
  from: string;
  to: string;
  lines: SopReportLine[];
  steps: { stepId: string; title: string; action: SopAction; done: number; late: number; missed: number; pending: number }[];
}

/** A step due today in one group (the group sidebar's list). */
export interface SopDueStep {
  planId: string;
  planName: string;
  stepId: string;
  title: string;
  action: SopAction;
  operation: SopOperation | null;
  text: string;
  dueAt: Date;
  windowMinutes: number;
  /** Before its time: `upcoming`; after, the report's outcome. */
  outcome: SopOutcome | 'upcoming';
}

/** What the owner's reminder link opens: their groups of one step and time, each with its state. */
export interface SopLinkView {
  planName: string;
  step: SopStep;
  fireAt: Date;
  windowMinutes: number;
  groups: { chatId: string; name: string; outcome: SopOutcome; doneAt: Date | null }[];
}

/** Why a reminder link opens nothing. */
export type SopLinkRefusal = 'malformed' | 'tampered' | 'expired' | 'gone';

/** What the service reads besides its own tables. */
export interface GroupSopServiceDeps {
  repo: GroupSopRepository;
  /** The groups a target names now (the group archive). */
  groups: (target: SopPlan['target']) => Promise<SopGroup[]>;
  links: OpaqueLinks;
  clock: Clock;
  tz: string;
  /** The corp's mass-message rule (care settings' massQuotaRule). */
  massQuotaRule: MassQuotaRule;
  /** The group broadcasts' quota forecast: how `sends` more messages this period leave these groups, and its period's end. */
  forecast?: (chatIds: string[], sends: number) => Promise<{ exhausted: number; over: number; warning: string | null }>;
  /** When the current quota period ends. */
  periodEnd?: (at: Date) => Date;
}

/** Longest report range, in days. */
export const SOP_REPORT_MAX_DAYS = 62;

/**
 * 群 SOP plans: create, edit, pause, resume, delete; the report per step and group; the steps due today in a group
 * (for the group sidebar); the owner's reminder page (docs/groups.md §Group SOP).
 */
export class GroupSopService {
  constructor(private readonly d: GroupSopServiceDeps) {}

  /** Every plan with its quota use and group count. */
  async list(): Promise<SopPlanView[]> {
    return Promise.all((await this.d.repo.listPlans()).map((p) => this.view(p)));
  }

  /** One plan; NotFoundError when there is none. */
  async get(id: string): Promise<SopPlanView> {
    return this.view(await this.plan(id));
  }

  /** The quota warning for a plan being edited, before it is saved. */
  quotaOf(plan: { schedule: SopPlan['schedule']; steps: (Omit<SopStep, 'id'> & { id?: string })[] }): SopQuotaUse {
    const steps = plan.steps.map((s, i) => ({ ...s, id: s.id ?? `unsaved-${i}` }));
    return sopQuotaUse({ schedule: plan.schedule, steps }, this.d.massQuotaRule, this.d.clock.now(), this.d.tz);
  }

  /** Store a new plan; it fires from now on (earlier fire times are not its). */
  async create(input: SopPlanInput, createdBy: string | null): Promise<SopPlanView> {
    this.checkTarget(input.target);
    const now = this.d.clock.now();
    const plan: SopPlan = {
      id: newId(now.getTime()),
      name: input.name,
      isPaused: input.isPaused,
      target: input.target,
      schedule: input.schedule,
      steps: withIds(checkSteps(input.schedule.kind, input.steps), []),
      windowMinutes: input.windowMinutes,
      activeSince: now,
      scannedUntil: now,
      createdBy,
      createdAt: now,
      updatedAt: now,
    };
    await this.d.repo.insertPlan(plan);
    return this.view(plan);
  }

  /**
   * Change a plan. Steps keep their ids when the editor sends them back, so their reports continue; a resumed plan
   * fires from now on, and the fires it slept through are not reported as missed.
   */
  async update(id: string, patch: SopPlanPatch): Promise<SopPlanView> {
    const old = await this.plan(id);
    if (patch.target) this.checkTarget(patch.target);
    const now = this.d.clock.now();
    const schedule = patch.schedule ?? old.schedule;
    const steps = patch.steps ? withIds(checkSteps(schedule.kind, patch.steps), old.steps) : checkSteps(schedule.kind, old.steps);
    const isResumed = old.isPaused && patch.isPaused === false;
    const plan: SopPlan = {
      ...old,
      name: patch.name ?? old.name,
      isPaused: patch.isPaused ?? old.isPaused,
      target: patch.target ?? old.target,
      schedule,
      steps: steps as SopStep[],
      windowMinutes: patch.windowMinutes ?? old.windowMinutes,
      activeSince: isResumed ? now : old.activeSince,
      scannedUntil: isResumed ? now : old.scannedUntil,
      updatedAt: now,
    };
    await this.d.repo.updatePlan(plan);
    return this.view(plan);
  }

  /** Delete a plan and its report. */
  async remove(id: string): Promise<void> {
    if (!(await this.d.repo.deletePlan(id))) throw new NotFoundError(`没有这个群SOP计划 / no group SOP plan ${id}`);
  }

  /** A plan's report over local days [from, to] (at most SOP_REPORT_MAX_DAYS), per step and group. */
  async report(id: string, range: { from?: string; to?: string }): Promise<SopReport> {
    const plan = await this.plan(id);
    const now = this.d.clock.now();
    const to = range.to ?? localDate(now, this.d.tz);
    const from = range.from ?? addDays(to, -6);
    if (from > to) throw invalidField('from', '开始日期不能晚于结束日期');
    if (addDays(from, SOP_REPORT_MAX_DAYS - 1) < to) throw invalidField('to', `报告最多 ${SOP_REPORT_MAX_DAYS} 天`);
    const fires = await this.d.repo.firesOfPlan(plan.id, zonedTimeToUtc(from, '00:00', this.d.tz), zonedTimeToUtc(addDays(to, 1), '00:00', this.d.tz));
    const names = await this.d.repo.groupNames([...new Set(fires.map((f) => f.chatId))]);
    const stepOf = new Map(plan.steps.map((s) => [s.id, s]));
    const lines: SopReportLine[] = fires.map((f) => {
      const s = stepOf.get(f.stepId);
      return {
        stepId: f.stepId,
        stepTitle: s?.title ?? '已删除的步骤',
        action: s?.action ?? 'post',
        chatId: f.chatId,
        chatName: names.get(f.chatId)?.name ?? '',
        owner: f.owner,
        fireAt: f.fireAt,
        outcome: outcomeOf(f, plan.windowMinutes, now),
        doneAt: f.doneAt,
        reason: f.reason ?? pendingReason(f, plan.windowMinutes, now),
      };
    });
    const totals = new Map<string, SopReport['steps'][number]>();
    for (const s of plan.steps) totals.set(s.id, { stepId: s.id, title: s.title, action: s.action, done: 0, late: 0, missed: 0, pending: 0 });
    for (const l of lines) {
      const t = totals.get(l.stepId) ?? { stepId: l.stepId, title: l.stepTitle, action: l.action, done: 0, late: 0, missed: 0, pending: 0 };
      t[l.outcome] += 1;
      totals.set(l.stepId, t);
    }
    return { from, to, lines, steps: [...totals.values()] };
  }

  /**
   * The SOP steps due today (local) in one group, across active plans that target it, with how each went so far:
   * what the group sidebar shows (docs/groups.md §In the sidebar).
   */
  async dueToday(chatId: string): Promise<SopDueStep[]> {
    const now = this.d.clock.now();
    const today = localDate(now, this.d.tz);
    const start = zonedTimeToUtc(today, '00:00', this.d.tz);
    const end = zonedTimeToUtc(addDays(today, 1), '00:00', this.d.tz);
    const [group] = await this.d.groups({ chatIds: [chatId] });
    if (!group) return [];
    const fired = new Map((await this.d.repo.firesOfChat(chatId, start, end)).map((f) => [`${f.planId}|${f.stepId}|${f.fireAt.getTime()}`, f]));
    const out: SopDueStep[] = [];
    for (const plan of await this.d.repo.activePlans()) {
      if (plan.target.chatIds?.length && !plan.target.chatIds.includes(chatId)) continue;
      if ((await this.d.groups({ ...plan.target, chatIds: [chatId] })).length === 0) continue;
      for (const step of plan.steps) {
        // A time before the plan was created or resumed is not the plan's (it never fires), so it is not listed.
        const from = new Date(Math.max(start.getTime() - 1, plan.activeSince.getTime()));
        for (const at of fireTimes(plan.schedule, step, group, from, new Date(end.getTime() - 1), this.d.tz)) {
          const f = fired.get(`${plan.id}|${step.id}|${at.getTime()}`);
          out.push({
            planId: plan.id,
            planName: plan.name,
            stepId: step.id,
            title: step.title,
            action: step.action,
            operation: step.operation ?? null,
            text: step.text,
            dueAt: at,
            windowMinutes: plan.windowMinutes,
            outcome: f ? outcomeOf(f, plan.windowMinutes, now) : at.getTime() > now.getTime() ? 'upcoming' : outcomeOf({ fireAt: at, doneAt: null, status: 'claimed' }, plan.windowMinutes, now),
          });
        }
      }
    }
    return out.sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime());
  }

  /** What an owner's reminder link shows. */
  async openLink(token: string): Promise<{ ok: true; view: SopLinkView; linkId: string } | { ok: false; reason: SopLinkRefusal }> {
    const v = this.d.links.verify(token, this.d.clock.now());
    if (!v.ok) return v;
    const fires = await this.d.repo.firesOfLink(v.linkId);
    const plan = fires.length > 0 ? await this.d.repo.findPlan(fires[0].planId) : null;
    const step = plan?.steps.find((s) => s.id === fires[0].stepId);
    if (!plan || !step) return { ok: false, reason: 'gone' };
    const names = await this.d.repo.groupNames(fires.map((f) => f.chatId));
    const now = this.d.clock.now();
    return {
      ok: true,
      linkId: v.linkId,
      view: {
        planName: plan.name,
        step,
        fireAt: fires[0].fireAt,
        windowMinutes: plan.windowMinutes,
        groups: fires.map((f) => ({ chatId: f.chatId, name: names.get(f.chatId)?.name || '未命名群', outcome: outcomeOf(f, plan.windowMinutes, now), doneAt: f.doneAt })),
      },
    };
  }

  /** The owner confirms they did the step in `chatIds` (every group of the link when empty). */
  async confirmLink(token: string, chatIds: string[]): Promise<{ ok: true; view: SopLinkView } | { ok: false; reason: SopLinkRefusal }> {
    const o = await this.openLink(token);
    if (!o.ok) return o;
    const fires = await this.d.repo.firesOfLink(o.linkId);
    const chosen = fires.filter((f) => (chatIds.length === 0 || chatIds.includes(f.chatId)) && !f.doneAt);
    if (chosen.length > 0) await this.d.repo.markDone(chosen.map((f) => f.id), this.d.clock.now());
    const again = await this.openLink(token);
    return again.ok ? { ok: true, view: again.view } : again;
  }

  private checkTarget(t: SopPlan['target']): void {
    if (t.minMembers !== undefined && t.maxMembers !== undefined && t.minMembers > t.maxMembers) throw invalidField('target.minMembers', '最少人数不能大于最多人数');
  }

  private async plan(id: string): Promise<SopPlan> {
    const p = await this.d.repo.findPlan(id);
    if (!p) throw new NotFoundError(`没有这个群SOP计划 / no group SOP plan ${id}`);
    return p;
  }

  private async view(p: SopPlan): Promise<SopPlanView> {
    const groups = await this.d.groups(p.target);
    return { ...p, quota: this.quotaOf(p), groupCount: groups.length, groupsQuota: await this.groupsQuota(p, groups) };
  }

  /**
   * A recurring plan's posts still to come this quota period, against what its groups have used (members' own sends
   * included, as far as the bot knows them): the editor's second warning (docs/groups.md §Quota).
   */
  private async groupsQuota(p: SopPlan, groups: SopGroup[]): Promise<SopGroupsQuota | null> {
    if (!this.d.forecast || !this.d.periodEnd || p.isPaused || p.schedule.kind !== 'recurring' || groups.length === 0) return null;
    const now = this.d.clock.now();
    const posts = { schedule: p.schedule, steps: p.steps.filter((s) => s.action === 'post') };
    const sends = dueFires(posts, [{ chatId: '-', name: '', owner: null, createdAt: null }], now, this.d.periodEnd(now), this.d.tz).length;
    if (sends === 0) return null;
    const f = await this.d.forecast(groups.map((g) => g.chatId), sends);
    return { sends, exhausted: f.exhausted, over: f.over, warning: f.warning };
  }
}

/** Steps checked against the schedule: a relative plan's steps need their day, a recurring plan's have none. */
function checkSteps<T extends { day?: number; action: SopAction; operation?: SopOperation }>(kind: 'recurring' | 'relative', steps: T[]): T[] {
  return steps.map((s, i) => {
    if (kind === 'relative' && s.day === undefined) throw invalidField(`steps.${i}.day`, '按建群天数的计划，每个步骤都要填写第几天');
    return kind === 'recurring' ? { ...s, day: undefined } : s;
  });
}

/** Give new steps ids; a step sent back with a known id keeps it. */
function withIds(steps: (Omit<SopStep, 'id'> & { id?: string })[], old: SopStep[]): SopStep[] {
  const known = new Set(old.map((s) => s.id));
  return steps.map((s) => ({ ...s, id: s.id && known.has(s.id) ? s.id : newId() }));
}

/** The reason shown for a fire still waiting: what it waits for. */
function pendingReason(f: SopFire, windowMinutes: number, now: Date): string | null {
  const outcome = outcomeOf(f, windowMinutes, now);
  if (outcome === 'done' || outcome === 'late') return null;
  const late = outcome === 'missed';
  switch (f.status) {
    case 'posted':
      return late ? '群主未在窗口内确认发送' : '等待群主在企业微信确认发送';
    case 'reminded':
      return late ? '群主未在窗口内确认完成' : '已提醒群主，等待确认完成';
    case 'claimed':
      return late ? '执行未成功' : '执行中';
    default:
      return null;
  }
}
