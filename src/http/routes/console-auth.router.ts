import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { allow, publicRoute } from '../access.js';
import { ConsoleSignInError, type ConsoleSessionService } from '../../domain/auth/console-session.service.js';
import type { Logger } from '../../shared/logger.js';
import { toError } from '../../shared/errors.js';
import { CONSOLE_COOKIE, CONSOLE_LOGIN_COOKIE, consoleCookie } from '../middleware/console-session.js';
import { presentConsoleSignInPage } from '../presenters/console-page.presenter.js';
import type { SelfOrigin } from '../origin.js';

/** The path WeCom sends the browser back to; its domain is the app's 企业微信授权登录 callback domain. */
export const CONSOLE_CALLBACK_PATH = '/console/auth/callback';

const callbackQuery = z.object({ code: z.string().min(1).max(512), state: z.string().max(128) });
const SIGN_IN = publicRoute('the console sign-in: WeCom web login proves who the member is');

/** What the console's sign-in needs. */
export interface ConsoleAuthDeps {
  sessions: Pick<ConsoleSessionService, 'begin' | 'complete' | 'idleMs'>;
  corpId: string;
  agentId: number | undefined;
  /** WeCom's web login page (docs/wecom-protocol.md §Web login for the console), or the sandbox's stand-in offline. */
  loginUrl: string;
  /** This site's origin (PUBLIC_URL, or in sandbox mode the listen URL): the redirect_uri's, never the request's Host. */
  origin: Pick<SelfOrigin, 'get'>;
  /** Whether cookies are Secure (PUBLIC_URL is https). */
  secure: boolean;
  log: Logger;
}

/**
 * 企业微信扫码登录 for the console: `/console/login` sends the browser to WeCom's web login page with a state bound to
 * this browser, `/console/auth/callback` turns the code into a console session cookie and lands on the console.
 * Protocol: docs/wecom-protocol.md §Web login for the console. Sessions and refusals:
 * docs/security.md §Console sign-in and roles.
 */
export function consoleAuthRouter(d: ConsoleAuthDeps): Router {
  const page = (ctx: Context, status: number, title: string, message: string, retry: boolean) => {
    ctx.status = status;
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
    ctx.body = presentConsoleSignInPage({ title, message, retry });
  };

  const router = new Router({ sensitive: true });
  router.get('/console/login', allow(SIGN_IN), (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const next = typeof ctx.query.next === 'string' ? ctx.query.next : undefined;
    const start = d.sessions.begin(next);
    ctx.cookies.set(CONSOLE_LOGIN_COOKIE, start.binding, consoleCookie(ctx, d.secure, '/console/auth', start.maxAgeMs));
    const q = new URLSearchParams({
      // CorpApp: a self-built app's login; appid is the CorpID, agentid the app whose callback domain must match
      // redirect_uri (docs/wecom-protocol.md §Web login for the console).
      login_type: 'CorpApp',
      appid: d.corpId,
      redirect_uri: `${d.origin.get()}${CONSOLE_CALLBACK_PATH}`,
      state: start.state,
      lang: 'zh',
    });
    if (d.agentId !== undefined) q.set('agentid', String(d.agentId));
    ctx.redirect(`${d.loginUrl}?${q.toString()}`);
  });

  router.get(CONSOLE_CALLBACK_PATH, allow(SIGN_IN), async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const binding = ctx.cookies.get(CONSOLE_LOGIN_COOKIE);
    // One attempt per started sign-in: the binding goes whatever the outcome.
    if (binding) ctx.cookies.set(CONSOLE_LOGIN_COOKIE, null, consoleCookie(ctx, d.secure, '/console/auth', undefined));
    const q = callbackQuery.safeParse(ctx.query);
    // Without a code the member cancelled on WeCom's page (it comes back with state only).
    if (!q.success) return page(ctx, 400, '登录未完成', '没有收到企业微信的登录授权，请重新扫码登录。', true);
    try {
      const { token, next } = await d.sessions.complete({ code: q.data.code, state: q.data.state, binding, ip: ctx.ip });
      // No Max-Age: the session ends with the browser or after the idle timeout, whichever comes first.
      ctx.cookies.set(CONSOLE_COOKIE, token, consoleCookie(ctx, d.secure, '/', undefined));
      ctx.redirect(next);
    } catch (err) {
      if (err instanceof ConsoleSignInError) {
        d.log.info({ code: err.refusal }, 'console sign-in refused');
        const refused = err.status === 403;
        return page(ctx, err.status, refused ? '无法登录运营控制台' : '登录失败', err.message, !refused || err.refusal === 'not_a_member');
      }
      // WeCom unreachable or refusing (60020 untrusted IP…): operational, the person can retry.
      d.log.warn({ err: toError(err).message }, 'console sign-in failed');
      return page(ctx, 502, '暂时无法登录', '暂时无法连接企业微信，请稍后重试。', true);
    }
  });
  return router;
}
