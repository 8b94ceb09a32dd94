import type Router from '@koa/router';
import type { DataSource } from 'typeorm';
import { Registry } from 'prom-client';
import type { AppConfig } from './config/schema.js';
import { installStatementDeadline } from './persistence/statement-deadline.js';
import { createDataSource } from './persistence/data-source.js';
import { runMigrationsExclusively } from './persistence/migrate.js';
import { Db } from './persistence/db.js';
import { migrations } from '../migrations/index.js';
import { InboxRepository } from './persistence/repositories/inbox.repository.js';
import { TimelineRepository } from './persistence/repositories/timeline.repository.js';
import { ApiTokenRepository } from './persistence/repositories/api-token.repository.js';
import { InboxWriter } from './domain/inbox/inbox-writer.js';
import { InboxService } from './domain/inbox/inbox.service.js';
import { EventRouter, type EventHandler } from './domain/inbox/event-router.js';
import { InboxProcessor } from './domain/inbox/inbox-processor.js';
import { ApiTokenService } from './domain/auth/api-token.service.js';
import { FieldCipher } from './shared/field-cipher.js';
import { systemClock, type Clock } from './shared/clock.js';
import { createMetrics, type Metrics } from './shared/metrics.js';
import type { Logger } from './shared/logger.js';
import { WecomClient, type WecomClientOptions } from './wecom/client/wecom.client.js';
import type { WecomGateway } from './wecom/client/gateway.js';
import { WecomSandbox } from './wecom/sandbox/sandbox.js';
import { SANDBOX_CORP } from './wecom/sandbox-identity.js';
import { WecomCredentialRepository } from './persistence/repositories/wecom-credential.repository.js';
import { WecomRateRepository } from './persistence/repositories/wecom-rate.repository.js';
import { RedisRateLeaseStore } from './wecom/client/redis-rate-store.js';
import { registerArchive } from './domain/customers/register.js';
import { registerScheduling } from './jobs/register-scheduling.js';
import { registerNightlySync } from './jobs/sync.hook.js';
import { registerBroadcasts } from './domain/broadcasts/register.js';
import { webRouter } from './http/routes/web.router.js';
import { registerSidebar } from './domain/sidebar/register.js';
import { registerPrivacy } from './domain/privacy/register.js';
import { registerTransfers } from './domain/transfers/register.js';
import { registerKeys } from './domain/keys/register.js';
import { AuthThrottle } from './domain/auth/auth-throttle.js';
import { AuthFailureRepository } from './persistence/repositories/auth-failure.repository.js';

/** Something with a start and a stop, run by `serve` after listen and stopped in reverse order on SIGTERM. */
export interface Service {
  name: string;
  start(): void | Promise<void>;
  stop(): Promise<void>;
}

/** Everything the app is made of, built once with plain constructors (the composition root). */
export interface Container {
  config: AppConfig;
  log: Logger;
  clock: Clock;
  dataSource: DataSource;
  db: Db;
  metrics: Metrics;
  cipher: FieldCipher;
  repos: { inbox: InboxRepository; timeline: TimelineRepository; apiTokens: ApiTokenRepository };
  inbox: InboxService;
  inboxWriter: InboxWriter;
  eventRouter: EventRouter;
  inboxProcessor: InboxProcessor;
  tokens: ApiTokenService;
  /** Refuses clients that keep presenting wrong API tokens (429), shared by every instance. */
  authThrottle: AuthThrottle;
  /** Every WeCom call goes through this (rate-limited, retried, token-cached). */
  wecom: WecomGateway;
  /** The concrete client, for wiring (base URL) and shutdown. */
  wecomClient: WecomClient;
  /** The built-in WeCom sandbox, when no real corp is configured (served under /sandbox). */
  sandbox: WecomSandbox | null;
  /** Called with the server's base URL once it listens (the sandbox and client learn the real port here). */
  onListen: ((baseUrl: string) => void)[];
  /** Extra `/api/v1` routers from feature modules; mounted behind authentication. */
  apiRouters: Router[];
  /** Routers mounted without API authentication (sandbox, static pages). */
  publicRouters: Router[];
  /** The sidebar's session check, for routes whose policy is the sidebar session (set by registerSidebar). */
  sidebarAuth?: { sessions: import('./domain/auth/staff-session.service.js').StaffSessionService; access?: Pick<import('./domain/auth/staff-access.service.js').StaffAccessService, 'checkSession'> };
  /** Koa middleware mounted at a path prefix (e.g. the sandbox under /sandbox). */
  mounts: { prefix: string; middleware: import('koa').Middleware }[];
  /** Background services, started after listen. */
  services: Service[];
  /** Close everything (database last). */
  close(): Promise<void>;
}

export interface BuildOptions {
  clock?: Clock;
  /** Options for the in-process sandbox (tests shorten its retry delays, seed it differently…). */
  sandbox?: Partial<ConstructorParameters<typeof WecomSandbox>[0]>;
  registry?: Registry;
  /** Extra event handlers (tests register probes here). */
  handlers?: EventHandler[];
}

/** Connect, migrate (unless DB_SKIP_MIGRATIONS), and wire the app. */
export async function buildContainer(config: AppConfig, log: Logger, opts: BuildOptions = {}): Promise<Container> {
  const clock = opts.clock ?? systemClock;
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
  const db = new Db(dataSource, { apiReadTimeoutMs: config.apiStatementTimeoutMs });
  const metrics = createMetrics(opts.registry ?? new Registry(), { defaults: !opts.registry });
  const cipher = new FieldCipher(config.dataKey!, config.dataKeyReadOnly);
  const repos = {
    inbox: new InboxRepository(db, cipher),
    timeline: new TimelineRepository(db),
    apiTokens: new ApiTokenRepository(db),
  };
  const inboxWriter = new InboxWriter(repos.inbox, clock, 200, db.engine === 'mysql' ? 4 : 1, (n) => metrics.inboxBatchSize.observe(n), config.inbox.storeTimeoutMs + 1000);
  const eventRouter = new EventRouter();
  for (const h of opts.handlers ?? []) eventRouter.register(h);
  const inboxProcessor = new InboxProcessor(repos.inbox, repos.timeline, eventRouter, inboxWriter, clock, log, config.inbox, {
    onProcessed: (kind, outcome, _ms, storedToHandledMs) => {
      metrics.inboxProcessed.inc({ kind, outcome });
      if (outcome === 'done' || outcome === 'ignored') metrics.inboxStoredToHandledSeconds.observe(storedToHandledMs / 1000);
    },
  });
  const sandbox = config.sandboxEnabled
    ? new WecomSandbox({
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
    credentialStore: db.engine === 'mysql' && !sandbox ? new WecomCredentialRepository(db, cipher) : undefined,
    rateStore: redisRates ?? new WecomRateRepository(db),
  });
  const c: Container = {
    config,
    log,
    clock,
    dataSource,
    db,
    metrics,
    cipher,
    repos,
    inbox: new InboxService(inboxWriter, repos.inbox, clock),
    inboxWriter,
    eventRouter,
    inboxProcessor,
    tokens: new ApiTokenService(repos.apiTokens, clock, config.adminToken),
    authThrottle: new AuthThrottle(new AuthFailureRepository(db), clock, log.child({ component: 'auth' }), config.auth),
    wecom: wecomClient,
    wecomClient,
    sandbox,
    onListen: [],
    apiRouters: [],
    publicRouters: [webRouter()],
    mounts: [],
    services: [
      {
        name: 'inbox-workers',
        start: () => inboxProcessor.start(),
        stop: () => inboxProcessor.stop(),
      },
    ],
    close: async () => {
      wecomClient.close();
      await redisRates?.close();
      await db.close();
      if (dataSource.isInitialized) await dataSource.destroy();
    },
  };
  if (sandbox) {
    c.mounts.push({ prefix: '/sandbox', middleware: sandbox.router() });
    c.onListen.push((baseUrl) => {
      sandbox.setCallbackUrl(`${baseUrl}/wecom/callback`);
      // Unless WECOM_API_BASE points elsewhere, talk to the in-process sandbox on the port we actually got.
      if (config.wecom.apiBase.startsWith('http://127.0.0.1:') && config.wecom.apiBase.endsWith('/sandbox')) {
        wecomClient.setApiBase(`${baseUrl}/sandbox`);
      }
    });
  }
  await wireFeatures(c);
  return c;
}

/**
 * Feature modules register their handlers, routers and services here. Each `register*` lives next to its
 * feature so this file stays a table of contents.
 */
async function wireFeatures(c: Container): Promise<void> {
  const features: ((c: Container) => void | Promise<void>)[] = [registerKeys, registerArchive, registerScheduling, registerNightlySync, registerBroadcasts, registerSidebar, registerPrivacy, registerTransfers];
  for (const f of features) await f(c);
}
