import type { Db } from '../db.js';
import { incrementSql } from './sql-upsert.js';

/** Failed authentications per subject (a client address) and time bucket, shared by every instance. */
export class AuthFailureRepository {
  constructor(private readonly db: Db) {}

  /** Count one failure and return the bucket's total, this one included (one atomic upsert, then a read). */
  async record(subject: string, bucket: number, now: number): Promise<number> {
    const increment = incrementSql(this.db.engine, 'auth_failures', ['subject', 'bucket'], 'failures');
    return this.db.tx(async (em) => {
      await em.query(increment, [subject, bucket, now]);
      const [row] = (await em.query('SELECT failures FROM auth_failures WHERE subject = ? AND bucket = ?', [subject, bucket])) as { failures: number | string }[];
      return Number(row.failures);
    });
  }

  /** Forget buckets that began before `before`. */
  async purge(before: number): Promise<number> {
    return this.db.exec('DELETE FROM auth_failures WHERE created_at < ?', [before]);
  }
}
