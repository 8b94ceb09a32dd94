import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Signed, expiring links that name an opaque random id, never anything personal (docs/loyalty.md §The signed link;
 * the survey page uses the same shape, docs/surveys.md §The signed link): `<version>.<id>.<expiry>.<signature>`.
 * - version: two characters naming what the link opens (`p1` 我的积分, `s1` a survey), signed with the rest, so a
 *   link of one kind never opens another (each kind also has its own key);
 * - id: 22 characters of base64url (16 random bytes);
 * - expiry: unix seconds in base 36;
 * - signature: HMAC-SHA256 over `<version>|<id>|<expiry>`, 27 characters of base64url (160 bits).
 */
const SIG_CHARS = 27;
/** Longest token a page looks at: anything longer is malformed without parsing. */
export const MAX_OPAQUE_TOKEN_LENGTH = 80;

/** Why a token opens nothing. */
export type LinkRefusal = 'malformed' | 'tampered' | 'expired';

/** A new random link id. */
export function newLinkId(): string {
  return randomBytes(16).toString('base64url');
}

/** One kind of link: its version prefix and key. */
export class OpaqueLinks {
  private readonly shape: RegExp;

  constructor(
    private readonly version: string,
    private readonly key: Buffer,
  ) {
    if (!/^[a-z][0-9]$/.test(version)) throw new Error(`link version must be a letter and a digit, not ${version}`);
    this.shape = new RegExp(`^${version}\\.([A-Za-z0-9_-]{22})\\.([0-9a-z]{1,10})\\.([A-Za-z0-9_-]{${SIG_CHARS}})$`);
  }

  private signature(id: string, exp: string): string {
    return createHmac('sha256', this.key).update(`${this.version}|${id}|${exp}`).digest('base64url').slice(0, SIG_CHARS);
  }

  /** The token for an id that works until `expiresAt`. */
  sign(id: string, expiresAt: Date): string {
    const exp = Math.floor(expiresAt.getTime() / 1000).toString(36);
    return `${this.version}.${id}.${exp}.${this.signature(id, exp)}`;
  }

  /** The id a token carries, or why it carries none; the signature is checked before the expiry. */
  verify(token: string, now: Date): { ok: true; linkId: string; expiresAt: Date } | { ok: false; reason: LinkRefusal } {
    if (token.length > MAX_OPAQUE_TOKEN_LENGTH) return { ok: false, reason: 'malformed' };
    const m = this.shape.exec(token);
    if (!m) return { ok: false, reason: 'malformed' };
    const [, id, exp, sig] = m;
    const want = Buffer.from(this.signature(id, exp));
    const got = Buffer.from(sig);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return { ok: false, reason: 'tampered' };
    const expiresAt = new Date(parseInt(exp, 36) * 1000);
    if (expiresAt.getTime() <= now.getTime()) return { ok: false, reason: 'expired' };
    return { ok: true, linkId: id, expiresAt };
  }
}
