import type { Db } from '../db.js';

/**
 * The bounded index reads behind the inbox backlog (InboxBacklog, docs/inbox.md §Backlog and readiness):
 * `(queue_lane, id)` for a lane and its oldest row, `(status, available_at)` for the unfinished total, the primary key
 * for the newest id. Counts stop at `cap`, so a count never walks more index entries.
 */
export class InboxBacklogRepository {
  constructor(private readonly db: Db) {}

  /** Ready events in a lane (1 urgent, 0 ordinary), at most `cap`. */
  async laneCount(lane: 0 | 1, cap: number): Promise<number> {
    const [{ c }] = await this.db.query<{ c: number | string }>(
      `SELECT COUNT(*) AS c FROM (SELECT 1 AS x FROM inbox_events WHERE queue_lane = ? LIMIT ${cap}) t`,
      [lane],
    );
    return Number(c);
  }

  /** When the lane's oldest event was received (ms); null when the lane is empty. */
  async laneOldestReceivedAt(lane: 0 | 1): Promise<number | null> {
    const oldest = await this.db.query<{ received_at: number | string }>('SELECT received_at FROM inbox_events WHERE queue_lane = ? ORDER BY id LIMIT 1', [lane]);
    return oldest.length > 0 ? Number(oldest[0].received_at) : null;
  }

  /** Unfinished events (pending or running, in a lane or waiting behind their subject), at most `cap`. */
  async unfinishedCount(cap: number): Promise<number> {
    const [{ c }] = await this.db.query<{ c: number | string }>(
      `SELECT COUNT(*) AS c FROM (SELECT 1 AS x FROM inbox_events WHERE status IN ('pending','running') LIMIT ${cap}) t`,
    );
    return Number(c);
  }

  /** The newest event id; 0 when the inbox is empty. */
  async maxId(): Promise<number> {
    const [{ m }] = await this.db.query<{ m: number | string | null }>('SELECT MAX(id) AS m FROM inbox_events');
    return Number(m ?? 0);
  }
}
