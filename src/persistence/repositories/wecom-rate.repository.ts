import type { Db } from '../db.js';
import type { LeaseResult, RateLeaseStore, RateWindow } from '../../wecom/client/shared-rate-gate.js';
import { forUpdate, upsertSql } from './sql-upsert.js';

/** Forget windows this long after they ended (they can no longer limit anything); purged at most every 10 minutes. */
const KEEP_MS = 2 * 3_600_000;
const PURGE_EVERY_MS = 600_000;

/**
 * WeCom's per-corp API limits counted in the app's own database, on SQLite and MySQL alike (docs/rate-limits.md
 * §Leases). One lease is one short transaction that takes a batch of tokens from every window of the API at once,
 * so the database sees one write per batch, never one per WeCom call.
 */
export class WecomRateRepository implements RateLeaseStore {
  private lastPurge = 0;

  constructor(private readonly db: Db) {}

  async lease(api: string, windows: readonly RateWindow[], want: number, now: number): Promise<LeaseResult> {
    const engine = this.db.engine;
    const ensure = upsertSql(engine, 'wecom_rate_windows', ['api', 'span_ms', 'window_start', 'granted', 'window_end'], ['api', 'span_ms', 'window_start'], []);
    const result = await this.db.tx(async (em) => {
      const left: number[] = [];
      // Windows are always taken in the same order (minute, then hour), so two instances cannot deadlock on them.
      for (const w of windows) {
        await em.query(ensure, [api, w.spanMs, w.start, 0, w.start + w.spanMs]);
        const [row] = (await em.query(`SELECT granted FROM wecom_rate_windows WHERE api = ? AND span_ms = ? AND window_start = ?${forUpdate(engine)}`, [api, w.spanMs, w.start])) as {
          granted: number | string;
        }[];
        left.push(w.limit - Number(row.granted));
      }
      // Under the row locks (MySQL) or the write lock (SQLite, begun IMMEDIATE): nobody else can grant in between.
      const granted = Math.max(0, Math.min(want, ...left));
      if (granted > 0) {
        for (const w of windows) {
          await em.query('UPDATE wecom_rate_windows SET granted = granted + ? WHERE api = ? AND span_ms = ? AND window_start = ?', [granted, api, w.spanMs, w.start]);
        }
      }
      const [block] = (await em.query('SELECT blocked_until FROM wecom_rate_blocks WHERE api = ?', [api])) as { blocked_until: number | string }[];
      return { granted, blockedUntil: block ? Number(block.blocked_until) : 0 };
    });
    if (now - this.lastPurge >= PURGE_EVERY_MS) {
      this.lastPurge = now;
      // Housekeeping only: the lease is already granted, so a failed purge must not make the caller lease again.
      void this.db.exec('DELETE FROM wecom_rate_windows WHERE window_end < ?', [now - KEEP_MS]).catch(() => undefined);
    }
    return result;
  }

  async block(api: string, until: number, now: number): Promise<void> {
    const sql =
      this.db.engine === 'mysql'
        ? 'INSERT INTO wecom_rate_blocks (api, blocked_until, updated_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE blocked_until = GREATEST(blocked_until, VALUES(blocked_until)), updated_at = VALUES(updated_at)'
        : 'INSERT INTO wecom_rate_blocks (api, blocked_until, updated_at) VALUES (?, ?, ?) ON CONFLICT(api) DO UPDATE SET blocked_until = MAX(blocked_until, excluded.blocked_until), updated_at = excluded.updated_at';
    await this.db.query(sql, [api, until, now]);
  }

  async blockedUntil(api: string): Promise<number> {
    const [row] = await this.db.query<{ blocked_until: number | string }>('SELECT blocked_until FROM wecom_rate_blocks WHERE api = ?', [api]);
    return row ? Number(row.blocked_until) : 0;
  }
}
