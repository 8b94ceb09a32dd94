import type { Context, Next } from 'koa';
import type { Principal } from '../../domain/auth/api-token.service.js';
import type { StaffSessionService } from '../../domain/auth/staff-session.service.js';
import type { StaffAccessService } from '../../domain/auth/staff-access.service.js';
import { ForbiddenError, UnauthorizedError } from '../../shared/errors.js';

/** The sidebar session cookie (HttpOnly, SameSite=Lax, Secure over https), path /sidebar. */
export const SESSION_COOKIE = 'wo_sidebar';
/** The cookie binding an OAuth sign-in to this browser (see StaffSessionService), path /sidebar/oauth. */
export const SIGN_IN_COOKIE = 'wo_sidebar_oauth';

/**
 * Cookie options. SameSite=Lax, not Strict: the OAuth callback and the redirect back to /sidebar/ arrive as top-level
 * navigations started on open.weixin.qq.com, and a Strict cookie would not be sent on them. Lax still keeps the
 * cookie off cross-site subrequests and cross-site POSTs.
 */
export function cookieOptions(ctx: Context, path: string, maxAgeMs: number | undefined) {
  return { httpOnly: true, secure: ctx.secure, sameSite: 'lax' as const, path, maxAge: maxAgeMs, overwrite: true, signed: false };
}

/**
 * Authenticate `/sidebar/api/*` by the session cookie only (bearer tokens are not accepted here), as a staff
 * principal with the session's userid: CustomerService's viewer rules then show only customers they follow.
 */
export function sidebarSession(sessions: StaffSessionService, access?: Pick<StaffAccessService, 'checkSession'>) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const session = sessions.read(ctx.cookies.get(SESSION_COOKIE));
    if (!session) throw new UnauthorizedError('侧边栏登录已失效，请重新打开侧边栏');
    // A revoked or resigned member's session ends on its next request, on every instance (StaffAccessService).
    const refusal = await access?.checkSession(session.userid, session.issuedAt.getTime());
    if (refusal) {
      ctx.cookies.set(SESSION_COOKIE, null, cookieOptions(ctx, '/sidebar', undefined));
      throw new UnauthorizedError(refusal === 'resigned' ? '该成员已离职，侧边栏不可用' : '侧边栏访问已被管理员收回，请重新打开侧边栏登录');
    }
    const principal: Principal = { tokenId: null, role: 'staff', userid: session.userid };
    ctx.state.principal = principal;
    await next();
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF defence for cookie-authenticated writes, on top of SameSite=Lax: a write must carry
 * `X-Requested-With: XMLHttpRequest`. A cross-origin page cannot add that header without a CORS preflight, which
 * this server never grants; a plain form post cannot add it at all. Browsers that send Sec-Fetch-Site must also
 * report the request as same-origin.
 */
export function requireSameOriginWrite() {
  return async (ctx: Context, next: Next): Promise<void> => {
    if (!SAFE_METHODS.has(ctx.method)) {
      if (ctx.get('x-requested-with') !== 'XMLHttpRequest') throw new ForbiddenError('缺少 X-Requested-With 请求头（CSRF 防护）', 'csrf_check_failed');
      const site = ctx.get('sec-fetch-site');
      if (site && site !== 'same-origin') throw new ForbiddenError('不接受跨站请求（CSRF 防护）', 'csrf_check_failed');
    }
    await next();
  };
}
