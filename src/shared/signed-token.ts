import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * Small HMAC-signed, expiring tokens for cookies the server must trust on the way back (the sidebar session, the
 * OAuth state binding). Format: `v1.<payload base64url JSON>.<HMAC-SHA256 base64url>`. The payload is readable by
 * whoever holds the token, so it carries no secrets; the MAC stops anyone from changing or minting one.
 */
export class SignedTokens {
  private readonly key: Buffer;

  /**
   * @param dataKeyBase64 DATA_KEY (base64 of 32 bytes); one key for the operator to manage.
   * @param purpose a label mixed into the key (HKDF info), so a token minted for one purpose never opens as another.
   */
  constructor(dataKeyBase64: string, purpose: string) {
    const dataKey = Buffer.from(dataKeyBase64, 'base64');
    if (dataKey.length !== 32) throw new Error('DATA_KEY must be base64 of 32 bytes');
    this.key = Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), `wecom-ops ${purpose}`, 32));
  }

  /** Sign a JSON payload. `exp` (epoch ms) is required so that every token expires. */
  sign(payload: { exp: number } & Record<string, unknown>): string {
    const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
    return `v1.${body}.${this.mac(body)}`;
  }

  /** The payload of a token this key signed that has not expired at `nowMs`; null for anything else. */
  open(token: string | undefined, nowMs: number): Record<string, unknown> | null {
    if (!token || token.length > 4096) return null;
    const [version, body, mac, extra] = token.split('.');
    if (version !== 'v1' || !body || !mac || extra !== undefined) return null;
    const expected = Buffer.from(this.mac(body), 'utf8');
    const given = Buffer.from(mac, 'utf8');
    // Compare in constant time; timingSafeEqual needs equal lengths, and a length mismatch leaks nothing useful.
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    let payload: unknown;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      return null;
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return null;
    const exp = (payload as { exp?: unknown }).exp;
    if (typeof exp !== 'number' || !(exp > nowMs)) return null;
    return payload as Record<string, unknown>;
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(`v1.${body}`).digest('base64url');
  }
}
