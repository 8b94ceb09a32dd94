import type { Db } from '../db.js';
import { upsertSql } from './sql-upsert.js';
import type { GroupChatSnapshot } from '../../domain/customers/group-chat.types.js';

/** Customer groups (客户群) and their membership. */
export class GroupChatRepository {
  constructor(private readonly db: Db) {}

  /** Replace a group's row and member list with a fresh snapshot, unless a newer event already applied. */
  async applySnapshot(s: GroupChatSnapshot, eventTime: number | null, now: number): Promise<boolean> {
    return this.db.tx(async (em) => {
      const rows: { last_event_time: number | string | null }[] = await em.query('SELECT last_event_time FROM group_chats WHERE chat_id = ?', [s.chatId]);
      const last = rows[0]?.last_event_time == null ? null : Number(rows[0].last_event_time);
      if (eventTime !== null && last !== null && eventTime < last) return false;
      await em.query(
        upsertSql(this.db.engine, 'group_chats', ['chat_id', 'name', 'owner', 'chat_created_at', 'dismissed_at', 'last_event_time', 'updated_at'], ['chat_id'], [
          'name',
          'owner',
          'chat_created_at',
          'dismissed_at',
          'last_event_time',
          'updated_at',
        ]),
        [s.chatId, s.name.slice(0, 200), s.owner, s.createdAt?.getTime() ?? null, null, Math.max(eventTime ?? 0, last ?? 0) || null, now],
      );
      await em.query('DELETE FROM group_chat_members WHERE chat_id = ?', [s.chatId]);
      for (const m of s.members) {
        await em.query('INSERT INTO group_chat_members (chat_id, member_id, type, joined_at) VALUES (?,?,?,?)', [s.chatId, m.memberId, m.type, m.joinedAt?.getTime() ?? null]);
      }
      return true;
    });
  }

  /** Mark a group dismissed and clear its members. Idempotent. */
  async markDismissed(chatId: string, eventTime: number | null, now: number): Promise<void> {
    await this.db.tx(async (em) => {
      await em.query(upsertSql(this.db.engine, 'group_chats', ['chat_id', 'name', 'dismissed_at', 'last_event_time', 'updated_at'], ['chat_id'], []), [chatId, '', now, eventTime, now]);
      await em.query('UPDATE group_chats SET dismissed_at = COALESCE(dismissed_at, ?), updated_at = ? WHERE chat_id = ?', [eventTime ?? now, now, chatId]);
      await em.query('DELETE FROM group_chat_members WHERE chat_id = ?', [chatId]);
    });
  }

  /** Member ids of a group, for tests and the archive. */
  async members(chatId: string): Promise<string[]> {
    const rows = await this.db.query<{ member_id: string }>('SELECT member_id FROM group_chat_members WHERE chat_id = ? ORDER BY member_id', [chatId]);
    return rows.map((r) => r.member_id);
  }

  /** Groups a customer belongs to. */
  async groupsOf(memberId: string): Promise<{ chatId: string; name: string }[]> {
    const rows = await this.db.query<{ chat_id: string; name: string }>(
      'SELECT g.chat_id, g.name FROM group_chat_members m JOIN group_chats g ON g.chat_id = m.chat_id WHERE m.member_id = ? AND g.dismissed_at IS NULL',
      [memberId],
    );
    return rows.map((r) => ({ chatId: r.chat_id, name: r.name }));
  }
}
