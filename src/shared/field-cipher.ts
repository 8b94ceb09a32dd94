import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/**
 * Field-level encryption for PII at rest: AES-256-GCM with a fresh random 96-bit nonce per value and AAD that
 * binds the value to its table, column and row, so a ciphertext copied elsewhere fails to open (reliability §3.2).
 * Format: `v1:<nonce b64>:<ciphertext b64>:<tag b64>`.
 */
export class FieldCipher {
  private readonly key: Buffer;
  private readonly indexKey: Buffer;

  constructor(dataKeyBase64: string) {
    this.key = Buffer.from(dataKeyBase64, 'base64');
    if (this.key.length !== 32) throw new Error('DATA_KEY must be base64 of 32 bytes');
    // A separate key for blind indexes, derived so that one DATA_KEY is all an operator manages.
    this.indexKey = createHmac('sha256', this.key).update('wecom-ops blind index v1').digest();
  }

  /** Encrypt a value; `aad` names where it lives, e.g. `customers.phone|<id>`. */
  encrypt(plain: string, aad: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `v1:${nonce.toString('base64')}:${body.toString('base64')}:${cipher.getAuthTag().toString('base64')}`;
  }

  /** Decrypt a value written by encrypt() with the same aad; throws if it was tampered with or moved. */
  decrypt(stored: string, aad: string): string {
    const [version, nonce, body, tag] = stored.split(':');
    if (version !== 'v1' || !nonce || body === undefined || !tag) throw new Error('not a v1 field ciphertext');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(nonce, 'base64'));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
  }

  /** A deterministic HMAC for equality lookups on an encrypted field (e.g. search by phone). */
  blindIndex(normalized: string): string {
    return createHmac('sha256', this.indexKey).update(normalized).digest('hex').slice(0, 32);
  }
}
