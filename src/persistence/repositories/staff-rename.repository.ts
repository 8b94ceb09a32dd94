import type { EntityManager } from 'typeorm';
import { execIn, type Db } from '../db.js';
import { upsertSql } from './sql-upsert.js';
import { RECOUNT_GROUPS_SQL } from './group-chat.repository.js';

/** An open rename transaction (opaque to the domain). */
export type RenameTx = EntityManager;

/** The columns that hold a member's userid and simply follow a rename, keyed `table.column` in the counts. */
const USERID_COLUMNS = [
  ['notes', 'userid'],
  ['timeline_entries', 'staff_userid'],
  ['api_tokens', 'userid'],
  ['deliveries', 'sender_userid'],
  ['delivery_batches', 'sender_userid'],
  ['transfers', 'handover_userid'],
  ['transfers', 'takeover_userid'],
  ['group_chats', 'owner'],
  ['staff_message_digest', 'userid'],
] as const;

/**
 * The statements of a member's userid change (StaffRenameService): every table that keeps a userid, moved from the
 * old one to the new one inside one transaction the service opens with `inTx`. Where the new userid already has a
 * row, the statements keep the new row; the decisions (which relation wins, re-sealing, the channel staff lists) are
 * the service's.
 */
export class StaffRenameRepository {
  constructor(private readonly db: Db) {}

  /** Run the whole move in one transaction. */
  inTx<T>(fn: (tx: RenameTx) => Promise<T>): Promise<T> {
    return this.db.tx(fn);
  }

  /** Whether a staff row exists for the userid. */
  staffExists(tx: RenameTx, userid: string): Promise<boolean> {
    return this.exists(tx, 'SELECT 1 AS x FROM staff WHERE userid = ? LIMIT 1', [userid]);
  }

  /** Drop the old staff row (the new userid already has one); rows changed. */
  deleteStaff(tx: RenameTx, userid: string): Promise<number> {
    return execIn(tx, 'DELETE FROM staff WHERE userid = ?', [userid]);
  }

  /** Re-key the staff row; rows changed. */
  renameStaff(tx: RenameTx, from: string, to: string, now: number): Promise<number> {
    return execIn(tx, 'UPDATE staff SET userid = ?, updated_at = ? WHERE userid = ?', [to, now, from]);
  }

  /** The member's relations, with their sealed remark mobiles. */
  async relationsOf(tx: RenameTx, userid: string): Promise<{ id: number | string; externalUserId: string; remarkMobilesEnc: string | null }[]> {
    const rows = (await tx.query('SELECT id, external_user_id, remark_mobiles_enc FROM follow_relations WHERE userid = ?', [userid])) as {
      id: number | string;
      external_user_id: string;
      remark_mobiles_enc: string | null;
    }[];
    return rows.map((r) => ({ id: r.id, externalUserId: r.external_user_id, remarkMobilesEnc: r.remark_mobiles_enc }));
  }

  /** Whether the userid already has a relation with the customer. */
  relationExists(tx: RenameTx, userid: string, externalUserId: string): Promise<boolean> {
    return this.exists(tx, 'SELECT 1 AS x FROM follow_relations WHERE userid = ? AND external_user_id = ? LIMIT 1', [userid, externalUserId]);
  }

  /** Drop a relation (the new userid's relation with the same customer wins). */
  async deleteRelation(tx: RenameTx, id: number | string): Promise<void> {
    await execIn(tx, 'DELETE FROM follow_relations WHERE id = ?', [id]);
  }

  /** Move a relation to the new userid with its re-sealed remark mobiles; rows changed. */
  moveRelation(tx: RenameTx, id: number | string, to: string, remarkMobilesEnc: string | null, now: number): Promise<number> {
    return execIn(tx, 'UPDATE follow_relations SET userid = ?, remark_mobiles_enc = ?, updated_at = ? WHERE id = ?', [to, remarkMobilesEnc, now, id]);
  }

  /** Relations the member added on someone's behalf (`oper_userid`) name the new userid. */
  async moveRelationOperator(tx: RenameTx, from: string, to: string): Promise<void> {
    await execIn(tx, 'UPDATE follow_relations SET oper_userid = ? WHERE oper_userid = ?', [to, from]);
  }

  /**
   * Per-relation tags: unique on (customer, tag, userid, source); a row the new userid already has wins and the old
   * one is dropped. Rows moved.
   */
  async moveCustomerTags(tx: RenameTx, from: string, to: string): Promise<number> {
    const moved = await execIn(
      tx,
      `UPDATE customer_tags SET userid = ? WHERE userid = ? AND NOT EXISTS (
         SELECT 1 FROM (SELECT DISTINCT external_user_id, tag_id, source FROM customer_tags WHERE userid = ?) n
         WHERE n.external_user_id = customer_tags.external_user_id AND n.tag_id = customer_tags.tag_id AND n.source = customer_tags.source)`,
      [to, from, to],
    );
    await execIn(tx, 'DELETE FROM customer_tags WHERE userid = ?', [from]);
    return moved;
  }

  /** Every plain userid column (USERID_COLUMNS) moved; rows changed keyed `table.column`. */
  async moveUseridColumns(tx: RenameTx, from: string, to: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const [table, column] of USERID_COLUMNS) {
      out[`${table}.${column}`] = await execIn(tx, `UPDATE ${table} SET ${column} = ? WHERE ${column} = ?`, [to, from]);
    }
    return out;
  }

  /**
   * Group membership spells of the member (type 1). A chat where both ids have an open spell keeps the new one's, and
   * its member count is recounted. Rows moved.
   */
  async moveGroupMemberships(tx: RenameTx, from: string, to: string): Promise<number> {
    const moved = await execIn(
      tx,
      `UPDATE group_memberships SET member_id = ? WHERE member_id = ? AND type = 1 AND (current_mark IS NULL OR chat_id NOT IN (
         SELECT chat_id FROM (SELECT DISTINCT chat_id FROM group_memberships WHERE member_id = ? AND current_mark = 1) n))`,
      [to, from, to],
    );
    const both = (await tx.query('SELECT DISTINCT chat_id FROM group_memberships WHERE member_id = ? AND type = 1', [from])) as { chat_id: string }[];
    await execIn(tx, 'DELETE FROM group_memberships WHERE member_id = ? AND type = 1', [from]);
    if (both.length > 0) await execIn(tx, `${RECOUNT_GROUPS_SQL} WHERE chat_id IN (${both.map(() => '?').join(',')})`, both.map((r) => r.chat_id));
    return moved;
  }

  /** Channel codes whose staff list (a JSON array of userids) may name the userid: a coarse LIKE, checked by the caller. */
  async channelsNaming(tx: RenameTx, userid: string): Promise<{ id: string; staff: string[] }[]> {
    const rows = (await tx.query('SELECT id, staff FROM channels WHERE staff LIKE ?', [`%"${userid.replace(/[%_]/g, '')}"%`])) as { id: string; staff: string | null }[];
    return rows.map((r) => ({ id: r.id, staff: r.staff ? (JSON.parse(r.staff) as string[]) : [] }));
  }

  /** Store a channel code's new staff list; rows changed. */
  setChannelStaff(tx: RenameTx, id: string, staff: string[], now: number): Promise<number> {
    return execIn(tx, 'UPDATE channels SET staff = ?, updated_at = ? WHERE id = ?', [JSON.stringify(staff), now, id]);
  }

  /** Remember the rename (StaffAccessService refuses sessions signed for the old userid before it). */
  async rememberRename(tx: RenameTx, from: string, to: string, now: number): Promise<void> {
    await execIn(tx, upsertSql(this.db.engine, 'staff_renames', ['old_userid', 'new_userid', 'renamed_at'], ['old_userid'], ['new_userid', 'renamed_at']), [from, to, now]);
  }

  /** Names of the care rules, broadcasts and tag rules whose audience text contains the userid. */
  async audiencesNaming(userid: string): Promise<{ careRules: string[]; broadcasts: string[]; tagRules: string[] }> {
    const like = `%${userid.replace(/[%_]/g, '')}%`;
    const names = async (table: 'care_rules' | 'broadcasts' | 'tag_rules') =>
      (await this.db.query<{ name: string }>(`SELECT name FROM ${table} WHERE audience LIKE ?`, [like])).map((r) => r.name);
    const careRules = await names('care_rules');
    const broadcasts = await names('broadcasts');
    const tagRules = await names('tag_rules');
    return { careRules, broadcasts, tagRules };
  }

  private async exists(tx: RenameTx, sql: string, params: unknown[]): Promise<boolean> {
    return ((await tx.query(sql, params)) as unknown[]).length > 0;
  }
}
