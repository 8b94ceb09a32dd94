import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type Router from '@koa/router';
import type { Middleware } from 'koa';
import type { DataSource } from 'typeorm';
import type { AppConfig } from '../../config/schema.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { Metrics } from '../../shared/metrics.js';
import type { InboxService } from '../../domain/inbox/inbox.service.js';
import type { InboxBacklog } from '../../domain/inbox/inbox-backlog.js';
import type { DeliveryLogService } from '../../domain/delivery/delivery-log.service.js';
import type { CustomerService } from '../../domain/customers/customer.service.js';
import type { NoteService } from '../../domain/customers/note.service.js';
import type { StaffService } from '../../domain/customers/staff.service.js';
import type { OrderService } from '../../domain/orders/order.service.js';
import type { RepurchaseService } from '../../domain/repurchase/repurchase.service.js';
import type { ChannelService } from '../../domain/channels/channel.service.js';
import type { GroupCodeService } from '../../domain/groups/group-code.service.js';
import type { GroupWelcomeService } from '../../domain/groups/group-welcome.service.js';
import type { TagLibraryService } from '../../domain/tags/tag-library.service.js';
import type { TagRuleService } from '../../domain/tags/tag-rule.service.js';
import type { StaffAccessService } from '../../domain/auth/staff-access.service.js';
import type { StaffSessionService } from '../../domain/auth/staff-session.service.js';
import type { CareRuleService } from '../../domain/care/care-rule.service.js';
import type { WinbackService } from '../../domain/campaigns/winback.service.js';
import type { CareCalendarService } from '../../domain/care/care-calendar.service.js';
import type { BroadcastService } from '../../domain/broadcasts/broadcast.service.js';
import type { BroadcastPreviewService } from '../../domain/broadcasts/broadcast-preview.service.js';
import type { BroadcastProgressService } from '../../domain/broadcasts/broadcast-progress.service.js';
import type { BroadcastImageService } from '../../domain/broadcasts/broadcast-image.service.js';
import type { BroadcastRemindService } from '../../domain/broadcasts/broadcast-remind.service.js';
import type { QuickReplyService } from '../../domain/quick-replies/quick-reply.service.js';
import type { JssdkConfigService } from '../../domain/sidebar/jssdk-config.service.js';
import type { ErasureService } from '../../domain/privacy/erasure.service.js';
import type { TransferService } from '../../domain/transfers/transfer.service.js';
import type { MemberRoleService } from '../../domain/auth/member-role.service.js';
import type { ConsoleSessionService } from '../../domain/auth/console-session.service.js';
import type { AuditLogService } from '../../domain/audit/audit-log.service.js';
import type { IdempotencyService } from '../../domain/audit/idempotency.service.js';
import type { SettingsService } from '../../domain/settings/settings.service.js';
import type { AnalyticsService } from '../../domain/analytics/analytics.service.js';
import type { WecomSandbox } from '../../wecom/sandbox/sandbox.js';
import { SANDBOX_CORP } from '../../wecom/sandbox-identity.js';
import { SelfOrigin } from '../origin.js';
import { callbackRouter } from './callback.router.js';
import { healthRouter } from './health.router.js';
import { eventsRouter } from './events.router.js';
import { webRouter } from './web.router.js';
import { sidebarRouter } from './sidebar.router.js';
import { sidebarApiRouter } from './sidebar-api.router.js';
import { customersRouter } from './customers.router.js';
import { customersBulkRouter } from './customers-bulk.router.js';
import { groupLabelsRouter, groupsRouter } from './groups.router.js';
import type { GroupService } from '../../domain/groups/group.service.js';
import type { BulkTaggingService } from '../../domain/customers/bulk-tagging.service.js';
import { audiencesRouter } from './audiences.router.js';
import { channelsRouter } from './channels.router.js';
import { groupCodesRouter } from './group-codes.router.js';
import { groupWelcomeTemplatesRouter } from './group-welcome-templates.router.js';
import { tagsRouter } from './tags.router.js';
import { tagGroupsRouter } from './tag-groups.router.js';
import { tagRulesRouter } from './tag-rules.router.js';
import { notesRouter } from './notes.router.js';
import { ordersRouter } from './orders.router.js';
import { staffRouter } from './staff.router.js';
import { deliveriesRouter } from './deliveries.router.js';
import { careRulesRouter } from './care-rules.router.js';
import { broadcastsRouter } from './broadcasts.router.js';
import { groupBroadcastsRouter } from './group-broadcasts.router.js';
import type { GroupBroadcastService } from '../../domain/group-broadcasts/group-broadcast.service.js';
import { quickRepliesRouter } from './quick-replies.router.js';
import { contentRouter } from './content.router.js';
import type { ContentService } from '../../domain/content/content.service.js';
import type { ContentMediaService } from '../../domain/content/content-media.service.js';
import { erasureRouter } from './erasure.router.js';
import { transfersRouter } from './transfers.router.js';
import { consoleAuthRouter } from './console-auth.router.js';
import { sessionRouter } from './session.router.js';
import { usersRouter } from './users.router.js';
import { auditLogRouter } from './audit-log.router.js';
import { analyticsRouter } from './analytics.router.js';
import { analyticsRetentionRouter } from './analytics-retention.router.js';
import type { RetentionAnalyticsService } from '../../domain/analytics/retention.service.js';
import { analyticsGroupsRouter, analyticsStaffRouter } from './analytics-staff.router.js';
import { groupTransfersRouter } from './group-transfers.router.js';
import type { GroupTransferService } from '../../domain/transfers/group-transfer.service.js';
import type { GroupStatsService } from '../../domain/analytics/group-stats.service.js';
import type { GroupSidebarService } from '../../domain/sidebar/group-sidebar.service.js';
import type { StaffPerformanceService } from '../../domain/analytics/staff-performance.service.js';
import { reachRouter } from './reach.router.js';
import type { ReachService } from '../../domain/analytics/reach.service.js';
import { settingsRouter } from './settings.router.js';
import { loyaltyApiRouter, loyaltySidebarRouter, pointsPageRouter } from './loyalty.router.js';
import { churnApiRouter, churnCausesRouter, churnSidebarRouter } from './churn.router.js';
import type { ChurnCauseService } from '../../domain/churn/churn-cause.service.js';
import type { ChurnRiskService } from '../../domain/churn/churn-risk.service.js';
import type { LoyaltyService } from '../../domain/loyalty/loyalty.service.js';
import { surveyPageRouter, surveysApiRouter, surveysSidebarRouter, type SurveyRouteDeps } from './surveys.router.js';
import type { SurveyService } from '../../domain/surveys/survey.service.js';
import type { SurveySender } from '../../domain/surveys/survey-sender.js';
import type { SurveyResultsService } from '../../domain/surveys/survey-results.service.js';
import type { PlanSink } from '../../domain/delivery/delivery-ledger.js';
import { feedbackApiRouter, feedbackSidebarRouter } from './feedback.router.js';
import { todoApiRouter, todoSidebarRouter } from './todo.router.js';
import type { TodoService } from '../../domain/todo/todo.service.js';
import type { StaffTaskService } from '../../domain/todo/staff-task.service.js';
import type { FeedbackService } from '../../domain/feedback/feedback.service.js';
import { groupSopApiRouter, groupSopPageRouter } from './group-sop.router.js';
import { journeyRepliedRouters, journeysRouter } from './journeys.router.js';
import type { JourneyService } from '../../domain/journeys/journey.service.js';
import type { GroupSopService } from '../../domain/group-sop/group-sop.service.js';

/** WeCom's OAuth2 authorize page for web apps (docs/wecom-protocol.md §Staff sign-in for web pages). */
export const WECOM_OAUTH_AUTHORIZE_URL = 'https://open.weixin.qq.com/connect/oauth2/authorize';
/** WeCom's web login page for self-built apps (docs/wecom-protocol.md §Web login for the console). */
export const WECOM_WEB_LOGIN_URL = 'https://login.work.weixin.qq.com/wwlogin/sso/login';

/** The services the routes call, handed over by the composition root. */
export interface RouteDeps {
  config: AppConfig;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  dataSource: DataSource;
  /** The inbox backlog, for `/readyz` and the lane gauges (docs/inbox.md §Backlog and readiness). */
  backlog: Pick<InboxBacklog, 'snapshot'>;
  deliveryLog: DeliveryLogService;
  sandbox: Pick<WecomSandbox, 'router'> | null;
  inbox: InboxService;
  archive: {
    customers: CustomerService;
    bulkTags: BulkTaggingService;
    channels: ChannelService;
    library: TagLibraryService;
    tagRules: TagRuleService;
    notes: NoteService;
    orders: OrderService;
    /** Absent where a test builds the routes without it: the archive then shows no prediction. */
    repurchase?: Pick<RepurchaseService, 'forCustomer'>;
    staff: StaffService;
    access: StaffAccessService;
  };
  /** 客户群: lists, detail, labels (docs/groups.md); absent where a test builds the routes without it. */
  groups?: { service: GroupService };
  privacy: { erasure: ErasureService };
  transfers: { service: TransferService; groups: GroupTransferService };
  /** 群活码 and 入群欢迎语 (docs/groups.md). */
  groupAcquisition: { codes: GroupCodeService; welcomes: GroupWelcomeService };
  sidebar: { sessions: StaffSessionService; replies: QuickReplyService; jssdk: JssdkConfigService; groups?: GroupSidebarService };
  /** 素材库 (docs/content.md). */
  content: { service: ContentService; media: Pick<ContentMediaService, 'isFresh'> };
  scheduling: { careRules: CareRuleService; winback: WinbackService; calendar: CareCalendarService; broadcasts: { service: BroadcastService; preview: BroadcastPreviewService; progress: BroadcastProgressService; images: BroadcastImageService; remind: BroadcastRemindService }; groupBroadcasts?: { service: GroupBroadcastService } };
  /** The operator console's sign-in, roles, audit log and idempotency keys. */
  console: { roles: MemberRoleService; sessions: ConsoleSessionService; audit: AuditLogService; idempotency: IdempotencyService };
  /** The settings page's read-only view of the configuration. */
  settings: SettingsService;
  /** 数据分析: answers from the rollups (docs/analytics.md). */
  analytics: AnalyticsService;
  /** 留存 and 流失分析 (docs/analytics.md §Retention cohorts, §Churn analysis). */
  retention: RetentionAnalyticsService;
  /** 员工统计: WeCom's per-member figures next to the bot's (docs/analytics.md §Staff performance). */
  staffPerformance: StaffPerformanceService;
  /** 客户群数据: WeCom's group figures, pulled nightly (docs/groups.md §Group statistics). */
  groupStats: GroupStatsService;
  /** 触达效果: care and campaign results from their rollup (docs/analytics.md §Care and campaign results). */
  reach: ReachService;
  /** 积分与会员: points, tiers and the customer's signed page (docs/loyalty.md). */
  loyalty: LoyaltyService;
  /** 满意度调查: definitions, sends by hand through the ledger, results and the customer's page (docs/surveys.md). */
  surveys: { service: SurveyService; sender: SurveySender; results: SurveyResultsService; audienceIds: SurveyRouteDeps['audienceIds']; ledger: () => PlanSink };
  /** 客户反馈处理: feedback tickets for the sidebar and the API (docs/feedback.md). */
  feedback: FeedbackService;
  /** 流失预警: churn-risk scores (docs/churn.md §API). */
  churn: ChurnRiskService;
  /** 流失原因: lost relations' causes (docs/churn.md §Causes). */
  churnCauses: ChurnCauseService;
  /** 群SOP: plans, their report and the owner's reminder page (docs/groups.md §Group SOP). */
  groupSop: { service: GroupSopService };
  /** 客户旅程 (docs/journeys.md). */
  journeys: { service: JourneyService };
  /** 今日待办: each member's list, staff tasks and the completion report (docs/todo.md); absent where a test builds the routes without it. */
  todo?: { service: TodoService; tasks: StaffTaskService };
  /** Called with the listen URL: the sidebar's origin learns it here in sandbox mode. */
  onListen: ((baseUrl: string) => void)[];
  /** Metrics and readiness checks of other threads of this process (docs/inbox.md §Handler thread). */
  metricsFrom: (() => Promise<MetricObjectWithValues<MetricValue<string>>[]>)[];
  readiness: (() => Record<string, string>)[];
}

/** What the app mounts (src/app.ts). */
export interface Routes {
  /** `/api/v1` routers, behind authentication. */
  apiRouters: Router[];
  /** Callbacks, pages and the sidebar: each route states its own policy (docs/security.md §Access policies). */
  publicRouters: Router[];
  /** Health and metrics: the only router a worker-role process serves (docs/inbox.md §Roles). */
  health: Router;
  /** Middleware mounted at a path prefix (the sandbox under /sandbox). */
  mounts: { prefix: string; middleware: Middleware }[];
  /** The sidebar's session check, for routes whose policy is the sidebar session. */
  sidebarAuth: { sessions: StaffSessionService; access: Pick<StaffAccessService, 'checkSession'> };
  /** The console's cookie sessions, the audit log and idempotency keys, for every API route (src/http/access.ts). */
  consoleGate: { console: ConsoleSessionService; consoleSecure: boolean; audit: AuditLogService; idempotency: IdempotencyService };
}

/**
 * Where staff sign in: WeCom's authorize page, or offline the sandbox's stand-in (in-process under /sandbox, or
 * the standalone `wecom-ops sandbox` at WECOM_API_BASE when the sandbox corp is configured without it).
 */
function authorizeUrl(d: RouteDeps): string {
  if (d.sandbox) return '/sandbox/connect/oauth2/authorize';
  if (d.config.wecomCorpId === SANDBOX_CORP.corpId) return `${d.config.wecom.apiBase.replace(/\/$/, '')}/connect/oauth2/authorize`;
  return WECOM_OAUTH_AUTHORIZE_URL;
}

/** Where the console signs in: WeCom's web login page, or offline the sandbox's stand-in (as authorizeUrl). */
function webLoginUrl(d: RouteDeps): string {
  if (d.sandbox) return '/sandbox/wwlogin/sso/login';
  if (d.config.wecomCorpId === SANDBOX_CORP.corpId) return `${d.config.wecom.apiBase.replace(/\/$/, '')}/wwlogin/sso/login`;
  return WECOM_WEB_LOGIN_URL;
}

/** Build every router from the services. The order is the mount order. */
export function buildRoutes(d: RouteDeps): Routes {
  const { config, archive, sidebar, scheduling } = d;
  const callback = callbackRouter({
    inbox: d.inbox,
    creds: {
      token: config.wecom.token!,
      encodingAesKey: config.wecom.encodingAesKey!,
      receiveId: config.wecomCorpId,
      next: config.wecom.nextToken ? { token: config.wecom.nextToken, encodingAesKey: config.wecom.nextEncodingAesKey! } : undefined,
    },
    replayWindowSeconds: config.wecom.replayWindowSeconds,
    clock: d.clock,
    log: d.log,
    metrics: d.metrics,
    storeTimeoutMs: config.inbox.storeTimeoutMs,
  });

  const { metrics, backlog } = d;
  const health = healthRouter({
    dataSource: d.dataSource,
    registry: metrics.registry,
    inbox: () => backlog.snapshot(),
    metricsFrom: d.metricsFrom,
    readiness: d.readiness,
    beforeMetrics: async () => {
      const counts = await d.inbox.countByStatus();
      for (const s of ['pending', 'running', 'done', 'failed', 'ignored']) metrics.inboxBacklog.set({ status: s }, counts[s] ?? 0);
      const b = await backlog.snapshot();
      metrics.inboxLaneBacklog.set({ lane: 'urgent' }, b.urgent.count);
      metrics.inboxLaneBacklog.set({ lane: 'ordinary' }, b.ordinary.count);
      metrics.inboxLaneBacklog.set({ lane: 'waiting' }, b.waiting);
      metrics.inboxOldestReadyAge.set({ lane: 'urgent' }, b.urgent.oldestAgeSeconds ?? 0);
      metrics.inboxOldestReadyAge.set({ lane: 'ordinary' }, b.ordinary.oldestAgeSeconds ?? 0);
      metrics.inboxHandledRate.set(b.handledPerSecond ?? NaN);
      metrics.inboxDrainEstimate.set(b.drainSecondsEstimate ?? NaN);
    },
  });

  // PUBLIC_URL, or (sandbox mode only: it is required otherwise) the URL the server listens on.
  const origin = new SelfOrigin(config.publicUrl);
  d.onListen.push((url) => origin.learn(url));
  // The console's cookies are Secure when the site is https (PUBLIC_URL), whatever the request looked like.
  const consoleSecure = config.publicUrl?.startsWith('https:') ?? false;
  const loyaltyDeps = { loyalty: d.loyalty, origin, clock: d.clock, tz: config.appTimezone };
  const surveyDeps: SurveyRouteDeps = {
    surveys: d.surveys.service,
    sender: d.surveys.sender,
    results: d.surveys.results,
    customers: archive.customers,
    ledger: d.surveys.ledger,
    audienceIds: d.surveys.audienceIds,
    origin,
    clock: d.clock,
    tz: config.appTimezone,
  };

  return {
    health,
    publicRouters: [
      callback,
      health,
      // Before the console's pages, so /console/login and /console/auth/callback are never taken for a page.
      consoleAuthRouter({
        sessions: d.console.sessions,
        corpId: config.wecomCorpId,
        agentId: config.wecom.agentId,
        loginUrl: webLoginUrl(d),
        origin,
        secure: consoleSecure,
        log: d.log.child({ module: 'console-auth' }),
      }),
      webRouter(),
      sidebarRouter({
        sessions: sidebar.sessions,
        corpId: config.wecomCorpId,
        agentId: config.wecom.agentId,
        authorizeUrl: authorizeUrl(d),
        origin,
        access: archive.access,
        jssdkTestMode: d.sandbox !== null,
        log: d.log.child({ module: 'sidebar' }),
      }),
      sidebarApiRouter({ customers: archive.customers, notes: archive.notes, replies: sidebar.replies, jssdk: sidebar.jssdk, staff: archive.staff, repurchase: archive.repurchase, groups: sidebar.groups, origin }),
      eventsRouter(d.inbox),
      loyaltySidebarRouter(loyaltyDeps),
      surveysSidebarRouter(surveyDeps),
      // The survey page counts against the same per-address and per-token limits as the points page (their own windows).
      surveyPageRouter({ ...surveyDeps, perMinutePerAddress: config.loyalty.pagePerMinutePerAddress, perMinutePerToken: config.loyalty.pagePerMinutePerToken }),
      feedbackSidebarRouter(d.feedback),
      ...(d.todo ? [todoSidebarRouter(d.todo.service, d.todo.tasks)] : []),
      churnSidebarRouter(d.churn),
      pointsPageRouter({ ...loyaltyDeps, perMinutePerAddress: config.loyalty.pagePerMinutePerAddress, perMinutePerToken: config.loyalty.pagePerMinutePerToken }),
      groupSopPageRouter({ sop: d.groupSop.service, clock: d.clock, tz: config.appTimezone, perMinutePerAddress: config.loyalty.pagePerMinutePerAddress, perMinutePerToken: config.loyalty.pagePerMinutePerToken }),
    ],
    apiRouters: [
      customersBulkRouter(archive.bulkTags),
      customersRouter(archive.customers, archive.repurchase, d.groups?.service),
      ...(d.groups ? [groupsRouter(d.groups.service), groupLabelsRouter(d.groups.service)] : []),
      audiencesRouter(archive.customers),
      channelsRouter(archive.channels),
      groupCodesRouter(d.groupAcquisition.codes),
      groupWelcomeTemplatesRouter(d.groupAcquisition.welcomes),
      tagsRouter(archive.library),
      tagGroupsRouter(archive.library),
      tagRulesRouter(archive.tagRules),
      notesRouter(archive.notes),
      ordersRouter(archive.orders),
      staffRouter(archive.staff, archive.access),
      deliveriesRouter(d.deliveryLog),
      careRulesRouter(scheduling.careRules, scheduling.winback, scheduling.calendar),
      broadcastsRouter(scheduling.broadcasts.service, scheduling.broadcasts),
      ...(scheduling.groupBroadcasts ? [groupBroadcastsRouter(scheduling.groupBroadcasts.service)] : []),
      quickRepliesRouter(sidebar.replies),
      contentRouter({ content: d.content.service, media: d.content.media, clock: d.clock, maxBytes: config.content.maxBytes }),
      erasureRouter(d.privacy.erasure),
      transfersRouter(d.transfers.service),
      groupTransfersRouter(d.transfers.groups),
      sessionRouter({ sessions: d.console.sessions, secure: consoleSecure }),
      usersRouter(d.console.roles),
      auditLogRouter(d.console.audit),
      analyticsRouter(d.analytics),
      analyticsRetentionRouter(d.retention),
      analyticsStaffRouter(d.staffPerformance),
      analyticsGroupsRouter(d.groupStats),
      reachRouter(d.reach),
      settingsRouter(d.settings),
      loyaltyApiRouter(loyaltyDeps),
      surveysApiRouter(surveyDeps),
      feedbackApiRouter(d.feedback),
      churnApiRouter(d.churn),
      churnCausesRouter(d.churnCauses),
      groupSopApiRouter(d.groupSop.service),
      journeysRouter({ journeys: d.journeys.service }),
      ...journeyRepliedRouters({ journeys: d.journeys.service, customers: archive.customers }),
      ...(d.todo ? [todoApiRouter(d.todo.service, d.todo.tasks)] : []),
    ],
    mounts: d.sandbox ? [{ prefix: '/sandbox', middleware: d.sandbox.router() }] : [],
    sidebarAuth: { sessions: sidebar.sessions, access: archive.access },
    consoleGate: { console: d.console.sessions, consoleSecure, audit: d.console.audit, idempotency: d.console.idempotency },
  };
}
