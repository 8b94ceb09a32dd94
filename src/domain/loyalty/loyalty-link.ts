import { createHmac } from 'node:crypto';
import { MAX_OPAQUE_TOKEN_LENGTH, OpaqueLinks, newLinkId as newOpaqueId, type LinkRefusal as OpaqueRefusal } from '../../shared/opaque-link.js';

/**
 * The signed "我的积分" link (docs/loyalty.md §The signed link): `p1.<linkId>.<expiry>.<signature>`.
 * - linkId: 22 characters of base64url, random per customer (loyalty_accounts.link_id), never the external_userid;
 * - expiry: unix seconds in base 36;
 * - signature: HMAC-SHA256 over `p1|<linkId>|<expiry>` under the link key, 27 characters of base64url (160 bits).
 * Nothing personal is in the clear, and nothing in it can be changed without the key. The shape is shared with the
 * survey page's links (src/shared/opaque-link.ts).
 */
export const LINK_VERSION = 'p1';
/** Longest token the page looks at: anything longer is malformed without parsing. */
export const MAX_TOKEN_LENGTH = MAX_OPAQUE_TOKEN_LENGTH;

/** Why a token opens nothing. */
export type LinkRefusal = OpaqueRefusal;

/** A new random link id. */
export function newLinkId(): string {
  return newOpaqueId();
}

/** The token for a link id that works until `expiresAt`. */
export function signLink(key: Buffer, linkId: string, expiresAt: Date): string {
  return new OpaqueLinks(LINK_VERSION, key).sign(linkId, expiresAt);
}

/** The link id a token carries, or why it carries none; the signature is checked before the expiry. */
export function verifyLink(key: Buffer, token: string, now: Date): { ok: true; linkId: string; expiresAt: Date } | { ok: false; reason: LinkRefusal } {
  return new OpaqueLinks(LINK_VERSION, key).verify(token, now);
}

/** The key links are signed with, derived from the erasure key (kept in `secrets`, stable across DATA_KEY rotations). */
export function linkKeyFrom(erasureKey: Buffer): Buffer {
  return createHmac('sha256', erasureKey).update('loyalty-link|v1').digest();
}
