import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import Router from '@koa/router';
import { allow, publicRoute } from '../access.js';
import type { Context } from 'koa';
import { z } from 'zod';
import { SignInError, type StaffSessionService } from '../../domain/auth/staff-session.service.js';
import type { StaffAccessService } from '../../domain/auth/staff-access.service.js';
import type { Logger } from '../../shared/logger.js';
import { toError } from '../../shared/errors.js';
import { SESSION_COOKIE, SIGN_IN_COOKIE, cookieOptions } from '../middleware/sidebar-session.js';
import { presentSidebarErrorPage } from '../presenters/sidebar-page.presenter.js';
import type { SelfOrigin } from '../origin.js';

const WEB_DIR = resolve(import.meta.dirname, '../../web/sidebar');
const require = createRequire(import.meta.url);

/** The page: only same-origin scripts (the JS-SDK build and the page's own file), no inline script, never framed. */
const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' https: data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Versioned asset URLs (`?v=`) make a year of caching safe. */
const ASSET_CACHE = 'public, max-age=31536000, immutable';

const callbackQuery = z.object({ code: z.string().min(1).max(512), state: z.string().max(128) });

/** What the sidebar pages need. */
export interface SidebarPageDeps {
  sessions: StaffSessionService;
  corpId: string;
  agentId: number | undefined;
  /**
   * WeCom's OAuth authorize endpoint (docs/wecom-protocol.md §Staff sign-in for web pages), or the sandbox's stand-in
   * when offline.
   */
  authorizeUrl: string;
  /**
   * This site's origin (PUBLIC_URL, or in sandbox mode the listen URL): the OAuth redirect_uri's, which must be the
   * app's 可信域名. Never the request's Host or X-Forwarded-Host (docs/security.md §Proxies and the public origin).
   */
  origin: Pick<SelfOrigin, 'get'>;
  /**
   * The built-in sandbox plays WeCom: the page also loads the JS-SDK test mode (/sidebar/assets/ww-test.js, active with
   * ?wwTest=1), whose ww.sendChatMessage the sandbox records (docs/todo.md §One-tap send). Never with a real corp.
   */
  jssdkTestMode?: boolean;
  /** Refuses revoked sessions and resigned members' sign-ins (StaffAccessService). */
  access?: Pick<StaffAccessService, 'checkSession' | 'maySignIn'>;
  log: Logger;
}

/**
 * `/sidebar/`: the staff sidebar page (聊天工具栏, docs/wecom-protocol.md §Chat toolbar sidebar), its assets, and the OAuth
 * sign-in that gives it a staff identity (docs/wecom-protocol.md §Staff sign-in for web pages): without a session the
 * page redirects to WeCom's authorize URL, and `/sidebar/oauth/callback` turns the code into a session cookie.
 */
export function sidebarRouter(d: SidebarPageDeps): Router {
  const wecomJs = readFileSync(require.resolve('@wecom/jssdk/dist/wecom.global.prod.js'), 'utf8');
  const jssdkVersion = (require('@wecom/jssdk/package.json') as { version: string }).version;
  const pageJs = readFileSync(resolve(WEB_DIR, 'sidebar.js'), 'utf8');
  const testJs = d.jssdkTestMode ? readFileSync(resolve(WEB_DIR, 'ww-test.js'), 'utf8') : null;
  const html = readFileSync(resolve(WEB_DIR, 'index.html'), 'utf8')
    .replace('<!--WW_TEST-->', testJs ? `<script src="/sidebar/assets/ww-test.js?v=${createHash('sha256').update(testJs).digest('hex').slice(0, 12)}"></script>` : '')
    .replace('__WECOM_JSSDK_VERSION__', encodeURIComponent(jssdkVersion))
    .replace('__SIDEBAR_JS_VERSION__', createHash('sha256').update(pageJs).digest('hex').slice(0, 12));

  const authorizeUrlFor = (state: string) => {
    const q = new URLSearchParams({
      appid: d.corpId,
      redirect_uri: `${d.origin.get()}/sidebar/oauth/callback`,
      response_type: 'code',
      // snsapi_base: silent, userid only; agentid names the app whose 可信域名 the redirect must match
      // (docs/wecom-protocol.md §Staff sign-in for web pages).
      scope: 'snsapi_base',
      state,
    });
    if (d.agentId !== undefined) q.set('agentid', String(d.agentId));
    return `${d.authorizeUrl}?${q.toString()}#wechat_redirect`;
  };
  const errorPage = (ctx: Context, status: number, title: string, message: string, retry = true) => {
    ctx.status = status;
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
    ctx.body = presentSidebarErrorPage({ title, message, retry });
  };

  // strict: '/sidebar' and '/sidebar/' are different routes, so the redirect does not loop.
  const router = new Router({ strict: true, sensitive: true });
  router.get('/sidebar', allow(publicRoute('the sidebar page and its sign-in: OAuth proves who the member is')), (ctx) => ctx.redirect(`/sidebar/${ctx.querystring ? `?${ctx.querystring}` : ''}`));

  router.get('/sidebar/', allow(publicRoute('the sidebar page and its sign-in: OAuth proves who the member is')), async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const cookie = ctx.cookies.get(SESSION_COOKIE);
    const session = d.sessions.read(cookie);
    // A revoked session signs in again (and a resigned member is then refused at the callback).
    if (!session || (await d.access?.checkSession(session.userid, session.issuedAt.getTime()))) {
      if (cookie) ctx.cookies.set(SESSION_COOKIE, null, cookieOptions(ctx, '/sidebar', undefined));
      const start = d.sessions.begin(ctx.querystring);
      ctx.cookies.set(SIGN_IN_COOKIE, start.binding, cookieOptions(ctx, '/sidebar/oauth', start.maxAgeMs));
      ctx.redirect(authorizeUrlFor(start.state));
      return;
    }
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Content-Security-Policy', PAGE_CSP);
    ctx.set('X-Frame-Options', 'DENY');
    // The URL may carry an externalUserId while testing; keep it from image hosts.
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.body = html;
  });

  router.get('/sidebar/oauth/callback', allow(publicRoute('the sidebar page and its sign-in: OAuth proves who the member is')), async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const binding = ctx.cookies.get(SIGN_IN_COOKIE);
    // One attempt per started sign-in: the binding goes whatever the outcome.
    if (binding) ctx.cookies.set(SIGN_IN_COOKIE, null, cookieOptions(ctx, '/sidebar/oauth', undefined));
    const q = callbackQuery.safeParse(ctx.query);
    if (!q.success) return errorPage(ctx, 400, '登录失败', '缺少企业微信登录码，请从企业微信中重新打开侧边栏');
    try {
      const { userid, returnQuery } = await d.sessions.complete({ code: q.data.code, state: q.data.state, binding });
      if (d.access && !(await d.access.maySignIn(userid))) {
        d.log.info({ userid }, 'sidebar sign-in refused: member marked resigned');
        return errorPage(ctx, 403, '无法使用侧边栏', '该成员已离职，无法使用侧边栏。如有误，请联系管理员。', false);
      }
      const session = d.sessions.issue(userid);
      ctx.cookies.set(SESSION_COOKIE, session.token, cookieOptions(ctx, '/sidebar', d.sessions.ttlMs));
      d.log.info({ userid }, 'sidebar sign-in');
      ctx.redirect(`/sidebar/${returnQuery ? `?${returnQuery}` : ''}`);
    } catch (err) {
      if (err instanceof SignInError) {
        d.log.info({ code: err.code }, 'sidebar sign-in refused');
        return errorPage(ctx, err.status, err.status === 403 ? '无法使用侧边栏' : '登录失败', err.message, err.status !== 403);
      }
      // WeCom unreachable or refusing (e.g. 60020 untrusted IP, docs/wecom-protocol.md §Error codes): operational, the
      // person can retry.
      d.log.warn({ err: toError(err).message }, 'sidebar sign-in failed');
      return errorPage(ctx, 502, '暂时无法登录', '暂时无法连接企业微信，请稍后重试');
    }
  });

  const asset = (body: string) => (ctx: Context) => {
    ctx.type = 'application/javascript; charset=utf-8';
    ctx.set('Cache-Control', ASSET_CACHE);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.body = body;
  };
  // The JS-SDK's browser build (global `ww`) from node_modules, so the page needs no CDN
  // (docs/wecom-protocol.md §JS-SDK registration).
  router.get('/sidebar/assets/wecom.js', allow(publicRoute('the sidebar page and its sign-in: OAuth proves who the member is')), asset(wecomJs));
  router.get('/sidebar/assets/sidebar.js', allow(publicRoute('the sidebar page and its sign-in: OAuth proves who the member is')), asset(pageJs));
  if (testJs) router.get('/sidebar/assets/ww-test.js', allow(publicRoute('the sidebar page and its sign-in: OAuth proves who the member is')), asset(testJs));
  return router;
}
