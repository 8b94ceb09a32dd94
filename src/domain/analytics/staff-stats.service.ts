import type { StaffDailyRow, StaffStatsRepository } from '../../persistence/repositories/staff-stats.repository.js';
import type { WecomGateway } from '../../wecom/client/gateway.js';
import { WecomApiError, toError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { addDays, localDate, zonedTimeToUtc } from '../../shared/dates.js';
import { yieldToEventLoop } from '../../shared/yield.js';
import { OUTCOME_WINDOW_DAYS } from './analytics-rollup.service.js';
import { periodOf } from './analytics-periods.js';

/** WeCom counts its statistics by China's calendar day, whatever APP_TIMEZONE says (docs/wecom-protocol.md §Contact statistics). */
export const WECOM_STATS_TZ = 'Asia/Shanghai';
/** Days pulled on a member's first night (the backfill). */
export const BACKFILL_DAYS = 30;
/** At most this many days per call (docs/wecom-protocol.md §Contact statistics: a span of at most 30 days). */
export const MAX_CALL_DAYS = 30;
/**
 * How far back a call may start: WeCom keeps 180 days; the bot stays a day inside it, so a pull that runs across
 * midnight never asks for a day WeCom has just dropped.
 */
export const MAX_BACK_DAYS = 179;
/**
 * The newest days already pulled are pulled again each night: a day asked for soon after midnight may not be final
 * yet (docs/wecom-protocol.md §Contact statistics).
 */
export const REPULL_DAYS = 3;
/** A mass-send task confirmed more than this long after it reached the member was confirmed late. */
export const LATE_CONFIRM_HOURS = 24;

/** What one night's pull did. */
export interface PullCounts {
  members: number;
  calls: number;
  days: number;
  failed: number;
  /** userid → the error, for the run's report. */
  failures: { userid: string; error: string }[];
  /** The earliest day stored tonight; null when none. */
  firstDay: string | null;
}

/** The range one member is pulled over tonight, or null when it has nothing to pull. */
export function pullRange(lastDay: string | null, today: string): { from: string; to: string } | null {
  const to = addDays(today, -1);
  const earliest = addDays(today, -MAX_BACK_DAYS);
  let from = lastDay === null ? addDays(to, -(BACKFILL_DAYS - 1)) : addDays(lastDay, 1);
  if (lastDay !== null && addDays(to, -(REPULL_DAYS - 1)) < from) from = addDays(to, -(REPULL_DAYS - 1));
  if (from < earliest) from = earliest;
  return from > to ? null : { from, to };
}

/** [from, to] cut into calls of at most MAX_CALL_DAYS days. */
export function callRanges(from: string, to: string): { from: string; to: string }[] {
  const out: { from: string; to: string }[] = [];
  for (let a = from; a <= to; a = addDays(a, MAX_CALL_DAYS)) {
    const b = addDays(a, MAX_CALL_DAYS - 1);
    out.push({ from: a, to: b < to ? b : to });
  }
  return out;
}

/**
 * The nightly staff figures (docs/analytics.md §Staff performance): WeCom's 联系客户统计 pulled once per member, and the
 * bot's own figures per member rolled from the delivery ledger and the notes.
 */
export class StaffStatsService {
  constructor(
    private readonly repo: StaffStatsRepository,
    private readonly wecom: Pick<WecomGateway, 'getUserBehaviorData'>,
    private readonly tz: string,
    private readonly log: Logger,
  ) {}

  /** Tonight's ranges per member, for a dry run. */
  async plan(now: Date): Promise<{ userid: string; from: string; to: string; calls: number }[]> {
    const today = localDate(now, WECOM_STATS_TZ);
    const members = await this.repo.activeMembers();
    const states = await this.repo.pullStates();
    return members.flatMap((userid) => {
      const r = pullRange(states.get(userid)?.lastDay ?? null, today);
      return r ? [{ userid, ...r, calls: callRanges(r.from, r.to).length }] : [];
    });
  }

  /**
   * Pull every working member's figures: one call per member (several members would come back summed into one row),
   * a first-seen member's last 30 days, then each night the days since the last one pulled. The client retries WeCom's
   * transient failures with backoff; a member that still fails keeps its last day and its error
   * (analytics_staff_pulls, shown by the API and the run's report) and is pulled from there the next night.
   */
  async pull(now: Date): Promise<PullCounts> {
    const today = localDate(now, WECOM_STATS_TZ);
    const counts: PullCounts = { members: 0, calls: 0, days: 0, failed: 0, failures: [], firstDay: null };
    const states = await this.repo.pullStates();
    for (const userid of await this.repo.activeMembers()) {
      await yieldToEventLoop();
      const range = pullRange(states.get(userid)?.lastDay ?? null, today);
      if (!range) continue;
      counts.members++;
      try {
        for (const c of callRanges(range.from, range.to)) {
          counts.calls++;
          const days = await this.wecom.getUserBehaviorData({
            userIds: [userid],
            startTime: zonedTimeToUtc(c.from, '00:00', WECOM_STATS_TZ),
            endTime: zonedTimeToUtc(c.to, '00:00', WECOM_STATS_TZ),
          });
          const rows = days
            .map((d) => ({ ...d, day: localDate(d.statTime, WECOM_STATS_TZ) }))
            // Only the days asked for: what WeCom rounds or adds is not stored under another day.
            .filter((d) => d.day >= c.from && d.day <= c.to)
            .map((d) => ({
              userid,
              day: d.day,
              chatCnt: d.chatCnt,
              messageCnt: d.messageCnt,
              replyPercentage: d.replyPercentage,
              avgReplyTime: d.avgReplyTime,
              negativeFeedbackCnt: d.negativeFeedbackCnt,
              newApplyCnt: d.newApplyCnt,
              newContactCnt: d.newContactCnt,
            }));
          // Each call's days are saved as they come: a later call failing keeps what was pulled.
          await this.repo.savePull(userid, rows, now);
          counts.days += rows.length;
          for (const r of rows) if (counts.firstDay === null || r.day < counts.firstDay) counts.firstDay = r.day;
        }
      } catch (err) {
        const e = toError(err);
        const message = err instanceof WecomApiError ? `errcode ${err.errcode}: ${err.errmsg}` : e.message;
        counts.failed++;
        counts.failures.push({ userid, error: message });
        this.log.warn({ userid, err: e }, 'staff behaviour pull failed; kept for the next night');
        await this.repo.recordFailure(userid, message, now);
      }
    }
    return counts;
  }

  /**
   * Sum the weeks and months per member again from the one `fromDay` falls in (migration 0035): the night's staff part
   * wrote the days from there on, so whole periods can be read summed (docs/analytics.md §Staff performance).
   */
  async rollPeriods(fromDay: string, now: Date): Promise<number> {
    await yieldToEventLoop();
    return this.repo.rollPeriods(
      (['week', 'month'] as const).map((granularity) => {
        const label = periodOf(fromDay, granularity);
        return { granularity, label, start: granularity === 'month' ? `${label}-01` : label };
      }),
      now,
    );
  }

  /** Roll the bot's own figures of the `OUTCOME_WINDOW_DAYS + 1` days ending with `lastDay` (local days). */
  async rollWindow(lastDay: string, now: Date): Promise<{ days: number; rows: number }> {
    let rows = 0;
    let days = 0;
    for (let d = addDays(lastDay, -OUTCOME_WINDOW_DAYS); d <= lastDay; d = addDays(d, 1)) {
      rows += await this.rollDay(d, now);
      days++;
    }
    return { days, rows };
  }

  /**
   * One local day of the bot's own figures per member: the mass-send tasks that reached the member that day and how
   * they were confirmed (late: more than LATE_CONFIRM_HOURS after; never: the task expired unconfirmed; awaiting: not
   * yet), and the follow-ups due that day with how many are done. Replaces the day's rows: rolling twice gives the same.
   */
  async rollDay(day: string, now: Date): Promise<number> {
    await yieldToEventLoop();
    const start = zonedTimeToUtc(day, '00:00', this.tz).getTime();
    const end = zonedTimeToUtc(addDays(day, 1), '00:00', this.tz).getTime();
    const byMember = new Map<string, StaffDailyRow>();
    const row = (userid: string): StaffDailyRow => {
      let r = byMember.get(userid);
      if (!r) {
        r = { userid, day, massTasks: 0, confirmedLate: 0, neverConfirmed: 0, awaiting: 0, followupsDue: 0, followupsDone: 0 };
        byMember.set(userid, r);
      }
      return r;
    };
    for (const t of await this.repo.massTasksSubmitted(start, end)) {
      const r = row(t.senderUserid);
      r.massTasks++;
      if (t.firstSentAt !== null) {
        if (t.firstSentAt - t.submittedAt > LATE_CONFIRM_HOURS * 3_600_000) r.confirmedLate++;
      } else if (t.expiredUnconfirmed > 0) r.neverConfirmed++;
      else if (t.waiting > 0) r.awaiting++;
      // Otherwise every recipient was answered without a send (not a contact any more, over quota): the member did
      // confirm, when is not known; not counted late.
    }
    for (const f of await this.repo.followupsDue(day)) {
      const r = row(f.userid);
      r.followupsDue += f.due;
      r.followupsDone += f.done;
    }
    await this.repo.replaceDaily(day, [...byMember.values()], now);
    return byMember.size;
  }
}
