import type { Db } from '../db.js';
import type { IdempotencyRecord } from '../../domain/audit/idempotency.types.js';

type Key = { principalKey: string; route: string; key: string };

/** Remembered answers to POSTs sent with an `Idempotency-Key` (`idempotency_keys`). */
export class IdempotencyRepository {
  constructor(private readonly db: Db) {}

  /** Claim a key for a request now starting; false when the key is taken (by a finished or a running request). */
  claim(k: Key, requestHash: string, now: Date): Promise<boolean> {
    return this.db.writeUnique('INSERT INTO idempotency_keys (principal_key, route, idem_key, request_hash, status, response_json, created_at) VALUES (?,?,?,?,0,NULL,?)', [
      k.principalKey,
      k.route,
      k.key,
      requestHash,
      now.getTime(),
    ]);
  }

  async find(k: Key): Promise<IdempotencyRecord | null> {
    const [r] = await this.db.query<{ request_hash: string; status: number | string; response_json: string | null; created_at: number | string }>(
      'SELECT request_hash, status, response_json, created_at FROM idempotency_keys WHERE principal_key = ? AND route = ? AND idem_key = ?',
      [k.principalKey, k.route, k.key],
    );
    return r ? { requestHash: r.request_hash, status: Number(r.status), response: r.response_json ? (JSON.parse(r.response_json) as unknown) : null, createdAt: new Date(Number(r.created_at)) } : null;
  }

  /** The first request finished: remember its answer. */
  async complete(k: Key, status: number, response: unknown): Promise<void> {
    await this.db.query('UPDATE idempotency_keys SET status = ?, response_json = ? WHERE principal_key = ? AND route = ? AND idem_key = ?', [
      status,
      response === undefined ? null : JSON.stringify(response),
      k.principalKey,
      k.route,
      k.key,
    ]);
  }

  /** Forget a key (its request failed and may be tried again, or it expired). */
  async release(k: Key): Promise<void> {
    await this.db.query('DELETE FROM idempotency_keys WHERE principal_key = ? AND route = ? AND idem_key = ?', [k.principalKey, k.route, k.key]);
  }

  /** Forget keys created before `before`. */
  purge(before: Date): Promise<number> {
    return this.db.exec('DELETE FROM idempotency_keys WHERE created_at < ?', [before.getTime()]);
  }
}
