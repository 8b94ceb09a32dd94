import type { Db } from '../db.js';

/** Existence checks on timeline sources: "was this welcome / alert already sent?" before a non-idempotent call. */
export class TimelineSourceRepository {
  constructor(private readonly db: Db) {}

  /** Whether an entry with this (source, sourceId) exists. */
  async has(source: string, sourceId: string): Promise<boolean> {
    const rows = await this.db.query('SELECT 1 AS x FROM timeline_entries WHERE source = ? AND source_id = ? LIMIT 1', [source, sourceId.slice(0, 128)]);
    return rows.length > 0;
  }
}
