import type { Db } from '../db.js';

/** One remind_groupmsg_send the bot made for a broadcast's task. */
export interface BroadcastReminder {
  broadcastId: string;
  batchId: string;
  msgId: string;
  senderUserid: string;
  requestedBy: string;
  remindedAt: Date;
}

/**
 * The reminders the bot sent for broadcast tasks (migration 0034), kept so it stays within WeCom's 3 per task per
 * 24 h (docs/wecom-protocol.md §Reminding members of a mass message) and the detail page can show them.
 */
export class BroadcastReminderRepository {
  constructor(private readonly db: Db) {}

  async insert(r: BroadcastReminder): Promise<void> {
    await this.db.query('INSERT INTO broadcast_reminders (broadcast_id, batch_id, msgid, sender_userid, requested_by, reminded_at) VALUES (?, ?, ?, ?, ?, ?)', [
      r.broadcastId, r.batchId, r.msgId, r.senderUserid, r.requestedBy.slice(0, 100), r.remindedAt.getTime(),
    ]);
  }

  /** The times each task (msgid) was reminded since `since`, oldest first. */
  async sinceByMsgid(msgIds: string[], since: Date): Promise<Map<string, Date[]>> {
    const out = new Map<string, Date[]>();
    for (let i = 0; i < msgIds.length; i += 500) {
      const part = msgIds.slice(i, i + 500);
      const rows = await this.db.query<{ msgid: string; reminded_at: number | string }>(
        `SELECT msgid, reminded_at FROM broadcast_reminders WHERE msgid IN (${part.map(() => '?').join(', ')}) AND reminded_at > ? ORDER BY reminded_at`,
        [...part, since.getTime()],
      );
      for (const r of rows) {
        const list = out.get(r.msgid) ?? [];
        list.push(new Date(Number(r.reminded_at)));
        out.set(r.msgid, list);
      }
    }
    return out;
  }

  /**
   * Per task (member and batch) of a broadcast: reminders since `since`, the first of those, and the last one ever;
   * optionally of one member. WeCom's limit is per task, so the page reads it per task (never summed over a member).
   */
  async perTask(broadcastId: string, since: Date, sender?: string): Promise<{ sender: string; batchId: string; recent: number; firstRecentAt: Date | null; lastAt: Date }[]> {
    const rows = await this.db.apiRead<{ sender_userid: string; batch_id: string; recent: number | string | null; first_recent: number | string | null; last_at: number | string }>(
      `SELECT sender_userid, batch_id, SUM(CASE WHEN reminded_at > ? THEN 1 ELSE 0 END) AS recent,
              MIN(CASE WHEN reminded_at > ? THEN reminded_at END) AS first_recent, MAX(reminded_at) AS last_at
       FROM broadcast_reminders WHERE broadcast_id = ?${sender === undefined ? '' : ' AND sender_userid = ?'}
       GROUP BY sender_userid, batch_id`,
      sender === undefined ? [since.getTime(), since.getTime(), broadcastId] : [since.getTime(), since.getTime(), broadcastId, sender],
    );
    return rows.map((r) => ({
      sender: r.sender_userid,
      batchId: r.batch_id,
      recent: Number(r.recent ?? 0),
      firstRecentAt: r.first_recent === null ? null : new Date(Number(r.first_recent)),
      lastAt: new Date(Number(r.last_at)),
    }));
  }
}
