// The composition root: the only file that wires. Three flat blocks, in order:
//   1. repositories: leaf objects over Db;
//   2. services: each gets everything through its constructor, in dependency order; what one feature needs of
//      another ("was this customer erased", "is a transfer open") is a constructor port, a plain function;
//   3. adapters: the event handlers (one ordered list), the jobs (src/jobs/index.ts), the HTTP routes
//      (src/http/routes/index.ts, only when the caller serves HTTP) and the background services.
// Nothing else builds services or reaches into a built container; tests change parts through BuildOptions.
import type { DataSource } from 'typeorm';
import { randomBytes, createHmac } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { dataDirOf } from './config/load.js';
import { Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { AppConfig } from './config/schema.js';
import { DEFAULT_FEEDBACK_RULES_FILE, DEFAULT_QUICK_REPLIES_FILE, DEFAULT_TAG_RULES_FILE } from './config/files.js';
import { installStatementDeadline } from './persistence/statement-deadline.js';
import { createDataSource, engineOf } from './persistence/data-source.js';
import { runMigrationsExclusively } from './persistence/migrate.js';
import { Db } from './persistence/db.js';
import { migrations } from '../migrations/index.js';
import { InboxRepository } from './persistence/repositories/inbox.repository.js';
import { TimelineRepository } from './persistence/repositories/timeline.repository.js';
import { ApiTokenRepository } from './persistence/repositories/api-token.repository.js';
import { AuthFailureRepository } from './persistence/repositories/auth-failure.repository.js';
import { SecretRepository } from './persistence/repositories/secret.repository.js';
import { WecomCredentialRepository } from './persistence/repositories/wecom-credential.repository.js';
import { WecomRateRepository } from './persistence/repositories/wecom-rate.repository.js';
import { CustomerRepository } from './persistence/repositories/customer.repository.js';
import { FollowRelationRepository } from './persistence/repositories/follow-relation.repository.js';
import { TagRepository } from './persistence/repositories/tag.repository.js';
import { ChannelRepository } from './persistence/repositories/channel.repository.js';
import { TagRuleRepository } from './persistence/repositories/tag-rule.repository.js';
import { KfCursorRepository } from './persistence/repositories/kf-cursor.repository.js';
import { GroupChatRepository } from './persistence/repositories/group-chat.repository.js';
import { SyncRunRepository } from './persistence/repositories/sync-run.repository.js';
import { StaffRepository } from './persistence/repositories/staff.repository.js';
import { TimelineSourceRepository } from './persistence/repositories/timeline-source.repository.js';
import { NoteRepository } from './persistence/repositories/note.repository.js';
import { OrderRepository } from './persistence/repositories/order.repository.js';
import { StaffMessageRepository } from './persistence/repositories/staff-message.repository.js';
import { SearchBudgetRepository } from './persistence/repositories/search-budget.repository.js';
import { ErasureRepository } from './persistence/repositories/erasure.repository.js';
import { TransferRepository } from './persistence/repositories/transfer.repository.js';
import { ContentRepository } from './persistence/repositories/content.repository.js';
import { ContentService } from './domain/content/content.service.js';
import type { GroupContentPort } from './domain/group-broadcasts/group-broadcast.types.js';
import { ContentMediaService } from './domain/content/content-media.service.js';
import { LocalDiskStorage, S3Storage, type ContentStorage } from './domain/content/storage/content-storage.js';
import { JobRunRepository } from './persistence/repositories/job-run.repository.js';
import { DeliveryRepository } from './persistence/repositories/delivery.repository.js';
import { DeliveryBatchRepository } from './persistence/repositories/delivery-batch.repository.js';
import { SendSlotRepository } from './persistence/repositories/send-slot.repository.js';
import { StaffRenameRepository } from './persistence/repositories/staff-rename.repository.js';
import { SealedValueRepository } from './persistence/repositories/sealed-value.repository.js';
import { InboxBacklogRepository } from './persistence/repositories/inbox-backlog.repository.js';
import { CareRuleRepository } from './persistence/repositories/care-rule.repository.js';
import { CareScanRepository } from './persistence/repositories/care-scan.repository.js';
import { CampaignEnrolmentRepository } from './persistence/repositories/campaign-enrolment.repository.js';
import { ScoringRepository } from './persistence/repositories/scoring.repository.js';
import { BehaviourTagRepository } from './persistence/repositories/behaviour-tag.repository.js';
import { RetentionRepository } from './persistence/repositories/retention.repository.js';
import { BroadcastRepository } from './persistence/repositories/broadcast.repository.js';
import { MemberRoleRepository } from './persistence/repositories/member-role.repository.js';
import { ConsoleSessionRepository } from './persistence/repositories/console-session.repository.js';
import { AuditLogRepository } from './persistence/repositories/audit-log.repository.js';
import { IdempotencyRepository } from './persistence/repositories/idempotency.repository.js';
import { InboxWriter } from './domain/inbox/inbox-writer.js';
import { InboxService } from './domain/inbox/inbox.service.js';
import { EventRouter, type EventHandler } from './domain/inbox/event-router.js';
import { InboxProcessor } from './domain/inbox/inbox-processor.js';
import { InboxBacklog } from './domain/inbox/inbox-backlog.js';
import { DeliveryLogService } from './domain/delivery/delivery-log.service.js';
import { ApiTokenService } from './domain/auth/api-token.service.js';
import { AuthThrottle } from './domain/auth/auth-throttle.js';
import { StaffAccessService } from './domain/auth/staff-access.service.js';
import { StaffSessionService } from './domain/auth/staff-session.service.js';
import { MemberRoleService } from './domain/auth/member-role.service.js';
import { ConsoleSessionService, CONSOLE_IDLE_MS } from './domain/auth/console-session.service.js';
import { AuditLogService } from './domain/audit/audit-log.service.js';
import { IdempotencyService } from './domain/audit/idempotency.service.js';
import { DataKeysService } from './domain/keys/data-keys.service.js';
import { TagLibraryService } from './domain/tags/tag-library.service.js';
import { CustomerTaggingService } from './domain/tags/customer-tagging.service.js';
import { TagRuleService } from './domain/tags/tag-rule.service.js';
import { BehaviourTaggingService } from './domain/tags/behaviour-tagging.service.js';
import { ChannelService } from './domain/channels/channel.service.js';
import { GroupCodeService } from './domain/groups/group-code.service.js';
import { GroupWelcomeService } from './domain/groups/group-welcome.service.js';
import { GroupCodeRepository } from './persistence/repositories/group-code.repository.js';
import { GroupWelcomeTemplateRepository } from './persistence/repositories/group-welcome-template.repository.js';
import { CustomerArchiveService } from './domain/customers/customer-archive.service.js';
import { ChurnService } from './domain/customers/churn.service.js';
import { StaffRenameService } from './domain/customers/staff-rename.service.js';
import { KfSyncService, type KfSyncPorts } from './domain/customers/kf-sync.service.js';
import { CustomerService } from './domain/customers/customer.service.js';
import { BulkTaggingService } from './domain/customers/bulk-tagging.service.js';
import { BulkTagJobRepository } from './persistence/repositories/bulk-tag-job.repository.js';
import { SearchBudget } from './domain/customers/search-budget.js';
import { FullSyncService } from './domain/customers/full-sync.service.js';
import { NoteService } from './domain/customers/note.service.js';
import { StaffService } from './domain/customers/staff.service.js';
import { OrderService } from './domain/orders/order.service.js';
import { StaffMessenger } from './domain/notify/staff-messenger.js';
import { ErasureService } from './domain/privacy/erasure.service.js';
import { RetentionService } from './domain/privacy/retention.service.js';
import { TransferService } from './domain/transfers/transfer.service.js';
import { TransferSettlement } from './domain/transfers/transfer-settlement.js';
import { TransferResultsService } from './domain/transfers/transfer-results.service.js';
import { GroupTransferService } from './domain/transfers/group-transfer.service.js';
import { GroupTransferRepository } from './persistence/repositories/group-transfer.repository.js';
import { GroupStatsService } from './domain/analytics/group-stats.service.js';
import { GroupSidebarService } from './domain/sidebar/group-sidebar.service.js';
import { GroupStatsRepository } from './persistence/repositories/group-stats.repository.js';
import { TransferCallbackHandler, TransferPresence } from './domain/transfers/transfer-callback.handler.js';
import { QuickReplyService } from './domain/quick-replies/quick-reply.service.js';
import { JssdkConfigService } from './domain/sidebar/jssdk-config.service.js';
import { loadCareConfig, type CareConfig, type CareSettings } from './domain/care/care-settings.js';
import { SettingsService } from './domain/settings/settings.service.js';
import { CareRuleService } from './domain/care/care-rule.service.js';
import { CARE_TEMPLATE_VARIABLES, CarePlanner } from './domain/care/care-planner.js';
import { CareCalendarService } from './domain/care/care-calendar.service.js';
import { DeliveryLedger, type CapSettings } from './domain/delivery/delivery-ledger.js';
import { LoyaltyRepository } from './persistence/repositories/loyalty.repository.js';
import { LoyaltyService } from './domain/loyalty/loyalty.service.js';
import { FeedbackRepository } from './persistence/repositories/feedback.repository.js';
import { FeedbackService } from './domain/feedback/feedback.service.js';
import { FeedbackRuleService } from './domain/feedback/feedback-rule.service.js';
import { GroupSopRepository } from './persistence/repositories/group-sop.repository.js';
import { StaffTaskRepository } from './persistence/repositories/staff-task.repository.js';
import { StaffTaskService } from './domain/todo/staff-task.service.js';
import { JourneyRepository } from './persistence/repositories/journey.repository.js';
import { JourneyService } from './domain/journeys/journey.service.js';
import { JourneyRunner } from './domain/journeys/journey-runner.js';
import type { JourneyTaskPort } from './domain/journeys/staff-task-port.types.js';
import type { MessageAttachment } from './wecom/client/types.js';
import { compileAudienceWithTags } from './domain/audiences/audience.compiler.js';
import { parseAudience } from './domain/audiences/index.js';
import { localDate as localDateOf } from './shared/dates.js';
import { TodoRepository } from './persistence/repositories/todo.repository.js';
import { TodoService } from './domain/todo/todo.service.js';
import { describeReminders, remindTasks } from './domain/broadcasts/broadcast-remind.service.js';
import { GroupSopService } from './domain/group-sop/group-sop.service.js';
import { GroupSopRunner, type SopLinks } from './domain/group-sop/group-sop-runner.js';
import type { GroupPostPort, SopGroup, SopTarget } from './domain/group-sop/group-sop.types.js';
import { sopTargetFilter } from './domain/group-sop/sop-target.js';
import { TierMessages } from './domain/loyalty/tier-messages.js';
import { linkKeyFrom } from './domain/loyalty/loyalty-link.js';
import { SurveyRepository } from './persistence/repositories/survey.repository.js';
import { SurveyService } from './domain/surveys/survey.service.js';
import { SurveySender } from './domain/surveys/survey-sender.js';
import { SurveyResultsService } from './domain/surveys/survey-results.service.js';
import { KfSessionSurveys } from './domain/surveys/kf-session-survey.js';
import { ChurnRiskRepository } from './persistence/repositories/churn-risk.repository.js';
import { ChurnRiskService } from './domain/churn/churn-risk.service.js';
import { ChurnCauseRepository } from './persistence/repositories/churn-cause.repository.js';
import { ChurnCauseService } from './domain/churn/churn-cause.service.js';
import { OpaqueLinks } from './shared/opaque-link.js';
import { DeliveryDispatcher } from './domain/delivery/delivery-dispatcher.js';
import { DeliveryResultsService } from './domain/delivery/delivery-results.service.js';
import { WinbackService } from './domain/campaigns/winback.service.js';
import { ScoringService } from './domain/scoring/scoring.service.js';
import { RepurchaseService } from './domain/repurchase/repurchase.service.js';
import { RepurchaseRepository } from './persistence/repositories/repurchase.repository.js';
import { BroadcastPlanner } from './domain/broadcasts/broadcast-planner.js';
import { BroadcastService } from './domain/broadcasts/broadcast.service.js';
import { BroadcastPreviewService } from './domain/broadcasts/broadcast-preview.service.js';
import { BroadcastProgressService } from './domain/broadcasts/broadcast-progress.service.js';
import { BroadcastImageService } from './domain/broadcasts/broadcast-image.service.js';
import { BroadcastRemindService } from './domain/broadcasts/broadcast-remind.service.js';
import { BroadcastReminderRepository } from './persistence/repositories/broadcast-reminder.repository.js';
import { GroupBroadcastRepository } from './persistence/repositories/group-broadcast.repository.js';
import { GroupBroadcastService } from './domain/group-broadcasts/group-broadcast.service.js';
import { GroupBroadcastSender } from './domain/group-broadcasts/group-broadcast.sender.js';
import { GroupQuotaService } from './domain/group-broadcasts/group-quota.service.js';
import { quotaWindow } from './domain/group-broadcasts/group-quota.js';
import { ContactAddedHandler } from './domain/customers/handlers/contact-added.handler.js';
import { AnalyticsRepository } from './persistence/repositories/analytics.repository.js';
import { AnalyticsRecorder } from './domain/analytics/analytics-recorder.js';
import { CounterFolder } from './domain/analytics/counter-folder.js';
import { CounterDeltaRepository } from './persistence/repositories/counter-delta.repository.js';
import { AnalyticsService } from './domain/analytics/analytics.service.js';
import { AnalyticsRollupService } from './domain/analytics/analytics-rollup.service.js';
import { AnalyticsRetentionRepository } from './persistence/repositories/analytics-retention.repository.js';
import { BASE_SLICE_CUSTOMERS, LossRecorder, RetentionRollupService, withLossProfile } from './domain/analytics/retention-rollup.service.js';
import { RetentionAnalyticsService } from './domain/analytics/retention.service.js';
import { StaffStatsRepository } from './persistence/repositories/staff-stats.repository.js';
import { StaffStatsService } from './domain/analytics/staff-stats.service.js';
import { StaffPerformanceService } from './domain/analytics/staff-performance.service.js';
import { ReachRepository } from './persistence/repositories/reach.repository.js';
import { ReachRollupService } from './domain/analytics/reach-rollup.service.js';
import { ReachService } from './domain/analytics/reach.service.js';
import { ContactEditedHandler } from './domain/customers/handlers/contact-edited.handler.js';
import { ContactLostHandler } from './domain/customers/handlers/contact-lost.handler.js';
import { TransferFailedHandler } from './domain/customers/handlers/transfer-failed.handler.js';
import { StaffDirectoryHandler } from './domain/customers/handlers/staff-directory.handler.js';
import { TagLibraryHandler } from './domain/customers/handlers/tag-library.handler.js';
import { GroupChatHandler } from './domain/groups/handlers/group-chat.handler.js';
import { GroupArchiveService } from './domain/groups/group-archive.service.js';
import { GroupSyncService } from './domain/groups/group-sync.service.js';
import { GroupService } from './domain/groups/group.service.js';
import { GroupLabelRepository } from './persistence/repositories/group-label.repository.js';
import { KfMessageHandler } from './domain/customers/handlers/kf-message.handler.js';
import { AppTextHandler } from './domain/customers/handlers/app-text.handler.js';
import { buildJobs } from './jobs/index.js';
import { JobRegistry } from './jobs/job-registry.js';
import { Scheduler, type JobOutcome } from './jobs/scheduler.js';
import { isCareDeferral } from './jobs/care.job.js';
import type { JobRun } from './domain/scheduling/job-run.types.js';
import { FieldCipher } from './shared/field-cipher.js';
import { WecomApiError } from './shared/errors.js';
import { systemClock, type Clock } from './shared/clock.js';
import { createMetrics, type Metrics } from './shared/metrics.js';
import type { Logger } from './shared/logger.js';
import { WecomClient, type WecomClientOptions } from './wecom/client/wecom.client.js';
import type { WecomGateway } from './wecom/client/gateway.js';
import type { WecomSandbox, WecomSandboxOptions } from './wecom/sandbox/sandbox.js';
import type { Routes } from './http/routes/index.js';
import { SANDBOX_CORP } from './wecom/sandbox-identity.js';
import { RedisRateLeaseStore } from './wecom/client/redis-rate-store.js';

/** Something with a start and a stop, run by `serve` after listen and stopped in reverse order on SIGTERM. */
export interface Service {
  name: string;
  start(): void | Promise<void>;
  stop(): Promise<void>;
}

/** Every repository, one instance each (block 1). */
export interface Repositories {
  inbox: InboxRepository;
  timeline: TimelineRepository;
  timelineSources: TimelineSourceRepository;
  apiTokens: ApiTokenRepository;
  authFailures: AuthFailureRepository;
  secrets: SecretRepository;
  customers: CustomerRepository;
  relations: FollowRelationRepository;
  tags: TagRepository;
  channels: ChannelRepository;
  tagRules: TagRuleRepository;
  groupChats: GroupChatRepository;
  groupLabels: GroupLabelRepository;
  syncRuns: SyncRunRepository;
  kfCursors: KfCursorRepository;
  notes: NoteRepository;
  orders: OrderRepository;
  staff: StaffRepository;
  staffMessages: StaffMessageRepository;
  staffRenames: StaffRenameRepository;
  sealedValues: SealedValueRepository;
  inboxBacklog: InboxBacklogRepository;
  searchBudget: SearchBudgetRepository;
  erasures: ErasureRepository;
  transfers: TransferRepository;
  content: ContentRepository;
  jobRuns: JobRunRepository;
  deliveries: DeliveryRepository;
  deliveryBatches: DeliveryBatchRepository;
  sendSlots: SendSlotRepository;
  careRules: CareRuleRepository;
  scan: CareScanRepository;
  enrolments: CampaignEnrolmentRepository;
  scoring: ScoringRepository;
  behaviourTags: BehaviourTagRepository;
  retention: RetentionRepository;
  broadcasts: BroadcastRepository;
  // The operator console's access (docs/security.md §Console sign-in and roles, §Audit log).
  memberRoles: MemberRoleRepository;
  consoleSessions: ConsoleSessionRepository;
  auditLog: AuditLogRepository;
  idempotency: IdempotencyRepository;
  wecomCredentials: WecomCredentialRepository;
  wecomRates: WecomRateRepository;
  analytics: AnalyticsRepository;
  loyalty: LoyaltyRepository;
  feedback: FeedbackRepository;
  groupCodes: GroupCodeRepository;
  groupWelcomes: GroupWelcomeTemplateRepository;
}

/** The customer archive's services (and the repositories its callers use), for the CLI and tests. */
export interface ArchiveModule {
  repos: Pick<Repositories, 'customers' | 'relations' | 'tags' | 'channels' | 'tagRules' | 'groupChats' | 'syncRuns' | 'kfCursors' | 'notes' | 'orders'>;
  library: TagLibraryService;
  tagging: CustomerTaggingService;
  tagRules: TagRuleService;
  channels: ChannelService;
  archive: CustomerArchiveService;
  churn: ChurnService;
  /** App messages to staff within WeCom's per-member caps (churn alerts; digests of what had to wait). */
  messenger: StaffMessenger;
  kf: KfSyncService;
  customers: CustomerService;
  /** 批量打标签 / 移除标签 from the customer list, as durable jobs. */
  bulkTags: BulkTaggingService;
  fullSync: FullSyncService;
  notes: NoteService;
  orders: OrderService;
  /** 需求预测: each customer's predicted next order (docs/repurchase.md). */
  repurchase: RepurchaseService;
  staff: StaffService;
  /** Revoking a member's sidebar sessions and staff tokens (sidebar and transfers use it too). */
  access: StaffAccessService;
}

/** 群活码 and 入群欢迎语 (docs/groups.md §Group QR codes, §Group welcome templates). */
export interface GroupAcquisitionModule {
  codes: GroupCodeService;
  welcomes: GroupWelcomeService;
}

/** DATA_KEY management, for the CLI and tests. */
export interface KeysModule {
  keys: DataKeysService;
  /** The stable key erased customers' ids are hashed under (see DataKeysService.erasureKey). */
  erasureKey: Buffer;
}

/** Personal-data features (删除个人信息), for the CLI and tests. */
export interface PrivacyModule {
  erasure: ErasureService;
  repo: ErasureRepository;
}

/** The transfers feature (客户继承), for tests. */
export interface TransfersModule {
  repo: TransferRepository;
  service: TransferService;
  settlement: TransferSettlement;
  results: TransferResultsService;
  /** 客户群继承 (docs/groups.md §Group transfers). */
  groups: GroupTransferService;
}

/** The sidebar's services, for tests. */
export interface SidebarModule {
  sessions: StaffSessionService;
  replies: QuickReplyService;
  jssdk: JssdkConfigService;
  /** 客户群 in the sidebar (docs/groups.md §Sidebar in a group chat). */
  groups: GroupSidebarService;
}

/** 素材库: content items, where their files are kept and their WeCom media (docs/content.md). */
export interface ContentModule {
  storage: ContentStorage;
  media: ContentMediaService;
  service: ContentService;
}

/** 素材库 as group broadcasts and group welcome templates use it: save-time checks, cached media only, use counts. */
function groupContentPort(content: ContentModule): GroupContentPort {
  return {
    check: (ids, extra) => content.service.checkMessage(ids, extra),
    resolve: (ids, at, vars) => content.service.resolve(ids, { at, vars: vars ?? {} }),
    countUse: (ids, n) => content.service.countUses(ids, n),
  };
}

/** The library's file store from configuration (docs/content.md §Storage). */
function buildContentStorage(config: AppConfig): ContentStorage {
  const c = config.content;
  if (c.storage === 's3') {
    if (!c.s3.bucket) throw new Error('CONTENT_STORAGE=s3 需要 CONTENT_S3_BUCKET / CONTENT_STORAGE=s3 needs CONTENT_S3_BUCKET');
    return new S3Storage({ ...c.s3, endpoint: c.s3.endpoint || undefined });
  }
  return new LocalDiskStorage(c.dir || join(dataDirOf(config.databaseUrl), 'content'));
}

/** The operator console's sign-in, roles, audit log and idempotency keys (docs/security.md §Console sign-in and roles). */
export interface ConsoleModule {
  roles: MemberRoleService;
  sessions: ConsoleSessionService;
  audit: AuditLogService;
  idempotency: IdempotencyService;
}

/** 满意度调查 (docs/surveys.md): definitions, links and answers; the sender that plans invitations; the results. */
export interface SurveysModule {
  repo: SurveyRepository;
  service: SurveyService;
  sender: SurveySender;
  results: SurveyResultsService;
}

/** Broadcasts: the API service, and the planner the `broadcasts` job runs. */
export interface BroadcastsModule {
  repo: BroadcastRepository;
  service: BroadcastService;
  planner: BroadcastPlanner;
  /** The create page's preview: the message rendered for one customer of the audience. */
  preview: BroadcastPreviewService;
  /** The detail page's progress: each member's tasks and the delivery funnel, from the ledger. */
  progress: BroadcastProgressService;
  /** Images for attachments, uploaded to WeCom for a permanent URL. */
  images: BroadcastImageService;
  /** 提醒成员群发: remind_groupmsg_send for the tasks members have not confirmed. */
  remind: BroadcastRemindService;
}

/**
 * Everything one instance schedules and sends: settings, ledger, dispatcher, planners and the job table. Built per
 * instance id (the dispatcher and planners claim work under it); tests build a second one with buildScheduling().
 */
export interface SchedulingModule {
  settings: CareSettings;
  instanceId: string;
  repos: Pick<Repositories, 'jobRuns' | 'deliveries' | 'deliveryBatches' | 'sendSlots' | 'careRules' | 'scan' | 'enrolments'>;
  jobs: JobRegistry;
  scheduler: Scheduler;
  careRules: CareRuleService;
  planner: CarePlanner;
  /** The care calendar: what the planner would plan on each of the coming days. */
  calendar: CareCalendarService;
  ledger: DeliveryLedger;
  dispatcher: DeliveryDispatcher;
  results: DeliveryResultsService;
  winback: WinbackService;
  /** RFM segments and lifecycle stages (the `scoring` job). */
  scoring: ScoringService;
  /** Behaviour tag rules (the `scoring` job). */
  behaviourTags: BehaviourTaggingService;
  broadcasts: BroadcastsModule;
  /** 客户群群发 (docs/groups.md §Group broadcasts). */
  groupBroadcasts: GroupBroadcastsModule;
  /** Analytics rollups and the nightly snapshot (the `analytics` job). */
  analytics: AnalyticsRollupService;
  /** Retention cohorts, churn rows and the churn base snapshot (the `analytics` job). */
  retention: RetentionRollupService;
  /** 群SOP's runner under this instance's id (the `group-sop` job); absent when the container has no group SOP. */
  groupSop?: GroupSopRunner;
  /** 客户旅程's runner under this instance's id (the `journeys` job); absent when the container has no journeys. */
  journeys?: JourneyRunner;
}

/** 客户旅程 (docs/journeys.md): definitions, entries and exits; each instance's scheduling builds its own runner. */
export interface JourneysModule {
  repo: JourneyRepository;
  service: JourneyService;
  /** The staff to-do list a task step creates in (今日待办); null when none is wired (task steps then fail with the reason). */
  tasks: JourneyTaskPort | null;
  /** 素材库 items of a step as text and attachments at a send time; placeholders `{{name}}`, `{{staff}}` kept for each member. */
  content: (ids: string[], at: Date) => Promise<{ text: string; attachments: MessageAttachment[]; attachmentItems?: { id: string; title: string }[] }>;
  /** `n` uses of each item: one per member a step newly planned a message or made a task for (docs/content.md §Use counts). */
  countUse: (ids: string[], n: number) => Promise<void>;
}

/** 群SOP (docs/groups.md §Group SOP): plans and their report; each instance's scheduling builds its own runner. */
export interface GroupSopModule {
  repo: GroupSopRepository;
  service: GroupSopService;
  /** The groups a plan's target names now (the group archive's filter). */
  groups: (target: SopTarget) => Promise<SopGroup[]>;
  /** The owner's reminder links (signed, on this site's public origin). */
  links: SopLinks;
  /** The group broadcast service a post step sends through; null until one is wired. */
  poster: GroupPostPort | null;
}

/** 今日待办 (docs/todo.md): staff tasks (journeys create them through ports) and each member's list. */
export interface TodoModule {
  repo: StaffTaskRepository;
  tasks: StaffTaskService;
  /** Each member's list across sources, the morning digest and the completion report. */
  service: TodoService;
}

/** 客户群: the group archive, its sync and labels (docs/groups.md). */
export interface GroupsModule {
  archive: GroupArchiveService;
  /** The group phase of the full sync (it runs inside `archive.fullSync`). */
  sync: GroupSyncService;
  /** Lists, detail with members, labels: what the API and console ask. */
  service: GroupService;
}

/** 客户群群发: the service (preview, create, SOP submit, remind), the sender the job runs, the groups' quota. */
export interface GroupBroadcastsModule {
  repo: GroupBroadcastRepository;
  service: GroupBroadcastService;
  sender: GroupBroadcastSender;
  quota: GroupQuotaService;
}

/** Everything the app is made of, built once with plain constructors. */
export interface Container {
  config: AppConfig;
  log: Logger;
  clock: Clock;
  dataSource: DataSource;
  db: Db;
  metrics: Metrics;
  cipher: FieldCipher;
  repos: Repositories;
  /** Every WeCom call goes through this (rate-limited, retried, token-cached). */
  wecom: WecomGateway;
  /** The concrete client, for wiring (base URL) and shutdown. */
  wecomClient: WecomClient;
  /** The built-in WeCom sandbox, when no real corp is configured (served under /sandbox). */
  sandbox: WecomSandbox | null;
  inbox: InboxService;
  inboxWriter: InboxWriter;
  tokens: ApiTokenService;
  /** Refuses clients that keep presenting wrong API tokens (429), shared by every instance. */
  authThrottle: AuthThrottle;
  keys: KeysModule;
  archive: ArchiveModule;
  /** 客户群: the group archive, its sync and labels (docs/groups.md). */
  groups: GroupsModule;
  privacy: PrivacyModule;
  transfers: TransfersModule;
  sidebar: SidebarModule;
  /** 素材库 / 话术库 (docs/content.md). */
  content: ContentModule;
  console: ConsoleModule;
  scheduling: SchedulingModule;
  /** 积分与会员: the points ledger, tiers and the customer's signed link (docs/loyalty.md). */
  loyalty: LoyaltyService;
  /** 满意度调查: surveys, their signed page's answers, invitations through the ledger, results (docs/surveys.md). */
  surveys: SurveysModule;
  /** 客户反馈处理: feedback tickets, their rules, routing and SLA (docs/feedback.md). */
  feedback: FeedbackService;
  /** 流失预警: churn-risk scores with their reasons, and the warning threshold (docs/churn.md). */
  churn: ChurnRiskService;
  /** 群SOP: plans for customer groups, their report and the owner's reminder page (docs/groups.md §Group SOP). */
  groupSop: GroupSopModule;
  /** 客户旅程: journeys, their members and stats (docs/journeys.md). */
  journeys: JourneysModule;
  /** 群活码 and 入群欢迎语 (docs/groups.md). */
  groupAcquisition: GroupAcquisitionModule;
  /** 今日待办: staff tasks and each member's to-do list (docs/todo.md). */
  todo: TodoModule;
  /** The event handlers, in the order they run for an event several of them take. */
  handlers: EventHandler[];
  eventRouter: EventRouter;
  inboxProcessor: InboxProcessor;
  /** Null for one-shot CLI commands, which never serve HTTP. */
  http: Routes | null;
  /** Called with the server's base URL once it listens (the sandbox and client learn the real port here). */
  onListen: ((baseUrl: string) => void)[];
  /** Background services, started after listen. */
  services: Service[];
  /** Metrics of other threads of this process, merged into /metrics (docs/inbox.md §Handler thread). */
  metricsFrom: (() => Promise<MetricObjectWithValues<MetricValue<string>>[]>)[];
  /** Checks of other parts of this process, added to /readyz; informative, never a reason for 503. */
  readiness: (() => Record<string, string>)[];
  /** Close everything (database last). */
  close(): Promise<void>;
}

/** Options for scheduling (tests override settings, the clock or the instance id). */
export interface SchedulingOptions {
  config?: CareConfig;
  settings?: Partial<CareSettings>;
  clock?: Clock;
  instanceId?: string;
}

export interface BuildOptions {
  clock?: Clock;
  /** Options for the in-process sandbox (tests shorten its retry delays, seed it differently…). */
  sandbox?: Partial<WecomSandboxOptions>;
  registry?: Registry;
  /** Extra event handlers, run before the product's own (tests register probes here). */
  handlers?: EventHandler[];
  /** Wraps the WeCom gateway every service uses (tests inject failures at a chosen call). */
  wecom?: (client: WecomGateway) => WecomGateway;
  /** Scheduling settings over config/care-rules.json. */
  scheduling?: SchedulingOptions;
  /**
   * Build the HTTP routes and the sandbox's HTTP mount (default true). One-shot CLI commands pass false and never
   * load Koa or the routers.
   */
  http?: boolean;
}

/**
 * MySQL: inbox batches committed at once. MySQL commits in parallel and merges their fsyncs (redo group commit), so a
 * few concurrent batches keep its log busy; each has a connection of the inbox's own.
 */
const INBOX_MYSQL_FLUSHES = 4;

/** Connect, migrate (unless DB_SKIP_MIGRATIONS), and wire the app. */
export async function buildContainer(config: AppConfig, log: Logger, opts: BuildOptions = {}): Promise<Container> {
  const clock = opts.clock ?? systemClock;
  const tz = config.appTimezone;
  // One connection per handler slot (INBOX_WORKERS in each of the two lanes, docs/inbox.md §Deadline first), plus
  // room for the inbox writer, the API and jobs: a handler waiting for a connection holds up its event as surely as
  // one waiting for WeCom.
  const dataSource = createDataSource({ databaseUrl: config.databaseUrl, migrations, poolSize: Math.max(20, 2 * config.inbox.workers + 8) });
  await dataSource.initialize();
  if (!config.dbSkipMigrations) {
    const ran = await runMigrationsExclusively(dataSource);
    if (ran.length > 0) log.info({ migrations: ran.map((m) => m.name) }, 'migrations applied');
  }
  installStatementDeadline(dataSource, config.dbStatementTimeoutMs);
  // MySQL: the inbox writer commits up to INBOX_MYSQL_FLUSHES batches at once, each on a connection of the inbox's own
  // (docs/inbox.md §Acknowledgements on MySQL).
  const inboxFlushes = engineOf(config.databaseUrl) === 'mysql' ? INBOX_MYSQL_FLUSHES : 1;
  const db = new Db(dataSource, { apiReadTimeoutMs: config.apiStatementTimeoutMs, durablePoolSize: inboxFlushes > 1 ? inboxFlushes : 0 });
  const metrics = createMetrics(opts.registry ?? new Registry(), { defaults: !opts.registry });
  const cipher = new FieldCipher(config.dataKey!, config.dataKeyReadOnly);

  // ── 1. Repositories ────────────────────────────────────────────────────────────────────────────────────────────
  const repos: Repositories = {
    inbox: new InboxRepository(db, cipher),
    timeline: new TimelineRepository(db),
    timelineSources: new TimelineSourceRepository(db),
    apiTokens: new ApiTokenRepository(db),
    authFailures: new AuthFailureRepository(db),
    secrets: new SecretRepository(db, cipher),
    customers: new CustomerRepository(db, cipher),
    relations: new FollowRelationRepository(db, cipher),
    tags: new TagRepository(db),
    channels: new ChannelRepository(db),
    tagRules: new TagRuleRepository(db),
    groupChats: new GroupChatRepository(db),
    groupLabels: new GroupLabelRepository(db),
    syncRuns: new SyncRunRepository(db),
    kfCursors: new KfCursorRepository(db),
    notes: new NoteRepository(db),
    orders: new OrderRepository(db),
    staff: new StaffRepository(db),
    staffMessages: new StaffMessageRepository(db),
    staffRenames: new StaffRenameRepository(db),
    sealedValues: new SealedValueRepository(db),
    inboxBacklog: new InboxBacklogRepository(db),
    searchBudget: new SearchBudgetRepository(db),
    erasures: new ErasureRepository(db),
    transfers: new TransferRepository(db),
    content: new ContentRepository(db),
    jobRuns: new JobRunRepository(db),
    deliveries: new DeliveryRepository(db),
    deliveryBatches: new DeliveryBatchRepository(db),
    sendSlots: new SendSlotRepository(db),
    careRules: new CareRuleRepository(db),
    scan: new CareScanRepository(db),
    enrolments: new CampaignEnrolmentRepository(db),
    scoring: new ScoringRepository(db),
    behaviourTags: new BehaviourTagRepository(db),
    retention: new RetentionRepository(db),
    broadcasts: new BroadcastRepository(db),
    memberRoles: new MemberRoleRepository(db),
    consoleSessions: new ConsoleSessionRepository(db),
    auditLog: new AuditLogRepository(db),
    idempotency: new IdempotencyRepository(db),
    wecomCredentials: new WecomCredentialRepository(db, cipher),
    wecomRates: new WecomRateRepository(db),
    analytics: new AnalyticsRepository(db),
    loyalty: new LoyaltyRepository(db),
    feedback: new FeedbackRepository(db),
    groupCodes: new GroupCodeRepository(db),
    groupWelcomes: new GroupWelcomeTemplateRepository(db),
  };
  // 客户旅程's tables: built first, because hook points all over the archive leave signals in it (docs/journeys.md §Signals).
  const journeyRepo = new JourneyRepository(db);

  // ── 2. Services, in dependency order ────────────────────────────────────────────────────────────────────────────
  // WeCom: the sandbox (loaded only when it plays WeCom), then the client every service calls through.
  const sandbox = config.sandboxEnabled
    ? new (await import('./wecom/sandbox/sandbox.js')).WecomSandbox({
        clock,
        logger: log.child({ component: 'sandbox' }),
        // The callback keys are this data directory's (config/load.ts ensureSandboxKeys), not public constants.
        corp: { ...SANDBOX_CORP, token: config.wecom.token!, encodingAesKey: config.wecom.encodingAesKey! },
        siteOrigin: config.publicUrl,
        ...opts.sandbox,
      })
    : null;
  if (sandbox && config.sandbox.seed) sandbox.seed();
  // Per-API limits are per corp: every instance draws from one budget, in Redis when REDIS_URL is set, else in this
  // database (docs/rate-limits.md).
  const redisRates = config.redisUrl ? new RedisRateLeaseStore(config.redisUrl, `wecom-ops:rate:${config.wecomCorpId}`) : null;
  const wecomClient = new WecomClient({
    apiBase: config.wecom.apiBase,
    corpId: config.wecomCorpId,
    secret: config.wecom.secret!,
    kfSecret: config.wecom.kfSecret ?? (sandbox ? sandbox.options.corp.kfSecret : undefined),
    agentId: config.wecom.agentId,
    clock,
    logger: log,
    registry: metrics.registry,
    limits: config.wecom.limits as WecomClientOptions['limits'],
    // Shared across instances on MySQL; an in-process sandbox issues tokens for its own process only.
    credentialStore: db.engine === 'mysql' && !sandbox ? repos.wecomCredentials : undefined,
    rateStore: redisRates ?? repos.wecomRates,
  });
  const wecom: WecomGateway = opts.wecom ? opts.wecom(wecomClient) : wecomClient;

  // Keys first: a DATA_KEY that does not open this database stops the start here, before anything is written under it.
  const keys = new DataKeysService(repos.sealedValues, cipher, repos.secrets, log.child({ component: 'keys' }));
  const erasureKey = await keys.erasureKey(clock.now().getTime());
  // Erased customers are known by a hash under the erasure key (kept in `secrets`, stable across DATA_KEY rotations:
  // the ids behind these hashes are gone, so they could never be re-hashed), with a domain prefix so a hash never
  // equals another index value.
  const erasureHash = (ext: string) => createHmac('sha256', erasureKey).update(`erasure|${ext}`).digest('hex').slice(0, 32);

  // Inbox (storing callbacks) and API authentication.
  const inboxWriter = new InboxWriter(repos.inbox, clock, 200, inboxFlushes, (n) => metrics.inboxBatchSize.observe(n), config.inbox.storeTimeoutMs + 1000);
  const inbox = new InboxService(inboxWriter, repos.inbox, clock);
  const tokens = new ApiTokenService(repos.apiTokens, clock, config.adminToken);
  const authThrottle = new AuthThrottle(repos.authFailures, clock, log.child({ component: 'auth' }), config.auth);

  // The customer archive: staff, tags, channels, customers.
  const archiveLog = log.child({ module: 'archive' });
  const staff = new StaffService(repos.staff, wecom, clock, archiveLog);
  const access = new StaffAccessService(repos.staff, repos.apiTokens, clock, archiveLog.child({ component: 'staff-access' }));
  const library = new TagLibraryService(db, repos.tags, wecom, clock, archiveLog);
  const tagging = new CustomerTaggingService(db, repos.tags, repos.relations, wecom, clock, archiveLog);
  const tagRules = new TagRuleService(repos.tagRules, repos.tags, library, tagging, clock, archiveLog);
  // 素材库 (docs/content.md): files on local disk or in an S3-compatible bucket, WeCom media kept fresh by a job.
  const contentLog = log.child({ module: 'content' });
  const contentStorage = buildContentStorage(config);
  // Built here as the media job reads it too: open tasks' library images need chat media (docs/todo.md §One-tap send).
  const staffTaskRepo = new StaffTaskRepository(db);
  const contentMedia = new ContentMediaService(repos.content, contentStorage, wecom, clock, contentLog, { timezone: tz, imagesInUse: () => staffTaskRepo.openContentIds(['image']) });
  const content: ContentModule = {
    storage: contentStorage,
    media: contentMedia,
    service: new ContentService(repos.content, contentStorage, contentMedia, clock, contentLog, {
      maxBytes: config.content.maxBytes,
      linkedAppIds: config.content.miniprogramAppIds,
      timezone: tz,
    }),
  };

  const channels = new ChannelService(db, repos.channels, repos.customers, repos.timeline, repos.timelineSources, library, tagging, wecom, clock, archiveLog, tz, staff, {
    check: (ids, extra) => content.service.checkMessage(ids, extra),
    resolve: (ids, at, vars) => content.service.resolve(ids, { at, vars }),
    countUse: (ids) => content.service.countUses(ids),
  });
  // Port from privacy: erased customers stay out of the archive until a new relation (an add after the erasure)
  // brings them back.
  const erasedAt = async (ids: string[]) => {
    const hashes = new Map(ids.map((id) => [erasureHash(id), id]));
    const at = await repos.erasures.lastErasedAt([...hashes.keys()]);
    return new Map([...at].map(([hash, ms]) => [hashes.get(hash)!, ms]));
  };
  const archiveService = new CustomerArchiveService(db, repos.customers, repos.relations, repos.tags, library, wecom, clock, erasedAt);
  // Analytics: relation changes are counted in the transaction that applied them (docs/analytics.md).
  const analyticsRecorder = new AnalyticsRecorder(repos.analytics, clock, tz);
  const messenger = new StaffMessenger(repos.staffMessages, wecom, clock, archiveLog.child({ component: 'staff-messages' }), tz);
  // A loss also keeps what the churn analysis needs, as it was at that moment (docs/analytics.md §Churn analysis).
  const lossRecorder = new LossRecorder(new AnalyticsRetentionRepository(db), clock, tz);
  // 流失原因 (docs/churn.md §Causes): a lost relation (not a transfer) keeps its causes, recorded in the loss's transaction.
  const churnCauseRepo = new ChurnCauseRepository(db);
  const recordLoss = withLossProfile(analyticsRecorder.record, lossRecorder);
  const churn = new ChurnService(db, repos.customers, repos.relations, repos.timeline, repos.timelineSources, channels, messenger, clock, archiveLog, config.alerts?.adminUserids ?? [], repos.staff, async (em, c) => {
    await recordLoss(em, c);
    if (c.kind === 'lost_by_customer' || c.kind === 'lost_by_staff') {
      await churnCauseRepo.recordInTx(em, { externalUserId: c.externalUserId, userid: c.userid, lostBy: c.kind === 'lost_by_customer' ? 'customer' : 'staff', lostAt: c.occurredAt.getTime() });
    }
  });
  const customers = new CustomerService(db, repos.customers, repos.relations, repos.tags, repos.timeline, repos.channels, library, tagging, clock, tz, repos.notes, repos.orders, {
    staffMayCreateTags: config.staffMayCreateTags,
    searchBudget: new SearchBudget(repos.searchBudget, clock, archiveLog.child({ component: 'search-budget' }), config.search),
  });
  const bulkTags = new BulkTaggingService(new BulkTagJobRepository(db), customers, repos.tags, clock, archiveLog.child({ component: 'bulk-tags' }), `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`);
  const notes = new NoteService(db, repos.notes, repos.timeline, customers, repos.staff, clock);
  // 积分与会员 (docs/loyalty.md), before orders: an import credits points in its own transaction. An upgrade's
  // congratulation goes through the delivery ledger under the care settings' caps, like any care message.
  const careConfig = opts.scheduling?.config ?? loadCareConfig();
  const careCaps = { ...careConfig.settings, ...opts.scheduling?.settings };
  const tierMessages = new TierMessages(
    new DeliveryLedger(repos.deliveries, repos.sendSlots, { massQuotaRule: careCaps.massQuotaRule, perCustomerPerDay: careCaps.perCustomerPerDay }, () => clock.now()),
    {
      names: async (ids) => new Map([...(await repos.scan.byIds(ids))].map(([id, c]) => [id, c.name])),
      senders: (ids) => repos.scan.sendersOf(ids, careCaps.senderPolicy),
      optedOut: (ids) => repos.scan.optedOut(ids),
    },
    config.loyalty.tiers,
    config.loyalty.upgradeMessage,
    clock,
    tz,
  );
  const loyalty = new LoyaltyService(db, repos.loyalty, customers, clock, log.child({ component: 'loyalty' }), { ...config.loyalty, tz }, linkKeyFrom(erasureKey), (changes) => tierMessages.plan(changes));
  const repurchase = new RepurchaseService(new RepurchaseRepository(db), tz, clock, archiveLog.child({ component: 'repurchase' }));
  const orders = new OrderService(db, repos.orders, repos.customers, customers, clock, archiveLog, tz, loyalty, repurchase, (em, fresh, now) => journeyRepo.firstOrdersInTx(em, fresh, now));
  // 满意度调查 (docs/surveys.md): an answer's points go through the loyalty service in the answer's transaction;
  // invitations through the delivery ledger like care messages, with a link on this site's origin (PUBLIC_URL, or
  // the listen URL in sandbox mode, learned below). `onScored` is the feedback feature's port (docs/surveys.md §Answering).
  const surveySite = { listened: null as string | null };
  const surveyRepo = new SurveyRepository(db);
  const surveyLinks = new OpaqueLinks('s1', createHmac('sha256', erasureKey).update('survey-link|v1').digest());
  const surveyService = new SurveyService(db, surveyRepo, repos.timeline, customers, loyalty, surveyLinks, clock, log.child({ component: 'surveys' }), tz, async (s) => {
    // The feedback feature (built below) opens or reopens a ticket for a detractor; called after the answer commits.
    await feedback.onSurveyScored(s);
    await journeyRepo.signal({ kind: 'survey', externalUserId: s.externalUserid, surveyId: s.surveyId, score: s.score }, clock.now());
  });
  const surveys: SurveysModule = {
    repo: surveyRepo,
    service: surveyService,
    sender: new SurveySender(
      surveyService,
      surveyRepo,
      (audience) => customers.audienceWhere(audience ?? '', { role: 'admin', userid: null }),
      {
        names: async (ids) => new Map([...(await repos.scan.byIds(ids))].map(([id, c]) => [id, c.name])),
        senders: (ids) => repos.scan.sendersOf(ids, careCaps.senderPolicy),
        optedOut: (ids) => repos.scan.optedOut(ids),
      },
      () => (config.publicUrl ? new URL(config.publicUrl).origin : surveySite.listened),
      clock,
      tz,
    ),
    results: new SurveyResultsService(surveyRepo, (userids) => repos.scan.staffNames(userids), clock, tz),
  };
  // 客户反馈处理 (docs/feedback.md): tickets go to the customer's owner by the care settings' sender policy; a missed
  // SLA, or a customer without an owner, to FEEDBACK_ESCALATE_TO (else ADMIN_USERIDS). Before the KF sync, whose
  // customer texts it reads for complaints.
  const feedback = new FeedbackService(
    db,
    repos.feedback,
    new FeedbackRuleService(repos.feedback, clock, log.child({ component: 'feedback' })),
    customers,
    repos.timeline,
    messenger,
    async (ext) => (await repos.scan.sendersOf([ext], careCaps.senderPolicy)).get(ext) ?? null,
    (userid) => staff.displayName(userid),
    clock,
    log.child({ component: 'feedback' }),
    { firstContactHours: config.feedback.firstContactHours, escalateTo: config.feedback.escalateTo.length > 0 ? config.feedback.escalateTo : config.console.adminUserids, tz },
  );
  // 今日待办 (docs/todo.md): staff tasks, built before anything that creates them (journeys take them through ports).
  const todoLog = log.child({ component: 'todo' });
  const todoReminders = new BroadcastReminderRepository(db);
  const todo: TodoModule = {
    repo: staffTaskRepo,
    tasks: new StaffTaskService(staffTaskRepo, clock, (ext, viewer) => customers.getVisible(ext, viewer)),
    service: new TodoService(
      staffTaskRepo,
      new TodoRepository(db),
      {
        customerNames: async (ids) => new Map([...(await repos.scan.byIds(ids))].map(([id, c]) => [id, c.name])),
        staffNames: (userids) => repos.scan.staffNames(userids),
        closeNote: async (noteId, viewer) => {
          await notes.update(noteId, { done: true }, viewer);
        },
        // 提醒成员群发 for one task, under WeCom's 3 per task per 24 h (recorded with the broadcasts' reminders).
        remindMass: async (t, requestedBy) => {
          const out = await remindTasks([{ batchId: t.batchId, msgId: t.msgId, sender: t.sender }], { broadcastId: t.broadcastId ?? t.batchId, requestedBy }, { wecom, reminders: todoReminders, clock, log: todoLog });
          return { reminded: out.remindedTasks > 0, message: describeReminders({ ...out }, 1, tz) };
        },
        sendToMember: async (userid, text, digestLine) => ((await messenger.send([userid], text, { kind: 'todo-digest', digestLine, isDuplicateChecked: true })).sent.length > 0 ? 'sent' : 'deferred'),
        chatSends: (messages) => content.service.chatSends(messages),
      },
      clock,
      tz,
      todoLog,
    ),
  };
  // The session-end survey is wired once scheduling (its ledger and dispatcher) exists, below.
  const kfPorts: KfSyncPorts = {
    onCustomerText: async (m) => {
      // A WeChat-KF message is a reply the bot sees: journeys whose exit rules include replies let the customer go.
      await journeyRepo.signal({ kind: 'replied', externalUserId: m.externalUserId, userid: null, via: 'kf' }, clock.now());
      return feedback.onKfText(m);
    },
  };
  const kf = new KfSyncService(db, repos.kfCursors, repos.customers, repos.timeline, tagRules, wecom, clock, kfPorts);
  // A sync creates the corp tags that channels and keyword rules hand out. Behaviour tags are local only
  // (BehaviourTaggingService), so a sync never creates them in WeCom.
  const requiredTags = async () => [
    ...(await repos.channels.list(1, 10_000)).items.flatMap((ch) => ch.tags),
    ...(await repos.tagRules.list()).filter((r) => r.isEnabled && r.kind !== 'behaviour').flatMap((r) => r.tags),
  ];
  // Port from transfers: relations an open transfer is moving are left for the transfer to close.
  const pendingTransfers = async (relations: { userid: string; externalUserId: string }[]) => {
    const ids = [...new Set(relations.map((r) => r.externalUserId))];
    const moving = new Set<string>();
    for (let i = 0; i < ids.length; i += 500) {
      for (const t of (await repos.transfers.findOpen(ids.slice(i, i + 500))).values()) moving.add(`${t.handoverUserid}|${t.externalUserId}`);
    }
    return moving;
  };
  const groupArchive = new GroupArchiveService(db, repos.groupChats, repos.timeline, wecom, clock, (chatId, members, at) => groupAcquisition.codes.attributeSnapshot(chatId, members, at));
  const groupSync = new GroupSyncService(repos.groupChats, groupArchive, wecom, archiveLog.child({ component: 'group-sync' }));
  const groups: GroupsModule = { archive: groupArchive, sync: groupSync, service: new GroupService(repos.groupChats, repos.groupLabels, repos.customers, repos.tags, clock) };
  const fullSync = new FullSyncService(db, repos.syncRuns, staff, repos.customers, repos.relations, archiveService, library, wecom, clock, archiveLog, requiredTags, pendingTransfers, groupSync);
  const archive: ArchiveModule = {
    repos: {
      customers: repos.customers,
      relations: repos.relations,
      tags: repos.tags,
      channels: repos.channels,
      tagRules: repos.tagRules,
      groupChats: repos.groupChats,
      syncRuns: repos.syncRuns,
      kfCursors: repos.kfCursors,
      notes: repos.notes,
      orders: repos.orders,
    },
    library,
    tagging,
    tagRules,
    channels,
    archive: archiveService,
    churn,
    messenger,
    kf,
    customers,
    bulkTags,
    fullSync,
    notes,
    orders,
    repurchase,
    staff,
    access,
  };

  // 群活码 and 入群欢迎语: codes attribute the joins that group snapshots show (GroupChatHandler's port below).
  const groupsLog = log.child({ component: 'groups' });
  const groupAcquisition: GroupAcquisitionModule = {
    codes: new GroupCodeService(db, repos.groupCodes, wecom, clock, groupsLog, tz),
    welcomes: new GroupWelcomeService(repos.groupWelcomes, wecom, clock, groupsLog, groupContentPort(content)),
  };

  // Privacy (删除个人信息).
  const privacy: PrivacyModule = {
    // Port to the audit log: an erasure redacts the customer's data from its rows (docs/security.md §Audit log).
    erasure: new ErasureService(repos.erasures, erasureHash, clock, log.child({ component: 'privacy' }), (id, stub, now) => repos.auditLog.redactCustomer(id, stub, now)),
    repo: repos.erasures,
  };

  // Transfers (客户继承).
  const transfersLog = log.child({ component: 'transfers' });
  const settlement = new TransferSettlement(db, repos.transfers, repos.relations, repos.customers, repos.timeline, repos.staff, clock, analyticsRecorder.record);
  const presence = new TransferPresence(repos.transfers);
  const transfers: TransfersModule = {
    repo: repos.transfers,
    settlement,
    service: new TransferService(
      repos.transfers,
      wecom,
      (audience) => customers.audienceWhere(audience, { role: 'admin', userid: null }),
      clock,
      transfersLog,
      presence,
      // A member WeCom lets go by 离职继承 has left: their sidebar sessions end and they cannot sign in again.
      async (handover) => {
        await access.revoke(handover, { resigned: true, by: 'transfers' });
      },
    ),
    results: new TransferResultsService(repos.transfers, wecom, settlement, transfersLog),
    groups: new GroupTransferService(new GroupTransferRepository(db), wecom, clock, transfersLog),
  };

  // The staff sidebar and its quick replies (the library's items marked 快捷回复).
  const sidebar: SidebarModule = {
    sessions: new StaffSessionService([config.dataKey!, ...config.dataKeyReadOnly], wecom, clock),
    replies: new QuickReplyService(content.service, customers, repos.staff),
    jssdk: new JssdkConfigService(wecom, clock, { corpId: config.wecomCorpId, agentId: config.wecom.agentId }),
    groups: new GroupSidebarService({
      groupChats: repos.groupChats,
      customers: repos.customers,
      tags: repos.tags,
      relations: repos.relations,
      staffName: (userid) => repos.staff.displayName(userid),
      wecom,
      // Group SOP is built further down; the sidebar asks it at request time (docs/groups.md §In the sidebar).
      sop: { dueToday: (chatId) => groupSop.service.dueToday(chatId) },
    }),
  };

  // The operator console: member roles, console sessions (企业微信扫码登录), the audit log and idempotency keys.
  const consoleLog = log.child({ component: 'console' });
  const roles = new MemberRoleService(
    repos.memberRoles,
    async () => (await staff.list(1, 100_000)).items.map((m) => ({ userid: m.userid, name: m.name, status: m.status })),
    clock,
    consoleLog,
    config.console.adminUserids,
    // A changed role ends the member's console sessions.
    (userid) => repos.consoleSessions.deleteForUserid(userid),
    // A member the archive has not seen (no 客户联系) may still be given a role: ask WeCom (user/get).
    async (userid) => {
      try {
        await wecom.getMember(userid);
        return 'exists';
      } catch (err) {
        if (err instanceof WecomApiError && err.errcode === 60011) return 'invisible';
        if (err instanceof WecomApiError && (err.errcode === 60111 || err.errcode === 40003)) return 'missing';
        throw err;
      }
    },
  );
  const consoleModule: ConsoleModule = {
    roles,
    sessions: new ConsoleSessionService(repos.consoleSessions, roles, access, wecom, (userid) => staff.displayName(userid), [config.dataKey!, ...config.dataKeyReadOnly], clock, consoleLog, CONSOLE_IDLE_MS),
    audit: new AuditLogService(repos.auditLog, clock, consoleLog),
    idempotency: new IdempotencyService(repos.idempotency, clock),
  };

  // Scheduling: care, win-back, scoring, broadcasts and the delivery ledger, with the job table.
  // 流失预警 (docs/churn.md): scored nightly by the `churn` job, read by the archive.
  const churnRisk = new ChurnRiskService(
    new ChurnRiskRepository(db, repos.notes, repos.timeline),
    log.child({ component: 'churn' }),
    { threshold: config.churn.threshold, pageSize: 500, tz },
    (ext, viewer) => customers.getVisible(ext, viewer),
    (ids) => repos.scan.sendersOf(ids, careCaps.senderPolicy),
    async (text) => (await feedback.rules.complaintRule(text)) !== null,
  );
  // 群SOP (docs/groups.md §Group SOP): reminder links are signed with their own key and open on this site's origin.
  const sopLinkSigner = new OpaqueLinks('g1', createHmac('sha256', erasureKey).update('group-sop-link|v1').digest());
  const sopLinkIdKey = createHmac('sha256', erasureKey).update('group-sop-link-id|v1').digest();
  const sopRepo = new GroupSopRepository(db);
  const sopQuota = new GroupQuotaService(new GroupBroadcastRepository(db), wecom, careCaps.massQuotaRule, clock, log.child({ component: 'group-sop' }));
  const sopGroups = (target: SopTarget) => repos.groupChats.matching(sopTargetFilter(target));
  const groupSop: GroupSopModule = {
    repo: sopRepo,
    groups: sopGroups,
    service: new GroupSopService({
      repo: sopRepo,
      groups: sopGroups,
      links: sopLinkSigner,
      clock,
      tz,
      massQuotaRule: careCaps.massQuotaRule,
      // The group broadcasts' own count of each group's quota (docs/groups.md §Group mass-message quota); reads only.
      forecast: (chatIds, sends) => sopQuota.forecast({ chatIds, sends }),
      periodEnd: (at) => quotaWindow(careCaps.massQuotaRule, at).end,
    }),
    links: {
      idOf: (parts) => createHmac('sha256', sopLinkIdKey).update(parts).digest().subarray(0, 16).toString('base64url'),
      urlOf: (linkId, expiresAt) => {
        const origin = config.publicUrl ? new URL(config.publicUrl).origin : surveySite.listened;
        return origin ? `${origin}/sop/${sopLinkSigner.sign(linkId, expiresAt)}` : null;
      },
    },
    poster: null,
  };
  const journeys: JourneysModule = {
    repo: journeyRepo,
    service: new JourneyService(
      journeyRepo,
      {
        ownerOf: async (ids) => new Map([...(await repos.scan.sendersOf(ids, careCaps.senderPolicy))].map(([id, s]) => [id, s.userid])),
        known: async (ids) => new Set((await repos.scan.byIds(ids)).keys()),
        winback: {
          rule: (id) => repos.careRules.find(id),
          activeEnrolments: async (ruleId) => {
            const out = [];
            for (let after = 0; ; ) {
              const page = await repos.enrolments.activePage(ruleId, after, 1000);
              out.push(...page);
              if (page.length < 1000) return out;
              after = page[page.length - 1].id;
            }
          },
          retire: async (ruleId, ids, now) => {
            const rule = await repos.careRules.get(ruleId);
            await repos.careRules.update({ ...rule, enabled: false }, now);
            await repos.enrolments.completeMany(ids, now);
          },
        },
        checkContent: async (ids, extra) => {
          await content.service.checkMessage(ids, extra);
        },
        cancelDeliveries: async (ids, reason, now) => {
          await repos.deliveries.markSkipped(ids, reason, now);
        },
        withdrawTasks: (membershipIds, reason) => todo.tasks.withdrawJourneyTasks(membershipIds, reason),
      },
      clock,
      tz,
      log.child({ component: 'journeys' }),
    ),
    // A task step's task goes into the owner's to-do list; the tick reads the tasks' states back (no callbacks).
    tasks: {
      create: async (t) => {
        const { task, created } = await todo.tasks.create(t);
        return { id: task.id, created };
      },
      states: async (ids) => new Map([...(await todo.tasks.byIds(ids))].map(([id, t]) => [id, t.status])),
      reassign: (membershipId, userid) => todo.tasks.reassignJourneyTasks(membershipId, userid),
      owedReminders: (staleBefore, limit) => todo.tasks.owedReminders(staleBefore, limit),
      claimReminder: (id, holder, now, staleBefore) => todo.tasks.claimReminder(id, holder, now, staleBefore),
      markReminded: (id, holder, now) => todo.tasks.markReminded(id, holder, now),
      dropReminders: (giveUpBefore) => todo.tasks.dropReminders(giveUpBefore),
    },
    // Resolved once per step and tick; the variables are rendered per member by the runner.
    content: (ids, at) => content.service.resolve(ids, { at, vars: { name: '{{name}}', staff: '{{staff}}' } }),
    countUse: (ids, n) => content.service.countUses(ids, n),
  };
  const parts = { config, log, clock, db, repos, wecom, archive, transfers, loyalty, surveys, feedback, churn: churnRisk, groupSop, journeys, todo, content, groupAcquisition };
  const scheduling = buildScheduling(parts, { ...opts.scheduling, config: careConfig, clock: opts.scheduling?.clock ?? clock });
  // The survey after a WeChat-KF session (docs/surveys.md §After a WeChat-KF session): planned in this instance's
  // ledger, and sent at once as the session end's event reply by its dispatcher.
  const kfSessionSurveys = new KfSessionSurveys(
    () => surveyService.list(),
    surveys.sender,
    () => scheduling.ledger,
    (d, code, now) => scheduling.dispatcher.replyOnEvent(d, code, now),
    clock,
    log.child({ component: 'surveys' }),
  );
  kfPorts.onSessionEnd = (e) => kfSessionSurveys.onSessionEnd(e);

  // Defaults shipped in config/, seeded into empty tables.
  await tagRules.seedDefaults(DEFAULT_TAG_RULES_FILE);
  await scheduling.careRules.seed(careConfig.rules);
  await sidebar.replies.seedDefaults(DEFAULT_QUICK_REPLIES_FILE);
  await loyalty.start();
  await feedback.rules.seedDefaults(DEFAULT_FEEDBACK_RULES_FILE);

  // ── 3. Adapters ────────────────────────────────────────────────────────────────────────────────────────────────
  // The event handlers. Several may take one kind; they run in this order. The transfer handler comes after the
  // archive's contact handlers: it sees their relation changes and has the last word on the timeline line
  // (docs/architecture.md §Handler order).
  const handlers: EventHandler[] = [
    ...(opts.handlers ?? []),
    new ContactAddedHandler(archiveService, channels, repos.staff, async (em, change) => {
      await analyticsRecorder.record(em, change);
      // In the add's own transaction: a journey triggered by this channel hears of it exactly when the add commits.
      if (change.kind === 'added') await journeyRepo.signal({ kind: 'added', externalUserId: change.externalUserId, userid: change.userid, channelId: change.channelId }, change.occurredAt, em);
    }),
    new ContactEditedHandler(archiveService),
    new ContactLostHandler(churn),
    new TransferFailedHandler(),
    new StaffDirectoryHandler(repos.staff, access, new StaffRenameService(repos.staffRenames, cipher, log.child({ component: 'staff-rename' }))),
    new TagLibraryHandler(library),
    new GroupChatHandler(groupArchive, clock),
    new KfMessageHandler(kf),
    new AppTextHandler(repos.customers, tagRules),
    new TransferCallbackHandler(repos.transfers, settlement, presence),
  ];
  const eventRouter = new EventRouter();
  for (const h of handlers) eventRouter.register(h);
  const inboxProcessor = new InboxProcessor(repos.inbox, repos.timeline, eventRouter, inboxWriter, clock, log, config.inbox, {
    onProcessed: (kind, outcome, _ms, storedToHandledMs) => {
      metrics.inboxProcessed.inc({ kind, outcome });
      if (outcome === 'done' || outcome === 'ignored') metrics.inboxStoredToHandledSeconds.observe(storedToHandledMs / 1000);
    },
  });

  const onListen: ((baseUrl: string) => void)[] = [];
  onListen.push((url) => (surveySite.listened = new URL(url).origin));
  const metricsFrom: Container['metricsFrom'] = [];
  const readiness: Container['readiness'] = [];
  if (sandbox) {
    onListen.push((baseUrl) => {
      sandbox.setCallbackUrl(`${baseUrl}/wecom/callback`);
      // Unless WECOM_API_BASE points elsewhere, talk to the in-process sandbox on the port we actually got.
      if (config.wecom.apiBase.startsWith('http://127.0.0.1:') && config.wecom.apiBase.endsWith('/sandbox')) {
        wecomClient.setApiBase(`${baseUrl}/sandbox`);
      }
    });
  }
  // The HTTP routes, loaded only for callers that serve HTTP.
  let http: Routes | null = null;
  if (opts.http !== false) {
    const { buildRoutes } = await import('./http/routes/index.js');
    http = buildRoutes({
      config,
      clock,
      log,
      metrics,
      dataSource,
      backlog: new InboxBacklog(repos.inboxBacklog, clock),
      deliveryLog: new DeliveryLogService(repos.deliveries, (ids) => repos.scan.byIds(ids)),
      sandbox,
      inbox,
      archive,
      groups,
      privacy,
      transfers,
      sidebar,
      content,
      console: consoleModule,
      scheduling,
      settings: new SettingsService({ config, care: scheduling.settings, jobs: scheduling.jobs.all() }),
      analytics: new AnalyticsService(repos.analytics, clock, tz),
      retention: new RetentionAnalyticsService(new AnalyticsRetentionRepository(db), repos.analytics, new AnalyticsService(repos.analytics, clock, tz)),
      staffPerformance: new StaffPerformanceService(new StaffStatsRepository(db), (q, v) => new AnalyticsService(repos.analytics, clock, tz).frame(q, v)),
      reach: new ReachService(new ReachRepository(db), new AnalyticsService(repos.analytics, clock, tz)),
      groupStats: new GroupStatsService(new GroupStatsRepository(db), wecom, log.child({ component: 'analytics' }), (q, v) => new AnalyticsService(repos.analytics, clock, tz).frame(q, v)),
      loyalty,
      surveys: { ...surveys, ledger: () => scheduling.ledger, audienceIds: (where, after, limit) => surveyRepo.candidates(where, { by: null, from: 0, to: 0 }, after, limit) },
      feedback,
      churn: churnRisk,
      groupAcquisition,
      churnCauses: new ChurnCauseService(churnCauseRepo, clock, tz, (ext, viewer) => customers.getVisible(ext, viewer)),
      groupSop,
      journeys,
      todo,
      onListen,
      metricsFrom,
      readiness,
    });
  }

  // On MySQL the rollups every add shares are counted through deltas, folded here (docs/analytics.md §Counters every add shares).
  const counterFolder = db.engine === 'mysql' ? new CounterFolder(() => new CounterDeltaRepository(db).fold(), log) : null;
  const services: Service[] = [
    { name: 'inbox-workers', start: () => inboxProcessor.start(), stop: () => inboxProcessor.stop() },
    ...(counterFolder ? [{ name: 'counter-folder', start: () => counterFolder.start(), stop: () => counterFolder.stop() }] : []),
    {
      name: 'scheduler',
      start: async () => {
        await scheduling.scheduler.prune().catch((err) => log.warn({ err }, 'pruning job runs failed'));
        await scheduling.scheduler.start();
      },
      stop: () => scheduling.scheduler.stop(),
    },
  ];

  return {
    config,
    log,
    clock,
    dataSource,
    db,
    metrics,
    cipher,
    repos,
    wecom,
    wecomClient,
    sandbox,
    inbox,
    inboxWriter,
    tokens,
    authThrottle,
    keys: { keys, erasureKey },
    archive,
    groups,
    privacy,
    transfers,
    sidebar,
    content,
    console: consoleModule,
    scheduling,
    loyalty,
    surveys,
    feedback,
    churn: churnRisk,
    groupSop,
    journeys,
    groupAcquisition,
    todo,
    handlers,
    eventRouter,
    inboxProcessor,
    http,
    onListen,
    services,
    metricsFrom,
    readiness,
    close: async () => {
      wecomClient.close();
      await redisRates?.close();
      await db.close();
      if (dataSource.isInitialized) await dataSource.destroy();
    },
  };
}

/** What scheduling is built from: the container's core, repositories, gateway and the services it plans over. */
export type SchedulingParts = Pick<Container, 'config' | 'log' | 'clock' | 'db' | 'repos' | 'wecom' | 'archive' | 'transfers'> & Partial<Pick<Container, 'loyalty' | 'surveys' | 'feedback' | 'churn' | 'groupSop' | 'journeys' | 'todo' | 'content' | 'groupAcquisition'>>;

/**
 * Build one instance's scheduling over a container's parts. buildContainer builds the instance's own; tests build a
 * second with another instance id or other settings, as a second process would have (nothing in the container
 * changes).
 */
export function buildScheduling(c: SchedulingParts, opts: SchedulingOptions = {}): SchedulingModule {
  const config = opts.config ?? loadCareConfig();
  const settings: CareSettings = { ...config.settings, ...opts.settings };
  const clock = opts.clock ?? c.clock;
  const tz = c.config.appTimezone;
  const { repos, db } = c;
  const log = c.log.child({ component: 'scheduling' });
  const instanceId = opts.instanceId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const caps: CapSettings = { massQuotaRule: settings.massQuotaRule, perCustomerPerDay: settings.perCustomerPerDay };
  const quietHours = { ...settings.quietHours, tz };
  // A rule's 素材库 items keep their variables as written, so the planner fills them per customer like the template.
  const careVars = Object.fromEntries(CARE_TEMPLATE_VARIABLES.map((v) => [v, `{{${v}}}`]));
  const planner = new CarePlanner(repos.scan, (v) => repos.tags.liveTagsNamed(v), db.engine, { tz, pageSize: settings.pageSize, senderPolicy: settings.senderPolicy }, log,
    c.content ? { resolve: (ids, at) => c.content!.service.resolve(ids, { at, vars: careVars }), countUse: (ids, n) => c.content!.service.countUses(ids, n) } : undefined);
  const dispatcher = new DeliveryDispatcher(
    repos.deliveries,
    repos.deliveryBatches,
    c.wecom,
    { optedOut: (ids) => repos.scan.optedOut(ids), kfConversation: (id, since) => repos.scan.kfConversation(id, since) },
    { quietHours, reconcileAfterSeconds: settings.reconcileAfterSeconds, resultPollMinutes: settings.resultPollMinutes },
    instanceId,
    log,
    // Reminders share each member's app message budget with churn alerts (StaffMessenger,
    // docs/wecom-protocol.md §API rate limits).
    (userid) => c.archive.messenger.reserve(userid),
  );
  const results = new DeliveryResultsService(repos.deliveries, repos.deliveryBatches, c.wecom, settings, log);
  // A campaign entering by churn risk reads the crossings the churn pass recorded (docs/churn.md §Win-back).
  const churnRisk = c.churn;
  const riskSince = churnRisk ? (ids: string[]) => churnRisk.highSince(ids) : undefined;
  const winback = new WinbackService(repos.scan, repos.enrolments, repos.careRules, (v) => repos.tags.liveTagsNamed(v), db.engine, { tz, pageSize: settings.pageSize, senderPolicy: settings.senderPolicy, activity: settings.activity }, log, riskSince);
  const scoring = new ScoringService(repos.scoring, { tz, pageSize: settings.pageSize, activity: settings.activity, ...settings.scoring }, log);
  const behaviourTags = new BehaviourTaggingService(repos.behaviourTags, repos.tagRules, c.archive.library, (v) => repos.tags.liveTagsNamed(v), db.engine, { tz, pageSize: settings.pageSize }, log);
  // Broadcasts obey exactly the rules care messages do: the same ledger, caps, sender policy, quiet hours,
  // dispatcher and instance id.
  const broadcastsLog = c.log.child({ component: 'broadcasts' });
  const reminders = new BroadcastReminderRepository(db);
  const broadcasts: BroadcastsModule = {
    repo: repos.broadcasts,
    service: new BroadcastService(repos.broadcasts, repos.deliveries, repos.deliveryBatches, c.wecom, (v) => repos.tags.liveTagsNamed(v, { isApiRead: true }), db.engine, clock, tz, broadcastsLog, c.content ? (ids, extra) => c.content!.service.checkMessage(ids, extra) : undefined),
    planner: new BroadcastPlanner(repos.broadcasts, repos.scan, repos.deliveries, (v) => repos.tags.liveTagsNamed(v), db.engine, { tz, pageSize: settings.pageSize, senderPolicy: settings.senderPolicy, quietHours }, instanceId, broadcastsLog,
      // Variables stay as written, so the planner fills them per customer like the broadcast's own text.
      c.content ? (ids, at) => c.content!.service.resolve(ids, { at, vars: { name: '{{name}}', staff: '{{staff}}' } }) : undefined,
      c.content ? (ids, n) => c.content!.service.countUses(ids, n) : undefined),
    preview: new BroadcastPreviewService(
      { sampleOfAudience: (where, id) => repos.broadcasts.sampleOfAudience(where, id), sendersOf: (ids, policy) => repos.scan.sendersOf(ids, policy) },
      (v) => repos.tags.liveTagsNamed(v, { isApiRead: true }),
      db.engine,
      clock,
      tz,
      settings.senderPolicy,
    ),
    progress: new BroadcastProgressService({
      exists: (id) => repos.broadcasts.get(id),
      progressGroups: (id, sender) => repos.deliveries.broadcastProgressGroups(id, sender),
      staffNames: (userids) => repos.scan.staffNames(userids),
      reminders: (id, sender) => reminders.perTask(id, new Date(clock.now().getTime() - 24 * 60 * 60 * 1000), sender),
    }),
    images: new BroadcastImageService(c.wecom, broadcastsLog, c.content ? () => c.content!.media.takeImageQuota() : undefined),
    remind: new BroadcastRemindService(repos.broadcasts, repos.deliveries, repos.deliveryBatches, reminders, c.wecom, clock, tz, broadcastsLog),
  };
  // Group broadcasts keep the 1:1 ledger's rules: quiet hours, reconcile grace, poll interval, task expiry, the corp's
  // mass-message rule, the instance id, and the reminders' record (docs/groups.md §Group broadcasts).
  const groupLog = c.log.child({ component: 'group-broadcasts' });
  const groupRepo = new GroupBroadcastRepository(db);
  const groupQuota = new GroupQuotaService(groupRepo, c.wecom, settings.massQuotaRule, clock, groupLog);
  const groupBroadcasts: GroupBroadcastsModule = {
    repo: groupRepo,
    quota: groupQuota,
    service: new GroupBroadcastService(groupRepo, repos.groupChats, groupQuota, reminders, c.wecom, (userids) => repos.scan.staffNames(userids), clock, tz, groupLog, c.content ? groupContentPort(c.content) : undefined),
    sender: new GroupBroadcastSender(
      groupRepo,
      c.wecom,
      { quietHours, reconcileAfterSeconds: settings.reconcileAfterSeconds, resultPollMinutes: settings.resultPollMinutes, taskExpiryDays: settings.taskExpiryDays },
      instanceId,
      groupLog,
      (rows) => groupRepo.addReceipts(rows.map((r) => ({ chatId: r.chatId, msgId: r.msgId, createType: 0, sender: r.sender, sentAt: r.sentAt }))),
      c.content ? groupContentPort(c.content) : undefined,
    ),
  };
  // The audit log's period comes from AUDIT_RETENTION_DAYS; the same daily run sweeps idle console sessions and
  // idempotency keys past 24 h (docs/security.md §Audit log).
  const retention = new RetentionService(repos.retention, settings.retention, log, {
    days: c.config.audit.retentionDays,
    purge: (o) => repos.auditLog.purge(o),
    housekeeping: async (now) => {
      await repos.consoleSessions.purgeIdle(new Date(now.getTime() - CONSOLE_IDLE_MS));
      await repos.idempotency.purge(new Date(now.getTime() - 24 * 60 * 60 * 1000));
    },
  });
  const analytics = new AnalyticsRollupService(repos.analytics, tz, c.log.child({ component: 'analytics' }), settings.pageSize);
  const retentionRollup = new RetentionRollupService(new AnalyticsRetentionRepository(db), tz, c.log.child({ component: 'analytics' }), settings.pageSize, db.engine === 'mysql' ? BASE_SLICE_CUSTOMERS : 0);
  const staffStats = new StaffStatsService(new StaffStatsRepository(db), c.wecom, tz, c.log.child({ component: 'analytics' }));
  const reach = new ReachRollupService(new ReachRepository(db), tz, c.log.child({ component: 'analytics' }), settings.pageSize);
  const sop = c.groupSop;
  const groupSop = sop
    ? new GroupSopRunner({
        repo: sop.repo,
        groups: sop.groups,
        // Post steps go out through group broadcasts, one per fire under the fire's key (docs/groups.md §Group broadcasts).
        poster: sop.poster ?? {
          post: async (input) => {
            const chatIds = input.groups.map((g) => g.chatId);
            await groupBroadcasts.service.postOnce({ key: input.key, chatIds, text: input.text });
            // The groups the broadcast took: those with a ledger row under the fire's key.
            return { included: [...(await groupBroadcasts.service.postOutcomes(input.key, chatIds)).keys()] };
          },
          outcomes: (key, chatIds) => groupBroadcasts.service.postOutcomes(key, chatIds),
        },
        messenger: c.archive.messenger,
        links: sop.links,
        tz,
        instanceId,
        log: c.log.child({ component: 'group-sop' }),
      })
    : undefined;
  const jm = c.journeys;
  const journeyRunner = jm
    ? new JourneyRunner({
        repo: jm.repo,
        service: jm.service,
        // Messages go through this instance's ledger, under its caps, quiet hours, opt-out, quota and priority.
        ledger: new DeliveryLedger(repos.deliveries, repos.sendSlots, caps, () => clock.now()),
        ledgerRows: (keys) => jm.repo.ledgerRows(keys),
        dispatch: async (now) => {
          await dispatcher.dispatch(now);
        },
        tasks: jm.tasks,
        content: jm.content,
        countUse: jm.countUse,
        messenger: c.archive.messenger,
        tag: async ({ externalUserId, add, remove }) => {
          if (add.length > 0) await c.archive.tagging.addTags({ externalUserId, tags: await repos.tags.findByIds(add), source: 'rule', ruleId: null });
          if (remove.length > 0) await c.archive.tagging.removeTags({ externalUserId, tagIds: remove, source: 'manual' });
        },
        optedOut: (ids) => repos.scan.optedOut(ids),
        ownerOf: async (ids) => new Map([...(await repos.scan.sendersOf(ids, settings.senderPolicy))].map(([id, s]) => [id, s.userid])),
        names: async (ids) => new Map([...(await repos.scan.byIds(ids))].map(([id, x]) => [id, x.name])),
        staffNames: (userids) => repos.scan.staffNames(userids),
        audience: (expression, now) => ({
          async *[Symbol.asyncIterator]() {
            const where = await compileAudienceWithTags(parseAudience(expression), (v) => repos.tags.liveTagsNamed(v), { engine: db.engine, today: localDateOf(now, tz), timezone: tz, now: now.getTime() });
            for await (const page of repos.scan.stream([where], settings.pageSize)) yield page.map((x) => x.externalUserId);
          },
        }),
        tz,
        instanceId,
        pageSize: 500,
        budgetMs: 45_000,
        log: c.log.child({ component: 'journeys' }),
      })
    : undefined;
  const jobs = new JobRegistry(
    buildJobs({
      settings,
      tz,
      caps,
      careRules: repos.careRules,
      deliveries: repos.deliveries,
      slots: repos.sendSlots,
      carePlanner: planner,
      broadcastPlanner: broadcasts.planner,
      dispatcher,
      results,
      winback,
      scoring,
      repurchase: c.archive.repurchase,
      behaviourTags,
      fullSync: c.archive.fullSync,
      retention,
      messenger: c.archive.messenger,
      transferResults: c.transfers.results,
      groupTransfers: c.transfers.groups,
      groupStats: new GroupStatsService(new GroupStatsRepository(db), c.wecom, c.log.child({ component: 'analytics' })),
      analytics,
      retentionAnalytics: retentionRollup,
      staffStats,
      reach,
      analyticsSideBySide: db.engine === 'mysql',
      clock,
      bulkTags: c.archive.bulkTags,
      loyalty: c.loyalty,
      surveys: c.surveys ? { surveys: () => c.surveys!.service.list(), sender: c.surveys.sender } : undefined,
      feedback: c.feedback,
      churn: c.churn,
      groupSop,
      journeys: journeyRunner,
      groupBroadcasts: { sender: groupBroadcasts.sender, quota: groupBroadcasts.quota },
      todo: c.todo ? { sendDigests: () => c.todo!.service.sendDigests(instanceId) } : undefined,
      contentMedia: c.content?.media,
      // The scheduler is built just below; the job calls this only when it runs, after that.
      retryDeferredCare: async (): Promise<'done' | 'failed' | null> => {
        const out: JobOutcome | null = await scheduler.retryFailedToday('care', (run: JobRun) => isCareDeferral(run.error));
        return out ? (out.status === 'done' ? 'done' : 'failed') : null;
      },
      retryWaitingWelcomes: c.groupAcquisition ? () => c.groupAcquisition!.welcomes.retryWaitingForContent() : undefined,
    }),
  );
  const scheduler: Scheduler = new Scheduler({ registry: jobs, runs: repos.jobRuns, clock, tz, instanceId, log });
  return {
    settings,
    instanceId,
    repos: { jobRuns: repos.jobRuns, deliveries: repos.deliveries, deliveryBatches: repos.deliveryBatches, sendSlots: repos.sendSlots, careRules: repos.careRules, scan: repos.scan, enrolments: repos.enrolments },
    jobs,
    scheduler,
    careRules: new CareRuleService(repos.careRules, clock, log, c.content ? (ids, extra) => c.content!.service.checkMessage(ids, extra) : undefined),
    planner,
    calendar: new CareCalendarService(repos.careRules, planner, repos.deliveries, repos.sendSlots, { tz, careTime: settings.careTime, quietHours, caps }, clock, repos.scan),
    ledger: new DeliveryLedger(repos.deliveries, repos.sendSlots, caps, () => clock.now()),
    dispatcher,
    results,
    winback,
    scoring,
    behaviourTags,
    broadcasts,
    groupBroadcasts,
    analytics,
    retention: retentionRollup,
    groupSop,
    journeys: journeyRunner,
  };
}
