import type { Db } from '../db.js';
import type { FieldCipher } from '../../shared/field-cipher.js';
import { aad } from '../sealed-columns.js';

/** Keys the bot keeps for itself (table `secrets`), sealed under DATA_KEY and re-sealed by `keys rotate`. */
export class SecretRepository {
  constructor(
    private readonly db: Db,
    private readonly cipher: FieldCipher,
  ) {}

  /** The named secret, or null. Throws FieldDecryptError when no configured DATA_KEY opens it. */
  async get(name: string): Promise<string | null> {
    const [row] = await this.db.query<{ value_enc: string }>('SELECT value_enc FROM secrets WHERE name = ?', [name]);
    return row ? this.cipher.decrypt(row.value_enc, aad.secret(name)) : null;
  }

  /** Store `value` under `name` unless it exists; either way return what is stored (the first instance wins). */
  async getOrCreate(name: string, value: () => string, now: number): Promise<string> {
    const existing = await this.get(name);
    if (existing !== null) return existing;
    await this.db.writeUnique('INSERT INTO secrets (name, value_enc, created_at, updated_at) VALUES (?, ?, ?, ?)', [name, this.cipher.encrypt(value(), aad.secret(name)), now, now]);
    return (await this.get(name))!;
  }
}
