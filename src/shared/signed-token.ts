import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * Small HMAC-signed, expiring tokens for cookies the server must trust on the way back (the sidebar session, the
 * OAuth state binding). Format: `v1.<payload base64url JSON>.<HMAC-SHA256 base64url>`. The payload is readable by
 * whoever holds the token, so it carries no secrets; the MAC stops anyone from changing or minting one.
 */
export class SignedTokens {
  /** The signing key first, then keys whose tokens are still accepted. */
  private readonly keys: Buffer[];

  /**
   * @param dataKeys DATA_KEY (base64 of 32 bytes), or DATA_KEY followed by the DATA_KEY_READ_ONLY keys: tokens are
   *   signed with the first and opened with any, so a key rotation does not sign everyone out of the sidebar.
   * @param purpose a label mixed into the key (HKDF info), so a token minted for one purpose never opens as another.
   */
  constructor(dataKeys: string | readonly string[], purpose: string) {
    this.keys = (typeof dataKeys === 'string' ? [dataKeys] : dataKeys).map((k) => {
      const dataKey = Buffer.from(k, 'base64');
      if (dataKey.length !== 32) throw new Error('DATA_KEY must be base64 of 32 bytes');
      return Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), `wecom-ops ${purpose}`, 32));
    });
    if (this.keys.length === 0) throw new Error('DATA_KEY is required');
  }

  /** Sign a JSON payload. `exp` (epoch ms) is required so that every token expires. */
  sign(payload: { exp: number } & Record<string, unknown>): string {
    const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
    return `v1.${body}.${this.mac(this.keys[0], body)}`;
  }

  /** The payload of a token this key signed that has not expired at `nowMs`; null for anything else. */
  open(token: string | undefined, nowMs: number): Record<string, unknown> | null {
    if (!token || token.length > 4096) return null;
    const [version, body, mac, extra] = token.split('.');
    if (version !== 'v1' || !body || !mac || extra !== undefined) return null;
    const given = Buffer.from(mac, 'utf8');
    // Compare in constant time; timingSafeEqual needs equal lengths, and a length mismatch leaks nothing useful.
    const verifies = (key: Buffer) => {
      const expected = Buffer.from(this.mac(key, body), 'utf8');
      return given.length === expected.length && timingSafeEqual(given, expected);
    };
    if (!this.keys.some(verifies)) return null;
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

  private mac(key: Buffer, body: string): string {
    return createHmac('sha256', key).update(`v1.${body}`).digest('base64url');
  }
}
