import Koa from 'koa';
import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Container } from './container.js';
import { errorHandler } from './http/middleware/error-handler.js';
import { requestContext } from './http/middleware/request-context.js';
import { authenticate } from './http/middleware/auth.js';
import { callbackRouter } from './http/routes/callback.router.js';
import { healthRouter } from './http/routes/health.router.js';
import { eventsRouter } from './http/routes/events.router.js';

/** Build the Koa app. Never listens: tests drive `createApp(c).callback()`. */
export function createApp(c: Container): Koa {
  // X-Forwarded-* only with TRUST_PROXY=N proxies in front: then the client address is the one the Nth-nearest proxy
  // appended, not whatever a client wrote itself (it keys the API's failure throttle). Default 0: the socket's
  // address, X-Forwarded-* ignored (docs/security.md §Proxies and the public origin).
  const app = new Koa(c.config.trustProxy > 0 ? { proxy: true, maxIpsCount: c.config.trustProxy } : { proxy: false });
  app.use(errorHandler(c.log));
  app.use(requestContext());

  for (const m of c.mounts) {
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
  app.use(callback.routes()).use(callback.allowedMethods());

  const health = healthRouter({
    dataSource: c.dataSource,
    registry: c.metrics.registry,
    beforeMetrics: async () => {
      const counts = await c.repos.inbox.countByStatus();
      for (const s of ['pending', 'running', 'done', 'failed', 'ignored']) c.metrics.inboxBacklog.set({ status: s }, counts[s] ?? 0);
    },
  });
  app.use(health.routes());
  for (const r of c.publicRouters) app.use(r.routes()).use(r.allowedMethods());

  const api = new Router();
  // Bodies for the admin API only: the callback route reads its raw XML itself (size-capped, reference §1.3), and
  // the order import reads text/csv itself as a stream (docs/security.md §Order import limits). Authentication
  // comes first, so an anonymous client cannot make the server read a body.
  api.use('/api', authenticate(c.tokens, c.authThrottle), bodyParser({ enableTypes: ['json'], jsonLimit: '1mb', encoding: 'utf-8' }));
  for (const r of [eventsRouter(c.inbox), ...c.apiRouters]) api.use(r.routes(), r.allowedMethods());
  app.use(api.routes()).use(api.allowedMethods());
  return app;
}
