import type Router from '@koa/router';
import type { DataSource } from 'typeorm';
import { Registry } from 'prom-client';
import type { AppConfig } from './config/schema.js';
import { createDataSource } from './persistence/data-source.js';
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
  /** Extra `/api/v1` routers from feature modules; mounted behind authentication. */
  apiRouters: Router[];
  /** Routers mounted without API authentication (sandbox, static pages). */
  publicRouters: Router[];
  /** Koa middleware mounted at a path prefix (e.g. the sandbox under /sandbox). */
  mounts: { prefix: string; middleware: import('koa').Middleware }[];
  /** Background services, started after listen. */
  services: Service[];
  /** Close everything (database last). */
  close(): Promise<void>;
}

export interface BuildOptions {
  clock?: Clock;
  registry?: Registry;
  /** Extra event handlers (tests register probes here). */
  handlers?: EventHandler[];
}

/** Connect, migrate (unless DB_SKIP_MIGRATIONS), and wire the app. */
export async function buildContainer(config: AppConfig, log: Logger, opts: BuildOptions = {}): Promise<Container> {
  const clock = opts.clock ?? systemClock;
  const dataSource = createDataSource({ databaseUrl: config.databaseUrl, migrations });
  await dataSource.initialize();
  if (!config.dbSkipMigrations) {
    const ran = await dataSource.runMigrations({ transaction: 'each' });
    if (ran.length > 0) log.info({ migrations: ran.map((m) => m.name) }, 'migrations applied');
  }
  const db = new Db(dataSource);
  const metrics = createMetrics(opts.registry ?? new Registry(), { defaults: !opts.registry });
  const cipher = new FieldCipher(config.dataKey!);
  const repos = {
    inbox: new InboxRepository(db, cipher),
    timeline: new TimelineRepository(db),
    apiTokens: new ApiTokenRepository(db),
  };
  const inboxWriter = new InboxWriter(repos.inbox, clock);
  const eventRouter = new EventRouter();
  for (const h of opts.handlers ?? []) eventRouter.register(h);
  const inboxProcessor = new InboxProcessor(repos.inbox, repos.timeline, eventRouter, inboxWriter, clock, log, config.inbox, {
    onProcessed: (kind, outcome, _ms, storedToHandledMs) => {
      metrics.inboxProcessed.inc({ kind, outcome });
      if (outcome === 'done' || outcome === 'ignored') metrics.inboxStoredToHandledSeconds.observe(storedToHandledMs / 1000);
    },
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
    apiRouters: [],
    publicRouters: [],
    mounts: [],
    services: [
      {
        name: 'inbox-workers',
        start: () => inboxProcessor.start(),
        stop: () => inboxProcessor.stop(),
      },
    ],
    close: async () => {
      if (dataSource.isInitialized) await dataSource.destroy();
    },
  };
  await wireFeatures(c);
  return c;
}

/**
 * Feature modules register their handlers, routers and services here. Each `register*` lives next to its
 * feature so this file stays a table of contents.
 */
async function wireFeatures(c: Container): Promise<void> {
  const features: ((c: Container) => void | Promise<void>)[] = [];
  for (const f of features) await f(c);
}
