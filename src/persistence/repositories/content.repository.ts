import type { Db } from '../db.js';
import { NotFoundError } from '../../shared/errors.js';
import { queryGrams } from '../../shared/grams.js';
import type { ContentItem, ContentKind } from '../../domain/content/content.types.js';

interface Row {
  id: string;
  seed_key: string | null;
  kind: string;
  group_name: string;
  title: string;
  text: string | null;
  url: string | null;
  app_id: string | null;
  page: string | null;
  tags: string | null;
  quick_reply: number | string;
  sort: number | string;
  file_key: string | null;
  file_name: string | null;
  file_type: string | null;
  file_size: number | string | null;
  pic_url: string | null;
  media_id: string | null;
  media_uploaded_at: number | string | null;
  media_error: string | null;
  use_count: number | string;
  last_used_at: number | string | null;
  created_by: string | null;
  created_at: number | string;
  updated_at: number | string;
}

/** The columns an edit overwrites (`update`), in the order of `editable()`. */
const EDITABLE =
  'kind, group_name, title, text, url, app_id, page, tags, quick_reply, sort, file_key, file_name, file_type, file_size, pic_url, media_id, media_uploaded_at, media_error';
const COLUMNS = `id, seed_key, ${EDITABLE}, use_count, last_used_at, created_by, created_at, updated_at`;

/** The values of EDITABLE for an item. */
function editable(c: ContentItem): unknown[] {
  return [
    c.kind,
    c.group,
    c.title,
    c.text,
    c.url,
    c.appId,
    c.page,
    JSON.stringify(c.tags),
    c.quickReply ? 1 : 0,
    c.sort,
    c.file?.key ?? null,
    c.file?.name ?? null,
    c.file?.type ?? null,
    c.file?.size ?? null,
    c.picUrl,
    c.mediaId,
    c.mediaUploadedAt?.getTime() ?? null,
    c.mediaError,
  ];
}

const ms = (v: number | string | null): Date | null => (v === null ? null : new Date(Number(v)));

function map(r: Row): ContentItem {
  return {
    id: r.id,
    seedKey: r.seed_key,
    kind: r.kind as ContentKind,
    group: r.group_name,
    title: r.title,
    text: r.text,
    url: r.url,
    appId: r.app_id,
    page: r.page,
    tags: r.tags ? (JSON.parse(r.tags) as string[]) : [],
    quickReply: Number(r.quick_reply) === 1,
    sort: Number(r.sort),
    file: r.file_key ? { key: r.file_key, name: r.file_name ?? '', type: r.file_type ?? 'application/octet-stream', size: Number(r.file_size ?? 0) } : null,
    picUrl: r.pic_url,
    mediaId: r.media_id,
    mediaUploadedAt: ms(r.media_uploaded_at),
    mediaError: r.media_error,
    useCount: Number(r.use_count),
    lastUsedAt: ms(r.last_used_at),
    createdBy: r.created_by,
    createdAt: new Date(Number(r.created_at)),
    updatedAt: new Date(Number(r.updated_at)),
  };
}

/** What a list asks for; every filter is optional. `q` searches the bigram index (docs/content.md §Search). */
export interface ContentQuery {
  q?: string;
  group?: string;
  tag?: string;
  kind?: ContentKind;
  quickReply?: boolean;
  /** Display order (sort, group, title) or most used first. */
  order?: 'sort' | 'uses';
  page: number;
  pageSize: number;
}

/** Content items, their search grams and tags. Deleted items stay as tombstones (`deleted_at`), invisible here. */
export class ContentRepository {
  constructor(private readonly db: Db) {}

  /** A page of live items matching every given filter. */
  async list(opts: ContentQuery): Promise<{ items: ContentItem[]; total: number }> {
    const where = ['deleted_at IS NULL'];
    const params: unknown[] = [];
    if (opts.group !== undefined) {
      where.push('group_name = ?');
      params.push(opts.group);
    }
    if (opts.kind !== undefined) {
      where.push('kind = ?');
      params.push(opts.kind);
    }
    if (opts.quickReply !== undefined) {
      where.push('quick_reply = ?');
      params.push(opts.quickReply ? 1 : 0);
    }
    if (opts.tag !== undefined) {
      where.push('id IN (SELECT item_id FROM content_item_tags WHERE tag = ?)');
      params.push(opts.tag);
    }
    if (opts.q !== undefined) {
      const { grams, chars } = queryGrams(opts.q);
      // Nothing searchable (only punctuation): nothing matches rather than everything.
      if (grams.length === 0 && chars.length === 0) return { items: [], total: 0 };
      if (grams.length > 0) {
        // Every bigram of the query must be among the item's (docs/content.md §Search).
        where.push(`id IN (SELECT item_id FROM content_grams WHERE gram IN (${grams.map(() => '?').join(',')}) GROUP BY item_id HAVING COUNT(*) = ?)`);
        params.push(...grams, grams.length);
      }
      for (const ch of chars) {
        // A lone character: a one-character gram, or the first or second character of a bigram.
        where.push('id IN (SELECT item_id FROM content_grams WHERE gram = ? OR gram LIKE ? OR gram LIKE ?)');
        params.push(ch, `${ch}_`, `_${ch}`);
      }
    }
    const w = where.join(' AND ');
    const [{ n }] = await this.db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM content_items WHERE ${w}`, params);
    const order = opts.order === 'uses' ? 'use_count DESC, last_used_at DESC, id' : 'sort, group_name, title, id';
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM content_items WHERE ${w} ORDER BY ${order} LIMIT ? OFFSET ?`, [
      ...params,
      opts.pageSize,
      (opts.page - 1) * opts.pageSize,
    ]);
    return { items: rows.map(map), total: Number(n) };
  }

  /** A live item, or null. */
  async find(id: string): Promise<ContentItem | null> {
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM content_items WHERE id = ? AND deleted_at IS NULL`, [id]);
    return rows[0] ? map(rows[0]) : null;
  }

  /** A live item, or NotFoundError. */
  async get(id: string): Promise<ContentItem> {
    const r = await this.find(id);
    if (!r) throw new NotFoundError('素材不存在或已删除', 'content_not_found');
    return r;
  }

  /** The live items of these ids (missing or deleted ones are absent). */
  async byIds(ids: string[]): Promise<Map<string, ContentItem>> {
    const out = new Map<string, ContentItem>();
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      if (chunk.length === 0) continue;
      const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM content_items WHERE id IN (${chunk.map(() => '?').join(',')}) AND deleted_at IS NULL`, chunk);
      for (const r of rows) out.set(r.id, map(r));
    }
    return out;
  }

  /** Insert an item with its grams and tags; false when its seed key was seeded before (even if deleted since). */
  async insert(c: ContentItem, grams: Set<string>): Promise<boolean> {
    const inserted = await this.db.writeUnique(
      `INSERT INTO content_items (${COLUMNS}, deleted_at) VALUES (${COLUMNS.split(',').map(() => '?').join(',')}, NULL)`,
      this.values(c),
    );
    if (inserted) await this.replaceIndex(c.id, grams, c.tags);
    return inserted;
  }

  /** Overwrite an item's editable fields and its grams and tags. */
  async update(c: ContentItem, grams: Set<string>): Promise<void> {
    const set = EDITABLE.split(', ').map((col) => `${col} = ?`).join(', ');
    await this.db.query(`UPDATE content_items SET ${set}, updated_at = ? WHERE id = ? AND deleted_at IS NULL`, [...editable(c), c.updatedAt.getTime(), c.id]);
    await this.replaceIndex(c.id, grams, c.tags);
  }

  /** Tombstone an item and drop its index rows; true when a live one was deleted. */
  async softDelete(id: string, now: number): Promise<boolean> {
    const changed = await this.db.exec('UPDATE content_items SET deleted_at = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL', [now, now, id]);
    await this.db.query('DELETE FROM content_grams WHERE item_id = ?', [id]);
    await this.db.query('DELETE FROM content_item_tags WHERE item_id = ?', [id]);
    return changed > 0;
  }

  /** Every seed key ever inserted, live or deleted. */
  async seedKeys(): Promise<Set<string>> {
    const rows = await this.db.query<{ seed_key: string }>('SELECT seed_key FROM content_items WHERE seed_key IS NOT NULL');
    return new Set(rows.map((r) => r.seed_key));
  }

  /** The groups (分组) in use with their item counts, and the tags with theirs. */
  async facets(): Promise<{ groups: { name: string; count: number }[]; tags: { name: string; count: number }[] }> {
    const groups = await this.db.query<{ g: string; n: number | string }>(
      'SELECT group_name AS g, COUNT(*) AS n FROM content_items WHERE deleted_at IS NULL GROUP BY group_name ORDER BY group_name',
    );
    const tags = await this.db.query<{ t: string; n: number | string }>('SELECT tag AS t, COUNT(*) AS n FROM content_item_tags GROUP BY tag ORDER BY tag');
    return { groups: groups.map((r) => ({ name: r.g, count: Number(r.n) })), tags: tags.map((r) => ({ name: r.t, count: Number(r.n) })) };
  }

  /** Record the media WeCom gave an item (or why it could not), unless the item changed file meanwhile. */
  async setMedia(id: string, fileKey: string, m: { picUrl?: string | null; mediaId?: string | null; mediaUploadedAt?: Date | null; error: string | null }): Promise<void> {
    const sets: string[] = ['media_error = ?'];
    const params: unknown[] = [m.error === null ? null : m.error.slice(0, 300)];
    if (m.picUrl !== undefined) {
      sets.push('pic_url = ?');
      params.push(m.picUrl);
    }
    if (m.mediaId !== undefined) {
      sets.push('media_id = ?', 'media_uploaded_at = ?');
      params.push(m.mediaId, m.mediaUploadedAt?.getTime() ?? null);
    }
    await this.db.query(`UPDATE content_items SET ${sets.join(', ')} WHERE id = ? AND file_key = ? AND deleted_at IS NULL`, [...params, id, fileKey]);
  }

  /**
   * Live items whose temporary media must be (re)made: none yet, or made before `staleBefore`
   * (docs/content.md §Media lifecycle). Oldest first, at most `limit`. `alsoIds`: items needed whatever their kind
   * and flag (the images open staff tasks will send into a chat).
   */
  async needingMedia(kinds: { always: ContentKind[]; quickReplyOnly: ContentKind[]; alsoIds?: string[] }, staleBefore: Date, limit: number): Promise<ContentItem[]> {
    const k = (xs: string[]) => (xs.length ? xs.map(() => '?').join(',') : "''");
    const also = kinds.alsoIds ?? [];
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM content_items
       WHERE deleted_at IS NULL AND file_key IS NOT NULL AND (kind IN (${k(kinds.always)}) OR (quick_reply = 1 AND kind IN (${k(kinds.quickReplyOnly)})) OR id IN (${k(also)}))
         AND (media_uploaded_at IS NULL OR media_uploaded_at < ?)
       ORDER BY media_uploaded_at, id LIMIT ?`,
      [...kinds.always, ...kinds.quickReplyOnly, ...also, staleBefore.getTime(), limit],
    );
    return rows.map(map);
  }

  /** Live items with a stored image that has no permanent URL yet (uploadimg failed or was over quota at save). */
  async needingPicUrl(kinds: ContentKind[], limit: number): Promise<ContentItem[]> {
    const rows = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM content_items WHERE deleted_at IS NULL AND file_key IS NOT NULL AND pic_url IS NULL AND kind IN (${kinds.map(() => '?').join(',')}) ORDER BY updated_at, id LIMIT ?`,
      [...kinds, limit],
    );
    return rows.map(map);
  }

  /** Count `n` more uses of each item (docs/content.md §Use counts: one per customer or group chat). */
  async recordUses(ids: string[], at: Date, n = 1): Promise<void> {
    const unique = [...new Set(ids)];
    const times = Math.floor(n);
    if (unique.length === 0 || times < 1) return;
    await this.db.query(`UPDATE content_items SET use_count = use_count + ?, last_used_at = ? WHERE id IN (${unique.map(() => '?').join(',')})`, [times, at.getTime(), ...unique]);
  }

  /**
   * Take one uploadimg from the day's and the month's budget (docs/wecom-protocol.md §Media); false, and nothing
   * taken, when either is spent. A conditional increment, so two instances never both take the last one.
   */
  async takeUploadQuota(day: string, month: string, limits: { day: number; month: number }): Promise<boolean> {
    for (const p of [`d:${day}`, `m:${month}`]) await this.db.writeUnique('INSERT INTO content_upload_quota (period, used) VALUES (?, 0)', [p]);
    if ((await this.db.exec('UPDATE content_upload_quota SET used = used + 1 WHERE period = ? AND used < ?', [`d:${day}`, limits.day])) === 0) return false;
    if ((await this.db.exec('UPDATE content_upload_quota SET used = used + 1 WHERE period = ? AND used < ?', [`m:${month}`, limits.month])) === 0) {
      await this.db.query('UPDATE content_upload_quota SET used = used - 1 WHERE period = ? AND used > 0', [`d:${day}`]);
      return false;
    }
    return true;
  }

  /** How much of the uploadimg budget this day and month have used. */
  async uploadQuotaUsed(day: string, month: string): Promise<{ day: number; month: number }> {
    const rows = await this.db.query<{ period: string; used: number | string }>('SELECT period, used FROM content_upload_quota WHERE period IN (?, ?)', [`d:${day}`, `m:${month}`]);
    const of = (p: string) => Number(rows.find((r) => r.period === p)?.used ?? 0);
    return { day: of(`d:${day}`), month: of(`m:${month}`) };
  }

  private values(c: ContentItem): unknown[] {
    return [c.id, c.seedKey, ...editable(c), c.useCount, c.lastUsedAt?.getTime() ?? null, c.createdBy, c.createdAt.getTime(), c.updatedAt.getTime()];
  }

  private async replaceIndex(id: string, grams: Set<string>, tags: string[]): Promise<void> {
    await this.db.query('DELETE FROM content_grams WHERE item_id = ?', [id]);
    const list = [...grams];
    for (let i = 0; i < list.length; i += 200) {
      const chunk = list.slice(i, i + 200);
      await this.db.query(`INSERT INTO content_grams (gram, item_id) VALUES ${chunk.map(() => '(?,?)').join(',')}`, chunk.flatMap((g) => [g, id]));
    }
    await this.db.query('DELETE FROM content_item_tags WHERE item_id = ?', [id]);
    const uniqueTags = [...new Set(tags)];
    if (uniqueTags.length > 0) {
      await this.db.query(`INSERT INTO content_item_tags (tag, item_id) VALUES ${uniqueTags.map(() => '(?,?)').join(',')}`, uniqueTags.flatMap((t) => [t, id]));
    }
  }
}
