import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/** One DATA_KEY and what is derived from it. */
interface KeyEntry {
  id: string;
  key: Buffer;
  indexKey: Buffer;
}

/** A value that no configured DATA_KEY opens: sealed under a key that is not configured, or tampered with or moved. */
export class FieldDecryptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FieldDecryptError';
  }
}

/** Decode and check one base64 DATA_KEY. */
function parseKey(base64: string): KeyEntry {
  const key = Buffer.from(base64, 'base64');
  if (key.length !== 32) throw new Error('DATA_KEY must be base64 of 32 bytes');
  return {
    // A public fingerprint that names the key inside each ciphertext, so a reader knows which key to use and
    // `wecom-ops keys status` can count what each key still holds. An HMAC of a fixed label: nothing about the key.
    id: createHmac('sha256', key).update('wecom-ops key id').digest('hex').slice(0, 8),
    key,
    // A separate key for blind indexes, derived so that one DATA_KEY is all an operator manages.
    indexKey: createHmac('sha256', key).update('wecom-ops blind index v1').digest(),
  };
}

/** The key id of a base64 DATA_KEY (as `wecom-ops keys status` shows it). */
export function keyIdOf(base64: string): string {
  return parseKey(base64).id;
}

/**
 * Field-level encryption for PII at rest: AES-256-GCM with a fresh random 96-bit nonce per value and AAD that
 * binds the value to its table, column and row, so a ciphertext copied elsewhere fails to open
 * (docs/reliability.md §Personal data at rest).
 *
 * Keys rotate (docs/reliability.md §Personal data at rest, §Reliability tests, test 23): values are written under
 * DATA_KEY and read under it or any key in DATA_KEY_READ_ONLY, so a new key can be introduced, everything re-encrypted
 * by `wecom-ops keys rotate`, and the old key retired once `keys status` shows nothing left under it.
 *
 * Format: `v2:<key id>:<nonce b64>:<ciphertext b64>:<tag b64>`. Values written before rotation existed are
 * `v1:<nonce>:<ciphertext>:<tag>` without a key id; they are tried under each key (GCM's tag tells the right one).
 */
export class FieldCipher {
  private readonly current: KeyEntry;
  private readonly all: KeyEntry[];
  private readonly byId: Map<string, KeyEntry>;

  /**
   * @param dataKeyBase64 DATA_KEY: writes and reads.
   * @param readOnlyKeysBase64 DATA_KEY_READ_ONLY: reads only (the key being retired, or the next one during a rollout).
   */
  constructor(dataKeyBase64: string, readOnlyKeysBase64: readonly string[] = []) {
    this.current = parseKey(dataKeyBase64);
    this.all = [this.current, ...readOnlyKeysBase64.map(parseKey).filter((k, i, a) => k.id !== this.current.id && a.findIndex((o) => o.id === k.id) === i)];
    this.byId = new Map(this.all.map((k) => [k.id, k]));
  }

  /** The id of the key new values are written under. */
  get keyId(): string {
    return this.current.id;
  }

  /** Ids of every configured key, the write key first. */
  get keyIds(): string[] {
    return this.all.map((k) => k.id);
  }

  /** Encrypt a value; `aad` names where it lives, e.g. `customers.phone|<id>`. */
  encrypt(plain: string, aad: string): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, nonce);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `v2:${this.current.id}:${nonce.toString('base64')}:${body.toString('base64')}:${cipher.getAuthTag().toString('base64')}`;
  }

  /** Decrypt a value written by encrypt() with the same aad; throws FieldDecryptError if no configured key opens it. */
  decrypt(stored: string, aad: string): string {
    const parts = stored.split(':');
    if (parts[0] === 'v2' && parts.length === 5) {
      const entry = this.byId.get(parts[1]);
      if (!entry) throw new FieldDecryptError(`sealed under key ${parts[1]}, which is not configured (DATA_KEY / DATA_KEY_READ_ONLY)`);
      const plain = open(entry.key, parts[2], parts[3], parts[4], aad);
      if (plain === null) throw new FieldDecryptError('does not open under its key: tampered with or moved');
      return plain;
    }
    if (parts[0] === 'v1' && parts.length === 4) {
      for (const entry of this.all) {
        const plain = open(entry.key, parts[1], parts[2], parts[3], aad);
        if (plain !== null) return plain;
      }
      throw new FieldDecryptError('opens under no configured key: sealed under another DATA_KEY, or tampered with or moved');
    }
    throw new FieldDecryptError('not a field ciphertext');
  }

  /** Which key a stored value is under: its key id, `v1` for a value from before key ids, null if not a ciphertext. */
  keyOf(stored: string): string | null {
    const parts = stored.split(':');
    if (parts[0] === 'v2' && parts.length === 5) return parts[1];
    if (parts[0] === 'v1' && parts.length === 4) return 'v1';
    return null;
  }

  /** Whether a stored value is already under the write key (nothing for `keys rotate` to do). */
  isCurrent(stored: string): boolean {
    return this.keyOf(stored) === this.current.id;
  }

  /** A deterministic HMAC for equality lookups on an encrypted field (e.g. search by phone), under the write key. */
  blindIndex(normalized: string): string {
    return indexWith(this.current.indexKey, normalized);
  }

  /** The blind index under every configured key, write key first: a lookup matches rows not yet re-keyed too. */
  blindIndexes(normalized: string): string[] {
    return this.all.map((k) => indexWith(k.indexKey, normalized));
  }

  /** The write key's blind-index key, hex: the seed of the stable erasure key (see SecretStore). */
  currentIndexKeyHex(): string {
    return this.current.indexKey.toString('hex');
  }
}

function indexWith(indexKey: Buffer, normalized: string): string {
  return createHmac('sha256', indexKey).update(normalized).digest('hex').slice(0, 32);
}

/** One GCM open; null when the tag does not verify (wrong key, tampered, moved). */
function open(key: Buffer, nonce: string, body: string, tag: string, aad: string): string | null {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(nonce, 'base64'));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}
