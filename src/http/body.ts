import type { Context } from 'koa';

/** The parsed JSON body of an admin API request (the `/api` body parser in app.ts sets it). */
export function bodyOf(ctx: Context): unknown {
  return (ctx.request as { body?: unknown }).body ?? {};
}
