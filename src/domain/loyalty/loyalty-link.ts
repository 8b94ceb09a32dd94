import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The signed "我的积分" link (docs/loyalty.md §The signed link): `p1.<linkId>.<expiry>.<signature>`.
 * - linkId: 22 characters of base64url, random per customer (loyalty_accounts.link_id), never the external_userid;
 * - expiry: unix seconds in base 36;
 * - signature: HMAC-SHA256 over `p1|<linkId>|<expiry>` under the link key, 27 characters of base64url (160 bits).
 * Nothing personal is in the clear, and nothing in it can be changed without the key.
 */
export const LINK_VERSION = 'p1';
const SIG_CHARS = 27;
const TOKEN = /^p1\.([A-Za-z0-9_-]{22})\.([0-9a-z]{1,10})\.([A-Za-z0-9_-]{27})$/;
/** Longest token the page looks at: anything longer is malformed without parsing. */
export const MAX_TOKEN_LENGTH = 80;

/** Why a token opens nothing. */
export type LinkRefusal = 'malformed' | 'tampered' | 'expired';

/** A new random link id. */
export function newLinkId(): string {
  return randomBytes(16).toString('base64url');
}

function signature(key: Buffer, linkId: string, exp: string): string {
  return createHmac('sha256', key).update(`${LINK_VERSION}|${linkId}|${exp}`).digest('base64url').slice(0, SIG_CHARS);
}

/** The token for a link id that works until `expiresAt`. */
export function signLink(key: Buffer, linkId: string, expiresAt: Date): string {
  const exp = Math.floor(expiresAt.getTime() / 1000).toString(36);
  return `${LINK_VERSION}.${linkId}.${exp}.${signature(key, linkId, exp)}`;
}

/** The link id a token carries, or why it carries none; the signature is checked before the expiry. */
export function verifyLink(key: Buffer, token: string, now: Date): { ok: true; linkId: string; expiresAt: Date } | { ok: false; reason: LinkRefusal } {
  if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'malformed' };
  const m = TOKEN.exec(token);
  if (!m) return { ok: false, reason: 'malformed' };
  const [, linkId, exp, sig] = m;
  const want = Buffer.from(signature(key, linkId, exp));
  const got = Buffer.from(sig);
  if (want.length !== got.length || !timingSafeEqual(want, got)) return { ok: false, reason: 'tampered' };
  const expiresAt = new Date(parseInt(exp, 36) * 1000);
  if (expiresAt.getTime() <= now.getTime()) return { ok: false, reason: 'expired' };
  return { ok: true, linkId, expiresAt };
}

/** The key links are signed with, derived from the erasure key (kept in `secrets`, stable across DATA_KEY rotations). */
export function linkKeyFrom(erasureKey: Buffer): Buffer {
  return createHmac('sha256', erasureKey).update('loyalty-link|v1').digest();
}
