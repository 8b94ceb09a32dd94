import Koa from 'koa';
import type { AppConfig } from './config/schema.js';
import type { Logger } from './shared/logger.js';
import type { ApiTokenService } from './domain/auth/api-token.service.js';
import type { AuthThrottle } from './domain/auth/auth-throttle.js';
import type { Routes } from './http/routes/index.js';
import { errorHandler } from './http/middleware/error-handler.js';
import { onAppError } from './http/middleware/client-gone.js';
import { requestContext } from './http/middleware/request-context.js';
import { installGate, recordRoutes, routeTable } from './http/access.js';

/** What the app is made of: a built container has all of it (src/container.ts). */
export interface AppParts {
  config: AppConfig;
  log: Logger;
  tokens: ApiTokenService;
  authThrottle: AuthThrottle;
  /** Null when the container was built without HTTP (one-shot CLI commands). */
  http: Routes | null;
}

/** Build the Koa app. Never listens: tests drive `createApp(c).callback()`. */
export function createApp(c: AppParts): Koa {
  // X-Forwarded-* only with TRUST_PROXY=N proxies in front: then the client address is the one the Nth-nearest proxy
  // appended, not whatever a client wrote itself (it keys the API's failure throttle). Default 0: the socket's
  // address, X-Forwarded-* ignored (docs/security.md §Proxies and the public origin).
  const app = new Koa(c.config.trustProxy > 0 ? { proxy: true, maxIpsCount: c.config.trustProxy } : { proxy: false });
  // Errors Koa sees after a response began (a stream cut short when the client left): no stack on stderr for those.
  app.on('error', onAppError(c.log));
  app.use(errorHandler(c.log));
  app.use(requestContext());

  const http = c.http;
  if (!http) throw new Error('this container was built without HTTP routes (BuildOptions.http = false)');
  for (const m of c.config.serveRole === 'worker' ? [] : http.mounts) {
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

  // Every router is mounted on the app itself, never behind a prefix middleware: each route carries its own access
  // policy (docs/security.md §Access policies), and routeTable refuses a route without one.
  installGate(app, {
    tokens: c.tokens,
    throttle: c.authThrottle,
    sessions: http.sidebarAuth.sessions,
    access: http.sidebarAuth.access,
    metricsToken: c.config.metricsToken,
    // The console's cookie, the audit log and Idempotency-Key (docs/security.md §Console sign-in and roles).
    ...http.consoleGate,
  });
  // A worker-role process serves its own health and metrics only: no callbacks, no API, no pages (docs/inbox.md §Roles).
  const routers = c.config.serveRole === 'worker' ? [http.health] : [...http.publicRouters, ...http.apiRouters];
  recordRoutes(app, routeTable(routers));
  for (const r of routers) app.use(r.routes()).use(r.allowedMethods());
  return app;
}
