import type { EntityManager } from 'typeorm';
import type { Db } from '../db.js';
import { IN_LIST_MAX, MAX_PARAMS, placeholders, slices, upsertManySql, upsertSql } from './sql-upsert.js';
import type { CustomerTag, CustomerTagSource, Tag, TagGroup, TagSource } from '../../domain/tags/tag.types.js';

interface TagRow {
  id: string;
  group_id: string;
  group_name: string | null;
  name: string;
  sort_order: number | string;
  source: TagSource;
  deleted_at: number | string | null;
}

const TAG_SELECT = 'SELECT t.id, t.group_id, g.name AS group_name, t.name, t.sort_order, t.source, t.deleted_at FROM tags t LEFT JOIN tag_groups g ON g.id = t.group_id';

function mapTag(r: TagRow): Tag {
  return {
    id: r.id,
    groupId: r.group_id,
    groupName: r.group_name ?? '',
    name: r.name,
    sortOrder: Number(r.sort_order),
    source: r.source,
    deletedAt: r.deleted_at === null ? null : new Date(Number(r.deleted_at)),
  };
}

/** The tag library (groups and tags) and the tags on customers. */
export class TagRepository {
  constructor(private readonly db: Db) {}

  /**
   * Live tags whose name, or group/name path, is one of `values`: the candidates for what an audience's `tag:` values
   * mean (resolveAudienceTags makes the exact comparison). Two parameters per value, as in the name-based audience
   * shape (docs/security.md §Audience queries). `isApiRead` runs it as an API read (off the event loop on SQLite,
   * under the API's statement deadline).
   */
  async liveTagsNamed(values: string[], opts: { isApiRead?: boolean } = {}): Promise<{ id: string; name: string; group: string | null }[]> {
    if (values.length === 0) return [];
    const marks = values.map(() => '?').join(', ');
    const path = this.db.engine === 'mysql' ? "CONCAT(g.name, '/', t.name)" : "(g.name || '/' || t.name)";
    const sql = `SELECT t.id AS id, t.name AS name, g.name AS grp FROM tags t LEFT JOIN tag_groups g ON g.id = t.group_id
     WHERE t.deleted_at IS NULL AND (t.name IN (${marks}) OR (g.name IS NOT NULL AND ${path} IN (${marks})))`;
    const params = [...values, ...values];
    const rows = opts.isApiRead
      ? await this.db.apiRead<{ id: string; name: string; grp: string | null }>(sql, params)
      : await this.db.query<{ id: string; name: string; grp: string | null }>(sql, params);
    return rows.map((r) => ({ id: String(r.id), name: String(r.name), group: r.grp === null ? null : String(r.grp) }));
  }

  /** Insert or refresh a group; an upsert undeletes (WeCom said it exists). */
  async upsertGroupInTx(em: EntityManager, g: { id: string; name: string; sortOrder: number; source: TagSource }, now: number): Promise<void> {
    await em.query(upsertSql(this.db.engine, 'tag_groups', ['id', 'name', 'sort_order', 'source', 'deleted_at', 'updated_at'], ['id'], ['name', 'sort_order', 'deleted_at', 'updated_at']), [
      g.id,
      g.name.slice(0, 100),
      g.sortOrder,
      g.source,
      null,
      now,
    ]);
  }

  /** Insert or refresh a tag; an upsert undeletes. */
  async upsertTagInTx(em: EntityManager, t: { id: string; groupId: string; name: string; sortOrder: number; source: TagSource }, now: number): Promise<void> {
    await em.query(
      upsertSql(this.db.engine, 'tags', ['id', 'group_id', 'name', 'sort_order', 'source', 'deleted_at', 'updated_at'], ['id'], ['group_id', 'name', 'sort_order', 'deleted_at', 'updated_at']),
      [t.id, t.groupId, t.name.slice(0, 100), t.sortOrder, t.source, null, now],
    );
  }

  /** Mark a group and all its tags deleted (kept for history; hidden everywhere). Idempotent. */
  async markGroupDeletedInTx(em: EntityManager, groupId: string, now: number): Promise<void> {
    await em.query('UPDATE tag_groups SET deleted_at = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL', [now, now, groupId]);
    await em.query('UPDATE tags SET deleted_at = ?, updated_at = ? WHERE group_id = ? AND deleted_at IS NULL', [now, now, groupId]);
  }

  /** Mark tags deleted. Idempotent. */
  async markTagsDeletedInTx(em: EntityManager, tagIds: string[], now: number): Promise<void> {
    if (tagIds.length === 0) return;
    await em.query(`UPDATE tags SET deleted_at = ?, updated_at = ? WHERE deleted_at IS NULL AND id IN (${placeholders(tagIds.length)})`, [now, now, ...tagIds]);
  }

  /**
   * Live `wecom` group and tag ids last written at or before `notUpdatedAfter` (epoch ms): the library-side half of a
   * reconcile, which may mark deleted only what it could have seen in WeCom's list (TagLibraryService.reconcile).
   */
  async liveWecomIds(notUpdatedAfter: number): Promise<{ groupIds: string[]; tagIds: string[] }> {
    const groups = await this.db.query<{ id: string }>("SELECT id FROM tag_groups WHERE source = 'wecom' AND deleted_at IS NULL AND updated_at <= ?", [notUpdatedAfter]);
    const tags = await this.db.query<{ id: string }>("SELECT id FROM tags WHERE source = 'wecom' AND deleted_at IS NULL AND updated_at <= ?", [notUpdatedAfter]);
    return { groupIds: groups.map((g) => g.id), tagIds: tags.map((t) => t.id) };
  }

  /**
   * The live library, groups then tags in WeCom's order (larger `order` first,
   * docs/wecom-protocol.md §Corp tag library).
   */
  async listLibrary(): Promise<{ groups: TagGroup[]; tags: Tag[] }> {
    const groups = await this.db.query<{ id: string; name: string; sort_order: number | string; source: TagSource; deleted_at: null }>(
      'SELECT * FROM tag_groups WHERE deleted_at IS NULL ORDER BY sort_order DESC, name',
    );
    const tags = await this.db.query<TagRow>(`${TAG_SELECT} WHERE t.deleted_at IS NULL ORDER BY t.sort_order DESC, t.name`);
    return {
      groups: groups.map((g) => ({ id: g.id, name: g.name, sortOrder: Number(g.sort_order), source: g.source, deletedAt: null })),
      tags: tags.map(mapTag),
    };
  }

  /** Tags by id (deleted ones included). */
  async findByIds(ids: string[]): Promise<Tag[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.query<TagRow>(`${TAG_SELECT} WHERE t.id IN (${placeholders(ids.length)})`, ids);
    return rows.map(mapTag);
  }

  /** Live tags with this name, optionally pinned to a group name. */
  async findLiveByName(name: string, groupName?: string): Promise<Tag[]> {
    const rows = groupName
      ? await this.db.query<TagRow>(`${TAG_SELECT} WHERE t.deleted_at IS NULL AND g.deleted_at IS NULL AND t.name = ? AND g.name = ? ORDER BY t.source DESC, t.id`, [name, groupName])
      : await this.db.query<TagRow>(`${TAG_SELECT} WHERE t.deleted_at IS NULL AND t.name = ? ORDER BY t.source DESC, t.id`, [name]);
    return rows.map(mapTag);
  }

  /** A live group by name. */
  async findLiveGroupByName(name: string): Promise<TagGroup | null> {
    const rows = await this.db.query<{ id: string; name: string; sort_order: number | string; source: TagSource }>(
      'SELECT * FROM tag_groups WHERE deleted_at IS NULL AND name = ? ORDER BY source DESC LIMIT 1',
      [name],
    );
    return rows[0] ? { id: rows[0].id, name: rows[0].name, sortOrder: Number(rows[0].sort_order), source: rows[0].source, deletedAt: null } : null;
  }

  /** A group by id (a deleted one included), or null. */
  async findGroupById(id: string): Promise<TagGroup | null> {
    const rows = await this.db.query<{ id: string; name: string; sort_order: number | string; source: TagSource; deleted_at: number | string | null }>(
      'SELECT id, name, sort_order, source, deleted_at FROM tag_groups WHERE id = ?',
      [id],
    );
    const r = rows[0];
    return r ? { id: r.id, name: r.name, sortOrder: Number(r.sort_order), source: r.source, deletedAt: r.deleted_at === null ? null : new Date(Number(r.deleted_at)) } : null;
  }

  /** Ids of a group's live tags. */
  async liveTagIdsOfGroup(groupId: string): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>('SELECT id FROM tags WHERE group_id = ? AND deleted_at IS NULL', [groupId]);
    return rows.map((r) => r.id);
  }

  /** How many customers carry at least one live tag of a group (each customer once): what deleting the group touches. */
  async countCustomersInGroup(groupId: string): Promise<number> {
    const [{ n }] = await this.db.query<{ n: number | string }>(
      'SELECT COUNT(DISTINCT ct.external_user_id) AS n FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id WHERE t.group_id = ? AND t.deleted_at IS NULL',
      [groupId],
    );
    return Number(n);
  }

  /**
   * Make the `wecom` tags of one relation exactly `tagIds` (WeCom's view after a re-read,
   * docs/wecom-protocol.md §Tagging a customer). Returns whether anything changed.
   */
  async replaceRelationWecomTagsInTx(em: EntityManager, ext: string, userid: string, tagIds: string[], now: number): Promise<boolean> {
    const rows: { tag_id: string }[] = await em.query("SELECT tag_id FROM customer_tags WHERE external_user_id = ? AND userid = ? AND source = 'wecom'", [ext, userid]);
    const have = new Set(rows.map((r) => r.tag_id));
    const want = new Set(tagIds);
    const gone = [...have].filter((t) => !want.has(t));
    const added = [...want].filter((t) => !have.has(t));
    if (gone.length > 0) {
      await em.query(`DELETE FROM customer_tags WHERE external_user_id = ? AND userid = ? AND source = 'wecom' AND tag_id IN (${placeholders(gone.length)})`, [ext, userid, ...gone]);
    }
    for (const t of added) await this.addInTx(em, { externalUserId: ext, tagId: t, userid, source: 'wecom', ruleId: null }, now);
    return gone.length + added.length > 0;
  }

  /** Put a tag on a customer; an existing identical row is left alone. */
  async addInTx(em: EntityManager, t: { externalUserId: string; tagId: string; userid: string; source: CustomerTagSource; ruleId: string | null }, now: number): Promise<void> {
    await em.query(
      upsertSql(this.db.engine, 'customer_tags', ['external_user_id', 'tag_id', 'userid', 'source', 'rule_id', 'created_at'], ['external_user_id', 'tag_id', 'userid', 'source'], []),
      [t.externalUserId, t.tagId, t.userid, t.source, t.ruleId, now],
    );
  }

  /** `addInTx` for several rows in one statement (an add's channel tags cost one round trip, not one per row). */
  async addManyInTx(em: EntityManager, rows: { externalUserId: string; tagId: string; userid: string; source: CustomerTagSource; ruleId: string | null }[], now: number): Promise<void> {
    for (const part of slices(rows, Math.floor(MAX_PARAMS / 6))) {
      await em.query(
        upsertManySql(this.db.engine, 'customer_tags', ['external_user_id', 'tag_id', 'userid', 'source', 'rule_id', 'created_at'], ['external_user_id', 'tag_id', 'userid', 'source'], [], part.length),
        part.flatMap((t) => [t.externalUserId, t.tagId, t.userid, t.source, t.ruleId, now]),
      );
    }
  }

  /** The `wecom` tag rows of these customers, every relation's, for the full sync's page store to diff against. */
  async wecomTagsOfCustomersInTx(em: EntityManager, exts: string[]): Promise<{ id: string; externalUserId: string; userid: string; tagId: string }[]> {
    const out: { id: string; externalUserId: string; userid: string; tagId: string }[] = [];
    for (const part of slices(exts, IN_LIST_MAX)) {
      const rows: { id: number | string; external_user_id: string; userid: string; tag_id: string }[] = await em.query(
        `SELECT id, external_user_id, userid, tag_id FROM customer_tags WHERE source = 'wecom' AND external_user_id IN (${placeholders(part.length)}) ORDER BY id`,
        part,
      );
      for (const r of rows) out.push({ id: String(r.id), externalUserId: r.external_user_id, userid: r.userid, tagId: r.tag_id });
    }
    return out;
  }

  /** Delete customer_tags rows by id. */
  async deleteByIdsInTx(em: EntityManager, ids: string[]): Promise<void> {
    for (const part of slices(ids, IN_LIST_MAX)) await em.query(`DELETE FROM customer_tags WHERE id IN (${placeholders(part.length)})`, part);
  }

  /** Remove a customer's tags of one source (optionally one rule, one relation). */
  async removeInTx(em: EntityManager, f: { externalUserId: string; tagIds: string[]; source: CustomerTagSource; ruleId?: string; userid?: string }): Promise<void> {
    if (f.tagIds.length === 0) return;
    const extra = (f.ruleId !== undefined ? ' AND rule_id = ?' : '') + (f.userid !== undefined ? ' AND userid = ?' : '');
    await em.query(`DELETE FROM customer_tags WHERE external_user_id = ? AND source = ? AND tag_id IN (${placeholders(f.tagIds.length)})${extra}`, [
      f.externalUserId,
      f.source,
      ...f.tagIds,
      ...(f.ruleId !== undefined ? [f.ruleId] : []),
      ...(f.userid !== undefined ? [f.userid] : []),
    ]);
  }

  /** Tag ids a rule wrote on a customer. */
  async ruleTagIdsInTx(em: EntityManager, ext: string, ruleId: string): Promise<string[]> {
    const rows: { tag_id: string }[] = await em.query('SELECT DISTINCT tag_id FROM customer_tags WHERE external_user_id = ? AND rule_id = ?', [ext, ruleId]);
    return rows.map((r) => r.tag_id);
  }

  /** Every tag row of a customer (live tags only), with names. */
  async listForCustomer(ext: string, em?: EntityManager): Promise<CustomerTag[]> {
    return (await this.listForCustomers([ext], em)).get(ext) ?? [];
  }

  /** Tag rows for several customers (live tags only). */
  async listForCustomers(exts: string[], em?: EntityManager): Promise<Map<string, CustomerTag[]>> {
    const out = new Map<string, CustomerTag[]>();
    if (exts.length === 0) return out;
    const sql = `SELECT ct.external_user_id, ct.tag_id, ct.userid, ct.source, ct.rule_id, t.name, g.name AS group_name
       FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id LEFT JOIN tag_groups g ON g.id = t.group_id
       WHERE t.deleted_at IS NULL AND ct.external_user_id IN (${placeholders(exts.length)}) ORDER BY ct.id`;
    const rows: { external_user_id: string; tag_id: string; userid: string; source: CustomerTagSource; rule_id: string | null; name: string; group_name: string | null }[] = em
      ? await em.query(sql, exts)
      : await this.db.query(sql, exts);
    for (const r of rows) {
      const list = out.get(r.external_user_id) ?? [];
      list.push({ externalUserId: r.external_user_id, tagId: r.tag_id, name: r.name, groupName: r.group_name ?? '', userid: r.userid, source: r.source, ruleId: r.rule_id });
      out.set(r.external_user_id, list);
    }
    return out;
  }

  /** How many customers carry a tag. */
  async countCustomersWithTag(tagId: string): Promise<number> {
    const [{ n }] = await this.db.query<{ n: number | string }>('SELECT COUNT(DISTINCT external_user_id) AS n FROM customer_tags WHERE tag_id = ?', [tagId]);
    return Number(n);
  }

  /**
   * Customers carrying each of these tags (each customer once, over all their relations and sources), in one grouped
   * statement: every tag's rows are one range of ix_customer_tags_tag_customer (tag_id, external_user_id), which
   * holds both columns, so the count reads that index only, and only the asked tags' part of it (docs/tags.md
   * §Customer counts). An API read: off the event loop on SQLite, under the API deadline on MySQL.
   */
  async countCustomersByTag(tagIds: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (tagIds.length === 0) return out;
    const rows = await this.db.apiRead<{ tag_id: string; n: number | string }>(
      `SELECT tag_id, COUNT(DISTINCT external_user_id) AS n FROM customer_tags WHERE tag_id IN (${placeholders(tagIds.length)}) GROUP BY tag_id`,
      tagIds,
    );
    for (const r of rows) out.set(r.tag_id, Number(r.n));
    return out;
  }

  /** Count customer_tags rows, for tests. */
  async countCustomerTags(): Promise<number> {
    const [{ n }] = await this.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM customer_tags');
    return Number(n);
  }
}
