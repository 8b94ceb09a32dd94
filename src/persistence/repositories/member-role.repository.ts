import type { Db } from '../db.js';
import { upsertSql } from './sql-upsert.js';
import type { MemberRole, MemberRoleRow } from '../../domain/auth/console-access.types.js';

type Row = { userid: string; role: string; granted_by: string; granted_at: number | string };
const toRow = (r: Row): MemberRoleRow => ({ userid: r.userid, role: r.role as MemberRole, grantedBy: r.granted_by, grantedAt: new Date(Number(r.granted_at)) });

/** Console roles given to WeCom members (`member_roles`). */
export class MemberRoleRepository {
  constructor(private readonly db: Db) {}

  async find(userid: string): Promise<MemberRoleRow | null> {
    const [r] = await this.db.query<Row>('SELECT * FROM member_roles WHERE userid = ?', [userid]);
    return r ? toRow(r) : null;
  }

  async list(): Promise<MemberRoleRow[]> {
    return (await this.db.query<Row>('SELECT * FROM member_roles ORDER BY userid')).map(toRow);
  }

  /** Give `userid` a role (replacing any earlier one). */
  async put(r: MemberRoleRow): Promise<void> {
    await this.db.query(upsertSql(this.db.engine, 'member_roles', ['userid', 'role', 'granted_by', 'granted_at'], ['userid'], ['role', 'granted_by', 'granted_at']), [
      r.userid,
      r.role,
      r.grantedBy.slice(0, 120),
      r.grantedAt.getTime(),
    ]);
  }

  /** Take a member's role away; true when they had one. */
  async remove(userid: string): Promise<boolean> {
    return (await this.db.exec('DELETE FROM member_roles WHERE userid = ?', [userid])) > 0;
  }
}
