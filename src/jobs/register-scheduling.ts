import { randomBytes } from 'node:crypto';
import { featureSlot } from '../shared/feature-slot.js';
import { hostname } from 'node:os';
import type { Container } from '../container.js';
import type { Clock } from '../shared/clock.js';
import type { WecomGateway } from '../wecom/client/gateway.js';
import { JobRunRepository } from '../persistence/repositories/job-run.repository.js';
import { DeliveryRepository } from '../persistence/repositories/delivery.repository.js';
import { DeliveryBatchRepository } from '../persistence/repositories/delivery-batch.repository.js';
import { SendSlotRepository } from '../persistence/repositories/send-slot.repository.js';
import { CareRuleRepository } from '../persistence/repositories/care-rule.repository.js';
import { CareScanRepository } from '../persistence/repositories/care-scan.repository.js';
import { CampaignEnrolmentRepository } from '../persistence/repositories/campaign-enrolment.repository.js';
import { loadCareConfig, type CareConfig, type CareSettings } from '../domain/care/care-settings.js';
import { CareRuleService } from '../domain/care/care-rule.service.js';
import { CarePlanner } from '../domain/care/care-planner.js';
import { DeliveryLedger, type CapSettings } from '../domain/delivery/delivery-ledger.js';
import { DeliveryDispatcher } from '../domain/delivery/delivery-dispatcher.js';
import { DeliveryResultsService } from '../domain/delivery/delivery-results.service.js';
import { WinbackService } from '../domain/campaigns/winback.service.js';
import { ScoringService } from '../domain/scoring/scoring.service.js';
import { BehaviourTaggingService } from '../domain/tags/behaviour-tagging.service.js';
import type { ArchiveModule } from '../domain/customers/register.js';
import { ScoringRepository } from '../persistence/repositories/scoring.repository.js';
import { BehaviourTagRepository } from '../persistence/repositories/behaviour-tag.repository.js';
import { deliveriesRouter } from '../http/routes/deliveries.router.js';
import { careRulesRouter } from '../http/routes/care-rules.router.js';
import { JobRegistry } from './job-registry.js';
import { Scheduler } from './scheduler.js';
import { careJob } from './care.job.js';
import { deliveryResultsJob } from './delivery-results.job.js';
import { scoringJob } from './scoring.job.js';
import { winbackJob } from './winback.job.js';
import { broadcastsJob, syncJob } from './hook.jobs.js';
import { staffDigestJob } from './staff-digest.job.js';
import { retentionJob } from './retention.job.js';
import { RetentionService } from '../domain/privacy/retention.service.js';
import { RetentionRepository } from '../persistence/repositories/retention.repository.js';

/**
 * Everything the scheduling module builds: the CLI (`job list|run`), tests and other features reach it through
 * `schedulingOf(c)`.
 */
export interface SchedulingModule {
  settings: CareSettings;
  instanceId: string;
  repos: {
    jobRuns: JobRunRepository;
    deliveries: DeliveryRepository;
    deliveryBatches: DeliveryBatchRepository;
    sendSlots: SendSlotRepository;
    careRules: CareRuleRepository;
    scan: CareScanRepository;
    enrolments: CampaignEnrolmentRepository;
  };
  /** The job table; other features `register` or `hook` jobs here (e.g. `hook('sync', run)`). */
  jobs: JobRegistry;
  scheduler: Scheduler;
  careRules: CareRuleService;
  planner: CarePlanner;
  ledger: DeliveryLedger;
  dispatcher: DeliveryDispatcher;
  results: DeliveryResultsService;
  winback: WinbackService;
  /** RFM segments and lifecycle stages (the `scoring` job). */
  scoring: ScoringService;
  /** Behaviour tag rules (the `scoring` job); null when the archive is not wired. */
  behaviourTags: BehaviourTaggingService | null;
}

const modules = featureSlot<SchedulingModule>('scheduling');

/** The scheduling module of a container (throws if `registerScheduling` did not run). */
export function schedulingOf(c: Container): SchedulingModule {
  return modules.of(c);
}

/** Options for building the module (tests override settings or the clock). */
export interface SchedulingOptions {
  config?: CareConfig;
  settings?: Partial<CareSettings>;
  clock?: Clock;
  instanceId?: string;
}

/** Build the scheduling module over a container's database, clock and WeCom gateway. */
export function buildScheduling(c: Container, opts: SchedulingOptions = {}): SchedulingModule {
  const config = opts.config ?? loadCareConfig();
  const settings: CareSettings = { ...config.settings, ...opts.settings };
  const clock = opts.clock ?? c.clock;
  const tz = c.config.appTimezone;
  const log = c.log.child({ component: 'scheduling' });
  const instanceId = opts.instanceId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  // Resolved per call, so a gateway swapped in later (tests, reconfiguration) is used.
  const wecom = (): WecomGateway => (c as Container & { wecom: WecomGateway }).wecom;
  const repos = {
    jobRuns: new JobRunRepository(c.db),
    deliveries: new DeliveryRepository(c.db),
    deliveryBatches: new DeliveryBatchRepository(c.db),
    sendSlots: new SendSlotRepository(c.db),
    careRules: new CareRuleRepository(c.db),
    scan: new CareScanRepository(c.db),
    enrolments: new CampaignEnrolmentRepository(c.db),
  };
  const archive = (c as Container & { archive?: ArchiveModule }).archive;
  const caps: CapSettings = { massQuotaRule: settings.massQuotaRule, perCustomerPerDay: settings.perCustomerPerDay };
  const planner = new CarePlanner(repos.scan, c.db.engine, { tz, pageSize: settings.pageSize, senderPolicy: settings.senderPolicy }, log);
  const dispatcher = new DeliveryDispatcher(
    repos.deliveries,
    repos.deliveryBatches,
    wecom,
    { optedOut: (ids) => repos.scan.optedOut(ids), kfConversation: (id, since) => repos.scan.kfConversation(id, since) },
    { quietHours: { ...settings.quietHours, tz }, reconcileAfterSeconds: settings.reconcileAfterSeconds, resultPollMinutes: settings.resultPollMinutes },
    instanceId,
    log,
    // Reminders share each member's app message budget with churn alerts (StaffMessenger,
    // docs/wecom-protocol.md §API rate limits).
    (userid) => archive?.messenger.reserve(userid) ?? Promise.resolve(true),
  );
  const results = new DeliveryResultsService(repos.deliveries, repos.deliveryBatches, wecom, settings, log);
  const winback = new WinbackService(repos.scan, repos.enrolments, repos.careRules, c.db.engine, { tz, pageSize: settings.pageSize, senderPolicy: settings.senderPolicy, activity: settings.activity }, log);
  const scoring = new ScoringService(new ScoringRepository(c.db), { tz, pageSize: settings.pageSize, activity: settings.activity, ...settings.scoring }, log);
  const behaviourTags = archive
    ? new BehaviourTaggingService(new BehaviourTagRepository(c.db), archive.repos.tagRules, archive.library, c.db.engine, { tz, pageSize: settings.pageSize }, log)
    : null;
  const jobs = new JobRegistry();
  jobs.register(careJob({ rules: repos.careRules, deliveries: repos.deliveries, slots: repos.sendSlots, planner, dispatcher, caps, careTime: settings.careTime, tz }));
  jobs.register(winbackJob({ winback, deliveries: repos.deliveries, slots: repos.sendSlots, dispatcher, caps, schedule: settings.schedules.winback, tz }));
  jobs.register(scoringJob({ winback, scoring, behaviourTags, schedule: settings.schedules.scoring, tz }));
  jobs.register(broadcastsJob(settings.schedules.broadcasts));
  jobs.register(deliveryResultsJob({ dispatcher, results, schedule: settings.schedules['delivery-results'] }));
  jobs.register(syncJob(settings.schedules.sync));
  const retention = new RetentionService(new RetentionRepository(c.db), settings.retention, log);
  jobs.register(retentionJob({ retention, settings: settings.retention, schedule: settings.schedules.retention }));
  if (archive) jobs.register(staffDigestJob({ messenger: archive.messenger, schedule: settings.schedules['staff-digest'] }));
  const scheduler = new Scheduler({ registry: jobs, runs: repos.jobRuns, clock, tz, instanceId, log });
  return {
    settings,
    instanceId,
    repos,
    jobs,
    scheduler,
    careRules: new CareRuleService(repos.careRules, clock, log),
    planner,
    ledger: new DeliveryLedger(repos.deliveries, repos.sendSlots, caps, () => clock.now()),
    dispatcher,
    results,
    winback,
    scoring,
    behaviourTags,
  };
}

/**
 * Wire scheduling into the container: the scheduling module, `/api/v1/deliveries` and `/api/v1/care-rules`, the
 * default rules from config/care-rules.json (seeded once), and the scheduler as a background service.
 */
export async function registerScheduling(c: Container): Promise<void> {
  const config = loadCareConfig();
  const m = buildScheduling(c, { config });
  modules.set(c, m);
  await m.careRules.seed(config.rules);
  c.apiRouters.push(deliveriesRouter(m.repos.deliveries), careRulesRouter(m.careRules, m.winback));
  c.services.push({
    name: 'scheduler',
    start: async () => {
      await m.scheduler.prune().catch((err) => c.log.warn({ err }, 'pruning job runs failed'));
      await m.scheduler.start();
    },
    stop: () => m.scheduler.stop(),
  });
}
