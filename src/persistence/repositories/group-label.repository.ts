import type { Db } from '../db.js';
import { upsertManySql } from './sql-upsert.js';
import type { GroupLabel } from '../../domain/groups/group-chat.types.js';

/** Local group labels and which groups carry them (docs/groups.md §Labels). WeCom has no group-tag API. */
export class GroupLabelRepository {
  constructor(private readonly db: Db) {}

  /** Every label with how many groups (not dismissed) carry it, by name. */
  async list(): Promise<GroupLabel[]> {
    const rows = await this.db.query<{ id: string; name: string; color: string; n: number | string }>(
      `SELECT l.id, l.name, l.color, COUNT(g.chat_id) AS n FROM group_labels l
       LEFT JOIN group_chat_labels cl ON cl.label_id = l.id
       LEFT JOIN group_chats g ON g.chat_id = cl.chat_id AND g.dismissed_at IS NULL
       GROUP BY l.id, l.name, l.color ORDER BY l.name`,
    );
    return rows.map((r) => ({ id: r.id, name: r.name, color: r.color, groups: Number(r.n) }));
  }

  /** One label, or null. */
  async find(id: string): Promise<GroupLabel | null> {
    const [r] = await this.db.query<{ id: string; name: string; color: string }>('SELECT id, name, color FROM group_labels WHERE id = ?', [id]);
    return r ? { id: r.id, name: r.name, color: r.color } : null;
  }

  /** A label by its (unique) name, or null. */
  async findByName(name: string): Promise<GroupLabel | null> {
    const [r] = await this.db.query<{ id: string; name: string; color: string }>('SELECT id, name, color FROM group_labels WHERE name = ?', [name]);
    return r ? { id: r.id, name: r.name, color: r.color } : null;
  }

  /** Create a label; false when the name is taken. */
  async create(l: { id: string; name: string; color: string }, now: number): Promise<boolean> {
    return this.db.writeUnique('INSERT INTO group_labels (id, name, color, created_at, updated_at) VALUES (?,?,?,?,?)', [l.id, l.name, l.color, now, now]);
  }

  /** Rename or recolour a label; false when the new name is taken by another. */
  async update(id: string, patch: { name: string; color: string }, now: number): Promise<boolean> {
    return this.db.writeUnique('UPDATE group_labels SET name = ?, color = ?, updated_at = ? WHERE id = ?', [patch.name, patch.color, now, id]);
  }

  /** Delete a label and its assignments. */
  async delete(id: string): Promise<void> {
    await this.db.tx(async (em) => {
      await em.query('DELETE FROM group_chat_labels WHERE label_id = ?', [id]);
      await em.query('DELETE FROM group_labels WHERE id = ?', [id]);
    });
  }

  /** Add and remove labels on groups; adding one already there and removing one absent are no-ops. */
  async assign(chatIds: string[], add: string[], remove: string[], now: number): Promise<void> {
    await this.db.tx(async (em) => {
      if (remove.length > 0 && chatIds.length > 0) {
        await em.query(`DELETE FROM group_chat_labels WHERE chat_id IN (${chatIds.map(() => '?').join(',')}) AND label_id IN (${remove.map(() => '?').join(',')})`, [
          ...chatIds,
          ...remove,
        ]);
      }
      const pairs = chatIds.flatMap((c) => add.map((l) => [c, l, now]));
      for (let i = 0; i < pairs.length; i += 300) {
        const slice = pairs.slice(i, i + 300);
        await em.query(upsertManySql(this.db.engine, 'group_chat_labels', ['chat_id', 'label_id', 'created_at'], ['chat_id', 'label_id'], [], slice.length), slice.flat());
      }
    });
  }
}
