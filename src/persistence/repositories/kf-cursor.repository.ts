import type { Db } from '../db.js';
import { upsertSql } from './sql-upsert.js';

/**
 * kf/sync_msg cursors, one per open_kfid (docs/wecom-protocol.md §WeChat customer service: persist next_cursor per
 * account).
 */
export class KfCursorRepository {
  constructor(private readonly db: Db) {}

  /** The stored cursor, or '' to start from the last 3 days. */
  async get(openKfId: string): Promise<string> {
    const rows = await this.db.query<{ cursor: string }>('SELECT `cursor` FROM kf_cursors WHERE open_kfid = ?', [openKfId]);
    return rows[0]?.cursor ?? '';
  }

  /** Store the cursor after a batch was handled. */
  async set(openKfId: string, cursor: string, now: number): Promise<void> {
    await this.db.query(upsertSql(this.db.engine, 'kf_cursors', ['open_kfid', 'cursor', 'updated_at'], ['open_kfid'], ['cursor', 'updated_at']), [openKfId, cursor, now]);
  }
}
