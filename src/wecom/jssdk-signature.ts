import { createHash, randomBytes } from 'node:crypto';

/**
 * What the page passes to ww.register's getConfigSignature / getAgentConfigSignature
 * (docs/wecom-protocol.md §JS-SDK registration).
 */
export interface JsapiSignature {
  timestamp: number;
  nonceStr: string;
  signature: string;
}

/**
 * The URL as WeCom signs it: the full page URL without `#` and what follows
 * (docs/wecom-protocol.md §JS-SDK tickets and signatures). No other normalisation and no URL-encoding: the client signs
 * the string it is on, byte for byte.
 */
export function signableUrl(url: string): string {
  const hash = url.indexOf('#');
  return hash === -1 ? url : url.slice(0, hash);
}

/**
 * JS-SDK 签名算法 (doc path/96909, docs/wecom-protocol.md §JS-SDK tickets and signatures): sha1 over
 * `jsapi_ticket=…&noncestr=…&timestamp=…&url=…` in that fixed order, hex lower case.
 * The corp ticket signs wx.config, the app (agent_config) ticket signs wx.agentConfig; mixing them gives 40093.
 */
export function jsapiSignature(input: { ticket: string; nonceStr: string; timestamp: number | string; url: string }): string {
  const plain = `jsapi_ticket=${input.ticket}&noncestr=${input.nonceStr}&timestamp=${input.timestamp}&url=${signableUrl(input.url)}`;
  return createHash('sha1').update(plain, 'utf8').digest('hex');
}

const NONCE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A 16-character [A-Za-z0-9] nonceStr like the official sample's
 * (docs/wecom-protocol.md §JS-SDK tickets and signatures).
 */
export function newNonceStr(length = 16): string {
  const bytes = randomBytes(length);
  let s = '';
  // 256 % 62 leaves a tiny bias; a nonce needs uniqueness, not uniformity.
  for (const b of bytes) s += NONCE_ALPHABET[b % NONCE_ALPHABET.length];
  return s;
}

/** Sign `url` with `ticket` at `nowMs`, with a fresh nonce. */
export function signJsapi(ticket: string, url: string, nowMs: number): JsapiSignature {
  const timestamp = Math.floor(nowMs / 1000);
  const nonceStr = newNonceStr();
  return { timestamp, nonceStr, signature: jsapiSignature({ ticket, nonceStr, timestamp, url }) };
}
