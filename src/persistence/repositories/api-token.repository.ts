import type { Db } from '../db.js';
import { newId } from '../../shared/ids.js';
import type { ApiTokenRow } from '../../domain/auth/api-token.types.js';

/** API tokens; the plaintext is never stored. */
export class ApiTokenRepository {
  constructor(private readonly db: Db) {}

  /** Insert a token row and return its id. */
  async insert(t: Omit<ApiTokenRow, 'id'>): Promise<string> {
    const id = newId(t.createdAt);
    await this.db.query(
      'INSERT INTO api_tokens (id, name, role, userid, token_hash, created_at) VALUES (?,?,?,?,?,?)',
      [id, t.name.slice(0, 100), t.role, t.userid, t.tokenHash, t.createdAt],
    );
    return id;
  }

  /** A non-revoked token by hash, or null. */
  async findActiveByHash(hash: string): Promise<ApiTokenRow | null> {
    const rows = await this.db.query<{ id: string; name: string; role: string; userid: string | null; token_hash: string; created_at: number }>(
      'SELECT * FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL',
      [hash],
    );
    const r = rows[0];
    return r ? { id: r.id, name: r.name, role: r.role, userid: r.userid, tokenHash: r.token_hash, createdAt: Number(r.created_at) } : null;
  }

  /** Revoke every live token bound to a staff member's userid; returns how many. */
  async revokeForUserid(userid: string, now: number): Promise<number> {
    const live = await this.db.query<{ id: string }>('SELECT id FROM api_tokens WHERE userid = ? AND revoked_at IS NULL', [userid]);
    if (live.length === 0) return 0;
    await this.db.query('UPDATE api_tokens SET revoked_at = ? WHERE userid = ? AND revoked_at IS NULL', [now, userid]);
    return live.length;
  }
}
