import type { Db } from '../db.js';
import { NotFoundError } from '../../shared/errors.js';
import type { GroupWelcomeAttachments, GroupWelcomeStatus, GroupWelcomeTemplate } from '../../domain/groups/group-code.types.js';

interface Row {
  id: string;
  name: string;
  template_id: string | null;
  text: string | null;
  attachments: string | null;
  content_ids?: string | null;
  notify: number | string;
  status: string;
  last_error: string | null;
  created_at: number | string;
  updated_at: number | string;
}

function map(r: Row): GroupWelcomeTemplate {
  return {
    id: r.id,
    name: r.name,
    templateId: r.template_id,
    text: r.text ?? '',
    attachments: r.attachments ? (JSON.parse(r.attachments) as GroupWelcomeAttachments) : {},
    contentIds: r.content_ids ? (JSON.parse(r.content_ids) as string[]) : [],
    notify: Number(r.notify) === 1,
    status: r.status as GroupWelcomeStatus,
    lastError: r.last_error,
    createdAt: new Date(Number(r.created_at)),
    updatedAt: new Date(Number(r.updated_at)),
  };
}

/** Group welcome templates (入群欢迎语) and their WeCom template ids. */
export class GroupWelcomeTemplateRepository {
  constructor(private readonly db: Db) {}

  /** Insert a template. */
  async insert(t: GroupWelcomeTemplate): Promise<void> {
    await this.db.query(
      'INSERT INTO group_welcome_templates (id, name, template_id, text, attachments, content_ids, notify, status, last_error, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)',
      [t.id, t.name, t.templateId, t.text, JSON.stringify(t.attachments), t.contentIds.length ? JSON.stringify(t.contentIds) : null, t.notify ? 1 : 0, t.status, t.lastError, t.createdAt.getTime(), t.updatedAt.getTime()],
    );
  }

  /** Overwrite a template's fields. */
  async update(t: GroupWelcomeTemplate): Promise<void> {
    await this.db.query('UPDATE group_welcome_templates SET name = ?, template_id = ?, text = ?, attachments = ?, content_ids = ?, notify = ?, status = ?, last_error = ?, updated_at = ? WHERE id = ?', [
      t.name,
      t.templateId,
      t.text,
      JSON.stringify(t.attachments),
      t.contentIds.length ? JSON.stringify(t.contentIds) : null,
      t.notify ? 1 : 0,
      t.status,
      t.lastError,
      t.updatedAt.getTime(),
      t.id,
    ]);
  }

  /**
   * Claim a parked template for one retry: its reason becomes `marker` and its time `now`, only if it is still failed
   * with the reason and time the caller read (compare-and-set), so of two retries one goes on. False when another
   * took it or it is not parked any more.
   */
  async claimRetry(t: { id: string; lastError: string | null; updatedAt: Date }, marker: string, now: Date): Promise<boolean> {
    const n = await this.db.exec(
      `UPDATE group_welcome_templates SET last_error = ?, updated_at = ? WHERE id = ? AND status = 'failed' AND updated_at = ? AND ${t.lastError === null ? 'last_error IS NULL' : 'last_error = ?'}`,
      [marker, now.getTime(), t.id, t.updatedAt.getTime(), ...(t.lastError === null ? [] : [t.lastError])],
    );
    return n === 1;
  }

  /** Remove a template row. */
  async delete(id: string): Promise<void> {
    await this.db.query('DELETE FROM group_welcome_templates WHERE id = ?', [id]);
  }

  /** The template or NotFoundError. */
  async get(id: string): Promise<GroupWelcomeTemplate> {
    const rows = await this.db.query<Row>('SELECT * FROM group_welcome_templates WHERE id = ?', [id]);
    if (!rows[0]) throw new NotFoundError('入群欢迎语不存在', 'group_welcome_not_found');
    return map(rows[0]);
  }

  /** Every template, newest first (a corp holds at most 100). */
  async list(): Promise<GroupWelcomeTemplate[]> {
    return (await this.db.query<Row>('SELECT * FROM group_welcome_templates ORDER BY created_at DESC, id DESC')).map(map);
  }

  /** How many templates exist, parked ones included (they take a place once retried). */
  async count(): Promise<number> {
    const [{ n }] = await this.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM group_welcome_templates');
    return Number(n);
  }
}
