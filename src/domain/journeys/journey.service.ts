import type { JourneyRepository } from '../../persistence/repositories/journey.repository.js';
import type { Clock } from '../../shared/clock.js';
import { ConflictError, NotFoundError, ValidationError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import type { Logger } from '../../shared/logger.js';
import { isHeldOut } from '../delivery/holdout.js';
import { stepDueAt } from './journey-schedule.js';
import { journeyInput, type JourneyInput, type JourneyPatch } from './journey.schema.js';
import { winbackJourney } from './journey-templates.js';
import type { CareRule } from '../care/care-rule.types.js';
import type { Enrolment } from '../campaigns/enrolment.types.js';
import { addDays, zonedTimeToUtc } from '../../shared/dates.js';
import type {
  ExitReason,
  Journey,
  JourneyDefinition,
  JourneyGroupStats,
  JourneyMembership,
  JourneyStats,
  JourneyStatus,
  JourneyStepStats,
  JourneyVersion,
  StepRun,
} from './journey.types.js';

/** Which status may follow which (archived is final). */
const MOVES: Record<JourneyStatus, JourneyStatus[]> = {
  draft: ['active', 'archived'],
  active: ['paused', 'archived'],
  paused: ['active', 'archived'],
  archived: [],
};

const STATUS_WORDS: Record<JourneyStatus, string> = { draft: '草稿', active: '进行中', paused: '已暂停', archived: '已归档' };

/** Exit reasons in words (the API shows these, never the codes alone). */
export const EXIT_WORDS: Record<ExitReason, string> = {
  replied: '客户已回复',
  ordered: '客户已下单',
  tag_removed: '标签已移除',
  opted_out: '客户已退订',
  relation_deleted: '好友关系已删除',
  transferred: '客户已转接',
  wait_timeout: '等待超时',
  journey_archived: '旅程已归档',
  manual: '手动移出',
  // Set by a customer's erasure (docs/journeys.md §Erasure), never by the tick.
  erased: '客户资料已删除',
};

/** The ports journeys need from other features, written in the container. */
export interface JourneyServicePorts {
  /** The owner a customer's messages go from (the care settings' sender policy), or none. */
  ownerOf(ids: string[]): Promise<Map<string, string>>;
  /** Customers among `ids` that exist in the archive. */
  known(ids: string[]): Promise<Set<string>>;
  /** 素材库: refuses unknown items or more than 9 attachments in all, with the reason in zh-CN (docs/content.md). */
  checkContent(ids: string[], extraAttachments: number): Promise<void>;
  /** The win-back campaigns a journey can be made from (docs/journeys.md §Win-back as a journey). */
  winback: {
    rule(id: string): Promise<CareRule | null>;
    activeEnrolments(ruleId: string): Promise<Enrolment[]>;
    /** The campaign stops: the rule is disabled and these enrolments end as completed (their history stays). */
    retire(ruleId: string, enrolmentIds: number[], now: Date): Promise<void>;
  };
  /** Give back the ledger rows a leaving member will not need (planned, not yet sent). */
  cancelDeliveries(ids: number[], reason: string, now: Date): Promise<void>;
  /** Withdraw the leaving members' open staff tasks from their owners' to-do lists (docs/todo.md §Withdrawn tasks). */
  withdrawTasks(membershipIds: number[], reason: string): Promise<number>;
}

/**
 * Journeys (客户旅程, docs/journeys.md): definitions and their versions, entering and leaving, and the stats. The
 * tick (JourneyRunner) advances members; this service decides who enters and who leaves.
 */
export class JourneyService {
  private readonly versionCache = new Map<string, JourneyVersion>();

  constructor(
    private readonly repo: JourneyRepository,
    private readonly ports: JourneyServicePorts,
    private readonly clock: Clock,
    private readonly tz: string,
    private readonly log: Logger,
  ) {}

  statusWords(s: JourneyStatus): string {
    return STATUS_WORDS[s];
  }

  async list(): Promise<Journey[]> {
    return this.repo.list();
  }

  async get(id: string): Promise<{ journey: Journey; version: JourneyVersion; versions: { version: number; createdBy: string | null; createdAt: Date }[] }> {
    const journey = await this.repo.find(id);
    if (!journey) throw new NotFoundError('没有这个旅程');
    const version = await this.version(id, journey.currentVersion);
    return { journey, version, versions: await this.repo.versions(id) };
  }

  /** A version's definition (versions never change, so they are cached). */
  async version(journeyId: string, v: number): Promise<JourneyVersion> {
    const k = `${journeyId}:${v}`;
    let hit = this.versionCache.get(k);
    if (!hit) {
      const found = await this.repo.version(journeyId, v);
      if (!found) throw new NotFoundError(`旅程没有第 ${v} 版`);
      this.versionCache.set(k, (hit = found));
    }
    return hit;
  }

  /** Content items of message and task steps are checked when saved, not when sent. */
  private async checkSteps(def: JourneyDefinition): Promise<void> {
    for (const s of def.steps) if ((s.kind === 'message' || s.kind === 'task') && s.contentIds && s.contentIds.length > 0) await this.ports.checkContent(s.contentIds, s.attachments.length);
  }

  async create(input: JourneyInput, by: string | null): Promise<Journey> {
    await this.checkSteps(input.definition as JourneyDefinition);
    const now = this.clock.now();
    const j: Journey = {
      id: newId(now.getTime()),
      name: input.name,
      status: 'draft',
      currentVersion: 1,
      reentry: input.reentry,
      reentryDays: input.reentry === 'after_days' ? input.reentryDays : null,
      holdoutPercent: input.holdoutPercent,
      transferPolicy: input.transferPolicy,
      conversionDays: input.conversionDays,
      priority: input.priority,
      activatedAt: null,
      createdBy: by,
      createdAt: now,
      updatedAt: now,
    };
    await this.repo.insert(j, { journeyId: j.id, version: 1, definition: input.definition as JourneyDefinition, createdBy: by, createdAt: now });
    return j;
  }

  /** Change settings; a definition makes the next version (members already inside stay on theirs). */
  async update(id: string, patch: JourneyPatch, by: string | null): Promise<{ journey: Journey; newVersion: number | null }> {
    const { journey } = await this.get(id);
    if (journey.status === 'archived') throw new ConflictError('已归档的旅程不能再修改');
    if (patch.definition) await this.checkSteps(patch.definition as JourneyDefinition);
    const now = this.clock.now();
    const next: Journey = {
      ...journey,
      name: patch.name ?? journey.name,
      reentry: patch.reentry ?? journey.reentry,
      reentryDays: patch.reentryDays !== undefined ? patch.reentryDays : journey.reentryDays,
      holdoutPercent: patch.holdoutPercent ?? journey.holdoutPercent,
      transferPolicy: patch.transferPolicy ?? journey.transferPolicy,
      conversionDays: patch.conversionDays ?? journey.conversionDays,
      priority: patch.priority ?? journey.priority,
      updatedAt: now,
    };
    if (next.reentry === 'after_days' && !next.reentryDays) throw new ValidationError('选择 N 天后可再进入时请填写天数');
    if (next.reentry === 'never') next.reentryDays = null;
    let version: JourneyVersion | null = null;
    if (patch.definition) {
      version = { journeyId: id, version: journey.currentVersion + 1, definition: patch.definition as JourneyDefinition, createdBy: by, createdAt: now };
      next.currentVersion = version.version;
    }
    if (!(await this.repo.update(next, version))) throw new ConflictError('旅程刚被其他人修改，请刷新后重试');
    return { journey: next, newVersion: version?.version ?? null };
  }

  /** Activate, pause or archive. Archiving ends every active membership with reason `journey_archived`. */
  async setStatus(id: string, status: JourneyStatus): Promise<Journey> {
    const { journey } = await this.get(id);
    if (journey.status === status) return journey;
    if (!MOVES[journey.status].includes(status)) throw new ConflictError(`旅程${STATUS_WORDS[journey.status]}，不能改为${STATUS_WORDS[status]}`);
    const now = this.clock.now();
    const next: Journey = { ...journey, status, updatedAt: now, activatedAt: status === 'active' && !journey.activatedAt ? now : journey.activatedAt };
    await this.repo.update(next, null);
    if (status === 'archived') {
      for (;;) {
        const page = await this.repo.members(id, { status: 'active', limit: 500, offset: 0 });
        if (page.items.length === 0) break;
        await this.exitMembers(page.items, 'journey_archived', now);
      }
    }
    return next;
  }

  /**
   * Enter one customer, if the journey is active and its re-entry policy allows (docs/journeys.md §Entering). The
   * UNIQUE (journey, customer, entry number) key makes two simultaneous entries one. Answers the membership or null.
   */
  async enter(journey: Journey, externalUserId: string, by: string, now: Date, owner?: string | null): Promise<JourneyMembership | null> {
    if (journey.status !== 'active') return null;
    const latest = await this.repo.latestEntry(journey.id, externalUserId);
    if (latest) {
      if (latest.status === 'active') return null;
      if (journey.reentry === 'never') return null;
      const since = (latest.endedAt ?? latest.enteredAt).getTime();
      if (now.getTime() < since + (journey.reentryDays ?? 0) * 86_400_000) return null;
    }
    const version = await this.version(journey.id, journey.currentVersion);
    const first = version.definition.steps[0];
    const ownerUserid = owner ?? (await this.ports.ownerOf([externalUserId])).get(externalUserId) ?? null;
    const m = {
      journeyId: journey.id,
      version: journey.currentVersion,
      externalUserId,
      ownerUserid,
      enteredBy: by,
      enteredAt: now,
      stepSince: now,
      nextDueAt: stepDueAt(first.delay, now, this.tz),
      // The same draw the ledger makes for the journey's messages (docs/analytics.md §Holdout).
      isHoldout: isHeldOut('journey', journey.id, externalUserId, journey.holdoutPercent),
      entryNumber: (latest?.entryNumber ?? 0) + 1,
    };
    if (!(await this.repo.enter(m))) return null;
    return this.repo.latestEntry(journey.id, externalUserId);
  }

  /** Enrol a selection by hand: answers how many entered and why the others did not. */
  async enrol(id: string, externalUserIds: string[]): Promise<{ entered: number; already: number; unknown: string[] }> {
    const { journey } = await this.get(id);
    if (journey.status !== 'active') throw new ConflictError(`旅程${STATUS_WORDS[journey.status]}，启用后才能加入客户`);
    const ids = [...new Set(externalUserIds)];
    const known = await this.ports.known(ids);
    const owners = await this.ports.ownerOf(ids.filter((x) => known.has(x)));
    const now = this.clock.now();
    let entered = 0;
    let already = 0;
    for (const ext of ids) {
      if (!known.has(ext)) continue;
      if (await this.enter(journey, ext, 'manual', now, owners.get(ext) ?? null)) entered += 1;
      else already += 1;
    }
    return { entered, already, unknown: ids.filter((x) => !known.has(x)) };
  }

  /** Move active members (all, or these) to the journey's newest version; they go on from the step they are at. */
  async migrate(id: string, membershipIds?: number[]): Promise<{ moved: number; version: number }> {
    const { journey } = await this.get(id);
    return { moved: await this.repo.migrate(id, journey.currentVersion, membershipIds), version: journey.currentVersion };
  }

  /** The journey a win-back campaign would become, for the editor to start from (nothing is saved). */
  async winbackTemplate(ruleId: string): Promise<JourneyInput> {
    const rule = await this.ports.winback.rule(ruleId);
    if (!rule || rule.occasion.type !== 'winback') throw new NotFoundError('没有这个唤醒活动');
    return journeyInput.parse(winbackJourney(rule));
  }

  /**
   * Turn a win-back campaign into a journey with its data kept (docs/journeys.md §Win-back as a journey): the journey
   * is made from the template and activated; each customer still inside the campaign becomes a member at the step
   * after the last one the campaign ran (nothing is sent twice), due on the campaign's own schedule; the rule is
   * disabled and those enrolments end as completed, so the campaign's history and stats stay as they were.
   */
  async fromWinback(ruleId: string, by: string | null): Promise<{ journey: Journey; moved: number }> {
    const input = await this.winbackTemplate(ruleId);
    const rule = (await this.ports.winback.rule(ruleId))!;
    const created = await this.create(input, by);
    const journey = await this.setStatus(created.id, 'active');
    const steps = input.definition.steps;
    const now = this.clock.now();
    const enrolments = await this.ports.winback.activeEnrolments(ruleId);
    const owners = await this.ports.ownerOf(enrolments.map((e) => e.externalUserId));
    let moved = 0;
    const done: number[] = [];
    for (const e of enrolments) {
      const next = e.lastStep + 1;
      done.push(e.id);
      // Past the last step: the campaign had nothing more to send them.
      if (next >= steps.length || rule.occasion.type !== 'winback') continue;
      const day = rule.occasion.steps[next].day;
      const due = zonedTimeToUtc(addDays(e.enrolledDate, day), rule.sendTime, this.tz);
      const entered = await this.repo.enter({
        journeyId: journey.id,
        version: journey.currentVersion,
        externalUserId: e.externalUserId,
        ownerUserid: owners.get(e.externalUserId) ?? null,
        enteredBy: 'winback',
        enteredAt: e.enrolledAt,
        stepSince: now,
        nextDueAt: due.getTime() < now.getTime() ? now : due,
        isHoldout: isHeldOut('journey', journey.id, e.externalUserId, journey.holdoutPercent),
        entryNumber: 1,
        currentStep: next,
      });
      if (entered) moved += 1;
    }
    await this.ports.winback.retire(ruleId, done, now);
    this.log.info({ ruleId, journeyId: journey.id, moved }, 'win-back campaign became a journey');
    return { journey, moved };
  }

  /**
   * End memberships early; their planned, unsent messages are given back to the ledger and their open staff tasks
   * leave the owners' to-do lists (a staff member is not asked to greet a customer who already ordered).
   */
  async exitMembers(ms: JourneyMembership[], reason: ExitReason, now: Date): Promise<number> {
    if (ms.length === 0) return 0;
    const ended = await this.repo.exit(ms.map((m) => m.id), reason, now);
    if (ended.length > 0) {
      const planned = await this.repo.plannedDeliveriesOf(ended);
      if (planned.length > 0) await this.ports.cancelDeliveries(planned, `cancelled: 客户已退出旅程（${EXIT_WORDS[reason]}）`, now);
      await this.ports.withdrawTasks(ended, `客户已退出旅程（${EXIT_WORDS[reason].replace(/^客户/, '')}）`);
      this.log.info({ reason, n: ended.length }, 'journey members exited');
    }
    return ended.length;
  }

  /**
   * A reply, seen by the bot (WeChat-KF) or marked by staff (the sidebar's 客户已回复): every active membership
   * of the customer in a journey whose exit rules include replies ends with reason `replied`.
   */
  async replied(externalUserId: string, now: Date, known?: JourneyMembership[]): Promise<number> {
    // `known`: the customer's active memberships, read for a whole batch of signals by the caller.
    const active = known ?? (await this.repo.activeOf([externalUserId]));
    const leaving: JourneyMembership[] = [];
    for (const m of active) if ((await this.version(m.journeyId, m.version)).definition.exits.replied) leaving.push(m);
    return this.exitMembers(leaving, 'replied', now);
  }

  /** One member with their step runs. */
  async member(journeyId: string, membershipId: number): Promise<{ membership: JourneyMembership; runs: StepRun[] }> {
    const m = await this.repo.membership(membershipId);
    if (!m || m.journeyId !== journeyId) throw new NotFoundError('没有这位旅程成员');
    return { membership: m, runs: await this.repo.runsOf(m.id) };
  }

  /** Staff marked 客户已回复: the customer's memberships that exit on replies end now. */
  async markReplied(externalUserId: string): Promise<{ exited: number }> {
    return { exited: await this.replied(externalUserId, this.clock.now()) };
  }

  async members(id: string, opts: { status?: 'active' | 'completed' | 'exited'; page: number; pageSize: number }): Promise<{ items: JourneyMembership[]; total: number }> {
    await this.get(id);
    return this.repo.members(id, { status: opts.status, limit: opts.pageSize, offset: (opts.page - 1) * opts.pageSize });
  }

  /** Per journey, what the list shows: treated members entered, active and converted (as stats() counts them). */
  listCounts(): Promise<Map<string, { entered: number; active: number; converted: number }>> {
    return this.repo.listCounts();
  }

  /** Per step: reached, done, waiting, skipped, failed, and exits while it was next; converted against the holdout. */
  async stats(id: string): Promise<JourneyStats> {
    const { journey, version } = await this.get(id);
    const counts = await this.repo.memberCounts(id, journey.conversionDays);
    const group = (isHoldout: boolean): JourneyGroupStats => {
      const rows = counts.filter((c) => c.isHoldout === isHoldout);
      const sum = (f: (c: (typeof counts)[number]) => boolean, v: (c: (typeof counts)[number]) => number = (c) => c.n) => rows.filter(f).reduce((a, c) => a + v(c), 0);
      const entered = sum(() => true);
      const converted = sum(() => true, (c) => c.converted);
      return {
        entered,
        active: sum((c) => c.status === 'active'),
        completed: sum((c) => c.status === 'completed'),
        exited: sum((c) => c.status === 'exited'),
        converted,
        rate: entered === 0 ? 0 : Math.round((converted / entered) * 10_000) / 10_000,
      };
    };
    const treated = group(false);
    const holdout = group(true);
    const exitReasons: Record<string, number> = {};
    for (const c of counts) if (c.status === 'exited' && c.exitReason) exitReasons[c.exitReason] = (exitReasons[c.exitReason] ?? 0) + c.n;
    const runs = await this.repo.runCounts(id);
    // Steps are those of the current version; runs of older versions count at the same index.
    const steps: JourneyStepStats[] = version.definition.steps.map((s, i) => ({ stepIndex: i, kind: s.kind, title: s.title, reached: 0, done: 0, waiting: 0, skipped: 0, failed: 0, exited: {} }));
    for (const r of runs) {
      const s = steps[r.stepIndex];
      if (!s) continue;
      s.reached += r.n;
      if (r.status === 'done') s.done += r.n;
      else if (r.status === 'skipped') s.skipped += r.n;
      else if (r.status === 'failed') s.failed += r.n;
      else s.waiting += r.n;
    }
    for (const c of counts) {
      if (c.status !== 'exited' || !c.exitReason) continue;
      const s = steps[Math.min(c.currentStep, steps.length - 1)];
      if (s) s.exited[c.exitReason] = (s.exited[c.exitReason] ?? 0) + c.n;
    }
    return {
      journeyId: id,
      conversionDays: journey.conversionDays,
      holdoutPercent: journey.holdoutPercent,
      treated,
      holdout,
      lift: journey.holdoutPercent > 0 && holdout.entered > 0 ? Math.round((treated.rate - holdout.rate) * 10_000) / 100 : null,
      exitReasons,
      steps,
    };
  }
}
