import type { Context } from 'koa';

/** The console's session cookie (HttpOnly, SameSite=Lax, Secure when PUBLIC_URL is https), path `/`. */
export const CONSOLE_COOKIE = 'wo_console';
/** The cookie binding a console sign-in to this browser, path `/console/auth`. */
export const CONSOLE_LOGIN_COOKIE = 'wo_console_login';

/**
 * Cookie options for the console. SameSite=Lax, not Strict: the callback arrives as a top-level navigation started on
 * WeCom's login page, and a Strict cookie would not be sent on it (nor on the redirect to /console/ that follows), so
 * people would arrive signed out. Path `/`: the cookie must reach `/api/v1`. `Secure` follows PUBLIC_URL's scheme,
 * not the request's: behind a TLS-terminating proxy without TRUST_PROXY the bot itself sees http
 * (docs/security.md §Console sign-in and roles).
 */
export function consoleCookie(ctx: Context, secure: boolean, path: string, maxAgeMs: number | undefined) {
  // `cookies` refuses a Secure cookie on a connection it thinks is plain http; PUBLIC_URL says the browser's is not.
  if (secure) ctx.cookies.secure = true;
  return { httpOnly: true, secure: secure || ctx.secure, sameSite: 'lax' as const, path, maxAge: maxAgeMs, overwrite: true, signed: false };
}
