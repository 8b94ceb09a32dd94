import type { Db } from '../db.js';
import { upsertSql } from './sql-upsert.js';

/** Staff members (成员) with 客户联系, as far as the bot knows them. */
export class StaffRepository {
  constructor(private readonly db: Db) {}

  /** Insert staff seen by a sync; names are kept when already known. */
  async upsertMany(userids: string[], now: number): Promise<void> {
    if (userids.length === 0) return;
    await this.db.tx(async (em) => {
      for (const u of userids) await em.query(upsertSql(this.db.engine, 'staff', ['userid', 'name', 'status', 'updated_at'], ['userid'], ['status', 'updated_at']), [u, '', 'active', now]);
    });
  }

  /** Display name for templates ({{staff}}); falls back to the userid. */
  async displayName(userid: string): Promise<string> {
    const rows = await this.db.query<{ name: string }>('SELECT name FROM staff WHERE userid = ?', [userid]);
    return rows[0]?.name || userid;
  }
}
