import type { Db } from '../db.js';
import { upsertManySql } from './sql-upsert.js';
import type { GroupStatDay } from '../../domain/analytics/group-stats.types.js';

type Num = number | string;
const FIGURES = ['new_chat_cnt', 'chat_total', 'chat_has_msg', 'new_member_cnt', 'member_total', 'member_has_msg', 'msg_total', 'migrate_trainee_chat_cnt'] as const;
const COLS = ['day', 'owner', ...FIGURES, 'pulled_at'] as const;
/** Rows per statement: 11 columns each stays far below SQLite's bound-parameter limit. */
const CHUNK = 500;

/** `group_stat_days` (migration 0053): 群聊数据统计 per China day and owner; owner '' is the corp's row. */
export class GroupStatsRepository {
  constructor(private readonly db: Db) {}

  /** Working members, whose groups are pulled (owners must be inside the app's visible range). */
  async owners(): Promise<string[]> {
    const rows = await this.db.query<{ userid: string }>("SELECT userid FROM staff WHERE status = 'active' ORDER BY userid");
    return rows.map((r) => r.userid);
  }

  /** The newest day whose corp row is stored, or null before the first pull. */
  async lastDay(): Promise<string | null> {
    const [r] = await this.db.query<{ d: string | null }>("SELECT MAX(day) AS d FROM group_stat_days WHERE owner = ''");
    return r?.d ?? null;
  }

  /** Write days, replacing any stored for the same (day, owner): a re-pull changes nothing else. One transaction. */
  async save(rows: GroupStatDay[], now: Date): Promise<void> {
    if (rows.length === 0) return;
    await this.db.tx(async (em) => {
      for (let i = 0; i < rows.length; i += CHUNK) {
        const part = rows.slice(i, i + CHUNK);
        const sql = upsertManySql(this.db.engine, 'group_stat_days', COLS, ['day', 'owner'], [...FIGURES, 'pulled_at'], part.length);
        await em.query(
          sql,
          part.flatMap((r) => [r.day, r.owner, r.newChatCnt, r.chatTotal, r.chatHasMsg, r.newMemberCnt, r.memberTotal, r.memberHasMsg, r.msgTotal, r.migrateTraineeChatCnt, now.getTime()]),
        );
      }
    });
  }

  /** One owner's days (or the corp's, owner ''), oldest first. */
  async days(owner: string, from: string, to: string): Promise<GroupStatDay[]> {
    const rows = await this.db.query<Record<(typeof COLS)[number], Num>>(`SELECT ${COLS.join(', ')} FROM group_stat_days WHERE owner = ? AND day >= ? AND day <= ? ORDER BY day`, [owner, from, to]);
    return rows.map((r) => ({
      day: String(r.day),
      owner: String(r.owner),
      newChatCnt: Number(r.new_chat_cnt),
      chatTotal: Number(r.chat_total),
      chatHasMsg: Number(r.chat_has_msg),
      newMemberCnt: Number(r.new_member_cnt),
      memberTotal: Number(r.member_total),
      memberHasMsg: Number(r.member_has_msg),
      msgTotal: Number(r.msg_total),
      migrateTraineeChatCnt: Number(r.migrate_trainee_chat_cnt),
    }));
  }
}
