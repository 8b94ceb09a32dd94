import type { EntityManager } from 'typeorm';
import { execIn, type Db } from '../../persistence/db.js';
import { aad } from '../../persistence/sealed-columns.js';
import { upsertSql } from '../../persistence/repositories/sql-upsert.js';
import type { FieldCipher } from '../../shared/field-cipher.js';
import type { Logger } from '../../shared/logger.js';

/** Rows moved to the new userid, per table. */
export type RenameCounts = Record<string, number>;

/**
 * A member's account (userid) changed in WeCom, which an admin may do once per member (change_contact update_user
 * with NewUserID, docs/wecom-protocol.md §Member events). WeCom's APIs answer with the new userid from then on, so
 * every row the bot keeps under the old one moves to the new one, in one transaction:
 *
 * - without it, the member's relations stayed `active` under the old userid for good (the nightly sync only
 *   reconciles members WeCom still lists), care messages planned the old userid as sender and WeCom refused them,
 *   and the sync added every customer a second time under the new userid;
 * - remark mobiles are sealed with the userid in their AAD, so they are re-sealed under the new one;
 * - where the new userid already has a row (a sync ran first), the new row wins and the old one is dropped.
 *
 * Audience expressions that name the old userid (`owner:…` in care rules, broadcasts, tag rules) are text the
 * operator wrote; they are listed in the log rather than rewritten.
 */
export class StaffRenameService {
  constructor(
    private readonly db: Db,
    private readonly cipher: FieldCipher,
    private readonly log: Logger,
  ) {}

  async rename(from: string, to: string, now: number): Promise<RenameCounts> {
    if (from === to) return {};
    const counts = await this.db.tx(async (em) => {
      const c: RenameCounts = {};
      c.staff = (await this.exists(em, 'staff', 'userid', to))
        ? await execIn(em, 'DELETE FROM staff WHERE userid = ?', [from])
        : await execIn(em, 'UPDATE staff SET userid = ?, updated_at = ? WHERE userid = ?', [to, now, from]);
      c.follow_relations = await this.moveRelations(em, from, to, now);
      // Per-relation tags: unique on (customer, tag, userid, source); a row the new userid already has wins.
      c.customer_tags = await execIn(
        em,
        `UPDATE customer_tags SET userid = ? WHERE userid = ? AND NOT EXISTS (
           SELECT 1 FROM (SELECT DISTINCT external_user_id, tag_id, source FROM customer_tags WHERE userid = ?) n
           WHERE n.external_user_id = customer_tags.external_user_id AND n.tag_id = customer_tags.tag_id AND n.source = customer_tags.source)`,
        [to, from, to],
      );
      await execIn(em, 'DELETE FROM customer_tags WHERE userid = ?', [from]);
      for (const [table, column] of [
        ['notes', 'userid'],
        ['timeline_entries', 'staff_userid'],
        ['api_tokens', 'userid'],
        ['deliveries', 'sender_userid'],
        ['delivery_batches', 'sender_userid'],
        ['transfers', 'handover_userid'],
        ['transfers', 'takeover_userid'],
        ['group_chats', 'owner'],
        ['staff_message_digest', 'userid'],
      ] as const) {
        c[`${table}.${column}`] = await execIn(em, `UPDATE ${table} SET ${column} = ? WHERE ${column} = ?`, [to, from]);
      }
      // Group membership of the member (type 1); a chat that lists both keeps the new one.
      c.group_chat_members = await execIn(
        em,
        `UPDATE group_chat_members SET member_id = ? WHERE member_id = ? AND type = 1 AND chat_id NOT IN (
           SELECT chat_id FROM (SELECT DISTINCT chat_id FROM group_chat_members WHERE member_id = ?) n)`,
        [to, from, to],
      );
      await execIn(em, 'DELETE FROM group_chat_members WHERE member_id = ? AND type = 1', [from]);
      c.channels = await this.moveChannelStaff(em, from, to, now);
      // Remembered: sessions signed for the old userid before now are refused (StaffAccessService.checkSession).
      await execIn(em, upsertSql(this.db.engine, 'staff_renames', ['old_userid', 'new_userid', 'renamed_at'], ['old_userid'], ['new_userid', 'renamed_at']), [from, to, now]);
      return c;
    });
    const moved = Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
    this.log.info({ from, to, moved }, 'member userid changed in WeCom; the archive follows');
    const rules = await this.rulesNaming(from);
    if (rules.length > 0) this.log.warn({ from, to, rules }, 'audience expressions still name the old userid; edit them to use the new one');
    return moved;
  }

  /** Relations: re-keyed, remark mobiles re-sealed under the new AAD; an existing new-userid relation wins. */
  private async moveRelations(em: EntityManager, from: string, to: string, now: number): Promise<number> {
    const rows = (await em.query('SELECT id, external_user_id, remark_mobiles_enc FROM follow_relations WHERE userid = ?', [from])) as {
      id: number | string;
      external_user_id: string;
      remark_mobiles_enc: string | null;
    }[];
    let moved = 0;
    for (const r of rows) {
      if (await this.exists(em, 'follow_relations', 'userid', to, r.external_user_id)) {
        await execIn(em, 'DELETE FROM follow_relations WHERE id = ?', [r.id]);
        continue;
      }
      const mobiles = r.remark_mobiles_enc
        ? this.cipher.encrypt(this.cipher.decrypt(r.remark_mobiles_enc, aad.remarkMobiles(from, r.external_user_id)), aad.remarkMobiles(to, r.external_user_id))
        : null;
      moved += await execIn(em, 'UPDATE follow_relations SET userid = ?, remark_mobiles_enc = ?, updated_at = ? WHERE id = ?', [to, mobiles, now, r.id]);
    }
    await execIn(em, 'UPDATE follow_relations SET oper_userid = ? WHERE oper_userid = ?', [to, from]);
    return moved;
  }

  /** Channel codes list their staff as a JSON array of userids. */
  private async moveChannelStaff(em: EntityManager, from: string, to: string, now: number): Promise<number> {
    const rows = (await em.query('SELECT id, staff FROM channels WHERE staff LIKE ?', [`%"${from.replace(/[%_]/g, '')}"%`])) as { id: string; staff: string | null }[];
    let moved = 0;
    for (const r of rows) {
      const staff = r.staff ? (JSON.parse(r.staff) as string[]) : [];
      if (!staff.includes(from)) continue;
      const next = [...new Set(staff.map((u) => (u === from ? to : u)))];
      moved += await execIn(em, 'UPDATE channels SET staff = ?, updated_at = ? WHERE id = ?', [JSON.stringify(next), now, r.id]);
    }
    return moved;
  }

  private async exists(em: EntityManager, table: string, column: string, value: string, externalUserId?: string): Promise<boolean> {
    const sql = `SELECT 1 AS x FROM ${table} WHERE ${column} = ?${externalUserId === undefined ? '' : ' AND external_user_id = ?'} LIMIT 1`;
    return ((await em.query(sql, externalUserId === undefined ? [value] : [value, externalUserId])) as unknown[]).length > 0;
  }

  /** Care rules, broadcasts and tag rules whose audience names the userid. */
  private async rulesNaming(userid: string): Promise<string[]> {
    const like = `%${userid.replace(/[%_]/g, '')}%`;
    const out: string[] = [];
    for (const [table, label] of [
      ['care_rules', 'care rule'],
      ['broadcasts', 'broadcast'],
      ['tag_rules', 'tag rule'],
    ] as const) {
      const rows = await this.db.query<{ name: string }>(`SELECT name FROM ${table} WHERE audience LIKE ?`, [like]);
      out.push(...rows.map((r) => `${label} ${r.name}`));
    }
    return out;
  }
}
