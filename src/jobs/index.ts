import type { CareSettings } from '../domain/care/care-settings.js';
import type { CarePlanner } from '../domain/care/care-planner.js';
import type { CapSettings } from '../domain/delivery/delivery-ledger.js';
import type { DeliveryDispatcher } from '../domain/delivery/delivery-dispatcher.js';
import type { DeliveryResultsService } from '../domain/delivery/delivery-results.service.js';
import type { WinbackService } from '../domain/campaigns/winback.service.js';
import type { ScoringService } from '../domain/scoring/scoring.service.js';
import type { BehaviourTaggingService } from '../domain/tags/behaviour-tagging.service.js';
import type { BroadcastPlanner } from '../domain/broadcasts/broadcast-planner.js';
import type { FullSyncService } from '../domain/customers/full-sync.service.js';
import type { RetentionService } from '../domain/privacy/retention.service.js';
import type { StaffMessenger } from '../domain/notify/staff-messenger.js';
import type { TransferResultsService } from '../domain/transfers/transfer-results.service.js';
import type { CareRuleRepository } from '../persistence/repositories/care-rule.repository.js';
import type { DeliveryRepository } from '../persistence/repositories/delivery.repository.js';
import type { SendSlotRepository } from '../persistence/repositories/send-slot.repository.js';
import type { AnalyticsRollupService } from '../domain/analytics/analytics-rollup.service.js';
import type { RetentionRollupService } from '../domain/analytics/retention-rollup.service.js';
import type { StaffStatsService } from '../domain/analytics/staff-stats.service.js';
import type { ReachRollupService } from '../domain/analytics/reach-rollup.service.js';
import type { Clock } from '../shared/clock.js';
import type { JobDefinition } from './job.types.js';
import { careJob } from './care.job.js';
import { winbackJob } from './winback.job.js';
import { scoringJob } from './scoring.job.js';
import type { RepurchaseService } from '../domain/repurchase/repurchase.service.js';
import { broadcastsJob } from './broadcasts.job.js';
import { deliveryResultsJob } from './delivery-results.job.js';
import { syncJob } from './sync.job.js';
import { retentionJob } from './retention.job.js';
import { staffDigestJob } from './staff-digest.job.js';
import { transfersJob } from './transfers.job.js';
import type { GroupTransferService } from '../domain/transfers/group-transfer.service.js';
import type { GroupStatsService } from '../domain/analytics/group-stats.service.js';
import { bulkTagsJob } from './bulk-tags.job.js';
import type { BulkTaggingService } from '../domain/customers/bulk-tagging.service.js';
import { analyticsJob } from './analytics.job.js';
import { loyaltyJob } from './loyalty.job.js';
import type { LoyaltyService } from '../domain/loyalty/loyalty.service.js';
import { surveysJob, type SurveysJobDeps } from './surveys.job.js';
import { feedbackJob } from './feedback.job.js';
import { churnJob } from './churn.job.js';
import type { ChurnRiskService } from '../domain/churn/churn-risk.service.js';
import type { FeedbackService } from '../domain/feedback/feedback.service.js';
import { groupSopJob } from './group-sop.job.js';
import { journeysJob, journeysNightlyJob } from './journeys.job.js';
import type { JourneyRunner } from '../domain/journeys/journey-runner.js';
import { todoDigestJob } from './todo-digest.job.js';
import type { GroupSopRunner } from '../domain/group-sop/group-sop-runner.js';
import { groupBroadcastsJob } from './group-broadcasts.job.js';
import type { GroupBroadcastSender } from '../domain/group-broadcasts/group-broadcast.sender.js';
import type { GroupQuotaService } from '../domain/group-broadcasts/group-quota.service.js';
import { contentMediaJob } from './content-media.job.js';
import type { ContentMediaService } from '../domain/content/content-media.service.js';

/** What the jobs run on: built by the composition root (src/container.ts) and handed over whole. */
export interface JobDeps {
  settings: CareSettings;
  tz: string;
  caps: CapSettings;
  careRules: CareRuleRepository;
  deliveries: DeliveryRepository;
  slots: SendSlotRepository;
  carePlanner: CarePlanner;
  broadcastPlanner: BroadcastPlanner;
  dispatcher: DeliveryDispatcher;
  results: DeliveryResultsService;
  winback: WinbackService;
  scoring: ScoringService;
  /** Predicted next orders, after the segments they shrink toward (docs/repurchase.md); absent in tests that build no archive. */
  repurchase?: Pick<RepurchaseService, 'refreshAll'>;
  behaviourTags: BehaviourTaggingService;
  fullSync: Pick<FullSyncService, 'run'>;
  retention: RetentionService;
  messenger: Pick<StaffMessenger, 'flushDigests'>;
  transferResults: TransferResultsService;
  /** 客户群继承: settled by the `transfers` job (docs/groups.md §Group transfers). */
  groupTransfers?: Pick<GroupTransferService, 'settle'>;
  /** 群聊数据统计, pulled by the `analytics` job (docs/groups.md §Group statistics). */
  groupStats?: GroupStatsService;
  bulkTags: Pick<BulkTaggingService, 'resumeAbandoned'>;
  analytics: AnalyticsRollupService;
  /** Retention cohorts and churn analysis, rolled by the `analytics` job (docs/analytics.md §Retention cohorts). */
  retentionAnalytics?: RetentionRollupService;
  /** Staff performance: WeCom's per-member figures and the bot's own (docs/analytics.md §Staff performance). */
  staffStats?: StaffStatsService;
  /** Care and campaign results, rolled by the `analytics` job (docs/analytics.md §Care and campaign results). */
  reach?: ReachRollupService;
  /** The nightly analytics parts run side by side (MySQL: the server's work, on its own connections). */
  analyticsSideBySide?: boolean;
  /** The real clock: the analytics snapshot is of the state now, whatever time a run stands for. */
  clock: Clock;
  /** 积分与会员: the nightly expiry and tier pass (docs/loyalty.md §The nightly job). */
  loyalty?: Pick<LoyaltyService, 'expireAll' | 'evaluateAll'>;
  /** 满意度调查: invitations by trigger (docs/surveys.md §Triggers). */
  surveys?: Pick<SurveysJobDeps, 'surveys' | 'sender'>;
  /** 客户反馈处理: owner notices and SLA escalation (docs/feedback.md §SLA and escalation). */
  feedback?: Pick<FeedbackService, 'runPending'>;
  /** 流失预警: the nightly churn-risk scores (docs/churn.md §The nightly job). */
  churn?: Pick<ChurnRiskService, 'scoreAll' | 'threshold'>;
  /** 群SOP: plans for customer groups (docs/groups.md §Group SOP). */
  groupSop?: Pick<GroupSopRunner, 'runDue'>;
  /** 客户旅程: the per-minute tick and the nightly entries (docs/journeys.md §The tick). */
  journeys?: Pick<JourneyRunner, 'tick' | 'nightly'>;
  /** 今日待办's morning digest (docs/todo.md §Morning digest), under this instance's id. */
  todo?: { sendDigests: () => Promise<Record<string, number>> };
  /** 客户群群发: group tasks and the groups' quota (docs/groups.md §Group broadcasts). */
  groupBroadcasts?: { sender: GroupBroadcastSender; quota: Pick<GroupQuotaService, 'reconcile'> };
  /** 素材库: WeCom media re-made before it expires (docs/content.md §Media lifecycle). */
  contentMedia?: Pick<ContentMediaService, 'refresh'>;
  /** Today's care run again when media deferred rules (the content-media job calls it after its refresh). */
  retryDeferredCare?: () => Promise<'done' | 'failed' | null>;
  /** 入群欢迎语 templates parked for an item's media, tried again after the refresh (the content-media job). */
  retryWaitingWelcomes?: () => Promise<{ retried: number; live: number }>;
}

/**
 * Every scheduled job, complete: its schedule next to its body. The order is the order of `wecom-ops job list`.
 * The scheduler reads this table when it starts; schedules come from config/care.json `schedules` (CareSettings).
 */
export function buildJobs(d: JobDeps): JobDefinition[] {
  const { settings, tz, caps } = d;
  const schedules = settings.schedules;
  return [
    careJob({ rules: d.careRules, deliveries: d.deliveries, slots: d.slots, planner: d.carePlanner, dispatcher: d.dispatcher, caps, careTime: settings.careTime, tz }),
    winbackJob({ winback: d.winback, deliveries: d.deliveries, slots: d.slots, dispatcher: d.dispatcher, caps, schedule: schedules.winback, tz }),
    scoringJob({ winback: d.winback, scoring: d.scoring, repurchase: d.repurchase, behaviourTags: d.behaviourTags, schedule: schedules.scoring, tz }),
    ...(d.churn ? [churnJob({ churn: d.churn, schedule: schedules.churn })] : []),
    broadcastsJob({ planner: d.broadcastPlanner, deliveries: d.deliveries, slots: d.slots, dispatcher: d.dispatcher, caps, schedule: schedules.broadcasts }),
    deliveryResultsJob({ dispatcher: d.dispatcher, results: d.results, schedule: schedules['delivery-results'], reach: d.reach, clock: d.clock }),
    ...(d.groupBroadcasts ? [groupBroadcastsJob({ ...d.groupBroadcasts, schedule: schedules['group-broadcasts'] })] : []),
    syncJob({ fullSync: d.fullSync, schedule: schedules.sync }),
    retentionJob({ retention: d.retention, settings: settings.retention, schedule: schedules.retention }),
    staffDigestJob({ messenger: d.messenger, schedule: schedules['staff-digest'] }),
    transfersJob({ results: d.transferResults, groups: d.groupTransfers, schedule: schedules.transfers }),
    bulkTagsJob({ bulkTags: d.bulkTags, schedule: schedules['bulk-tags'] }),
    analyticsJob({ rollup: d.analytics, schedule: schedules.analytics, tz, clock: d.clock, retention: d.retentionAnalytics, staff: d.staffStats, groups: d.groupStats, reach: d.reach, sideBySide: d.analyticsSideBySide }),
    ...(d.loyalty ? [loyaltyJob({ loyalty: d.loyalty, schedule: schedules.loyalty })] : []),
    ...(d.surveys ? [surveysJob({ ...d.surveys, deliveries: d.deliveries, slots: d.slots, dispatcher: d.dispatcher, caps, schedule: schedules.surveys })] : []),
    ...(d.feedback ? [feedbackJob({ feedback: d.feedback, schedule: schedules.feedback })] : []),
    ...(d.groupSop ? [groupSopJob({ runner: d.groupSop, schedule: schedules['group-sop'] })] : []),
    ...(d.journeys ? [journeysJob({ runner: d.journeys, schedule: schedules.journeys }), journeysNightlyJob({ runner: d.journeys, schedule: schedules['journeys-nightly'], tz })] : []),
    ...(d.todo ? [todoDigestJob({ todo: d.todo, schedule: schedules['todo-digest'] })] : []),
    ...(d.contentMedia ? [contentMediaJob({ media: d.contentMedia, schedule: schedules['content-media'], retryDeferredCare: d.retryDeferredCare, retryWaitingWelcomes: d.retryWaitingWelcomes })] : []),
  ];
}
