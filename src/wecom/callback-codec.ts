import { CallbackCryptoError, decryptMessage, verifySignature, type CallbackCredentials } from './crypto.js';
import { extractEncrypt, flattenMessage, parseWecomXml, XmlParseError } from './xml.js';

/** Why a callback was refused; the label of `wecom_callback_rejected_total`. */
export type RejectReason =
  | 'body_too_large'
  | 'missing_signature'
  | 'bad_signature'
  | 'stale_timestamp'
  | 'bad_envelope'
  | 'bad_ciphertext'
  | 'bad_padding'
  | 'bad_length'
  | 'wrong_receive_id'
  | 'bad_xml';

/** A refused callback: 403 for authentication failures, 400 for malformed content. */
export class CallbackRejection extends Error {
  readonly status: 400 | 403;
  constructor(
    readonly reason: RejectReason,
    message: string,
  ) {
    super(message);
    this.name = 'CallbackRejection';
    this.status = ['missing_signature', 'bad_signature', 'stale_timestamp', 'wrong_receive_id'].includes(reason) ? 403 : 400;
  }
}

/**
 * The query parameters of a callback (docs/wecom-protocol.md §URL verification, §Callback encryption and signatures).
 */
export interface CallbackQuery {
  msg_signature?: string;
  timestamp?: string;
  nonce?: string;
  echostr?: string;
}

/**
 * Parse a raw query string WITHOUT turning '+' into a space: WeCom's base64 echostr may contain '+', and
 * querystring-style decoding would corrupt it (docs/wecom-protocol.md §URL verification).
 */
export function parseCallbackQuery(raw: string): CallbackQuery {
  const out: Record<string, string> = {};
  for (const pair of raw.split('&')) {
    if (!pair) continue;
    const i = pair.indexOf('=');
    const key = i < 0 ? pair : pair.slice(0, i);
    const value = i < 0 ? '' : pair.slice(i + 1);
    try {
      out[decodeURIComponent(key)] = decodeURIComponent(value);
    } catch {
      out[key] = value;
    }
  }
  return out;
}

function checkTimestamp(timestamp: string | undefined, nowMs: number, windowSeconds: number): void {
  if (windowSeconds <= 0 || timestamp === undefined) return;
  const ts = Number(timestamp);
  if (!Number.isFinite(ts) || Math.abs(nowMs / 1000 - ts) > windowSeconds) {
    throw new CallbackRejection('stale_timestamp', `timestamp outside the ${windowSeconds}s replay window`);
  }
}

function wrapCrypto(err: unknown): never {
  if (err instanceof CallbackCryptoError) throw new CallbackRejection(err.reason, err.message);
  throw new CallbackRejection('bad_ciphertext', `could not decrypt: ${(err as Error).message}`);
}

/** Options for decoding. */
export interface DecodeOptions {
  creds: CallbackCredentials;
  nowMs: number;
  /** Reject timestamps further than this from now; 0 disables the check (docs/reliability.md §Replay window). */
  replayWindowSeconds: number;
  /** Called when a callback verified only under `creds.next`: WeCom has switched to the new pair. */
  onNextKey?: () => void;
}

/**
 * GET URL verification: verify the signature over echostr, decrypt, return the bare plaintext
 * (docs/wecom-protocol.md §URL verification).
 */
export function decodeEcho(q: CallbackQuery, o: DecodeOptions): string {
  if (!q.echostr) throw new CallbackRejection('bad_envelope', 'echostr is missing');
  return open(q, q.echostr, o);
}

/**
 * The pair whose Token signed this request: the current one, or the next one during a key change. The signature
 * picks the pair, so a ciphertext is only ever decrypted with the key of the Token that signed it.
 */
function signingPair(q: CallbackQuery, encrypt: string, o: DecodeOptions): { encodingAesKey: string } {
  try {
    verifySignature(o.creds.token, q.timestamp, q.nonce, encrypt, q.msg_signature);
    return o.creds;
  } catch (err) {
    const next = o.creds.next;
    if (!next || !(err instanceof CallbackCryptoError) || err.reason !== 'bad_signature') wrapCrypto(err);
    try {
      verifySignature(next.token, q.timestamp, q.nonce, encrypt, q.msg_signature);
    } catch {
      wrapCrypto(err); // report the failure against the current pair, as without a next pair
    }
    o.onNextKey?.();
    return next;
  }
}

/** Verify the signature (before touching the ciphertext), then the timestamp window, then decrypt. */
function open(q: CallbackQuery, encrypt: string, o: DecodeOptions): string {
  const pair = signingPair(q, encrypt, o);
  checkTimestamp(q.timestamp, o.nowMs, o.replayWindowSeconds);
  try {
    return decryptMessage(pair.encodingAesKey, encrypt, o.creds.receiveId).message;
  } catch (err) {
    wrapCrypto(err);
  }
}

/**
 * POST: take <Encrypt> from the envelope, verify the signature over it (before touching the ciphertext), check the
 * timestamp window, decrypt, check the receive id, and parse the inner XML into flat string fields.
 */
export function decodeEvent(q: CallbackQuery, body: string, o: DecodeOptions): Record<string, string | string[]> {
  let encrypt: string;
  try {
    encrypt = extractEncrypt(body);
  } catch (err) {
    throw new CallbackRejection('bad_envelope', err instanceof XmlParseError ? err.message : 'envelope is not XML');
  }
  const plain = open(q, encrypt, o);
  try {
    return flattenMessage(parseWecomXml(plain));
  } catch (err) {
    throw new CallbackRejection('bad_xml', err instanceof XmlParseError ? err.message : 'message is not XML');
  }
}
