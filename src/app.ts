import Koa from 'koa';
import type { Container } from './container.js';
import { errorHandler } from './http/middleware/error-handler.js';
import { requestContext } from './http/middleware/request-context.js';
import { installGate, recordRoutes, routeTable } from './http/access.js';
import { callbackRouter } from './http/routes/callback.router.js';
import { healthRouter } from './http/routes/health.router.js';
import { eventsRouter } from './http/routes/events.router.js';
import { InboxBacklog } from './domain/inbox/inbox-backlog.js';

/** Build the Koa app. Never listens: tests drive `createApp(c).callback()`. */
export function createApp(c: Container): Koa {
  // X-Forwarded-* only with TRUST_PROXY=N proxies in front: then the client address is the one the Nth-nearest proxy
  // appended, not whatever a client wrote itself (it keys the API's failure throttle). Default 0: the socket's
  // address, X-Forwarded-* ignored (docs/security.md §Proxies and the public origin).
  const app = new Koa(c.config.trustProxy > 0 ? { proxy: true, maxIpsCount: c.config.trustProxy } : { proxy: false });
  app.use(errorHandler(c.log));
  app.use(requestContext());

  for (const m of c.config.serveRole === 'worker' ? [] : c.mounts) {
    app.use(async (ctx, next) => {
      if (ctx.path !== m.prefix && !ctx.path.startsWith(`${m.prefix}/`)) return next();
      const original = ctx.path;
      ctx.path = ctx.path.slice(m.prefix.length) || '/';
      try {
        await m.middleware(ctx, async () => {
          ctx.path = original;
          await next();
        });
      } finally {
        ctx.path = original;
      }
    });
  }

  const callback = callbackRouter({
    inbox: c.inbox,
    creds: {
      token: c.config.wecom.token!,
      encodingAesKey: c.config.wecom.encodingAesKey!,
      receiveId: c.config.wecomCorpId,
      next: c.config.wecom.nextToken ? { token: c.config.wecom.nextToken, encodingAesKey: c.config.wecom.nextEncodingAesKey! } : undefined,
    },
    replayWindowSeconds: c.config.wecom.replayWindowSeconds,
    clock: c.clock,
    log: c.log,
    metrics: c.metrics,
    storeTimeoutMs: c.config.inbox.storeTimeoutMs,
  });

  const backlog = new InboxBacklog(c.db, c.clock);
  const health = healthRouter({
    dataSource: c.dataSource,
    registry: c.metrics.registry,
    inbox: () => backlog.snapshot(),
    beforeMetrics: async () => {
      const counts = await c.repos.inbox.countByStatus();
      for (const s of ['pending', 'running', 'done', 'failed', 'ignored']) c.metrics.inboxBacklog.set({ status: s }, counts[s] ?? 0);
      const b = await backlog.snapshot();
      c.metrics.inboxLaneBacklog.set({ lane: 'urgent' }, b.urgent.count);
      c.metrics.inboxLaneBacklog.set({ lane: 'ordinary' }, b.ordinary.count);
      c.metrics.inboxLaneBacklog.set({ lane: 'waiting' }, b.waiting);
      c.metrics.inboxOldestReadyAge.set({ lane: 'urgent' }, b.urgent.oldestAgeSeconds ?? 0);
      c.metrics.inboxOldestReadyAge.set({ lane: 'ordinary' }, b.ordinary.oldestAgeSeconds ?? 0);
      c.metrics.inboxHandledRate.set(b.handledPerSecond ?? NaN);
      c.metrics.inboxDrainEstimate.set(b.drainSecondsEstimate ?? NaN);
    },
  });

  // Every router is mounted on the app itself, never behind a prefix middleware: each route carries its own access
  // policy (docs/security.md §Access policies), and routeTable refuses a route without one.
  installGate(app, { tokens: c.tokens, throttle: c.authThrottle, sessions: c.sidebarAuth?.sessions, access: c.sidebarAuth?.access, metricsToken: c.config.metricsToken });
  // A worker-role process serves its own health and metrics only: no callbacks, no API, no pages (docs/inbox.md §Roles).
  const routers = c.config.serveRole === 'worker' ? [health] : [callback, health, ...c.publicRouters, eventsRouter(c.inbox), ...c.apiRouters];
  recordRoutes(app, routeTable(routers));
  for (const r of routers) app.use(r.routes()).use(r.allowedMethods());
  return app;
}
