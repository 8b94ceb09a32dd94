import type { Db } from '../db.js';
import type { ConsoleSessionRow } from '../../domain/auth/console-access.types.js';

type Row = { id: string; userid: string; name: string; csrf_token: string; created_at: number | string; last_seen_at: number | string; ip: string };

/** Signed-in console browsers (`console_sessions`), by the sha256 of their cookie. */
export class ConsoleSessionRepository {
  constructor(private readonly db: Db) {}

  async insert(s: ConsoleSessionRow): Promise<void> {
    await this.db.query('INSERT INTO console_sessions (id, userid, name, csrf_token, created_at, last_seen_at, ip) VALUES (?,?,?,?,?,?,?)', [
      s.id,
      s.userid,
      s.name.slice(0, 100),
      s.csrfToken,
      s.createdAt.getTime(),
      s.lastSeenAt.getTime(),
      s.ip.slice(0, 64),
    ]);
  }

  async find(id: string): Promise<ConsoleSessionRow | null> {
    const [r] = await this.db.query<Row>('SELECT * FROM console_sessions WHERE id = ?', [id]);
    return r
      ? { id: r.id, userid: r.userid, name: r.name, csrfToken: r.csrf_token, createdAt: new Date(Number(r.created_at)), lastSeenAt: new Date(Number(r.last_seen_at)), ip: r.ip }
      : null;
  }

  /** Slide the idle timeout. */
  async touch(id: string, at: Date): Promise<void> {
    await this.db.query('UPDATE console_sessions SET last_seen_at = ? WHERE id = ?', [at.getTime(), id]);
  }

  async delete(id: string): Promise<void> {
    await this.db.query('DELETE FROM console_sessions WHERE id = ?', [id]);
  }

  /** Sign a member out of every console browser; returns how many sessions ended. */
  async deleteForUserid(userid: string): Promise<number> {
    return this.db.exec('DELETE FROM console_sessions WHERE userid = ?', [userid]);
  }

  /** Forget sessions idle since before `before`. */
  async purgeIdle(before: Date): Promise<number> {
    return this.db.exec('DELETE FROM console_sessions WHERE last_seen_at < ?', [before.getTime()]);
  }
}
