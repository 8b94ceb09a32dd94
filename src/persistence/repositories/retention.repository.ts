import type { Db } from '../db.js';
import type { SweepOptions } from '../../domain/privacy/retention.types.js';
import { yieldToEventLoop } from '../../shared/yield.js';

const marks = (n: number) => Array(n).fill('?').join(',');
const FINAL_DELIVERY = "('sent', 'failed', 'over_quota', 'skipped', 'expired')";
/** What a KF entry's summary says once its text is gone (kf-sync.service.ts writes `微信客服：<text>`). */
export const KF_REDACTED_SUMMARY = '微信客服 [内容已过保留期清除 / text removed after retention period]';

/**
 * The retention purge's SQL (PIPL art. 19, docs/reliability.md §PIPL duties). Every sweep walks its table in keyset
 * order (id > last) and changes at most `batch` rows per autocommitted statement, so no statement holds a lock for long
 * however large the table; a dry run walks the same keys and only counts. The rows picked are re-checked in the write,
 * so a row that changed in between (an event replayed, a delivery still moving) is left alone.
 */
export class RetentionRepository {
  constructor(private readonly db: Db) {}

  /** Clear the payload (and error text) of handled callbacks received before the cutoff; the row stays. */
  clearInboxPayloads(o: SweepOptions): Promise<number> {
    return this.sweep(
      "SELECT id FROM inbox_events WHERE id > ? AND status IN ('done', 'ignored') AND received_at < ? AND payload <> '' ORDER BY id LIMIT ?",
      [o.cutoff],
      (ids) => [`UPDATE inbox_events SET payload = '', error = NULL WHERE id IN (${marks(ids.length)}) AND status IN ('done', 'ignored')`, ids],
      o,
    );
  }

  /** Delete failed callbacks received before the cutoff. */
  deleteFailedInbox(o: SweepOptions): Promise<number> {
    return this.sweep(
      "SELECT id FROM inbox_events WHERE id > ? AND status = 'failed' AND received_at < ? ORDER BY id LIMIT ?",
      [o.cutoff],
      (ids) => [`DELETE FROM inbox_events WHERE id IN (${marks(ids.length)}) AND status = 'failed'`, ids],
      o,
    );
  }

  /** Replace the text of KF messages on the timeline that occurred before the cutoff. */
  redactKfText(o: SweepOptions): Promise<number> {
    return this.sweep(
      "SELECT id FROM timeline_entries WHERE id > ? AND source = 'kf' AND occurred_at < ? AND summary LIKE '微信客服：%' ORDER BY id LIMIT ?",
      [o.cutoff],
      (ids) => [`UPDATE timeline_entries SET summary = ? WHERE id IN (${marks(ids.length)}) AND source = 'kf'`, [KF_REDACTED_SUMMARY, ...ids]],
      o,
    );
  }

  /** Blank the rendered text of ledger rows final before the cutoff, and of batches finished before it. */
  async clearDeliveryText(o: SweepOptions): Promise<number> {
    const rows = await this.sweep(
      `SELECT id FROM deliveries WHERE id > ? AND status IN ${FINAL_DELIVERY} AND updated_at < ? AND text <> '' ORDER BY id LIMIT ?`,
      [o.cutoff],
      (ids) => [`UPDATE deliveries SET text = '', attachments = NULL WHERE id IN (${marks(ids.length)}) AND status IN ${FINAL_DELIVERY}`, ids],
      o,
    );
    const batches = await this.sweep(
      "SELECT id FROM delivery_batches WHERE id > ? AND finished_at IS NOT NULL AND finished_at < ? AND text <> '' ORDER BY id LIMIT ?",
      [o.cutoff],
      (ids) => [`UPDATE delivery_batches SET text = '', attachments = NULL WHERE id IN (${marks(ids.length)}) AND finished_at IS NOT NULL`, ids],
      o,
      '',
    );
    return rows + batches;
  }

  /**
   * Delete the timeline of customers with no active relation since the cutoff: none active now, none whose status
   * changed after it, and no interaction after it. Customers are walked in pages, their entries in batches.
   */
  async deleteDepartedTimelines(o: SweepOptions): Promise<{ customers: number; entries: number }> {
    let last = '';
    let customers = 0;
    let entries = 0;
    for (;;) {
      await yieldToEventLoop();
      const page = await this.db.query<{ external_user_id: string }>(
        `SELECT c.external_user_id FROM customers c
         WHERE c.external_user_id > ? AND COALESCE(c.last_interaction_at, c.created_at) < ?
           AND NOT EXISTS (SELECT 1 FROM follow_relations r WHERE r.external_user_id = c.external_user_id
                           AND (r.status = 'active' OR COALESCE(r.status_changed_at, r.updated_at) >= ?))
         ORDER BY c.external_user_id LIMIT ?`,
        [last, o.cutoff, o.cutoff, o.batch],
      );
      if (page.length === 0) break;
      last = page[page.length - 1].external_user_id;
      const ids = page.map((r) => r.external_user_id);
      // Customers whose timeline holds something: the figure an operator wants, counted before anything goes.
      const [{ k }] = await this.db.query<{ k: number | string }>(
        `SELECT COUNT(DISTINCT external_user_id) AS k FROM timeline_entries WHERE external_user_id IN (${marks(ids.length)})`,
        ids,
      );
      customers += Number(k);
      entries += await this.sweep(
        `SELECT id FROM timeline_entries WHERE id > ? AND external_user_id IN (${marks(ids.length)}) ORDER BY id LIMIT ?`,
        ids,
        (entryIds) => [`DELETE FROM timeline_entries WHERE id IN (${marks(entryIds.length)})`, entryIds],
        o,
      );
      if (page.length < o.batch) break;
    }
    return { customers, entries };
  }

  /**
   * The keyset loop. `select` takes `(lastId, ...params, limit)` and returns ids; `write` builds the statement for one
   * batch of ids. Numeric ids start below every id; string ids (uuid) start at ''.
   */
  private async sweep(
    select: string,
    params: unknown[],
    write: (ids: (number | string)[]) => [string, unknown[]],
    o: SweepOptions,
    start: number | string = 0,
  ): Promise<number> {
    let last: number | string = start;
    let total = 0;
    for (;;) {
      await yieldToEventLoop();
      const rows = await this.db.query<{ id: number | string }>(select, [last, ...params, o.batch]);
      if (rows.length === 0) break;
      const ids = rows.map((r) => (typeof start === 'number' ? Number(r.id) : r.id));
      last = ids[ids.length - 1];
      if (o.isDryRun) total += ids.length;
      else {
        const [sql, args] = write(ids);
        total += await this.db.exec(sql, args);
      }
      if (rows.length < o.batch) break;
    }
    return total;
  }
}
