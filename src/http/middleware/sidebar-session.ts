import type { Context } from 'koa';

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
