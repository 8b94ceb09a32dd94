import type { Db } from '../db.js';
import type { Granularity } from '../../domain/analytics/analytics.types.js';
import { placeholders, upsertManySql, upsertSql } from './sql-upsert.js';
import { periodSql } from './period-sql.js';

type Num = number | string;
const n = (v: Num | null | undefined): number => (v === null || v === undefined ? 0 : Number(v));
const nOrNull = (v: Num | null | undefined): number | null => (v === null || v === undefined ? null : Number(v));

/** One member's WeCom figures for one day, as stored (docs/analytics.md §Staff performance). */
export interface StaffBehaviorRow {
  userid: string;
  day: string;
  chatCnt: number;
  messageCnt: number;
  /** A percentage (60.25); null when WeCom gave none (no chats that day). */
  replyPercentage: number | null;
  /** Minutes; null when WeCom gave none. */
  avgReplyTime: number | null;
  negativeFeedbackCnt: number;
  newApplyCnt: number;
  newContactCnt: number;
}

/** Where a member's nightly pull stands. */
export interface StaffPullState {
  userid: string;
  lastDay: string | null;
  lastPulledAt: Date | null;
  failures: number;
  failedAt: Date | null;
  lastError: string | null;
}

/** The bot's own figures of a member on a day (`analytics_staff_daily`). */
export interface StaffDailyRow {
  userid: string;
  day: string;
  massTasks: number;
  confirmedLate: number;
  neverConfirmed: number;
  awaiting: number;
  followupsDue: number;
  followupsDone: number;
}

/** One member's WeCom figures summed over the days of a period that have them. */
export interface StaffBehaviorSum {
  userid: string;
  period: string;
  /** Days stored. */
  days: number;
  chatCnt: number;
  messageCnt: number;
  negativeFeedbackCnt: number;
  newApplyCnt: number;
  newContactCnt: number;
  /** Days with the reply figures, their chats (each day at least 1), and the figures weighted by those. */
  replyDays: number;
  replyWeight: number;
  /** Σ weight × percentage × 100. */
  replyWeightedX100: number;
  replyTimeWeighted: number;
}

/** A mass-send task as the nightly roll sees it. */
export interface MassTaskOutcome {
  senderUserid: string;
  submittedAt: number;
  /** The earliest send time of a recipient: when the member confirmed the task. */
  firstSentAt: number | null;
  /** Recipients expired because the member never confirmed the task. */
  expiredUnconfirmed: number;
  /** Recipients still waiting for the member. */
  waiting: number;
}

const BEHAVIOR_COLS = ['userid', 'day', 'chat_cnt', 'message_cnt', 'reply_percentage_x100', 'avg_reply_time', 'negative_feedback_cnt', 'new_apply_cnt', 'new_contact_cnt', 'pulled_at'] as const;
const DAILY_COLS = ['userid', 'day', 'mass_tasks', 'confirmed_late', 'never_confirmed', 'awaiting', 'followups_due', 'followups_done', 'rolled_at'] as const;
const CHUNK = 500;
/** The summed columns of analytics_staff_periods (migration 0035). */
const PERIOD_COLS = [
  'behavior_days', 'chat_cnt', 'message_cnt', 'negative_feedback_cnt', 'new_apply_cnt', 'new_contact_cnt', 'reply_days', 'reply_weight', 'reply_weighted_x100', 'reply_time_weighted',
  'daily_days', 'mass_tasks', 'confirmed_late', 'never_confirmed', 'awaiting', 'followups_due', 'followups_done',
] as const;

/**
 * Staff performance (员工统计, docs/analytics.md §Staff performance): WeCom's daily figures pulled per member, the state of
 * each member's pull, and the bot's own per-member rollup. Dashboard reads go through `apiRead`.
 */
export class StaffStatsRepository {
  constructor(private readonly db: Db) {}

  // ── The nightly pull ─────────────────────────────────────────────────────────────────────────────────────────────

  /** Members the bot knows as working (staff.status 'active'), by userid. */
  async activeMembers(): Promise<string[]> {
    const rows = await this.db.query<{ userid: string }>("SELECT userid FROM staff WHERE status = 'active' ORDER BY userid");
    return rows.map((r) => r.userid);
  }

  async pullStates(userids?: string[]): Promise<Map<string, StaffPullState>> {
    if (userids && userids.length === 0) return new Map();
    const rows = await this.db.query<{ userid: string; last_day: string | null; last_pulled_at: Num | null; failures: Num; failed_at: Num | null; last_error: string | null }>(
      `SELECT userid, last_day, last_pulled_at, failures, failed_at, last_error FROM analytics_staff_pulls${userids ? ` WHERE userid IN (${placeholders(userids.length)})` : ''}`,
      userids ?? [],
    );
    return new Map(
      rows.map((r) => [
        r.userid,
        {
          userid: r.userid,
          lastDay: r.last_day === null ? null : String(r.last_day),
          lastPulledAt: r.last_pulled_at === null ? null : new Date(n(r.last_pulled_at)),
          failures: n(r.failures),
          failedAt: r.failed_at === null ? null : new Date(n(r.failed_at)),
          lastError: r.last_error,
        },
      ]),
    );
  }

  /**
   * Store one pull's days (replacing what an earlier pull stored for them) and move the member's last day forward, in
   * one transaction: the figures and the mark of how far they go commit together.
   */
  async savePull(userid: string, rows: StaffBehaviorRow[], now: Date): Promise<void> {
    const at = now.getTime();
    await this.db.tx(async (em) => {
      for (let i = 0; i < rows.length; i += CHUNK) {
        const chunk = rows.slice(i, i + CHUNK);
        await em.query(
          upsertManySql(this.db.engine, 'analytics_staff_behavior', BEHAVIOR_COLS, ['userid', 'day'], BEHAVIOR_COLS.slice(2), chunk.length),
          chunk.flatMap((r) => [
            r.userid,
            r.day,
            r.chatCnt,
            r.messageCnt,
            r.replyPercentage === null ? null : Math.round(r.replyPercentage * 100),
            r.avgReplyTime,
            r.negativeFeedbackCnt,
            r.newApplyCnt,
            r.newContactCnt,
            at,
          ]),
        );
      }
      const last = rows.reduce<string | null>((m, r) => (m === null || r.day > m ? r.day : m), null);
      const [cur] = (await em.query('SELECT last_day FROM analytics_staff_pulls WHERE userid = ?', [userid])) as { last_day: string | null }[];
      const lastDay = cur?.last_day && (last === null || String(cur.last_day) > last) ? String(cur.last_day) : last;
      await em.query(upsertSql(this.db.engine, 'analytics_staff_pulls', ['userid', 'last_day', 'last_pulled_at', 'failures', 'failed_at', 'last_error'], ['userid'], ['last_day', 'last_pulled_at', 'failures', 'failed_at', 'last_error']), [
        userid, lastDay, at, 0, null, null,
      ]);
    });
  }

  /** A pull that failed: counted and kept with its error, the last day untouched, so the next night starts from it. */
  async recordFailure(userid: string, error: string, now: Date): Promise<void> {
    await this.db.tx(async (em) => {
      const [cur] = (await em.query('SELECT failures FROM analytics_staff_pulls WHERE userid = ?', [userid])) as { failures: Num }[];
      if (!cur) {
        await em.query('INSERT INTO analytics_staff_pulls (userid, last_day, last_pulled_at, failures, failed_at, last_error) VALUES (?, NULL, NULL, 1, ?, ?)', [userid, now.getTime(), error.slice(0, 300)]);
      } else {
        await em.query('UPDATE analytics_staff_pulls SET failures = failures + 1, failed_at = ?, last_error = ? WHERE userid = ?', [now.getTime(), error.slice(0, 300), userid]);
      }
    });
  }

  // ── The nightly roll of the bot's own figures ────────────────────────────────────────────────────────────────────

  /**
   * Mass-send tasks submitted to WeCom in [startMs, endMs), with what became of their recipients. Both tables are read
   * from their indexes alone (migration 0039), and the tasks are grouped in the order of theirs, so SQLite, which keeps
   * no statistics, takes the day's range of that index rather than every task in id order (docs/analytics.md §Size).
   */
  async massTasksSubmitted(startMs: number, endMs: number): Promise<MassTaskOutcome[]> {
    const rows = await this.db.query<{ sender_userid: string; submitted_at: Num; first_sent: Num | null; expired_unconfirmed: Num | null; waiting: Num | null }>(
      `SELECT b.sender_userid, b.submitted_at,
              MIN(CASE WHEN d.status = 'sent' THEN d.sent_at END) AS first_sent,
              SUM(CASE WHEN d.status = 'expired' AND SUBSTR(d.reason, 1, 13) = 'not_confirmed' THEN 1 ELSE 0 END) AS expired_unconfirmed,
              SUM(CASE WHEN d.status = 'submitted' THEN 1 ELSE 0 END) AS waiting
         FROM delivery_batches b LEFT JOIN deliveries d ON d.batch_id = b.id
        WHERE b.submitted_at >= ? AND b.submitted_at < ? AND b.channel = 'mass_task' AND b.msgid IS NOT NULL AND b.sender_userid IS NOT NULL
        GROUP BY b.submitted_at, b.channel, b.sender_userid, b.msgid, b.id`,
      [startMs, endMs],
    );
    return rows.map((r) => ({ senderUserid: r.sender_userid, submittedAt: n(r.submitted_at), firstSentAt: nOrNull(r.first_sent), expiredUnconfirmed: n(r.expired_unconfirmed), waiting: n(r.waiting) }));
  }

  /** Follow-ups (notes with a due date) due on `day`, per author, and how many of them are done. */
  async followupsDue(day: string): Promise<{ userid: string; due: number; done: number }[]> {
    const rows = await this.db.query<{ userid: string; due: Num; done: Num }>(
      'SELECT userid, COUNT(*) AS due, SUM(CASE WHEN done_at IS NOT NULL THEN 1 ELSE 0 END) AS done FROM notes WHERE due_date = ? AND userid IS NOT NULL GROUP BY userid',
      [day],
    );
    return rows.map((r) => ({ userid: r.userid, due: n(r.due), done: n(r.done) }));
  }

  /** Replace a day's rows of the bot's own figures. */
  async replaceDaily(day: string, rows: StaffDailyRow[], now: Date): Promise<void> {
    await this.db.tx(async (em) => {
      await em.query('DELETE FROM analytics_staff_daily WHERE day = ?', [day]);
      for (let i = 0; i < rows.length; i += CHUNK) {
        const chunk = rows.slice(i, i + CHUNK);
        await em.query(
          `INSERT INTO analytics_staff_daily (${DAILY_COLS.join(', ')}) VALUES ${chunk.map(() => `(${DAILY_COLS.map(() => '?').join(', ')})`).join(', ')}`,
          chunk.flatMap((r) => [r.userid, r.day, r.massTasks, r.confirmedLate, r.neverConfirmed, r.awaiting, r.followupsDue, r.followupsDone, now.getTime()]),
        );
      }
    });
  }

  // ── The nightly sums per member and week or month ────────────────────────────────────────────────────────────────

  /**
   * Sum again, per member, every period of each granularity from the one given on (its label and first day): both
   * tables' days from that day on, in one transaction per granularity, so a reader sees the periods before or after,
   * never half (docs/analytics.md §Staff performance). Returns the rows written.
   */
  async rollPeriods(from: { granularity: 'week' | 'month'; label: string; start: string }[], now: Date): Promise<number> {
    let written = 0;
    for (const { granularity: g, label, start } of from) {
      const p = periodSql(this.db.engine, g);
      const w = this.db.engine === 'mysql' ? 'GREATEST(chat_cnt, 1)' : 'MAX(chat_cnt, 1)';
      await this.db.tx(async (em) => {
        await em.query('DELETE FROM analytics_staff_periods WHERE granularity = ? AND period >= ?', [g, label]);
        await em.query(
          `INSERT INTO analytics_staff_periods (granularity, period, userid, ${PERIOD_COLS.join(', ')}, rolled_at)
           SELECT ?, p, userid, ${PERIOD_COLS.map((c) => `SUM(${c})`).join(', ')}, ?
             FROM (SELECT userid, ${p} AS p, COUNT(*) AS behavior_days, SUM(chat_cnt) AS chat_cnt, SUM(message_cnt) AS message_cnt,
                          SUM(negative_feedback_cnt) AS negative_feedback_cnt, SUM(new_apply_cnt) AS new_apply_cnt, SUM(new_contact_cnt) AS new_contact_cnt,
                          COUNT(reply_percentage_x100) AS reply_days, SUM(CASE WHEN reply_percentage_x100 IS NULL THEN 0 ELSE ${w} END) AS reply_weight,
                          COALESCE(SUM(${w} * reply_percentage_x100), 0) AS reply_weighted_x100,
                          SUM(CASE WHEN reply_percentage_x100 IS NULL THEN 0 ELSE ${w} * COALESCE(avg_reply_time, 0) END) AS reply_time_weighted,
                          0 AS daily_days, 0 AS mass_tasks, 0 AS confirmed_late, 0 AS never_confirmed, 0 AS awaiting, 0 AS followups_due, 0 AS followups_done
                     FROM analytics_staff_behavior WHERE day >= ? GROUP BY userid, ${p}
                   UNION ALL
                   SELECT userid, ${p} AS p, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, COUNT(*), SUM(mass_tasks), SUM(confirmed_late), SUM(never_confirmed), SUM(awaiting),
                          SUM(followups_due), SUM(followups_done)
                     FROM analytics_staff_daily WHERE day >= ? GROUP BY userid, ${p}) u
            GROUP BY userid, p`,
          [g, now.getTime(), start, start],
        );
        const [c] = (await em.query('SELECT COUNT(*) AS n FROM analytics_staff_periods WHERE granularity = ? AND period >= ?', [g, label])) as { n: Num }[];
        written += n(c?.n);
      });
    }
    return written;
  }

  /**
   * The sums of whole periods [firstPeriod, lastPeriod] (labels) per member: WeCom's figures where the member had days
   * of them, the bot's where it had those (docs/analytics.md §Staff performance).
   */
  async periodSums(g: 'week' | 'month', firstPeriod: string, lastPeriod: string, userid: string | null): Promise<{ behavior: StaffBehaviorSum[]; daily: (Omit<StaffDailyRow, 'day'> & { period: string })[] }> {
    const rows = await this.db.apiRead<Record<string, Num | string>>(
      `SELECT period, userid, ${PERIOD_COLS.join(', ')} FROM analytics_staff_periods WHERE granularity = ? AND period >= ? AND period <= ?${userid === null ? '' : ' AND userid = ?'}`,
      [g, firstPeriod, lastPeriod, ...(userid === null ? [] : [userid])],
    );
    const behavior: StaffBehaviorSum[] = [];
    const daily: (Omit<StaffDailyRow, 'day'> & { period: string })[] = [];
    for (const r of rows) {
      const base = { userid: String(r.userid), period: String(r.period) };
      if (n(r.behavior_days as Num) > 0) {
        behavior.push({
          ...base,
          days: n(r.behavior_days as Num),
          chatCnt: n(r.chat_cnt as Num),
          messageCnt: n(r.message_cnt as Num),
          negativeFeedbackCnt: n(r.negative_feedback_cnt as Num),
          newApplyCnt: n(r.new_apply_cnt as Num),
          newContactCnt: n(r.new_contact_cnt as Num),
          replyDays: n(r.reply_days as Num),
          replyWeight: n(r.reply_weight as Num),
          replyWeightedX100: n(r.reply_weighted_x100 as Num),
          replyTimeWeighted: n(r.reply_time_weighted as Num),
        });
      }
      if (n(r.daily_days as Num) > 0) {
        daily.push({
          ...base,
          massTasks: n(r.mass_tasks as Num),
          confirmedLate: n(r.confirmed_late as Num),
          neverConfirmed: n(r.never_confirmed as Num),
          awaiting: n(r.awaiting as Num),
          followupsDue: n(r.followups_due as Num),
          followupsDone: n(r.followups_done as Num),
        });
      }
    }
    return { behavior, daily };
  }

  // ── Dashboard reads (rollups only) ───────────────────────────────────────────────────────────────────────────────

  /**
   * WeCom's figures of [from, to] summed per member and period in the statement (docs/analytics.md §Staff performance):
   * the reply figures over the days that have them, each weighted by the day's chats (at least 1).
   */
  async behaviorSums(from: string, to: string, userid: string | null, g: Granularity): Promise<StaffBehaviorSum[]> {
    // One expression per figure, NULLs skipped by SUM and COUNT: the weight is the day's chats, at least 1.
    const w = this.db.engine === 'mysql' ? 'GREATEST(chat_cnt, 1)' : 'MAX(chat_cnt, 1)';
    const rows = await this.db.apiRead<Record<string, Num | null>>(
      `SELECT userid, ${periodSql(this.db.engine, g)} AS p, COUNT(*) AS days, SUM(chat_cnt) AS chat_cnt, SUM(message_cnt) AS message_cnt,
              SUM(negative_feedback_cnt) AS negative_feedback_cnt, SUM(new_apply_cnt) AS new_apply_cnt, SUM(new_contact_cnt) AS new_contact_cnt,
              COUNT(reply_percentage_x100) AS reply_days,
              SUM(CASE WHEN reply_percentage_x100 IS NULL THEN 0 ELSE ${w} END) AS reply_weight,
              SUM(${w} * reply_percentage_x100) AS reply_weighted_x100,
              SUM(CASE WHEN reply_percentage_x100 IS NULL THEN 0 ELSE ${w} * COALESCE(avg_reply_time, 0) END) AS reply_time_weighted
         FROM analytics_staff_behavior WHERE day >= ? AND day <= ?${userid === null ? '' : ' AND userid = ?'} GROUP BY userid, p`,
      [from, to, ...(userid === null ? [] : [userid])],
    );
    return rows.map((r) => ({
      userid: String(r.userid),
      period: String(r.p),
      days: n(r.days),
      chatCnt: n(r.chat_cnt),
      messageCnt: n(r.message_cnt),
      negativeFeedbackCnt: n(r.negative_feedback_cnt),
      newApplyCnt: n(r.new_apply_cnt),
      newContactCnt: n(r.new_contact_cnt),
      replyDays: n(r.reply_days),
      replyWeight: n(r.reply_weight),
      replyWeightedX100: n(r.reply_weighted_x100),
      replyTimeWeighted: n(r.reply_time_weighted),
    }));
  }

  /** The bot's own figures of [from, to] summed per member and period in the statement. */
  async dailySums(from: string, to: string, userid: string | null, g: Granularity): Promise<(Omit<StaffDailyRow, 'day'> & { period: string })[]> {
    const rows = await this.db.apiRead<Record<string, Num>>(
      `SELECT userid, ${periodSql(this.db.engine, g)} AS p, SUM(mass_tasks) AS mass_tasks, SUM(confirmed_late) AS confirmed_late, SUM(never_confirmed) AS never_confirmed,
              SUM(awaiting) AS awaiting, SUM(followups_due) AS followups_due, SUM(followups_done) AS followups_done
         FROM analytics_staff_daily WHERE day >= ? AND day <= ?${userid === null ? '' : ' AND userid = ?'} GROUP BY userid, p`,
      [from, to, ...(userid === null ? [] : [userid])],
    );
    return rows.map((r) => ({
      userid: String(r.userid),
      period: String(r.p),
      massTasks: n(r.mass_tasks),
      confirmedLate: n(r.confirmed_late),
      neverConfirmed: n(r.never_confirmed),
      awaiting: n(r.awaiting),
      followupsDue: n(r.followups_due),
      followupsDone: n(r.followups_done),
    }));
  }

  /** The nights in [from, to] with a customer snapshot (the corp's row of analytics_daily_totals), in order. */
  async snapshotDays(from: string, to: string): Promise<string[]> {
    const rows = await this.db.apiRead<{ day: string }>("SELECT day FROM analytics_daily_totals WHERE userid = '' AND day >= ? AND day <= ? ORDER BY day", [from, to]);
    return rows.map((r) => String(r.day));
  }

  /** Members with a row in the snapshots of [from, to] (all, or the one). */
  async snapshotMembers(from: string, to: string, userid: string | null): Promise<string[]> {
    // Each member's first night from `from` on, through the (userid, day) index: MySQL reads one entry per member
    // (a loose index scan) rather than every member's every night of the range.
    const rows = await this.db.apiRead<{ userid: string; first_day: string }>(
      `SELECT userid, MIN(day) AS first_day FROM analytics_daily_totals WHERE userid <> '' AND day >= ?${userid === null ? '' : ' AND userid = ?'} GROUP BY userid`,
      userid === null ? [from] : [from, userid],
    );
    return rows.filter((r) => String(r.first_day) <= to).map((r) => r.userid);
  }

  /** The members' customers at these nights' snapshots (all members, or the one). */
  async customersOn(days: string[], userid: string | null): Promise<{ day: string; userid: string; customers: number }[]> {
    if (days.length === 0) return [];
    const rows = await this.db.apiRead<{ day: string; userid: string; customers: Num }>(
      `SELECT day, userid, customers FROM analytics_daily_totals WHERE day IN (${placeholders(days.length)}) AND userid <> ''${userid === null ? '' : ' AND userid = ?'}`,
      userid === null ? days : [...days, userid],
    );
    return rows.map((r) => ({ day: String(r.day), userid: r.userid, customers: n(r.customers) }));
  }

  /** Members with their names and status, all or some. */
  async members(userids: string[] | null): Promise<{ userid: string; name: string; status: string }[]> {
    if (userids && userids.length === 0) return [];
    const rows = await this.db.apiRead<{ userid: string; name: string | null; status: string }>(
      `SELECT userid, name, status FROM staff${userids ? ` WHERE userid IN (${placeholders(userids.length)})` : ''}`,
      userids ?? [],
    );
    return rows.map((r) => ({ userid: r.userid, name: r.name ?? '', status: r.status }));
  }

  async pullStatesForApi(userids: string[]): Promise<Map<string, StaffPullState>> {
    if (userids.length === 0) return new Map();
    const rows = await this.db.apiRead<{ userid: string; last_day: string | null; last_pulled_at: Num | null; failures: Num; failed_at: Num | null; last_error: string | null }>(
      `SELECT userid, last_day, last_pulled_at, failures, failed_at, last_error FROM analytics_staff_pulls WHERE userid IN (${placeholders(userids.length)})`,
      userids,
    );
    return new Map(
      rows.map((r) => [
        r.userid,
        { userid: r.userid, lastDay: r.last_day === null ? null : String(r.last_day), lastPulledAt: r.last_pulled_at === null ? null : new Date(n(r.last_pulled_at)), failures: n(r.failures), failedAt: r.failed_at === null ? null : new Date(n(r.failed_at)), lastError: r.last_error },
      ]),
    );
  }
}
