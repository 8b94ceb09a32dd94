import type { Context, Next } from 'koa';
import { AppError } from '../../shared/errors.js';
import { serializeError, type Logger } from '../../shared/logger.js';

/**
 * The one error middleware, first in the chain. AppErrors become `{ error: { code, message } }` with their status;
 * anything else is a bug: logged with its stack, answered as a generic 500 (Koa's `expose`).
 */
export function errorHandler(log: Logger) {
  return async (ctx: Context, next: Next): Promise<void> => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined && ctx.path.startsWith('/api/')) {
        ctx.status = 404;
        ctx.body = { error: { code: 'not_found', message: '接口不存在' } };
      }
    } catch (err) {
      if (err instanceof AppError && err.expose) {
        ctx.status = err.status;
        ctx.body = { error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } };
        log.info({ status: err.status, code: err.code, path: ctx.path }, 'request rejected');
        return;
      }
      const e = err as Error & { status?: number; expose?: boolean };
      if (typeof e.status === 'number' && e.status < 500 && e.expose) {
        ctx.status = e.status;
        ctx.body = { error: { code: 'bad_request', message: e.message } };
        return;
      }
      if (err instanceof AppError) log.warn({ code: err.code, err: err.message, path: ctx.path }, 'operational error');
      // Scrubbed here as well as by the logger's serializer: a failed statement carries its SQL and bound values
      // (a searched phone number…), which must never reach a log line (docs/security.md §Logging).
      else log.error({ err: serializeError(e), path: ctx.path }, 'unhandled error');
      ctx.status = err instanceof AppError ? err.status : 500;
      ctx.body = { error: { code: err instanceof AppError ? err.code : 'internal_error', message: '服务器内部错误' } };
    }
  };
}
