import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import { logContext } from '../../shared/logger.js';

/** Gives each request an id that rides along every log line (AsyncLocalStorage) and comes back as X-Request-Id. */
export function requestContext() {
  return async (ctx: Context, next: Next): Promise<void> => {
    const incoming = ctx.get('x-request-id');
    const requestId = /^[\w-]{1,64}$/.test(incoming) ? incoming : randomUUID();
    ctx.set('X-Request-Id', requestId);
    await logContext.run({ requestId }, next);
  };
}
