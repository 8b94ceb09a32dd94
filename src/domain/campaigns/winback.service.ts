import { localDate } from '../../shared/dates.js';
import type { DbEngine } from '../../persistence/data-source.js';
import { scanWhere, type CareScanRepository } from '../../persistence/repositories/care-scan.repository.js';
import type { SqlCondition } from '../care/care-scan.types.js';
import type { CampaignEnrolmentRepository } from '../../persistence/repositories/campaign-enrolment.repository.js';
import type { CampaignStats } from './enrolment.types.js';
import type { CareRuleRepository } from '../../persistence/repositories/care-rule.repository.js';
import { addDays, daysBetween, zonedTimeToUtc } from '../../shared/dates.js';
import type { Logger } from '../../shared/logger.js';
import { renderTemplate } from '../../shared/template.js';
import { ValidationError } from '../../shared/errors.js';
import { compileAudienceWithTags } from '../audiences/audience.compiler.js';
import type { AudienceTagLookup } from '../audiences/audience.tags.js';
import { parseAudience } from '../audiences/index.js';
import type { CareRule } from '../care/care-rule.types.js';
import type { MessageAttachment } from '../../wecom/client/types.js';
import type { PlanSink } from '../delivery/delivery-ledger.js';
import { classifyActivity, silenceStart, type Activity, type ActivityThresholds } from './activity.js';
import { yieldToEventLoop } from '../../shared/yield.js';

/** Counts of a classification pass. */
export interface ScoringCounts {
  scanned: number;
  changed: number;
  active: number;
  dormant: number;
  churned: number;
}

/** Counts of a win-back pass. */
export interface WinbackCounts {
  campaigns: number;
  enrolled: number;
  reactivated: number;
  planned: number;
  skipped: number;
  duplicate: number;
  completed: number;
}

/** Settings. */
export interface WinbackSettings {
  tz: string;
  pageSize: number;
  senderPolicy: 'latest' | 'earliest';
  activity: ActivityThresholds;
}

// After the last step, an enrolment stays open this many days so a late reply still counts as reactivated.
const OBSERVATION_DAYS = 14;

/**
 * Win-back: classifies every customer's activity, enrols customers who entered `dormant` into each enabled
 * win-back rule (once per silence), runs the rule's steps day by day through the delivery ledger, and lets
 * customers leave as `reactivated` as soon as they interact again.
 */
export class WinbackService {
  constructor(
    private readonly scan: CareScanRepository,
    private readonly enrolments: CampaignEnrolmentRepository,
    private readonly rules: CareRuleRepository,
    /** The live tags an audience's `tag:` values mean (TagRepository.liveTagsNamed), read once per rule and run. */
    private readonly tags: AudienceTagLookup,
    private readonly engine: DbEngine,
    private readonly settings: WinbackSettings,
    private readonly log: Logger,
    /** Since when each of these customers is 高风险 (epoch ms; docs/churn.md §Win-back): the cycle of a churn-risk entry. */
    private readonly riskSince: (ids: string[]) => Promise<Map<string, number>> = async () => new Map(),
  ) {}

  /** Classify every customer (streamed), writing only changes. A dry run counts without writing. */
  async classify(today: string, now: Date, isDryRun = false): Promise<ScoringCounts> {
    const counts: ScoringCounts = { scanned: 0, changed: 0, active: 0, dormant: 0, churned: 0 };
    for await (const page of this.scan.stream([], this.settings.pageSize)) {
      const related = await this.scan.withActiveRelation(page.map((c) => c.externalUserId));
      const moves = new Map<Activity, string[]>();
      for (const c of page) {
        counts.scanned += 1;
        const activity = classifyActivity({ ...c, hasActiveRelation: related.has(c.externalUserId) }, today, this.settings.tz, this.settings.activity);
        counts[activity] += 1;
        if (activity === c.activity) continue;
        const ids = moves.get(activity) ?? [];
        ids.push(c.externalUserId);
        moves.set(activity, ids);
      }
      for (const [activity, ids] of moves) counts.changed += isDryRun ? ids.length : await this.scan.setActivities(ids, activity, now);
    }
    return counts;
  }

  /** Run every enabled win-back rule for `today`: exits, enrolments, due steps. */
  async run(input: { today: string; now: Date; sink: PlanSink; isDryRun: boolean; report?: (line: string) => void }): Promise<WinbackCounts> {
    const counts: WinbackCounts = { campaigns: 0, enrolled: 0, reactivated: 0, planned: 0, skipped: 0, duplicate: 0, completed: 0 };
    for (const rule of await this.rules.list({ enabledOnly: true, kind: 'winback' })) {
      counts.campaigns += 1;
      const entry = rule.occasion.type === 'winback' ? (rule.occasion.entry ?? 'dormant') : 'dormant';
      if (!input.isDryRun) counts.reactivated += await this.enrolments.exitReactivated(rule.id, input.now, entry);
      await this.enrol(rule, input, counts);
      if (!input.isDryRun) await this.runSteps(rule, input, counts);
    }
    return counts;
  }

  /** A campaign's enrolled / messaged / sent / reactivated / rate, of the enrolments begun in `period` (local dates). */
  async stats(rule: CareRule, period: { from?: string; to?: string } = {}): Promise<CampaignStats> {
    if (rule.occasion.type !== 'winback') throw new ValidationError('只有唤醒规则有活动统计 / only win-back rules have campaign stats');
    return this.enrolments.stats(rule.id, period);
  }

  private async enrol(rule: CareRule, input: { today: string; now: Date; isDryRun: boolean; report?: (l: string) => void }, counts: WinbackCounts): Promise<void> {
    // Who enters: dormant customers, once per silence (the cycle is when they last interacted), or (docs/churn.md
    // §Win-back) customers whose churn risk reached the threshold, once per crossing (the cycle is the day they crossed).
    const entry = rule.occasion.type === 'winback' ? (rule.occasion.entry ?? 'dormant') : 'dormant';
    const conds: SqlCondition[] = [entry === 'churn_risk' ? scanWhere.atRisk() : scanWhere.dormant(), scanWhere.notOptedOut()];
    // Tag names resolved to ids once per rule and run (docs/audiences.md §Tag names become ids).
    if (rule.audience) conds.push(await compileAudienceWithTags(parseAudience(rule.audience), this.tags, { engine: this.engine, today: input.today, timezone: this.settings.tz, now: input.now.getTime() }));
    for await (const page of this.scan.stream(conds, this.settings.pageSize)) {
      const since = entry === 'churn_risk' ? await this.riskSince(page.map((c) => c.externalUserId)) : null;
      for (const c of page) {
        const crossed = since?.get(c.externalUserId);
        const cycle = since ? (crossed === undefined ? null : localDate(new Date(crossed), this.settings.tz)) : silenceStart(c, this.settings.tz);
        if (!cycle) continue;
        const isNew = input.isDryRun
          ? !(await this.enrolments.isEnrolled(rule.id, c.externalUserId, cycle))
          : await this.enrolments.enrol(rule.id, c.externalUserId, cycle, input.today, input.now);
        if (isNew) {
          counts.enrolled += 1;
          input.report?.(`入组 enrol\t${rule.name}\t${c.externalUserId}\tsilent since ${cycle}`);
        }
      }
    }
  }

  private async runSteps(rule: CareRule, input: { today: string; now: Date; sink: PlanSink; report?: (l: string) => void }, counts: WinbackCounts): Promise<void> {
    if (rule.occasion.type !== 'winback') return;
    const steps = rule.occasion.steps;
    const { tz } = this.settings;
    let after = 0;
    for (;;) {
      await yieldToEventLoop();
      const page = await this.enrolments.activePage(rule.id, after, this.settings.pageSize);
      if (page.length === 0) return;
      after = page[page.length - 1].id;
      const customers = await this.scan.byIds(page.map((e) => e.externalUserId));
      const senders = await this.scan.sendersOf(page.map((e) => e.externalUserId), this.settings.senderPolicy);
      for (const e of page) {
        const day = daysBetween(e.enrolledDate, input.today);
        const next = e.lastStep + 1;
        if (next >= steps.length) {
          if (day >= steps[steps.length - 1].day + OBSERVATION_DAYS) {
            await this.enrolments.complete(e.id, input.now);
            counts.completed += 1;
          }
          continue;
        }
        const step = steps[next];
        const customer = customers.get(e.externalUserId);
        if (day < step.day || !customer) continue;
        const sender = senders.get(e.externalUserId) ?? null;
        const outcome = await input.sink.plan({
          source: `winback:${rule.id}`,
          kind: 'winback',
          ruleId: rule.id,
          externalUserId: e.externalUserId,
          occasion: `step:${next}:${e.cycle}`,
          channel: step.channel,
          priority: rule.priority,
          senderUserid: sender?.userid ?? null,
          text: renderTemplate(step.template, { name: customer.name, staff: sender?.name ?? '', days: day }),
          attachments: step.attachments as unknown as MessageAttachment[],
          localDate: input.today,
          notBefore: zonedTimeToUtc(input.today, rule.sendTime, tz),
          // A win-back step may wait a little (quiet hours, a full day's cap elsewhere) but not into the next step.
          expiresAt: zonedTimeToUtc(addDays(input.today, 3), '00:00', tz),
          // The campaign's holdout is drawn per customer, not per step: a held-out customer gets no step at all.
          holdoutPercent: rule.holdoutPercent,
        });
        if (outcome.result === 'planned') counts.planned += 1;
        else if (outcome.result === 'skipped') counts.skipped += 1;
        else counts.duplicate += 1;
        await this.enrolments.advance(e.id, e.lastStep, next, outcome.result === 'planned' && step.channel !== 'staff_reminder');
        input.report?.(`步骤 step ${next}\t${rule.name}\t${e.externalUserId}\t${outcome.result}`);
      }
      if (page.length < this.settings.pageSize) return;
    }
  }
}
