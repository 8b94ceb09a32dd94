import type { Db } from '../db.js';
import { incrementSql, placeholders } from './sql-upsert.js';
import type { BucketCaps, DigestLine } from '../../domain/notify/staff-message.types.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;

/** Counts of app messages sent to each member (shared by every instance) and the digest lines waiting for them. */
export class StaffMessageRepository {
  constructor(private readonly db: Db) {}

  /**
   * Take one message from `userid`'s minute and hour buckets if both are under their caps; false leaves both as they
   * were. The increment is one atomic upsert, read back under its row lock, so instances never oversell a bucket.
   */
  async reserve(userid: string, now: number, caps: BucketCaps): Promise<boolean> {
    const buckets: [string, number][] = [
      [`m:${Math.floor(now / MINUTE)}`, caps.perMinute],
      [`h:${Math.floor(now / HOUR)}`, caps.perHour],
    ];
    const increment = incrementSql(this.db.engine, 'staff_message_quota', ['userid', 'bucket'], 'sent');
    return this.db.tx(async (em) => {
      for (const [bucket, cap] of buckets) {
        await em.query(increment, [userid, bucket, now]);
        const [row] = (await em.query('SELECT sent FROM staff_message_quota WHERE userid = ? AND bucket = ?', [userid, bucket])) as { sent: number | string }[];
        // Over the cap: the transaction is rolled back, taking this and any earlier increment with it.
        if (Number(row.sent) > cap) throw new OverCap();
      }
      return true;
    }).catch((err) => {
      if (err instanceof OverCap) return false;
      throw err;
    });
  }

  /** Forget buckets older than `before` (they can no longer limit anything). */
  async purgeBuckets(before: number): Promise<number> {
    return this.db.exec('DELETE FROM staff_message_quota WHERE created_at < ?', [before]);
  }

  /** Queue lines for members' next digests. */
  async addDigestLines(lines: { userid: string; kind: string; line: string; externalUserId?: string | null }[], now: number): Promise<void> {
    if (lines.length === 0) return;
    await this.db.query(
      `INSERT INTO staff_message_digest (userid, kind, external_user_id, line, created_at) VALUES ${lines.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
      lines.flatMap((l) => [l.userid, l.kind, l.externalUserId ?? null, l.line, now]),
    );
  }

  /** Delete lines sent before `before` (they name customers; the message itself is in WeCom). */
  async purgeSent(before: number): Promise<number> {
    return this.db.exec('DELETE FROM staff_message_digest WHERE sent_at IS NOT NULL AND sent_at < ?', [before]);
  }

  /** Members with lines waiting, oldest waiting first. */
  async membersWaiting(): Promise<string[]> {
    const rows = await this.db.query<{ userid: string }>('SELECT userid, MIN(id) AS first FROM staff_message_digest WHERE sent_at IS NULL GROUP BY userid ORDER BY first');
    return rows.map((r) => r.userid);
  }

  /** A member's waiting lines, oldest first. */
  async waitingFor(userid: string, limit: number): Promise<DigestLine[]> {
    const rows = await this.db.query<{ id: number | string; userid: string; kind: string; line: string; created_at: number | string }>(
      'SELECT id, userid, kind, line, created_at FROM staff_message_digest WHERE sent_at IS NULL AND userid = ? ORDER BY id LIMIT ?',
      [userid, limit],
    );
    return rows.map((r) => ({ id: Number(r.id), userid: r.userid, kind: r.kind, line: r.line, createdAt: new Date(Number(r.created_at)) }));
  }

  /** Waiting lines in total. */
  async countWaiting(): Promise<number> {
    const [{ n }] = await this.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM staff_message_digest WHERE sent_at IS NULL');
    return Number(n);
  }

  /** Mark lines as sent in one digest. */
  async markSent(ids: number[], msgid: string | null, now: number): Promise<void> {
    if (ids.length === 0) return;
    await this.db.query(`UPDATE staff_message_digest SET sent_at = ?, msgid = ? WHERE id IN (${placeholders(ids.length)}) AND sent_at IS NULL`, [now, msgid, ...ids]);
  }
}

/** Thrown inside `reserve`'s transaction to roll it back. */
class OverCap extends Error {}
