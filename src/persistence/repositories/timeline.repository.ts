import type { EntityManager } from 'typeorm';
import type { Db } from '../db.js';
import { isDuplicateKeyError } from '../data-source.js';
import type { TimelineEntry } from '../../domain/customers/timeline.types.js';

interface Row {
  id: number | string;
  external_user_id: string | null;
  staff_userid: string | null;
  kind: string;
  summary: string;
  data: string | null;
  source: string;
  source_id: string;
  occurred_at: number | string;
}

/** The customer timeline. Writes are idempotent on (source, sourceId). */
export class TimelineRepository {
  constructor(private readonly db: Db) {}

  /** Add an entry inside a caller's transaction; a duplicate (source, sourceId) is a no-op. Returns true if added. */
  async addInTx(em: EntityManager, e: TimelineEntry, now: Date): Promise<boolean> {
    try {
      await em.query(
        `INSERT INTO timeline_entries (external_user_id, staff_userid, kind, summary, data, source, source_id, occurred_at, created_at)
         VALUES (?,?,?,?,?,?,?,?,?)`,
        [
          e.externalUserId,
          e.staffUserid,
          e.kind.slice(0, 64),
          e.summary.slice(0, 500),
          e.data ? JSON.stringify(e.data) : null,
          e.source,
          e.sourceId.slice(0, 128),
          e.occurredAt.getTime(),
          now.getTime(),
        ],
      );
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  /** Remove the entry of a (source, sourceId) inside a caller's transaction, e.g. when its note is deleted. */
  async removeInTx(em: EntityManager, source: string, sourceId: string): Promise<void> {
    await em.query('DELETE FROM timeline_entries WHERE source = ? AND source_id = ?', [source, sourceId.slice(0, 128)]);
  }

  /**
   * Add an entry on its own: one statement, atomic by itself, so it autocommits rather than paying a transaction's
   * START and COMMIT round trips (the welcome's entry is on an add's urgent path, docs/inbox.md §Cheap handlers).
   */
  add(e: TimelineEntry, now: Date): Promise<boolean> {
    return this.db.run((em) => this.addInTx(em, e, now));
  }

  /** A customer's timeline, newest first. */
  async listForCustomer(externalUserId: string, limit = 100): Promise<TimelineEntry[]> {
    const rows = await this.db.query<Row>(
      'SELECT * FROM timeline_entries WHERE external_user_id = ? ORDER BY occurred_at DESC, id DESC LIMIT ?',
      [externalUserId, limit],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      externalUserId: r.external_user_id,
      staffUserid: r.staff_userid,
      kind: r.kind,
      summary: r.summary,
      data: r.data ? (JSON.parse(r.data) as Record<string, unknown>) : null,
      source: r.source,
      sourceId: r.source_id,
      occurredAt: new Date(Number(r.occurred_at)),
    }));
  }
}
