import type { Db } from '../db.js';
import { placeholders, sqliteIndexedBy } from './sql-upsert.js';
import type { CustomerCondition, KeyRange } from '../../domain/tags/behaviour-tag.types.js';

// Rows of the `behaviour` source are customer-level: userid '' (never a relation, never mirrored into WeCom).
const SOURCE = 'behaviour';

function inRange(column: string, r: KeyRange): { sql: string; params: unknown[] } {
  return r.upTo === null ? { sql: `${column} > ?`, params: [r.after] } : { sql: `${column} > ? AND ${column} <= ?`, params: [r.after, r.upTo] };
}

/**
 * Set-based writes of behaviour tags (customer_tags rows with source `behaviour` and the rule's id), one key range
 * of customers at a time so every statement and its locks stay bounded whatever the archive's size.
 */
export class BehaviourTagRepository {
  /**
   * The customers of a key range, read by their key. Left to choose, SQLite (without ANALYZE's statistics) takes an
   * index with an equality from the rule's audience (`activity = 'dormant'`, `stage = 'at_risk'`) over the key range,
   * so each range's statement read every such customer of the corp: at a million, 100–170 ms a statement and about
   * 0.6 s of the event loop per range. MariaDB estimates the range (docs/tags.md §Behaviour tags at a million).
   */
  private readonly customers: string;

  constructor(private readonly db: Db) {
    // SQLite's own name for the index of the table's primary key.
    this.customers = sqliteIndexedBy(db.engine, 'customers c', 'sqlite_autoindex_customers_1');
  }

  /**
   * The upper key of the range of `size` customers after `after`, or null when fewer remain (the last range is
   * then open-ended).
   */
  async rangeEnd(after: string, size: number): Promise<string | null> {
    const rows = await this.db.query<{ external_user_id: string }>(
      'SELECT external_user_id FROM customers WHERE external_user_id > ? ORDER BY external_user_id LIMIT 1 OFFSET ?',
      [after, size - 1],
    );
    return rows[0]?.external_user_id ?? null;
  }

  /**
   * Ids of a rule's rows in the range that must go: the customer no longer matches, or the tag is no longer one of
   * the rule's tags. Selected first and deleted by id because MySQL cannot DELETE from customer_tags with a
   * condition that reads customer_tags (an audience's `tag:` predicate does).
   */
  async staleRowIds(ruleId: string, tagIds: string[], cond: CustomerCondition, range: KeyRange): Promise<number[]> {
    const r = inRange('bt.external_user_id', range);
    const notRuleTag = tagIds.length > 0 ? `bt.tag_id NOT IN (${placeholders(tagIds.length)})` : '1=1';
    const rows = await this.db.query<{ id: number | string }>(
      `SELECT bt.id FROM customer_tags bt WHERE bt.rule_id = ? AND bt.source = ? AND ${r.sql}
         AND (${notRuleTag} OR NOT EXISTS (SELECT 1 FROM customers c WHERE c.external_user_id = bt.external_user_id AND (${cond.sql})))`,
      [ruleId, SOURCE, ...r.params, ...tagIds, ...cond.params],
    );
    return rows.map((x) => Number(x.id));
  }

  /** Delete rows by id. Returns rows deleted. */
  async deleteRows(ids: number[]): Promise<number> {
    let n = 0;
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000);
      n += await this.db.exec(`DELETE FROM customer_tags WHERE id IN (${placeholders(chunk.length)})`, chunk);
    }
    return n;
  }

  /** How many customers in the range match and lack the tag from this source. */
  async countMissing(tagId: string | null, cond: CustomerCondition, range: KeyRange): Promise<number> {
    const r = inRange('c.external_user_id', range);
    const lacks = tagId === null ? '' : ` AND NOT EXISTS (SELECT 1 FROM customer_tags x WHERE x.external_user_id = c.external_user_id AND x.tag_id = ? AND x.userid = '' AND x.source = ?)`;
    const [row] = await this.db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${this.customers} WHERE ${r.sql} AND (${cond.sql})${lacks}`, [
      ...r.params,
      ...cond.params,
      ...(tagId === null ? [] : [tagId, SOURCE]),
    ]);
    return Number(row?.n ?? 0);
  }

  /**
   * Give the tag to every matching customer in the range who lacks it from this source, in one INSERT … SELECT.
   * A row another behaviour rule already wrote for the same tag counts as present (the unique key has no rule).
   */
  async addMissing(ruleId: string, tagId: string, cond: CustomerCondition, range: KeyRange, now: Date): Promise<number> {
    const r = inRange('c.external_user_id', range);
    return this.db.exec(
      `INSERT INTO customer_tags (external_user_id, tag_id, userid, source, rule_id, created_at)
       SELECT c.external_user_id, ?, '', ?, ?, ? FROM ${this.customers}
       WHERE ${r.sql} AND (${cond.sql})
         AND NOT EXISTS (SELECT 1 FROM customer_tags x WHERE x.external_user_id = c.external_user_id AND x.tag_id = ? AND x.userid = '' AND x.source = ?)`,
      [tagId, SOURCE, ruleId, now.getTime(), ...r.params, ...cond.params, tagId, SOURCE],
    );
  }

  /** Up to `limit` ids of behaviour rows whose rule is not among `liveRuleIds` (deleted, disabled or re-kinded). */
  async orphanRowIds(liveRuleIds: string[], limit: number): Promise<number[]> {
    const notLive = liveRuleIds.length > 0 ? ` OR rule_id NOT IN (${placeholders(liveRuleIds.length)})` : ' OR 1=1';
    const rows = await this.db.query<{ id: number | string }>(`SELECT id FROM customer_tags WHERE source = ? AND (rule_id IS NULL${notLive}) ORDER BY id LIMIT ?`, [
      SOURCE,
      ...liveRuleIds,
      limit,
    ]);
    return rows.map((x) => Number(x.id));
  }

  /** How many behaviour rows have no live rule. */
  async countOrphans(liveRuleIds: string[]): Promise<number> {
    const notLive = liveRuleIds.length > 0 ? ` OR rule_id NOT IN (${placeholders(liveRuleIds.length)})` : ' OR 1=1';
    const [row] = await this.db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM customer_tags WHERE source = ? AND (rule_id IS NULL${notLive})`, [SOURCE, ...liveRuleIds]);
    return Number(row?.n ?? 0);
  }
}
