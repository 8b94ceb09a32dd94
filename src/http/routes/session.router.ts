import Router from '@koa/router';
import { ANY_ROLE, allow, api } from '../access.js';
import type { Principal } from '../../domain/auth/api-token.service.js';
import type { ConsoleIdentity, ConsoleSessionService } from '../../domain/auth/console-session.service.js';
import { CONSOLE_COOKIE, consoleCookie } from '../middleware/console-session.js';

/**
 * `/api/v1/me` and `/api/v1/session/logout`: who the caller is (the console reads its role and CSRF token here) and
 * the console's sign-out (docs/security.md §Console sign-in and roles).
 */
export function sessionRouter(d: { sessions: Pick<ConsoleSessionService, 'end'>; secure: boolean }): Router {
  const router = new Router({ prefix: '/api/v1', sensitive: true });
  router.get('/me', allow(api(ANY_ROLE, 'none')), (ctx) => {
    const p = ctx.state.principal as Principal;
    const c = ctx.state.console as ConsoleIdentity | undefined;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      userid: p.userid,
      name: c?.name ?? p.name ?? p.userid,
      role: p.role,
      // Only a console session has one; bearer tokens need none.
      csrfToken: c?.csrfToken ?? null,
      via: p.via ?? 'token',
    };
  });
  router.post('/session/logout', allow(api(ANY_ROLE, 'none')), async (ctx) => {
    if (ctx.state.console) {
      await d.sessions.end(ctx.cookies.get(CONSOLE_COOKIE));
      ctx.cookies.set(CONSOLE_COOKIE, null, consoleCookie(ctx, d.secure, '/', undefined));
    }
    ctx.status = 204;
  });
  return router;
}
