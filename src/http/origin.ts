import type { Context } from 'koa';

/**
 * This server's own origin as the browser sees it: PUBLIC_URL's when configured, else the request's scheme and host
 * (X-Forwarded-Proto/-Host are honoured, the app runs with `proxy: true`). Not `ctx.origin`: since Koa 3 that is
 * the request's Origin header.
 */
export function selfOrigin(ctx: Context, publicUrl: string | undefined): string {
  return publicUrl ? new URL(publicUrl).origin : `${ctx.protocol}://${ctx.host}`;
}
