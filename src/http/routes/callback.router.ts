import Router from '@koa/router';
import { allow, wecomSigned } from '../access.js';
import type { Context } from 'koa';
import type { InboxService } from '../../domain/inbox/inbox.service.js';
import type { CallbackCredentials } from '../../wecom/crypto.js';
import { CallbackRejection, decodeEcho, decodeEvent, parseCallbackQuery, type RejectReason } from '../../wecom/callback-codec.js';
import type { Clock } from '../../shared/clock.js';
import type { Logger } from '../../shared/logger.js';
import type { Metrics } from '../../shared/metrics.js';
import { toError } from '../../shared/errors.js';
import { DeadlineError, withDeadline } from '../../shared/deadline.js';
import { BodyTooLargeError, discardRest, readChunks } from '../stream-body.js';

/** Bodies over this are refused unread (contract: 1 MiB). */
export const MAX_CALLBACK_BYTES = 1024 * 1024;
/** After a refusal, this much more is read and dropped so the client can read the 400; beyond it the socket closes. */
const DISCARD_CEILING_BYTES = 16 * 1024 * 1024;

export interface CallbackRouterDeps {
  inbox: InboxService;
  creds: CallbackCredentials;
  replayWindowSeconds: number;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /**
   * Answer 503 when the durable commit has not happened by then (WeCom waits 5 s,
   * docs/wecom-protocol.md §Acknowledging callbacks).
   */
  storeTimeoutMs?: number;
}


/**
 * The raw body, at most `limit` bytes. Over the limit the rest is read and dropped rather than the stream destroyed:
 * a destroyed request has no socket left, so the 400 could not be sent and `ctx.ip` threw, which turned an oversized
 * chunked body into a 500 (docs/security.md §Request bodies).
 */
async function readBody(ctx: Context, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of readChunks(ctx.req, limit)) chunks.push(chunk);
  } catch (err) {
    if (!(err instanceof BodyTooLargeError)) throw err;
    chunks.length = 0;
    discardRest(ctx.req, DISCARD_CEILING_BYTES);
    throw new CallbackRejection('body_too_large', err.message);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * `GET/POST /wecom/callback`. POST answers 200 with an empty body only after the event is committed; a redelivery
 * also gets 200 and stores nothing; refused input gets 400/403 and is never processed; a database that cannot take
 * the event gets 503 so that WeCom retries (docs/wecom-protocol.md §Acknowledging callbacks,
 * docs/reliability.md §Acknowledge only what is stored).
 */
export function callbackRouter(d: CallbackRouterDeps): Router {
  const router = new Router({ sensitive: true });
  let nextKeyLogged = false;
  const onNextKey = () => {
    d.metrics.callbackNextKey.inc();
    if (nextKeyLogged) return;
    nextKeyLogged = true;
    d.log.info('callback signed with the next Token/EncodingAESKey: WeCom has switched; make them WECOM_TOKEN/WECOM_ENCODING_AES_KEY and unset WECOM_NEXT_*');
  };
  const reject = (ctx: Context, err: CallbackRejection, ip: string) => {
    d.metrics.callbackRejected.inc({ reason: err.reason });
    d.log.warn({ reason: err.reason, detail: err.message, ip }, 'callback rejected');
    ctx.status = err.status;
    ctx.type = 'text/plain';
    ctx.body = reasonText[err.reason];
  };

  router.get('/wecom/callback', allow(wecomSigned), (ctx) => {
    try {
      const echo = decodeEcho(parseCallbackQuery(ctx.querystring), {
        creds: d.creds,
        nowMs: d.clock.now().getTime(),
        replayWindowSeconds: d.replayWindowSeconds,
        onNextKey,
      });
      // The bare plaintext: no quotes, no BOM, no newline (docs/wecom-protocol.md §URL verification).
      ctx.type = 'text/plain';
      ctx.body = echo;
    } catch (err) {
      if (err instanceof CallbackRejection) return reject(ctx, err, ctx.ip);
      throw err;
    }
  });

  router.post('/wecom/callback', allow(wecomSigned), async (ctx) => {
    const started = process.hrtime.bigint();
    // Read before the body: the address comes from the socket, which a client may break off mid-body.
    const ip = ctx.ip;
    let fields: Record<string, string | string[]>;
    try {
      const body = await readBody(ctx, MAX_CALLBACK_BYTES);
      fields = decodeEvent(parseCallbackQuery(ctx.querystring), body, {
        creds: d.creds,
        nowMs: d.clock.now().getTime(),
        replayWindowSeconds: d.replayWindowSeconds,
        onNextKey,
      });
    } catch (err) {
      if (err instanceof CallbackRejection) return reject(ctx, err, ip);
      throw err;
    }
    try {
      const { kind, isNew } = await withDeadline(d.inbox.accept(fields), d.storeTimeoutMs ?? 3000);
      d.metrics.callbackReceived.inc({ kind, result: isNew ? 'new' : 'duplicate' });
      if (!isNew) d.log.info({ kind }, 'duplicate callback acknowledged');
    } catch (err) {
      // Not stored means not acknowledged: WeCom will deliver it again
      // (docs/wecom-protocol.md §Acknowledging callbacks). After a DeadlineError the commit may still land, and WeCom's
      // retry is then a duplicate.
      d.metrics.callbackRejected.inc({ reason: err instanceof DeadlineError ? 'store_timeout' : 'store_failed' });
      d.log.warn({ err: toError(err).message }, 'callback could not be stored; answering 503');
      ctx.status = 503;
      ctx.type = 'text/plain';
      ctx.body = 'temporarily unavailable';
      return;
    }
    ctx.status = 200;
    ctx.body = '';
    d.metrics.callbackAckSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
  });
  return router;
}

const reasonText: Record<RejectReason, string> = {
  body_too_large: 'body too large',
  missing_signature: 'missing signature',
  bad_signature: 'bad signature',
  stale_timestamp: 'stale timestamp',
  bad_envelope: 'bad envelope',
  bad_ciphertext: 'cannot decrypt',
  bad_padding: 'cannot decrypt',
  bad_length: 'cannot decrypt',
  wrong_receive_id: 'wrong receive id',
  bad_xml: 'bad xml',
};
