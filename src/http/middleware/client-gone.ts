import type Koa from 'koa';
import { serializeError, type Logger } from '../../shared/logger.js';

/**
 * Errors that only mean the client went away before the answer was written (a browser tab closed or navigated
 * mid-request, a script's timeout): the response stream ended early ("Premature close"), or the socket was closed
 * under a write (EPIPE, ECONNRESET, ECONNABORTED). Nothing is wrong with the server and nobody is left to tell.
 */
const CLIENT_GONE = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'EPIPE', 'ECONNRESET', 'ECONNABORTED', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END']);

export function isClientGone(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CLIENT_GONE.has(code);
}

/**
 * Koa's app-level error listener, in place of its default one (which prints every stream error's stack to stderr):
 * a client that went away is ignored quietly (counted at debug level); anything else that reaches here (an error
 * after the answer's headers were sent, which the error middleware cannot answer any more) is logged.
 */
export function onAppError(log: Logger): (err: Error & { status?: number; expose?: boolean }, ctx?: Koa.Context) => void {
  return (err, ctx) => {
    if (isClientGone(err)) {
      log.debug({ code: (err as { code?: string }).code, path: ctx?.path }, 'client went away before the answer was written');
      return;
    }
    if (err.status === 404 || err.expose) return;
    log.error({ err: serializeError(err), path: ctx?.path }, 'error after the answer was started');
  };
}
