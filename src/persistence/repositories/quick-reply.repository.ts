import type { Db } from '../db.js';
import { NotFoundError } from '../../shared/errors.js';
import type { QuickReply } from '../../domain/quick-replies/quick-reply.types.js';

interface Row {
  id: string;
  seed_key: string | null;
  category: string;
  title: string;
  text: string;
  sort: number | string;
  created_at: number | string;
  updated_at: number | string;
}

function map(r: Row): QuickReply {
  return {
    id: r.id,
    seedKey: r.seed_key,
    category: r.category,
    title: r.title,
    text: r.text,
    sort: Number(r.sort),
    createdAt: new Date(Number(r.created_at)),
    updatedAt: new Date(Number(r.updated_at)),
  };
}

const COLUMNS = 'id, seed_key, category, title, text, sort, created_at, updated_at';

/** Quick replies. Deleted ones stay as tombstones (`deleted_at`), invisible to every read here. */
export class QuickReplyRepository {
  constructor(private readonly db: Db) {}

  /** A page of live replies in display order (sort, then category and title), optionally of one category. */
  async list(opts: { category?: string; page: number; pageSize: number }): Promise<{ items: QuickReply[]; total: number }> {
    const where = `deleted_at IS NULL${opts.category !== undefined ? ' AND category = ?' : ''}`;
    const params = opts.category !== undefined ? [opts.category] : [];
    const [{ n }] = await this.db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM quick_replies WHERE ${where}`, params);
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM quick_replies WHERE ${where} ORDER BY sort, category, title, id LIMIT ? OFFSET ?`, [
      ...params,
      opts.pageSize,
      (opts.page - 1) * opts.pageSize,
    ]);
    return { items: rows.map(map), total: Number(n) };
  }

  /** A live reply, or null. */
  async find(id: string): Promise<QuickReply | null> {
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM quick_replies WHERE id = ? AND deleted_at IS NULL`, [id]);
    return rows[0] ? map(rows[0]) : null;
  }

  /** A live reply, or NotFoundError. */
  async get(id: string): Promise<QuickReply> {
    const r = await this.find(id);
    if (!r) throw new NotFoundError('快捷回复不存在', 'quick_reply_not_found');
    return r;
  }

  /** Insert a reply; false when its seed key was seeded before (even if it was deleted since). */
  async insert(r: QuickReply): Promise<boolean> {
    return this.db.writeUnique('INSERT INTO quick_replies (id, seed_key, category, title, text, sort, created_at, updated_at, deleted_at) VALUES (?,?,?,?,?,?,?,?,NULL)', [
      r.id,
      r.seedKey,
      r.category,
      r.title,
      r.text,
      r.sort,
      r.createdAt.getTime(),
      r.updatedAt.getTime(),
    ]);
  }

  /** Overwrite the editable fields of a live reply. */
  async update(r: QuickReply): Promise<void> {
    await this.db.query('UPDATE quick_replies SET category = ?, title = ?, text = ?, sort = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL', [
      r.category,
      r.title,
      r.text,
      r.sort,
      r.updatedAt.getTime(),
      r.id,
    ]);
  }

  /** Tombstone a reply; true when a live one was deleted. */
  async softDelete(id: string, now: number): Promise<boolean> {
    const before = await this.find(id);
    if (!before) return false;
    await this.db.query('UPDATE quick_replies SET deleted_at = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL', [now, now, id]);
    return true;
  }

  /** Every seed key ever inserted, live or deleted. */
  async seedKeys(): Promise<Set<string>> {
    const rows = await this.db.query<{ seed_key: string }>('SELECT seed_key FROM quick_replies WHERE seed_key IS NOT NULL');
    return new Set(rows.map((r) => r.seed_key));
  }
}
