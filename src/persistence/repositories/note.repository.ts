import type { EntityManager } from 'typeorm';
import { execIn, type Db } from '../db.js';
import { NotFoundError } from '../../shared/errors.js';
import type { Note, NoteChanges } from '../../domain/customers/note.types.js';

interface Row {
  id: string;
  external_user_id: string;
  userid: string | null;
  text: string;
  due_date: string | null;
  done_at: number | string | null;
  created_at: number | string;
}

function toNote(r: Row): Note {
  return {
    id: r.id,
    externalUserId: r.external_user_id,
    userid: r.userid,
    text: r.text,
    dueDate: r.due_date,
    doneAt: r.done_at === null ? null : new Date(Number(r.done_at)),
    createdAt: new Date(Number(r.created_at)),
  };
}

/** Notes. The care planner reads open notes due today (`done_at IS NULL`) through CareScanRepository. */
export class NoteRepository {
  constructor(private readonly db: Db) {}

  /** Insert a note inside a caller's transaction (with its timeline entry). */
  async insertInTx(em: EntityManager, n: Note): Promise<void> {
    await em.query('INSERT INTO notes (id, external_user_id, userid, text, due_date, done_at, created_at, source) VALUES (?,?,?,?,?,?,?,?)', [
      n.id,
      n.externalUserId,
      n.userid,
      n.text,
      n.dueDate,
      n.doneAt?.getTime() ?? null,
      n.createdAt.getTime(),
      n.source ?? 'staff',
    ]);
  }

  /** The note or null. */
  async find(id: string): Promise<Note | null> {
    const rows = await this.db.query<Row>('SELECT * FROM notes WHERE id = ?', [id]);
    return rows[0] ? toNote(rows[0]) : null;
  }

  /** The note or NotFoundError. */
  async get(id: string): Promise<Note> {
    const n = await this.find(id);
    if (!n) throw new NotFoundError('跟进记录不存在', 'note_not_found');
    return n;
  }

  /** A page of a customer's notes, newest first; `status` narrows to open or done ones. */
  async listForCustomer(ext: string, opts: { status?: 'open' | 'done'; page: number; pageSize: number }): Promise<{ items: Note[]; total: number }> {
    const where = `external_user_id = ?${opts.status === 'open' ? ' AND done_at IS NULL' : opts.status === 'done' ? ' AND done_at IS NOT NULL' : ''}`;
    const [{ n }] = await this.db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM notes WHERE ${where}`, [ext]);
    const rows = await this.db.query<Row>(`SELECT * FROM notes WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, [
      ext,
      opts.pageSize,
      (opts.page - 1) * opts.pageSize,
    ]);
    return { items: rows.map(toNote), total: Number(n) };
  }

  /** A customer's open notes, soonest due first, undated ones last (for the archive). */
  async listOpenForCustomer(ext: string, limit = 100): Promise<Note[]> {
    const rows = await this.db.query<Row>(
      'SELECT * FROM notes WHERE external_user_id = ? AND done_at IS NULL ORDER BY CASE WHEN due_date IS NULL THEN 1 ELSE 0 END, due_date, created_at DESC, id DESC LIMIT ?',
      [ext, limit],
    );
    return rows.map(toNote);
  }

  /** Apply changes; returns false when the note is gone. */
  async update(id: string, c: NoteChanges): Promise<boolean> {
    const sets: string[] = [];
    const params: unknown[] = [];
    if (c.text !== undefined) sets.push('text = ?'), params.push(c.text);
    if (c.dueDate !== undefined) sets.push('due_date = ?'), params.push(c.dueDate);
    if (c.doneAt !== undefined) sets.push('done_at = ?'), params.push(c.doneAt?.getTime() ?? null);
    if (sets.length === 0) return (await this.find(id)) !== null;
    return (await this.db.exec(`UPDATE notes SET ${sets.join(', ')} WHERE id = ?`, [...params, id])) > 0;
  }

  /** Delete a note inside a caller's transaction; returns false when it was already gone. */
  async deleteInTx(em: EntityManager, id: string): Promise<boolean> {
    return (await execIn(em, 'DELETE FROM notes WHERE id = ?', [id])) > 0;
  }
}
