import type { Db } from '../db.js';
import { FieldDecryptError, type FieldCipher } from '../../shared/field-cipher.js';
import { aad } from '../sealed-columns.js';
import { refreshAtFor, type Expiring, type SharedCredentialStore } from '../../wecom/client/token-cache.js';

/**
 * WeCom access tokens and JS-SDK tickets shared by every instance on one MySQL
 * (docs/reliability.md §Shared WeCom credentials): one row per credential, refreshed by whoever holds its row lock
 * while the others wait and then reuse the result, so gettoken runs once per expiry however many instances there are
 * ("不能频繁调用gettoken", docs/wecom-protocol.md §Access tokens). Values are credentials, so they are encrypted like any
 * other secret at rest.
 */
export class WecomCredentialRepository implements SharedCredentialStore {
  constructor(
    private readonly db: Db,
    private readonly cipher: FieldCipher,
  ) {}

  /**
   * The cached value, or null when no configured DATA_KEY opens it (an instance that missed a key rollout, see
   * 密钥轮换): it is only a cache, so it is fetched again from WeCom and re-sealed under this instance's key rather
   * than every WeCom call failing.
   */
  private open(sealed: string, sealedAs: string): string | null {
    try {
      return this.cipher.decrypt(sealed, sealedAs);
    } catch (err) {
      if (err instanceof FieldDecryptError) return null;
      throw err;
    }
  }

  async getOrRefresh(
    name: string,
    fetch: () => Promise<Expiring<string>>,
    opts: { now: number; marginSeconds: number; rejected: string | null },
  ): Promise<{ value: string; refreshAt: number }> {
    const sealedAs = aad.wecomCredential(name);
    return this.db.withMysqlTransaction(async (query) => {
      // Create the row if this is the first instance ever, then lock it: whoever gets the lock decides.
      await query('INSERT INTO wecom_credentials (name, value_enc, refresh_at, updated_at) VALUES (?, NULL, 0, ?) ON DUPLICATE KEY UPDATE name = name', [name, opts.now]);
      const [row]: { value_enc: string | null; refresh_at: number | string }[] = await query('SELECT value_enc, refresh_at FROM wecom_credentials WHERE name = ? FOR UPDATE', [name]);
      const stored = row?.value_enc ? this.open(row.value_enc, sealedAs) : null;
      // Re-read under the lock: another instance may have refreshed while this one waited (compare-and-swap on the
      // value WeCom refused, so N instances that saw 42001 together still fetch once).
      if (stored && stored !== opts.rejected && opts.now < Number(row.refresh_at)) return { value: stored, refreshAt: Number(row.refresh_at) };
      const started = opts.now;
      const fresh = await fetch();
      const refreshAt = refreshAtFor(started, fresh.expiresInSeconds, opts.marginSeconds);
      await query('UPDATE wecom_credentials SET value_enc = ?, refresh_at = ?, updated_at = ? WHERE name = ?', [this.cipher.encrypt(fresh.value, sealedAs), refreshAt, started, name]);
      return { value: fresh.value, refreshAt };
    });
  }
}
