import type { Container } from '../../container.js';
import { BroadcastRepository } from '../../persistence/repositories/broadcast.repository.js';
import { schedulingOf, type SchedulingModule } from '../../jobs/register-scheduling.js';
import { broadcastsRun } from '../../jobs/broadcasts.job.js';
import type { JobContext, JobCounts } from '../../jobs/job.types.js';
import { broadcastsRouter } from '../../http/routes/broadcasts.router.js';
import { BroadcastPlanner } from './broadcast-planner.js';
import { BroadcastService } from './broadcast.service.js';

/** The broadcasts feature: its repository, the API service, the planner and the `broadcasts` job's run. */
export interface BroadcastsModule {
  repo: BroadcastRepository;
  service: BroadcastService;
  planner: BroadcastPlanner;
  run(ctx: JobContext): Promise<JobCounts>;
}

/**
 * Build the feature over a scheduling module: it reuses that module's ledger repository, caps, sender policy, quiet
 * hours, dispatcher and instance id, so broadcasts obey exactly the rules care messages do.
 */
export function buildBroadcasts(c: Container, m: SchedulingModule): BroadcastsModule {
  const tz = c.config.appTimezone;
  const log = c.log.child({ component: 'broadcasts' });
  const repo = new BroadcastRepository(c.db);
  const { settings } = m;
  const planner = new BroadcastPlanner(
    repo,
    m.repos.scan,
    m.repos.deliveries,
    c.db.engine,
    { tz, pageSize: settings.pageSize, senderPolicy: settings.senderPolicy, quietHours: { ...settings.quietHours, tz } },
    m.instanceId,
    log,
  );
  // Resolved per call, like the scheduling module's gateway, so a gateway swapped in later is used.
  const service = new BroadcastService(repo, m.repos.deliveries, m.repos.deliveryBatches, () => c.wecom, c.db.engine, c.clock, tz, log);
  const caps = { massQuotaRule: settings.massQuotaRule, perCustomerPerDay: settings.perCustomerPerDay };
  return { repo, service, planner, run: broadcastsRun({ planner, deliveries: m.repos.deliveries, slots: m.repos.sendSlots, dispatcher: m.dispatcher, caps }) };
}

/** Fill a scheduling module's `broadcasts` job slot with this feature (tests attach a second "instance" this way). */
export function attachBroadcasts(c: Container, m: SchedulingModule): BroadcastsModule {
  const b = buildBroadcasts(c, m);
  m.jobs.hook('broadcasts', b.run);
  return b;
}

/** Wire broadcasts into the container: the job hook and `/api/v1/broadcasts`. Runs after registerScheduling. */
export function registerBroadcasts(c: Container): void {
  const b = attachBroadcasts(c, schedulingOf(c));
  c.apiRouters.push(broadcastsRouter(b.service));
}
