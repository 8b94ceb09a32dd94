import type { Db } from '../db.js';
import { incrementSql } from './sql-upsert.js';

/** Searches per subject (a principal and window) and time bucket, shared by every instance. */
export class SearchBudgetRepository {
  constructor(private readonly db: Db) {}

  /**
   * Count one search against each `[subject, bucket]` in turn, in one transaction, stopping at the first that is
   * then over its `max`: returns that one's index, or -1 when every budget still holds. A search refused by the
   * first budget is not counted against the later ones (one atomic upsert and a read each, as AuthFailureRepository).
   */
  async spend(budgets: readonly { subject: string; bucket: number; max: number }[], now: number): Promise<{ over: number; counts: number[] }> {
    const increment = incrementSql(this.db.engine, 'search_budget', ['subject', 'bucket'], 'searches');
    return this.db.tx(async (em) => {
      const counts: number[] = [];
      for (const [i, b] of budgets.entries()) {
        await em.query(increment, [b.subject, b.bucket, now]);
        const [row] = (await em.query('SELECT searches FROM search_budget WHERE subject = ? AND bucket = ?', [b.subject, b.bucket])) as { searches: number | string }[];
        counts.push(Number(row.searches));
        if (Number(row.searches) > b.max) return { over: i, counts };
      }
      return { over: -1, counts };
    });
  }

  /** Forget buckets that began before `before`. */
  async purge(before: number): Promise<number> {
    return this.db.exec('DELETE FROM search_budget WHERE created_at < ?', [before]);
  }
}
