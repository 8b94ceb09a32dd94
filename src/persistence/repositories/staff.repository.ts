import { LRUCache } from 'lru-cache';
import type { Db } from '../db.js';
import { placeholders, upsertSql } from './sql-upsert.js';
import type { StaffMember, StaffNameSource } from '../../domain/customers/staff.types.js';

interface Row {
  userid: string;
  name: string;
  name_source: StaffNameSource | null;
  status: string;
  access_revoked_at: number | string | null;
  updated_at: number | string;
}

const COLUMNS = 'userid, name, name_source, status, access_revoked_at, updated_at';

function map(r: Row): StaffMember {
  return {
    userid: r.userid,
    name: r.name,
    nameSource: r.name_source ?? null,
    status: r.status,
    accessRevokedAt: r.access_revoked_at === null || r.access_revoked_at === undefined ? null : new Date(Number(r.access_revoked_at)),
    updatedAt: new Date(Number(r.updated_at)),
  };
}

/**
 * How long a member's display name is reused without reading it again. Every add's welcome and every loss's alert
 * asks for it, once per event, for a handful of members. A name changed through this repository takes effect at
 * once; one changed on another instance or thread, or by a userid change, within this time.
 * docs/inbox.md §Statements per event
 */
const NAME_REUSE_MS = 5_000;

/** Staff members (成员) with 客户联系, as far as the bot knows them. */
export class StaffRepository {
  private readonly names = new LRUCache<string, { name: string }>({ max: 10_000, ttl: NAME_REUSE_MS });

  constructor(private readonly db: Db) {}

  /** Insert staff seen by a sync; names are kept when already known. */
  async upsertMany(userids: string[], now: number): Promise<void> {
    if (userids.length === 0) return;
    await this.db.tx(async (em) => {
      for (const u of userids) await em.query(upsertSql(this.db.engine, 'staff', ['userid', 'name', 'status', 'resigned_at', 'updated_at'], ['userid'], ['status', 'resigned_at', 'updated_at']), [u, '', 'active', null, now]);
    });
  }

  /** Whether the bot knows this staff member (from a sync or a follow relation). */
  async exists(userid: string): Promise<boolean> {
    return (await this.db.query('SELECT 1 AS x FROM staff WHERE userid = ? LIMIT 1', [userid])).length > 0;
  }

  /** A page of staff, by userid. */
  async list(page: number, pageSize: number): Promise<{ items: StaffMember[]; total: number }> {
    const [{ n }] = await this.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM staff');
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM staff ORDER BY userid LIMIT ? OFFSET ?`, [pageSize, (page - 1) * pageSize]);
    return { items: rows.map(map), total: Number(n) };
  }

  /** One staff member, or null. */
  /** When `userid` was changed to another account in WeCom, if it was (table staff_renames). */
  async renamedAt(userid: string): Promise<Date | null> {
    const [row] = await this.db.query<{ renamed_at: number | string }>('SELECT renamed_at FROM staff_renames WHERE old_userid = ?', [userid]);
    return row ? new Date(Number(row.renamed_at)) : null;
  }

  async find(userid: string): Promise<StaffMember | null> {
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM staff WHERE userid = ?`, [userid]);
    return rows[0] ? map(rows[0]) : null;
  }

  /** Of these userids, those whose name was never looked up (no row yet, or no name source). */
  async findUnnamed(userids: string[]): Promise<string[]> {
    if (userids.length === 0) return [];
    const rows = await this.db.query<{ userid: string }>(`SELECT userid FROM staff WHERE name_source IS NOT NULL AND userid IN (${placeholders(userids.length)})`, userids);
    const named = new Set(rows.map((r) => r.userid));
    return userids.filter((u) => !named.has(u));
  }

  /**
   * Store names read from WeCom, inserting members the bot did not know yet. A name an operator set
   * (`name_source = 'manual'`) is never overwritten.
   */
  async setWecomNames(names: Array<{ userid: string; name: string }>, now: number): Promise<void> {
    if (names.length === 0) return;
    await this.db.tx(async (em) => {
      for (const { userid, name } of names) {
        await em.query(upsertSql(this.db.engine, 'staff', ['userid', 'name', 'name_source', 'status', 'updated_at'], ['userid'], []), [userid, name, 'wecom', 'active', now]);
        await em.query("UPDATE staff SET name = ?, name_source = 'wecom', updated_at = ? WHERE userid = ? AND (name_source IS NULL OR name_source = 'wecom')", [name, now, userid]);
      }
    });
    for (const { userid } of names) this.names.delete(userid);
  }

  /**
   * An operator's name for a member; it wins over WeCom's until cleared. '' clears it and hands the member back
   * to WeCom (the next sync fills the name in). Returns the member, or null when the bot does not know them.
   */
  async setManualName(userid: string, name: string, now: number): Promise<StaffMember | null> {
    await this.db.query('UPDATE staff SET name = ?, name_source = ?, updated_at = ? WHERE userid = ?', [name, name === '' ? null : 'manual', now, userid]);
    this.names.delete(userid);
    return this.find(userid);
  }

  /**
   * Revoke a member's sidebar sessions as of `now`, and with `resigned` mark them as having left (a sync that finds
   * them among WeCom's 客户联系 members again sets them back to active). Null when the bot does not know them.
   */
  async revokeAccess(userid: string, now: number, resigned: boolean): Promise<StaffMember | null> {
    await this.db.query(
      // resigned_at keeps the first notice of leaving: a later revocation does not move it (docs/churn.md §Signals).
      `UPDATE staff SET access_revoked_at = ?, status = CASE WHEN ? = 1 THEN 'resigned' ELSE status END,
         resigned_at = CASE WHEN ? = 1 THEN COALESCE(resigned_at, ?) ELSE resigned_at END, updated_at = ? WHERE userid = ?`,
      [now, resigned ? 1 : 0, resigned ? 1 : 0, now, now, userid],
    );
    return this.find(userid);
  }

  /** Display name for templates ({{staff}}); falls back to the userid. Reused for NAME_REUSE_MS. */
  async displayName(userid: string): Promise<string> {
    const hit = this.names.get(userid);
    if (hit) return hit.name || userid;
    const rows = await this.db.query<{ name: string }>('SELECT name FROM staff WHERE userid = ?', [userid]);
    const name = rows[0]?.name ?? '';
    this.names.set(userid, { name });
    return name || userid;
  }
}
